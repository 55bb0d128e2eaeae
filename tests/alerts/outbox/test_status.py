"""The outbox status reports the same figures as counting the deliveries one by one, and on
SQLite answers every question from an index, not by reading the whole table."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from alerts.outbox.status import LATENCY_BUCKETS, LIVE, RECENT, OutboxStatus, outbox_status
from app.models import AlertDelivery, AlertEndpoint

NOW = datetime(2026, 3, 4, 15, 0, tzinfo=UTC)
STATES = ("pending", "delivering", "delivered", "dead", "suppressed")
KINDS = (None, "slack", "webhook", "hubspot")
# Bounds themselves, either side of them, none, and beyond the last: exact binary fractions,
# so the sum is the same whatever order the database adds them in.
LATENCIES = (None, 0.25, 1.0, 1.5, 2.0, 4.75, 5.0, 60.0, 299.5, 3600.0, 7200.0)
REASONS = (
    None,
    "fallback for owner: no Slack user for a@example.com (users_not_found)",
    "fallback for manager:U0ADA: deactivated (user_disabled)",
    "silenced by silence 3",
    "not a fallback for anyone",
)


def _seed(session: Session, count: int = 240) -> list[AlertDelivery]:
    rng = random.Random(7)
    rows = []
    for n in range(count):
        state = rng.choice(STATES)
        live = state in LIVE
        rows.append(
            AlertDelivery(
                portal_id=1,
                route="sales-channel",
                receiver=f"channel:sales-{n}",
                state=state,
                attempts=rng.randint(0, 8),
                next_attempt_at=NOW + timedelta(minutes=rng.randint(-90, 90)) if live else None,
                lease_until=rng.choice(
                    (None, NOW - timedelta(minutes=1), NOW + timedelta(minutes=5))
                ),
                idempotency_key=f"key-{n}",
                target_kind=rng.choice(KINDS),
                target="C0SALES",
                reason=rng.choice(REASONS),
                created_at=NOW - timedelta(hours=rng.uniform(0, 72)),
                latency_seconds=rng.choice(LATENCIES),
            )
        )
    session.add_all(rows)
    session.add_all(
        [
            AlertEndpoint(
                name="webhook:crm", disabled_at=NOW, disabled_reason="410", updated_at=NOW
            ),
            AlertEndpoint(name="slack", disabled_at=None, updated_at=NOW),
        ]
    )
    session.commit()
    return rows


def _counted_by_hand(rows: list[AlertDelivery], now: datetime) -> OutboxStatus:
    live = [row for row in rows if row.state in LIVE]
    fallbacks = [row for row in rows if (row.reason or "").startswith("fallback for ")]
    overdue = [
        row.next_attempt_at
        for row in rows
        if row.next_attempt_at is not None
        and row.next_attempt_at <= now
        and (row.lease_until is None or row.lease_until <= now)
    ]
    latencies = [row.latency_seconds for row in rows if row.latency_seconds is not None]
    return OutboxStatus(
        depth=len(live),
        oldest_pending_at=min(row.created_at for row in live),
        dead=sum(row.state == "dead" for row in rows),
        by_kind_and_state=dict(
            Counter((row.target_kind or "unresolved", row.state) for row in rows)
        ),
        fallbacks=len(fallbacks),
        disabled={"webhook:crm": "410"},
        oldest_overdue_at=min(overdue),
        dead_recent=sum(row.state == "dead" and row.created_at >= now - RECENT for row in rows),
        latest_fallback=max(fallbacks, key=lambda row: row.id).reason,
        latency_buckets=tuple(sum(v <= bound for v in latencies) for bound in LATENCY_BUCKETS),
        latency_count=len(latencies),
        latency_sum=sum(latencies),
    )


def test_the_status_matches_counting_each_delivery(session: Session) -> None:
    rows = _seed(session)

    found = outbox_status(session, NOW)

    assert found == _counted_by_hand(rows, NOW)
    # The seed reaches every branch: a figure that is always zero would prove nothing.
    assert found.fallbacks and found.dead_recent and found.oldest_overdue_at is not None
    assert 0 < found.latency_buckets[0] < found.latency_buckets[-1] < found.latency_count


def test_an_empty_outbox_reports_nothing_waiting(session: Session) -> None:
    found = outbox_status(session, NOW)

    assert (found.depth, found.dead, found.fallbacks, found.dead_recent) == (0, 0, 0, 0)
    assert found.oldest_pending_at is None and found.latest_fallback is None
    assert found.latency_buckets == (0,) * len(LATENCY_BUCKETS)
    assert (found.latency_count, found.latency_sum) == (0, 0.0)


def test_the_status_reads_only_indexes_on_sqlite(sqlite_engine: Engine) -> None:
    """A full walk of alert_deliveries costs a second at half a million deliveries (the
    System page, /admin/health and /metrics each ask for the status)."""
    statements: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        statements.append((statement, parameters))

    with Session(sqlite_engine) as session:
        _seed(session, count=40)
        event.listen(sqlite_engine, "before_cursor_execute", record)
        try:
            outbox_status(session, NOW)
        finally:
            event.remove(sqlite_engine, "before_cursor_execute", record)
        on_deliveries = [(s, p) for s, p in statements if "alert_deliveries" in s]
        assert len(on_deliveries) >= 6
        for statement, parameters in on_deliveries:
            plan = session.connection().exec_driver_sql(
                f"EXPLAIN QUERY PLAN {statement}", tuple(parameters)
            )
            steps = [row[3] for row in plan]
            walks = [s for s in steps if s.startswith("SCAN alert_deliveries")]
            assert all("INDEX" in s for s in walks), (statement, steps)
