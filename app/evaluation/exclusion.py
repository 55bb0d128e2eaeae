"""Two evaluators of one record must not interleave their reads and writes.

A hand-off (the records a feed just changed) reads and writes in one transaction that
excludes every other writer of SLA instances while it reads: on SQLite it begins with the
write lock (`begin_write`); on PostgreSQL its first statement bumps the `handoffs` counter,
whose row lock it then holds to its commit, so hand-offs follow each other.

A full pass cannot hold that lock while it reads a batch of thousands of records (the
webhook endpoint and the other worker need it meanwhile), so it reads first and checks
before writing: it notes the counter, reads and evaluates, then takes the lock (SQLite's
write lock; on PostgreSQL a share lock on the counter's row, which waits for a running
hand-off to commit and keeps new ones out until the batch commits, while the other batches
of a parallel pass share it) and reads the counter again. Unchanged, no hand-off wrote since
its reads and the batch writes what it evaluated; changed, it reads and evaluates again
under the lock. A change committed by a feed after the batch read is queued for a hand-off
of its own, which runs after the batch's commit and sees it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.models import SlaHandoffStats
from app.store.db import begin_write

STATS_ID = 1


def _upsert(session: Session, values: dict[str, Any], assignments: dict[str, Any]) -> None:
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(SlaHandoffStats).values(id=STATS_ID, **values)
    session.execute(
        statement.on_conflict_do_update(index_elements=["id"], set_=assignments),
        execution_options={"synchronize_session": False},
    )


# Through the driver (the same text on both databases): a hand-off runs it per changed set.
_BUMP = (
    "INSERT INTO sla_handoff_stats (id, handoffs, failures) VALUES (1, 1, 0) "
    "ON CONFLICT (id) DO UPDATE SET handoffs = sla_handoff_stats.handoffs + 1"
)


def begin_handoff(session: Session) -> None:
    """Start a hand-off's transaction: the write lock on SQLite, the counter's row on both."""
    begin_write(session)
    session.connection().exec_driver_sql(_BUMP)


def handoffs_seen(session: Session) -> int:
    """The counter as a batch of a full pass notes it before reading."""
    value = session.execute(
        select(SlaHandoffStats.handoffs).where(SlaHandoffStats.id == STATS_ID)
    ).scalar()
    return int(value or 0)


def lock_for_batch(session: Session) -> int:
    """Take the lock a batch writes under, and return the counter as it stands under it."""
    begin_write(session)
    query = select(SlaHandoffStats.handoffs).where(SlaHandoffStats.id == STATS_ID)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(read=True)
    value = session.execute(query).scalar()
    if value is None:  # the row was deleted: a row that does not exist cannot be locked
        _upsert(session, {"handoffs": 0, "failures": 0}, {"handoffs": SlaHandoffStats.handoffs})
        value = session.execute(query).scalar()
    return int(value or 0)


def count_failures(session: Session, records: int, error: str, now: datetime) -> None:
    """Add failed hand-offs (counted in records) to the total, with the latest reason."""
    _upsert(
        session,
        {
            "handoffs": 0,
            "failures": records,
            "last_error": error,
            "last_failure_at": now,
        },
        {
            "failures": SlaHandoffStats.failures + records,
            "last_error": error,
            "last_failure_at": now,
        },
    )
