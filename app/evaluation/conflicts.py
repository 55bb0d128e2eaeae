"""Redoing a PostgreSQL evaluation transaction that lost to a concurrent evaluator.

Full passes share the lock a batch writes under (app/evaluation/exclusion.py), so two passes,
or a pass and the due-clock job, can write the same instances at once, and a hand-off's
period refresh updates rows a pass's periods update too. Ordering every lock would not be
enough (a row's unique key is taken when an INSERT meets another's uncommitted row), so the
loser of such a race (deadlock 40P01, serialization failure 40001, or an instance key
inserted by the other, 23505) is rolled back to a savepoint taken before its first read, and
read, evaluated and written again: the redo sees what the winner committed. The savepoint
makes this safe whatever the caller's transaction holds: nothing of the work is half kept.

SQLite's writers take turns at its single write lock, so only the last case happens there
(another full pass inserted the instance between a batch's reads and its lock): the batch's
writes are undone to a savepoint and, as it holds the lock, read and evaluated once more.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

T = TypeVar("T")

ATTEMPTS = 5
BACKOFF_SECONDS = 0.05
RETRYABLE_STATES = frozenset({"40P01", "40001"})
INSTANCE_KEY = "uq_sla_instances_portal_id_rule_id_object_type_object_id_cycle"
# How SQLite names the same key in its error
INSTANCE_KEY_COLUMNS = (
    "UNIQUE constraint failed: sla_instances.portal_id, sla_instances.rule_id, "
    "sla_instances.object_type, sla_instances.object_id, sla_instances.cycle"
)

_redone = 0


def redone() -> int:
    """How many evaluation transactions of this process were redone after a conflict."""
    return _redone


def conflict(exc: BaseException) -> str | None:
    """The SQLSTATE of a conflict with a concurrent evaluator, or None for any other error."""
    if not isinstance(exc, DBAPIError):
        return None
    state = getattr(exc.orig, "sqlstate", None)
    if state in RETRYABLE_STATES:
        return str(state)
    diag = getattr(exc.orig, "diag", None)
    if state == "23505" and getattr(diag, "constraint_name", None) == INSTANCE_KEY:
        return "23505"
    return None


def write_once_taken_or_none(session: Session, write: Callable[[], T]) -> T | None:
    """SQLite, under the write lock: `write` in a savepoint; None (its writes undone) when it
    met an instance key that another full pass inserted since the batch read. Elsewhere
    `write` as it is (a conflict there redoes the whole batch: `redo_on_conflict`)."""
    if session.get_bind().dialect.name != "sqlite":
        return write()
    try:
        with session.begin_nested():
            return write()
    except IntegrityError as exc:
        if INSTANCE_KEY_COLUMNS not in str(exc.orig):
            raise
    log.info("a full pass's batch met instances another full pass wrote; it reads them again")
    return None


def redo_on_conflict(session: Session, work: Callable[[], T], what: str) -> T:
    """Run `work` (reads, evaluation and writes) in a savepoint on PostgreSQL, again after a
    short jittered wait when it lost a race with another evaluator (up to ATTEMPTS times)."""
    global _redone
    if session.get_bind().dialect.name != "postgresql":
        return work()
    states: list[str] = []
    while True:
        try:
            with session.begin_nested():
                result = work()
        except DBAPIError as exc:
            state = conflict(exc)
            if state is None or len(states) + 1 >= ATTEMPTS:
                raise
            states.append(state)
            _redone += 1
            time.sleep(BACKOFF_SECONDS * len(states) * (0.5 + random.random()))
            continue
        if states:
            log.warning(
                "%s conflicted with a concurrent evaluator (SQLSTATE %s) and was redone %d time(s)",
                what,
                ", ".join(sorted(set(states))),
                len(states),
            )
        return result
