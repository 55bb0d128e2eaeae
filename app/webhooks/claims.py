"""Which pending webhook events a round may apply, when several workers take rounds at once.

On PostgreSQL a round locks the oldest pending events it can get with FOR UPDATE SKIP
LOCKED: other workers' rounds skip them and take the next ones, so N workers share a backlog.
The claim is the round's transaction: the rows stay locked until it commits, with the
events marked applied in that same commit, so an event is applied exactly once; a worker
killed mid-round loses its connection, the server rolls the round back and the rows are
free for the next claim at once. A worker that hangs instead (stopped, cut off) keeps them
only for the round's lease: the server ends a transaction that stays idle longer than
ROUND_LEASE_SECONDS, which releases them too.

Skipping locked rows must not reorder one record's events: while another round holds an
older pending event of a record, this round applies none of that record's later events (it
keeps them locked and unapplied; they go in a later round, after the older one). Of the
events a round holds, it applies per record those older than the oldest pending one it does
not hold. The holder of a record's oldest pending event can always apply it, so every record
moves on. SLA evaluation of the changed records is serialised separately (the hand-off:
app/evaluation/exclusion.py), so one SLA instance is never evaluated into two states.

SQLite has one writer at a time and one process: the oldest events, as they are.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, text, tuple_
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.orm import Session

from app.models import WebhookEvent
from app.models.webhook import MAX_ATTEMPTS

# A round takes well under a second (app/webhooks/worker.py keeps it under HubSpot's 5 s),
# so a transaction idle this long belongs to a worker that stopped working.
ROUND_LEASE_SECONDS = 60

RecordKey = tuple[int, str, str]
_PENDING = (WebhookEvent.processed_at.is_(None), WebhookEvent.attempts < MAX_ATTEMPTS)


def claim_pending(session: Session, batch_size: int) -> Sequence[WebhookEvent]:
    """The events this round applies, oldest first, locked until the round commits."""
    query = (
        select(WebhookEvent)
        .where(*_PENDING)
        .order_by(WebhookEvent.occurred_at, WebhookEvent.id)
        .limit(batch_size)
    )
    if session.get_bind().dialect.name != "postgresql":
        return session.scalars(query).all()
    session.execute(
        text(f"SET LOCAL idle_in_transaction_session_timeout = '{ROUND_LEASE_SECONDS}s'")
    )
    held = session.scalars(query.with_for_update(skip_locked=True)).all()
    return in_record_order_only(held, _oldest_not_held(session, held))


def in_record_order_only(
    held: Sequence[WebhookEvent], oldest_elsewhere: dict[RecordKey, tuple[datetime, int]]
) -> list[WebhookEvent]:
    """Of `held`, the events older than their record's oldest pending event held elsewhere."""
    return [
        event
        for event in held
        if (first := oldest_elsewhere.get(key_of(event))) is None
        or (event.occurred_at, event.id) < first
    ]


def key_of(event: WebhookEvent) -> RecordKey:
    return (event.portal_id, event.object_type, event.object_id)


def _oldest_not_held(
    session: Session, held: Sequence[WebhookEvent]
) -> dict[RecordKey, tuple[datetime, int]]:
    """Per record of `held`, its oldest pending event that this round does not hold (locked
    by another round, or stored after this round's claim)."""
    if not held:
        return {}
    keys = sorted({key_of(event) for event in held})
    record = (WebhookEvent.portal_id, WebhookEvent.object_type, WebhookEvent.object_id)
    rows = session.execute(
        select(*record, WebhookEvent.occurred_at, WebhookEvent.id)
        .where(
            *_PENDING,
            tuple_(*record).in_(keys),
            WebhookEvent.id.not_in([event.id for event in held]),
        )
        .order_by(*record, WebhookEvent.occurred_at, WebhookEvent.id)
        .ext(distinct_on(*record))
    )
    return {(row[0], row[1], row[2]): (row[3], row[4]) for row in rows}
