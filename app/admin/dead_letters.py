"""Dead letters for the admin API: listed newest first, replayed through the outbox's own
replay (the one `slaguard alerts replay` uses), each replay written to the audit log."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from alerts.outbox.status import replay_ids
from app.admin import audit
from app.admin.audit import Actor
from app.models import AlertDelivery

DEAD = "dead"


def dead_letters(session: Session, *, before: int | None, limit: int) -> list[AlertDelivery]:
    # ix_alert_deliveries_state holds the row id too: the page is a walk down that index.
    query = select(AlertDelivery).where(AlertDelivery.state == DEAD)
    if before is not None:
        query = query.where(AlertDelivery.id < before)
    return list(session.scalars(query.order_by(AlertDelivery.id.desc()).limit(limit)))


def delivery(session: Session, delivery_id: int) -> AlertDelivery | None:
    return session.get(AlertDelivery, delivery_id)


def replay_one(session: Session, delivery_id: int, actor: Actor, now: datetime) -> list[int]:
    """The ids queued again: [] when the delivery is not dead (a second replay of it)."""
    ids = replay_ids(session, now, delivery_id=delivery_id)
    target = f"alert_delivery:{delivery_id}"
    audit.record(session, actor, "replay_dead_letter", target, now, {"replayed": ids})
    return ids


def replay_since(session: Session, since: datetime, actor: Actor, now: datetime) -> list[int]:
    ids = replay_ids(session, now, since=since)
    details = {"since": since.isoformat(), "replayed": ids}
    audit.record(session, actor, "replay_dead_letters", "alert_deliveries", now, details)
    return ids
