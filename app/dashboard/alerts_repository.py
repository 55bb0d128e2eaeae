"""The Alerts page's queries: deliveries by state, the latest deliveries and dead letters with
what each was about, and silences. Each bounded by an index and a LIMIT."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import AlertDelivery, AlertSilence, SlaEvent

DELIVERY_STATES = ("pending", "delivering", "delivered", "dead", "suppressed")


@dataclass(frozen=True, slots=True)
class DeliveryRow:
    id: int
    state: str
    route: str
    receiver: str
    target: str | None
    attempts: int
    created_at: datetime
    delivered_at: datetime | None
    next_attempt_at: datetime | None
    # The dead letter's last error, the fallback taken, or the silence that suppressed it.
    reason: str | None
    # A scheduled post's delivery (scorecard, digest) has no SLA event nor instance.
    rule_id: str | None
    event_type: str | None
    instance_id: int | None
    post_id: int | None


def counts_by_state(session: Session) -> dict[str, int]:
    rows = session.execute(select(AlertDelivery.state, func.count()).group_by(AlertDelivery.state))
    found = {str(state): int(count) for state, count in rows}
    return {state: found.get(state, 0) for state in DELIVERY_STATES} | found


def deliveries(
    session: Session, *, state: str | None = None, limit: int = 100
) -> list[DeliveryRow]:
    """The latest deliveries (of one state, when given), newest first."""
    query = (
        select(AlertDelivery, SlaEvent.rule_id, SlaEvent.type)
        .outerjoin(SlaEvent, SlaEvent.id == AlertDelivery.event_id)
        .order_by(AlertDelivery.id.desc())
        .limit(limit)
    )
    if state is not None:
        query = query.where(AlertDelivery.state == state)
    return [
        _row(delivery, rule_id, event_type)
        for delivery, rule_id, event_type in session.execute(query)
    ]


def _row(delivery: AlertDelivery, rule_id: str | None, event_type: str | None) -> DeliveryRow:
    reason = delivery.last_error if delivery.state == "dead" else delivery.reason
    return DeliveryRow(
        delivery.id,
        delivery.state,
        delivery.route,
        delivery.receiver,
        delivery.target,
        delivery.attempts,
        delivery.created_at,
        delivery.delivered_at,
        delivery.next_attempt_at,
        reason or delivery.last_error or delivery.reason,
        rule_id,
        event_type,
        delivery.instance_id,
        delivery.post_id,
    )


def delivery_state(session: Session, delivery_id: int) -> str | None:
    return session.scalar(select(AlertDelivery.state).where(AlertDelivery.id == delivery_id))


def silences(session: Session, now: datetime, limit: int = 100) -> list[AlertSilence]:
    """Silences in force or still to come first (by end), then the latest ended ones."""
    active = list(
        session.scalars(
            select(AlertSilence)
            .where(AlertSilence.ended_at.is_(None), AlertSilence.ends_at > now)
            .order_by(AlertSilence.ends_at, AlertSilence.id)
            .limit(limit)
        )
    )
    over = session.scalars(
        select(AlertSilence)
        .where((AlertSilence.ended_at.is_not(None)) | (AlertSilence.ends_at <= now))
        .order_by(AlertSilence.id.desc())
        .limit(20)
    )
    return active + list(over)
