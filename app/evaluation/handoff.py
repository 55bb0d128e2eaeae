"""Handing the records a feed changed to the SLA engine, durably.

Both feeds (the webhook worker and the sync, and the webhook re-reads) call `enqueue` in the
transaction that stores the change: the record's key lands in `sla_reevaluation_queue` with it,
so a crash after that commit loses nothing. Right after the commit they call `hand_off`, which
evaluates the records in a transaction of its own (excluding other evaluators:
app/evaluation/exclusion.py) and removes their rows in that same transaction. A failure keeps
the rows (attempts, error, a later next attempt), is counted for health and metrics, and is
retried by the `sla-reevaluate` job (`drain`); a full evaluation covers whatever is queued
(`covered` / `clear_covered`).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import and_, delete, select, tuple_
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from app.evaluation import conflicts, exclusion
from app.evaluation.repository import latest_rule_set_fingerprint
from app.evaluation.service import evaluate_records
from app.models import SlaReevaluation
from app.models.base import sqlite_utc_text
from app.store.db import SessionFactory, session_scope, write_scope

log = logging.getLogger(__name__)

OBJECT_TYPES = ("contact", "deal")
# A queued record's own hand-off runs right after its commit; the drain job leaves it alone
# this long, so that it only picks up what a crash or a failure left behind.
HANDOFF_GRACE = timedelta(seconds=10)
RETRY_FIRST = timedelta(seconds=5)
RETRY_MAX = timedelta(minutes=10)
# Records per evaluation transaction: it holds the write lock while it reads and evaluates,
# and the webhook endpoint of the same process waits for it meanwhile.
CHUNK = 100

Group = tuple[int, str]  # portal, object type


class Keyed(Protocol):
    @property
    def portal_id(self) -> int: ...
    @property
    def object_type(self) -> str: ...
    @property
    def object_id(self) -> str: ...


@dataclass
class HandoffResult:
    evaluated: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)

    def add(self, other: HandoffResult) -> None:
        self.evaluated += other.evaluated
        self.failed += other.failed
        self.errors += other.errors


def rules_exist(session: Session) -> bool:
    """Whether a rule set is in force: without one there is nothing to evaluate, so nothing
    is queued (a first sync, usually)."""
    return latest_rule_set_fingerprint(session) is not None


def group_keys(keys: Iterable[Keyed]) -> dict[Group, list[str]]:
    """Keys of SLA-relevant records (contacts, deals) by portal and type, ids sorted."""
    groups: dict[Group, set[str]] = defaultdict(set)
    for key in keys:
        if key.object_type in OBJECT_TYPES:
            groups[(key.portal_id, key.object_type)].add(key.object_id)
    return {group: sorted(ids) for group, ids in sorted(groups.items())}


def enqueue(
    session: Session, groups: Mapping[Group, Sequence[str]], now: datetime
) -> dict[Group, list[str]]:
    """Queue the records in the caller's transaction; returns what was queued (nothing while
    no rules are in force). A record already queued keeps its place and first time."""
    queued = {
        group: list(ids)
        for group, ids in groups.items()
        if ids and group[1].removesuffix("s") in OBJECT_TYPES
    }
    if not queued or not rules_exist(session):
        return {}
    connection = session.connection()
    sqlite_store = connection.dialect.name == "sqlite"
    # The stored forms of the times (UTCDateTime's on SQLite): the statement goes through the
    # driver, as it runs in every page's and round's transaction.
    enqueued_at: Any = sqlite_utc_text(now) if sqlite_store else now
    next_attempt_at: Any = (
        sqlite_utc_text(now + HANDOFF_GRACE) if sqlite_store else now + HANDOFF_GRACE
    )
    statement = _ENQUEUE.replace("%s", "?") if sqlite_store else _ENQUEUE
    result: dict[Group, list[str]] = {}
    for (portal_id, object_type), ids in queued.items():
        kind = object_type.removesuffix("s")
        rows = [(portal_id, kind, object_id, enqueued_at, next_attempt_at) for object_id in ids]
        connection.exec_driver_sql(statement, rows)
        result[(portal_id, kind)] = ids
    return result


# A record already queued keeps its first time; the count says a change came after it.
_ENQUEUE = (
    "INSERT INTO sla_reevaluation_queue (portal_id, object_type, object_id, enqueued_at, "
    "enqueue_count, attempts, next_attempt_at) VALUES (%s, %s, %s, %s, 1, 0, %s) "
    "ON CONFLICT (portal_id, object_type, object_id) DO UPDATE SET "
    "enqueue_count = sla_reevaluation_queue.enqueue_count + 1, "
    "next_attempt_at = excluded.next_attempt_at"
)


def hand_off(
    session_factory: SessionFactory,
    groups: Mapping[Group, Sequence[str]],
    now: datetime,
    *,
    lock: AbstractContextManager[object] | None = None,
) -> HandoffResult:
    """Evaluate queued records now, each chunk in its own transaction; a failed chunk stays
    queued for the drain job (counted, logged once as a warning)."""
    result = HandoffResult()
    for (portal_id, object_type), ids in sorted(groups.items()):
        for start in range(0, len(ids), CHUNK):
            chunk = list(ids[start : start + CHUNK])
            result.add(_attempt(session_factory, portal_id, object_type, chunk, now, lock))
    return result


def _attempt(
    session_factory: SessionFactory,
    portal_id: int,
    object_type: str,
    ids: list[str],
    now: datetime,
    lock: AbstractContextManager[object] | None,
    *,
    record: bool = True,
) -> HandoffResult:
    """One evaluation transaction; a failure is logged and, with `record`, written to the
    rows and counted (the drain retries a failed chunk record by record, counting those)."""
    try:
        # The process's own writer queue first, then the database's lock: never the reverse,
        # or a writer holding the first would wait out the busy timeout for the second.
        with lock or nullcontext(), write_scope(session_factory) as session:
            conflicts.redo_on_conflict(
                session,
                lambda: _evaluate_and_release(session, portal_id, object_type, ids, now),
                f"a hand-off of {len(ids)} {object_type} record(s) of portal {portal_id}",
            )
    except Exception as exc:
        reason = _reason(exc)
        if not record:
            return HandoffResult(failed=len(ids), errors=[reason])
        log.warning(
            "SLA evaluation of %d %s record(s) of portal %d failed; they stay queued and are "
            "retried: %s",
            len(ids),
            object_type,
            portal_id,
            reason,
        )
        _record_failure(session_factory, portal_id, object_type, ids, now, reason)
        return HandoffResult(failed=len(ids), errors=[reason])
    return HandoffResult(evaluated=len(ids))


def _evaluate_and_release(
    session: Session, portal_id: int, object_type: str, ids: list[str], now: datetime
) -> None:
    exclusion.begin_handoff(session)
    claimed = _claim(session, portal_id, object_type, ids)
    evaluate_records(session, portal_id, object_type, ids, now)
    _release(session, portal_id, object_type, claimed)


def _keys_in(portal_id: int, object_type: str, ids: Sequence[str]) -> Any:
    return and_(
        SlaReevaluation.portal_id == portal_id,
        SlaReevaluation.object_type == object_type,
        SlaReevaluation.object_id.in_(list(ids)),
    )


# A hand-off's own statements, through the driver: it runs once per changed record set, and
# building them through the ORM cost more than the evaluation of one record.
_PG_CLAIM = (
    "SELECT object_id, enqueue_count FROM sla_reevaluation_queue "
    "WHERE portal_id = %s AND object_type = %s AND object_id = ANY(%s)"
)
_PG_RELEASE = (
    "DELETE FROM sla_reevaluation_queue WHERE portal_id = %s AND object_type = %s "
    "AND (object_id, enqueue_count) IN (SELECT * FROM unnest(%s::text[], %s::int[]))"
)


def _claim(
    session: Session, portal_id: int, object_type: str, ids: Sequence[str]
) -> dict[str, int] | list[str]:
    """What the hand-off will remove, read before the records. On SQLite the write lock is
    held from before this read to the commit, so no change can be queued meanwhile: the ids
    themselves. On PostgreSQL a feed can queue a change of a record while it is evaluated:
    each row's enqueue count, so that such a row stays."""
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        return list(ids)
    rows = connection.exec_driver_sql(_PG_CLAIM, (portal_id, object_type, list(ids)))
    return {object_id: int(count) for object_id, count in rows}


