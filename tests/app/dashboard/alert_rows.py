"""Outbox rows for the Alerts page's tests, written as the outbox writes them: one delivered,
one dead with its last error, on real SLA events of the seeded store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import AlertDelivery, SlaEvent

DEAD_REASON = "slack answered channel_not_found for #sales-escalations"


def add_deliveries(session: Session) -> tuple[int, int]:
    """(delivered id, dead id)."""
    events = list(session.scalars(select(SlaEvent).order_by(SlaEvent.id).limit(2)))
    assert len(events) == 2, "the seeded store has SLA events"
    now = datetime.now(UTC)
    rows = []
    for event, state in zip(events, ("delivered", "dead"), strict=True):
        row = AlertDelivery(
            event_id=event.id,
            portal_id=event.portal_id,
            instance_id=event.instance_id,
            route="sales-channel",
            receiver="channel:sales",
            state=state,
            attempts=1 if state == "delivered" else 8,
            next_attempt_at=None,
            idempotency_key=f"{event.id}:sales-channel:channel:sales",
            target_kind="slack",
            target="C0SALES",
            last_error=DEAD_REASON if state == "dead" else None,
            created_at=now - timedelta(hours=3),
            delivered_at=now - timedelta(hours=3) if state == "delivered" else None,
            latency_seconds=1.5 if state == "delivered" else None,
        )
        session.add(row)
        rows.append(row)
    session.commit()
    return rows[0].id, rows[1].id
