"""The outbox at a glance (health, metrics, `slaguard alerts status`) and replaying dead
letters (`slaguard alerts replay`, the admin API)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.models import AlertDelivery, AlertEndpoint

LIVE = ("pending", "delivering")


@dataclass(frozen=True, slots=True)
class OutboxStatus:
    depth: int  # deliveries still to go out
    oldest_pending_at: datetime | None
    dead: int
    # (target kind or "unresolved", state) -> count
    by_kind_and_state: dict[tuple[str, str], int]
    fallbacks: int  # deliveries that went to a route's fallback
    disabled: dict[str, str]  # endpoint -> why

    def oldest_pending_age(self, now: datetime) -> float | None:
        if self.oldest_pending_at is None:
            return None
        return max(0.0, (now - self.oldest_pending_at).total_seconds())


def outbox_status(session: Session) -> OutboxStatus:
    counts = {
        (kind or "unresolved", state): int(n)
        for kind, state, n in session.execute(
            select(AlertDelivery.target_kind, AlertDelivery.state, func.count()).group_by(
                AlertDelivery.target_kind, AlertDelivery.state
            )
        )
    }
    oldest = session.scalar(
        select(func.min(AlertDelivery.created_at)).where(AlertDelivery.state.in_(LIVE))
    )
    fallbacks = session.scalar(
        select(func.count())
        .select_from(AlertDelivery)
        .where(AlertDelivery.reason.like("fallback for %"))
    )
    disabled = {
        row.name: row.disabled_reason or "disabled"
        for row in session.scalars(
            select(AlertEndpoint).where(AlertEndpoint.disabled_at.isnot(None))
        )
    }
    return OutboxStatus(
        depth=sum(n for (_, state), n in counts.items() if state in LIVE),
        oldest_pending_at=oldest,
        dead=sum(n for (_, state), n in counts.items() if state == "dead"),
        by_kind_and_state=counts,
        fallbacks=int(fallbacks or 0),
        disabled=disabled,
    )


def replay(
    session: Session,
    now: datetime,
    *,
    delivery_id: int | None = None,
    since: datetime | None = None,
) -> int:
    """Dead letters back in the queue, due now, with a fresh retry schedule: one by id, or all
    that died since a time. Endpoints they were meant for are enabled again (replaying is the
    admin saying the endpoint is back). Returns how many."""
    query = select(AlertDelivery).where(AlertDelivery.state == "dead")
    if delivery_id is not None:
        query = query.where(AlertDelivery.id == delivery_id)
    if since is not None:
        query = query.where(AlertDelivery.created_at >= since)
    rows = list(session.scalars(query))
    endpoints = {f"webhook:{row.target}" for row in rows if row.target_kind == "webhook"}
    for row in rows:
        row.state, row.attempts, row.next_attempt_at = "pending", 0, now
        row.lease_owner = row.lease_until = None
    if endpoints:
        session.execute(
            update(AlertEndpoint)
            .where(AlertEndpoint.name.in_(endpoints))
            .values(disabled_at=None, disabled_reason=None, updated_at=now)
        )
    return len(rows)
