"""Local stand-ins for HubSpot and Slack, faithful at the wire, for the demo, tests and benchmarks.

Parts:
- `portal/`: a synthetic HubSpot portal, deterministic from a seed. Base records are derived
  from (seed, object type, index) when asked; only changed records are kept in memory.
- `hubspot/`: the HubSpot API emulator (FastAPI) over a portal, with bearer auth, rate limits,
  seeded faults, activity simulation, signed webhooks and a control API.
- `slack/`: the Slack Web API emulator.
- `server.py`: both in one app (HubSpot at the root, Slack under /api/, control under
  /_sandbox/) and `SandboxServer`, which runs it on a loopback socket in a thread.

Ground truth (in-process), for tests that compare a store with the portal:

    portal = sandbox.portal                      # a Portal (sandbox/portal/portal.py)
    for truth in portal.truth("contacts"):       # every record ever created, any type
        truth.id, truth.properties               # int id, current property values (str | None)
        truth.archived, truth.merged_into        # archived or merged away; survivor id
        truth.created_ms, truth.modified_ms      # epoch milliseconds
        truth.associations["deals"]              # ids of linked records (merges followed)
        truth.history["lifecyclestage"]          # HistoryEntry list, oldest first; tracked:
                                                 # lifecyclestage, hs_lead_status,
                                                 # hubspot_owner_id (contacts); dealstage,
                                                 # hubspot_owner_id (deals)
    portal.get("contacts", 42)                   # one Record (None if it never existed)
    portal.owners                                # Owner tuples, archived ones included

Over HTTP the same lives under /_sandbox/truth/{type}?offset=&limit= (JSON).
"""
