"""HubSpot → store: planning windows, checkpoints, mapping, bulk upserts, runs."""