def _release(
    session: Session, portal_id: int, object_type: str, claimed: dict[str, int] | list[str]
) -> None:
    if not claimed:
        return
    connection = session.connection()
    if isinstance(claimed, list):
        marks = ", ".join("?" * len(claimed))
        connection.exec_driver_sql(
            "DELETE FROM sla_reevaluation_queue WHERE portal_id = ? AND object_type = ? "  # noqa: S608
            f"AND object_id IN ({marks})",
            (portal_id, object_type, *claimed),
        )
        return
    connection.exec_driver_sql(
        _PG_RELEASE, (portal_id, object_type, list(claimed), list(claimed.values()))
    )


def _remove(session: Session, portal_id: int, object_type: str, seen: Mapping[str, int]) -> None:
    """Delete the rows that no change was queued into since they were read."""
    if not seen:
        return
    pairs = list(seen.items())
    session.execute(
        delete(SlaReevaluation)
        .where(
            SlaReevaluation.portal_id == portal_id,
            SlaReevaluation.object_type == object_type,
            tuple_(SlaReevaluation.object_id, SlaReevaluation.enqueue_count).in_(pairs),
        )
        .execution_options(synchronize_session=False)
    )


def _retry_delay(attempts: int) -> timedelta:
    delay: timedelta = RETRY_FIRST * 2 ** max(0, attempts - 1)
    return min(RETRY_MAX, delay)


