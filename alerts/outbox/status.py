"""The outbox at a glance (health, metrics, `slaguard alerts status`) and replaying dead
letters (`slaguard alerts replay`, the admin API)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import accumulate
from math import fsum

from sqlalchemy import func, literal, literal_column, or_, select, union_all, update
from sqlalchemy.orm import Session

from alerts.model import endpoint_name
from app.models import AlertDelivery, AlertEndpoint
from app.store.db import begin_write

LIVE = ("pending", "delivering")
# Upper bounds (seconds) of the SLA event -> delivered latency histogram.
LATENCY_BUCKETS = (1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0, 3600.0)
RECENT = timedelta(hours=24)
# Written out, not bound: the fallback index (migration 0018) is partial on this very
# predicate, and SQLite uses a partial index only for a query that repeats its WHERE literally.
FALLBACK = AlertDelivery.reason.like(literal_column("'fallback for %'"))


@dataclass(frozen=True, slots=True)
class OutboxStatus:
    depth: int  # deliveries still to go out
    oldest_pending_at: datetime | None
    dead: int
    # (target kind or "unresolved", state) -> count
    by_kind_and_state: dict[tuple[str, str], int]
    fallbacks: int  # deliveries that went to a route's fallback
    disabled: dict[str, str]  # endpoint -> why
    # the due time of the longest-waiting delivery nobody is working on (the worker is behind)
    oldest_overdue_at: datetime | None = None
    dead_recent: int = 0  # dead letters among the deliveries of the last 24 hours
    latest_fallback: str | None = None  # why, for the newest delivery that went to a fallback
    # cumulative counts per bound of LATENCY_BUCKETS, then the count and sum of all
    latency_buckets: tuple[int, ...] = field(default_factory=tuple)
    latency_count: int = 0
    latency_sum: float = 0.0

    def oldest_pending_age(self, now: datetime) -> float | None:
        if self.oldest_pending_at is None:
            return None
        return max(0.0, (now - self.oldest_pending_at).total_seconds())


def outbox_status(session: Session, now: datetime) -> OutboxStatus:
    # Every read below is answered from an index (migration 0018), none from the table: the
    # outbox keeps every delivery ever made, and health and /metrics ask this on each call.
    counts = {
        (kind or "unresolved", state): int(n)
        for state, kind, n in session.execute(
            select(AlertDelivery.state, AlertDelivery.target_kind, func.count()).group_by(
                AlertDelivery.state, AlertDelivery.target_kind
            )
        )
    }
    oldest = session.scalar(
        select(func.min(AlertDelivery.created_at)).where(AlertDelivery.state.in_(LIVE))
    )
    fallbacks = session.scalar(select(func.count()).select_from(AlertDelivery).where(FALLBACK))
    dead_recent = session.scalar(
        select(func.count())
        .select_from(AlertDelivery)
        .where(AlertDelivery.state == "dead", AlertDelivery.created_at >= now - RECENT)
    )
    latest_fallback = session.scalar(
        select(AlertDelivery.reason).where(FALLBACK).order_by(AlertDelivery.id.desc()).limit(1)
    )
    overdue = session.scalar(
        select(func.min(AlertDelivery.next_attempt_at)).where(
            AlertDelivery.next_attempt_at <= now,
            or_(AlertDelivery.lease_until.is_(None), AlertDelivery.lease_until <= now),
        )
    )
    buckets, count, total = _latency(session)
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
        oldest_overdue_at=overdue,
        dead_recent=int(dead_recent or 0),
        latest_fallback=latest_fallback,
        latency_buckets=buckets,
        latency_count=count,
        latency_sum=total,
    )


def _latency(session: Session) -> tuple[tuple[int, ...], int, float]:
    """The histogram from one count per bucket's own slice (lower bound, upper bound], each a
    range of the latency index: a single walk down it, no expression evaluated per row. The
    cumulative counts are the running sums of the slices; the last slice is above every
    bound."""
    latency = AlertDelivery.latency_seconds
    slices = []
    lower: float | None = None
    for index, upper in enumerate((*LATENCY_BUCKETS, None)):
        where = [latency.isnot(None) if lower is None else latency > lower]
        if upper is not None:
            where.append(latency <= upper)
        slices.append(
            select(literal(index).label("slice"), func.count(latency), func.sum(latency)).where(
                *where
            )
        )
        lower = upper
    found = {int(i): (int(n or 0), s) for i, n, s in session.execute(union_all(*slices))}
    per_slice = [found.get(i, (0, None)) for i in range(len(LATENCY_BUCKETS) + 1)]
    cumulative = tuple(accumulate(n for n, _ in per_slice))
    total = fsum(float(s) for _, s in per_slice if s is not None)
    return cumulative[: len(LATENCY_BUCKETS)], cumulative[-1], total


def replay(
    session: Session,
    now: datetime,
    *,
    delivery_id: int | None = None,
    since: datetime | None = None,
) -> int:
    """How many dead letters `replay_ids` put back in the queue."""
    return len(replay_ids(session, now, delivery_id=delivery_id, since=since))


def replay_ids(
    session: Session,
    now: datetime,
    *,
    delivery_id: int | None = None,
    since: datetime | None = None,
) -> list[int]:
    """Dead letters back in the queue, due now, with a fresh retry schedule: one by id, or all
    that died since a time. Endpoints they were meant for are enabled again (replaying is the
    admin saying the endpoint is back). Returns their ids: a row no longer dead (replayed
    already) is left alone, so a second replay sends nothing twice."""
    # A replay racing this one waits (FOR UPDATE; SQLite's write lock taken before the read),
    # then finds the rows pending, not dead.
    begin_write(session)
    query = select(AlertDelivery).where(AlertDelivery.state == "dead").with_for_update()
    if delivery_id is not None:
        query = query.where(AlertDelivery.id == delivery_id)
    if since is not None:
        query = query.where(AlertDelivery.created_at >= since)
    query = query.order_by(AlertDelivery.id).execution_options(populate_existing=True)
    rows = list(session.scalars(query))
    # Each kind its own switch: replaying HubSpot write-back must not switch Slack on.
    endpoints = {
        endpoint_name(row.target_kind, row.target) for row in rows if row.target_kind is not None
    }
    for row in rows:
        row.state, row.attempts, row.next_attempt_at = "pending", 0, now
        row.lease_owner = row.lease_until = None
    if endpoints:
        session.execute(
            update(AlertEndpoint)
            .where(AlertEndpoint.name.in_(endpoints))
            .values(disabled_at=None, disabled_reason=None, updated_at=now)
        )
    return [row.id for row in rows]
