"""Outgoing webhooks: Standard Webhooks signatures, the address guard and a classifying sender.

Imports nothing from `app`: the outbox decides what to do with each `SendResult`.
"""
