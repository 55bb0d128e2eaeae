"""The sync and the webhook worker keep the same transitions of the same portal history: a
property tracked by one feed and not the other would give a record two different pasts
depending on how it reached the store (on SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.crm import repository
from app.crm.apply import apply_records
from app.crm.objects import spec_for
from app.models import Transition
from app.store.db import SessionFactory
from app.webhooks.worker import process_pending
from integrations.hubspot.records import CrmRecord, PropertyChange
from tests.fixtures import webhooks as helpers
from tests.fixtures.webhooks import event, ingest, seed_read

SYNC_PORTAL = 4243
WEBHOOK_PORTAL = helpers.PORTAL
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
T = [NOW - timedelta(days=10 - n) for n in range(8)]

# One record's past as HubSpot knows it: (property, value, from). Every property a rule may
# age or attribute by changes, and a few no rule reads.
HISTORY = {
    "contact": [
        ("lifecyclestage", "lead", T[0]),
        ("hubspot_owner_id", "11", T[0]),
        ("hs_lead_status", "NEW", T[1]),
        ("firstname", "Ada", T[1]),
        ("lifecyclestage", "opportunity", T[2]),
        ("hubspot_owner_id", "12", T[3]),
        ("hs_lead_status", "CONNECTED", T[4]),
        ("lifecyclestage", "customer", T[5]),
    ],
    "deal": [
        ("pipeline", "default", T[0]),
        ("dealstage", "appointmentscheduled", T[0]),
        ("hubspot_owner_id", "11", T[0]),
        ("amount", "100", T[1]),
        ("dealstage", "qualifiedtobuy", T[2]),
        ("pipeline", "renewals", T[3]),
        ("dealstage", "renewal-open", T[3]),
        ("hubspot_owner_id", "12", T[6]),
    ],
}


def _synced(object_type: str) -> CrmRecord:
    """The record as the sync reads it: current values, and the history of the properties
    the sync asks HubSpot for (newest first, as HubSpot lists it)."""
    spec = spec_for(object_type)
    past = HISTORY[object_type]
    current = {prop: value for prop, value, _ in past}
    history = {
        name: [PropertyChange(v, at) for p, v, at in reversed(past) if p == name]
        for name in spec.history_properties
    }
    properties = {**current, spec.modified_property: T[-1].isoformat()}
    return CrmRecord(spec.name, "1", properties, history=history)


def _webhook_events(object_type: str) -> list[dict[str, object]]:
    """The same past as HubSpot's property-change events (every property is subscribed)."""
    return [
        event(
            f"{object_type}.propertyChange",
            1,
            int(at.timestamp() * 1000),
            propertyName=prop,
            propertyValue=value,
        )
        for prop, value, at in HISTORY[object_type]
    ]


def _timelines(
    session: Session, portal_id: int
) -> set[tuple[str, str, str | None, datetime, datetime | None]]:
    rows = session.scalars(select(Transition).where(Transition.portal_id == portal_id))
    return {(t.object_type, t.property, t.value, t.entered_at, t.exited_at) for t in rows}


@pytest.mark.parametrize("object_type", ["contact", "deal"])
def test_a_sync_and_webhooks_keep_the_same_transitions_of_one_history(
    object_type: str, session_factory: SessionFactory, session: Session
) -> None:
    repository.ensure_portal(session, SYNC_PORTAL)
    apply_records(session, SYNC_PORTAL, [_synced(object_type)], synced_at=NOW)
    session.commit()
    seed_read(session_factory, object_type, [1])
    ingest(session_factory, _webhook_events(object_type))
    process_pending(session_factory, clock=lambda: NOW)

    by_sync = _timelines(session, SYNC_PORTAL)
    by_webhooks = _timelines(session, WEBHOOK_PORTAL)
    assert by_sync == by_webhooks
    # and the properties that matter are among them (a pipeline move restarts stage aging)
    tracked = {prop for _, prop, *_ in by_sync}
    assert tracked == set(spec_for(object_type).history_properties)
    assert "pipeline" in tracked or object_type == "contact"