def _record_failure(
    session_factory: SessionFactory,
    portal_id: int,
    object_type: str,
    ids: Sequence[str],
    now: datetime,
    reason: str,
) -> None:
    """attempts + 1, the error and a later attempt on each row; the failure counted. If even
    this cannot be written, the rows are still queued and the drain job retries them."""
    try:
        with write_scope(session_factory) as session:
            # The counter's row first, as a hand-off takes it: two lock orders could deadlock.
            exclusion.count_failures(session, len(ids), reason, now)
            rows = session.scalars(
                select(SlaReevaluation).where(_keys_in(portal_id, object_type, ids))
            ).all()
            for row in rows:
                row.attempts += 1
                row.last_error = reason
                row.next_attempt_at = now + _retry_delay(row.attempts)
    except Exception:
        log.exception("recording a failed SLA hand-off failed; the records stay queued")


def _reason(exc: Exception) -> str:
    """The error's type and first line (a driver error's own message, without its SQL)."""
    cause = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    lines = str(cause).strip().splitlines()
    text = lines[0][:300] if lines else ""
    return f"{type(cause).__name__}: {text}" if text else type(cause).__name__


# -- the drain job and full evaluations ------------------------------------------------------


def drain(
    session_factory: SessionFactory,
    now: datetime,
    *,
    lock: AbstractContextManager[object] | None = None,
    max_rounds: int = 20,
) -> HandoffResult:
    """Evaluate the queued records whose time has come (left by a crash or a failure), a
    chunk per transaction; a failing chunk is retried record by record, so one record that
    cannot be evaluated holds back no other."""
    result = HandoffResult()
    for _ in range(max_rounds):
        with session_scope(session_factory) as session:
            due = _due(session, now)
        if not due:
            break
        for (portal_id, object_type), ids in sorted(due.items()):
            alone = len(ids) == 1
            attempt = _attempt(
                session_factory, portal_id, object_type, ids, now, lock, record=alone
            )
            if attempt.failed and not alone:
                attempt = HandoffResult()
                for object_id in ids:
                    attempt.add(
                        _attempt(session_factory, portal_id, object_type, [object_id], now, lock)
                    )
            result.add(attempt)
        if sum(len(ids) for ids in due.values()) < CHUNK:
            break
    return result


def _due(session: Session, now: datetime) -> dict[Group, list[str]]:
    rows = session.execute(
        select(SlaReevaluation.portal_id, SlaReevaluation.object_type, SlaReevaluation.object_id)
        .where(SlaReevaluation.next_attempt_at <= now)
        .order_by(SlaReevaluation.next_attempt_at)
        .limit(CHUNK)
    )
    groups: dict[Group, list[str]] = defaultdict(list)
    for portal_id, object_type, object_id in rows:
        groups[(portal_id, object_type)].append(object_id)
    return {group: sorted(ids) for group, ids in groups.items()}


Covered = dict[tuple[int, str, str], int]


def covered(session: Session) -> Covered:
    """The queue as a full evaluation starts: every record in it is evaluated by that pass."""
    rows = session.execute(
        select(
            SlaReevaluation.portal_id,
            SlaReevaluation.object_type,
            SlaReevaluation.object_id,
            SlaReevaluation.enqueue_count,
        )
    )
    return {(pid, kind, object_id): count for pid, kind, object_id, count in rows}


def clear_covered(session: Session, before: Covered) -> int:
    """After a full evaluation: remove the rows it covered (unless queued again meanwhile)."""
    by_group: dict[Group, dict[str, int]] = defaultdict(dict)
    for (portal_id, object_type, object_id), count in before.items():
        by_group[(portal_id, object_type)][object_id] = count
    for (portal_id, object_type), seen in by_group.items():
        items = sorted(seen.items())
        for start in range(0, len(items), CHUNK):
            _remove(session, portal_id, object_type, dict(items[start : start + CHUNK]))
    return len(before)


__all__ = [
    "HandoffResult",
    "clear_covered",
    "covered",
    "drain",
    "enqueue",
    "group_keys",
    "hand_off",
    "rules_exist",
]
