"""Inbound HubSpot webhooks: parse, store once, apply in order, hand over to the SLA engine."""
