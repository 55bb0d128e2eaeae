"""HubSpot API access: a paced, retrying client that returns typed records."""
