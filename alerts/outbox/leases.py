"""Claiming due deliveries and recording what became of them.

A claim marks rows `delivering` under a lease (owner, until when) in a short transaction of
its own; the sending happens outside any transaction; the result is written in another.
PostgreSQL workers skip each other's rows with `FOR UPDATE SKIP LOCKED`; SQLite serialises
the claims with BEGIN IMMEDIATE. A worker that dies holds its rows only until the lease ends:
then any worker claims them again (at least once; the receiver dedupes by the stable key).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from alerts.delivery import DeliveryResult, Outcome
from alerts.model import endpoint_name
from app.models import AlertDelivery, AlertDeliveryAttempt, AlertEndpoint
from app.store.db import SessionFactory, write_scope
from integrations.webhooks.retry import next_attempt_delay

# Longer than a claimed batch takes at worst (a worker's batch of 10 deliveries at the
# webhook timeout each), so a live worker never loses a row it is about to send.
DEFAULT_LEASE = timedelta(minutes=5)
DETAIL_CHARS = 1000
# The attempt-log outcome of an attempt whose worker never recorded one (beside Outcome's).
LOST = "lost"


@dataclass(frozen=True, slots=True)
class Claimed:
    id: int
    event_id: int | None  # None for a scheduled post's delivery (post_id is set instead)
    portal_id: int
    instance_id: int | None
    route: str
    receiver: str
    attempts: int
    key: str
    target_kind: str | None
    target: str | None
    reason: str | None
    created_at: datetime
    post_id: int | None = None


def _claimed(row: AlertDelivery) -> Claimed:
    return Claimed(
        row.id,
        row.event_id,
        row.portal_id,
        row.instance_id,
        row.route,
        row.receiver,
        row.attempts,
        row.idempotency_key,
        row.target_kind,
        row.target,
        row.reason,
        row.created_at,
        row.post_id,
    )


def claim_due(
    factory: SessionFactory,
    *,
    worker: str,
    now: datetime,
    limit: int = 10,
    lease: timedelta = DEFAULT_LEASE,
) -> list[Claimed]:
    """Up to `limit` rows whose time has come and whose lease (if any) has run out."""
    with write_scope(factory) as session:
        query = (
            select(AlertDelivery)
            .where(
                AlertDelivery.next_attempt_at <= now,
                or_(AlertDelivery.lease_until.is_(None), AlertDelivery.lease_until <= now),
            )
            .order_by(AlertDelivery.next_attempt_at, AlertDelivery.id)
            .limit(limit)
        )
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        rows = list(session.scalars(query))
        for row in rows:
            _take(session, row, worker, now + lease)
        return [_claimed(row) for row in rows]


def claim_for_target(
    factory: SessionFactory,
    *,
    kind: str,
    target: str,
    worker: str,
    now: datetime,
    lease: timedelta = DEFAULT_LEASE,
    limit: int = 500,
) -> list[Claimed]:
    """The other due rows for one target, to fold into the message about to go to it."""
    with write_scope(factory) as session:
        query = (
            select(AlertDelivery)
            .where(
                AlertDelivery.target_kind == kind,
                AlertDelivery.target == target,
                AlertDelivery.post_id.is_(None),  # a scheduled post goes out on its own
                AlertDelivery.next_attempt_at <= now,
                or_(AlertDelivery.lease_until.is_(None), AlertDelivery.lease_until <= now),
            )
            .order_by(AlertDelivery.id)
            .limit(limit)
        )
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        rows = list(session.scalars(query))
        for row in rows:
            _take(session, row, worker, now + lease)
        return [_claimed(row) for row in rows]


def _take(session: Session, row: AlertDelivery, worker: str, until: datetime) -> None:
    if row.state == "delivering" and row.lease_until is not None:
        _record_lost_attempt(session, row)
    row.state, row.lease_owner, row.lease_until = "delivering", worker, until


def _record_lost_attempt(session: Session, row: AlertDelivery) -> None:
    """A row still `delivering` whose lease ran out: its worker died (or hung) after claiming
    it, maybe after sending. That attempt is logged as lost and counted, so the retry is
    attempt 2 and knows to look for what may have gone out (the Slack deliverer reads its
    message back by metadata instead of posting again)."""
    assert row.lease_until is not None
    row.attempts += 1
    session.add(
        AlertDeliveryAttempt(
            delivery_id=row.id,
            attempt=row.attempts,
            # When the attempt began is lost with its worker; its lease's end is when it was
            # known to be lost.
            started_at=row.lease_until,
            outcome=LOST,
            detail=f"lease ran out at {row.lease_until.isoformat()} before {row.lease_owner} "
            "recorded a result (the worker stopped; the message may have gone out)",
            next_attempt_at=row.next_attempt_at,
            worker=(row.lease_owner or "unknown")[:64],
        )
    )


def last_sent_at(factory: SessionFactory, kind: str, target: str) -> datetime | None:
    with factory() as session:
        return session.scalar(
            select(func.max(AlertDelivery.delivered_at)).where(
                AlertDelivery.target_kind == kind, AlertDelivery.target == target
            )
        )


def postpone(factory: SessionFactory, claimed: list[Claimed], until: datetime) -> None:
    """Back to pending until `until`, without an attempt (grouping, not a failure)."""
    with write_scope(factory) as session:
        for item in claimed:
            row = session.get(AlertDelivery, item.id)
            if row is not None and row.state == "delivering":
                row.state, row.next_attempt_at = "pending", until
                row.lease_owner = row.lease_until = None


def resolve_target(
    factory: SessionFactory, claimed: Claimed, kind: str, target: str, reason: str | None
) -> Claimed:
    """Store the target found for a delivery (a DM's Slack user, a fallback)."""
    with write_scope(factory) as session:
        row = session.get(AlertDelivery, claimed.id)
        if row is not None:
            row.target_kind, row.target, row.reason = kind, target, reason
    return replace(claimed, target_kind=kind, target=target, reason=reason)


def record_result(
    factory: SessionFactory,
    claimed: Claimed,
    result: DeliveryResult,
    *,
    worker: str,
    started_at: datetime,
    now: datetime,
    rng: random.Random | None = None,
) -> str:
    """One attempt row, and the delivery's new state; returns that state."""
    with write_scope(factory) as session:
        row = session.get(AlertDelivery, claimed.id, with_for_update=True)
        if row is None:
            return "gone"
        attempts = row.attempts + 1
        next_at: datetime | None = None
        if row.state in ("delivered", "dead", "suppressed"):
            state = row.state  # another worker finished it after our lease ran out
        elif row.state == "delivering" and row.lease_owner not in (None, worker):
            # Our lease ran out and another worker holds the row now: its attempt decides
            # what happens next; ours only goes into the log.
            state = row.state
        else:
            state, next_at = _next_state(result, attempts, now, rng)
            _apply(row, state, next_at, result, attempts, now)
        session.add(
            AlertDeliveryAttempt(
                delivery_id=row.id,
                attempt=attempts,
                started_at=started_at,
                outcome=str(result.outcome),
                status_code=result.status_code,
                detail=result.detail[:DETAIL_CHARS] or None,
                duration=result.duration,
                next_attempt_at=next_at,
                worker=worker,
            )
        )
        _note_endpoint(session, claimed, result, now)
        return state


def _next_state(
    result: DeliveryResult, attempts: int, now: datetime, rng: random.Random | None
) -> tuple[str, datetime | None]:
    if result.outcome is Outcome.DELIVERED:
        return "delivered", None
    if result.outcome is Outcome.DEAD:
        return "dead", None
    delay = next_attempt_delay(attempts, result.retry_after, rng)
    if delay is None:
        return "dead", None  # the retry schedule is used up
    return "pending", now + timedelta(seconds=delay)


def _apply(
    row: AlertDelivery,
    state: str,
    next_at: datetime | None,
    result: DeliveryResult,
    attempts: int,
    now: datetime,
) -> None:
    row.state = state
    row.attempts = attempts
    row.next_attempt_at = next_at
    row.lease_owner = None
    row.lease_until = None
    if state == "delivered":
        row.delivered_at = now
        row.latency_seconds = max(0.0, (now - row.created_at).total_seconds())
        row.last_error = None
    else:
        row.last_error = result.detail[:DETAIL_CHARS] or str(result.outcome)


def _note_endpoint(
    session: Session, claimed: Claimed, result: DeliveryResult, now: datetime
) -> None:
    if result.endpoint_gone and claimed.target_kind == "webhook" and claimed.target:
        disable_endpoint(session, f"webhook:{claimed.target}", "answered 410 Gone", now)
    if result.auth_broken:
        name = endpoint_name(claimed.target_kind, claimed.target)
        disable_endpoint(session, name, result.detail or "invalid_auth", now)


def disable_endpoint(session: Session, name: str, reason: str, now: datetime) -> None:
    endpoint = session.get(AlertEndpoint, name)
    if endpoint is None:
        endpoint = AlertEndpoint(name=name, updated_at=now)
        session.add(endpoint)
    endpoint.disabled_at = now
    endpoint.disabled_reason = reason
    endpoint.updated_at = now


def disabled_reason(factory: SessionFactory, name: str) -> str | None:
    with factory() as session:
        endpoint = session.get(AlertEndpoint, name)
        if endpoint is None or endpoint.disabled_at is None:
            return None
        return endpoint.disabled_reason or "disabled"


def release_held(factory: SessionFactory, worker: str) -> int:
    """Hand back the rows `worker` claimed and has not recorded (a stop that could not wait
    for its sends): pending again at once, for any worker. Returns how many."""
    with write_scope(factory) as session:
        rows = list(
            session.scalars(
                select(AlertDelivery).where(
                    AlertDelivery.lease_owner == worker, AlertDelivery.state == "delivering"
                )
            )
        )
        for row in rows:
            row.state, row.lease_owner, row.lease_until = "pending", None, None
        return len(rows)
