"""The CRM store both feeds write: record keys, HubSpot payloads as rows, upserts, merges,
links, transitions and the one list of tracked properties. The sync (`app.sync`) and the
webhook worker (`app.webhooks`) are two roads into it and never import each other."""
