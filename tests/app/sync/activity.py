"""Realistic changes made to a sandbox portal between two syncs (through its writer)."""

from __future__ import annotations

import random
from typing import Any

from sandbox.portal.writer import PortalWriter

STAGES = ("lead", "marketingqualifiedlead", "salesqualifiedlead", "opportunity", "customer")


def make_activity(portal: Any, *, seed: int = 7, changes: int = 60) -> None:
    """Stages moved forward and back, owners and lead statuses changed, contacts and
    engagements created (linked), contacts archived and merged, deals moved back."""
    rng = random.Random(seed)
    writer = PortalWriter(portal)
    live = [t.id for t in portal.truth("contacts") if not t.archived]
    deals = [t.id for t in portal.truth("deals") if not t.archived]
    owners = [o.id for o in portal.owners]
    touched = rng.sample(live, min(changes, len(live) // 2))
    for contact_id in touched[: changes // 2]:
        writer.update("contacts", contact_id, {"lifecyclestage": rng.choice(STAGES)})
        writer.update("contacts", contact_id, {"lifecyclestage": "lead"})  # moved back
        writer.update("contacts", contact_id, {"hubspot_owner_id": rng.choice(owners)})
        writer.update("contacts", contact_id, {"hs_lead_status": "CONNECTED"})
    for deal_id in rng.sample(deals, min(5, len(deals))):
        writer.update("deals", deal_id, {"dealstage": "contractsent"})
        writer.update("deals", deal_id, {"dealstage": "qualifiedtobuy"})
    for _ in range(5):
        new = writer.create(
            "contacts",
            {"email": f"new{rng.randrange(10**6)}@example.com", "lifecyclestage": "lead"},
        )
        writer.create(
            "calls",
            {"hs_timestamp": new.properties["createdate"], "hs_call_direction": "OUTBOUND"},
            links={"contacts": [new.id]},
        )
    rest = touched[changes // 2 :]
    for contact_id in rest[:3]:
        writer.archive("contacts", contact_id)
    if len(rest) >= 7:
        writer.merge("contacts", rest[3], rest[4])
        writer.merge("contacts", rest[5], rest[6])
