"""Evaluating the SLA rules on the store: everything (`evaluate_all`) or the records a sync or
a webhook just changed (`evaluate_records`). Services take a session and do not commit.
"""

from __future__ import annotations

import gc
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from app.evaluation import conflicts, exclusion, periodic, repository
from app.evaluation.context import PortalContext, build_context, cached_context
from app.evaluation.reconcile import FINISHED_STATES, Changes, Subject, cancel, reconcile
from app.evaluation.repository import IdRange, Selector
from app.evaluation.rules_store import rules_in_force
from app.evaluation.writes import EvaluationReport, write_changes
from app.sla.records import Record
from app.sla.rules import Hint, evaluate_clock_rule
from app.sla.schema import RulesFile
from app.sla.states import RUNNING_CLOCK_STATES

BATCH_SIZE = 5000


@dataclass(slots=True)
class _Loaded:
    """One selection's records and their stored instances, read and not yet evaluated."""

    records: list[Record]
    stored: dict[tuple[str, str], dict[int, Any]]


def _load_selection(
    session: Session, context: PortalContext, object_type: str, selector: Selector
) -> _Loaded:
    records = repository.load_records(
        session,
        context.portal_id,
        object_type,
        selector,
        with_properties=context.needs_properties(object_type),
        with_touches=context.needs_touches(object_type),
    )
    stored: dict[tuple[str, str], dict[int, Any]] = defaultdict(dict)
    for row in repository.load_instances(session, context.portal_id, object_type, selector):
        stored[(row.rule_id, row.object_id)][row.cycle] = row
    return _Loaded(records, stored)


def _changes_for(
    context: PortalContext, object_type: str, loaded: _Loaded, now: datetime
) -> Changes:
    """What makes the stored instances of the loaded records agree with the rules (pure)."""
    stored = loaded.stored
    changes = Changes()
    rules = [
        (rule, context.fingerprints[rule.id]) for rule in context.clock_rules.get(object_type, [])
    ]
    directory, book, portal_id = context.directory, context.book, context.portal_id
    for record in loaded.records:
        for rule, fingerprint in rules:
            cycles = stored.pop((rule.id, record.id), None)
            if cycles:
                settled = {n for n, row in cycles.items() if row.state in FINISHED_STATES}
                hints = {
                    n: Hint(row.started_at, row.owner_id, row.due_at, row.warning_at)
                    for n, row in cycles.items()
                    if n not in settled and row.rule_fingerprint == fingerprint
                }
                outcomes = evaluate_clock_rule(rule, record, directory, book, now, settled, hints)
            else:
                cycles = {}
                outcomes = evaluate_clock_rule(rule, record, directory, book, now)
                if not outcomes:
                    continue
            subject = Subject(portal_id, rule.id, rule.kind, object_type, record.id, fingerprint)
            reconcile(subject, outcomes, cycles, now, changes)
    # Left over: instances of rules no longer in force, or of records gone from the store.
    for (rule_id, object_id), cycles in stored.items():
        for row in cycles.values():
            if row.state in RUNNING_CLOCK_STATES:
                kind = context.rules.rule(rule_id).kind if rule_id in context.rule_ids else ""
                subject = Subject(portal_id, rule_id, kind, object_type, object_id, "")
                cancel(subject, row, now, changes, reason="rule_or_record_gone")
    return changes


def _evaluate_selection(
    session: Session,
    context: PortalContext,
    object_type: str,
    selector: Selector,
    now: datetime,
) -> EvaluationReport:
    loaded, changes = _read_and_evaluate(session, context, object_type, selector, now)
    report = write_changes(session, changes)
    report.records = len(loaded.records)
    return report


def _read_and_evaluate(
    session: Session,
    context: PortalContext,
    object_type: str,
    selector: Selector,
    now: datetime,
) -> tuple[_Loaded, Changes]:
    loaded = _load_selection(session, context, object_type, selector)
    return loaded, _changes_for(context, object_type, loaded, now)


def _evaluate_batch(
    session: Session,
    context: PortalContext,
    object_type: str,
    selector: Selector,
    now: datetime,
) -> EvaluationReport:
    """A full pass's batch: read and evaluated before the lock, written under it, and read
    and evaluated again under it if a hand-off wrote meanwhile (app/evaluation/exclusion.py);
    on PostgreSQL redone from its reads when it lost a race with another full pass
    (app/evaluation/conflicts.py)."""
    return conflicts.redo_on_conflict(
        session,
        lambda: _evaluate_batch_once(session, context, object_type, selector, now),
        f"a full pass's batch of {object_type}s of portal {context.portal_id}",
    )


def _evaluate_batch_once(
    session: Session,
    context: PortalContext,
    object_type: str,
    selector: Selector,
    now: datetime,
) -> EvaluationReport:
    seen = exclusion.handoffs_seen(session)
    loaded, changes = _read_and_evaluate(session, context, object_type, selector, now)
    if exclusion.lock_for_batch(session) != seen:
        loaded, changes = _read_and_evaluate(session, context, object_type, selector, now)
    written = conflicts.write_once_taken_or_none(session, lambda: write_changes(session, changes))
    if written is None:  # SQLite: another full pass wrote these records since they were read
        loaded, changes = _read_and_evaluate(session, context, object_type, selector, now)
        written = write_changes(session, changes)
    written.records = len(loaded.records)
    return written


SQLITE_CACHE_KIB = 128 * 1024


def _widen_sqlite_cache(session: Session) -> None:
    """A full pass writes ~2 index entries per instance and event across half a dozen
    indexes; SQLite's default 2 MB page cache makes that disk-bound beyond ~100k rows.
    The setting lasts for this pooled connection only."""
    if session.get_bind().dialect.name == "sqlite":
        session.connection().exec_driver_sql(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")


@contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """A full pass allocates millions of objects that live for a batch (intervals, datetimes,
    rows), and each allocation burst makes the cyclic collector traverse them all again: a
    quarter of the pass's CPU time. They hold no reference cycles (reference counting frees
    them with their batch), so the collector waits until the pass ends. It is re-enabled only
    if it was enabled here, so a pause elsewhere (or a nested one) is left alone."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _resolve_rules(session: Session, rules: RulesFile | None) -> RulesFile | None:
    return rules if rules is not None else rules_in_force(session)


def evaluate_all(
    session: Session,
    *,
    now: datetime,
    rules: RulesFile | None = None,
    portal_id: int | None = None,
    batch_size: int = BATCH_SIZE,
    progress: Callable[[int], None] | None = None,
    after_batch: Callable[[], None] | None = None,
) -> EvaluationReport:
    """Re-evaluate every rule on every record (of one portal or all), in id-range batches.

    `after_batch` runs after each batch is written; long runs pass `session.commit` so that a
    full pass over a large portal never holds SQLite's write lock for minutes."""
    report = EvaluationReport()
    resolved = _resolve_rules(session, rules)
    if resolved is None:
        return report
    _widen_sqlite_cache(session)
    portals = [portal_id] if portal_id is not None else repository.portal_ids(session)
    with _cyclic_gc_paused():
        _evaluate_portals(
            session, resolved, portals, now, batch_size, progress, after_batch, report
        )
    return report


def _evaluate_portals(
    session: Session,
    resolved: RulesFile,
    portals: Sequence[int],
    now: datetime,
    batch_size: int,
    progress: Callable[[int], None] | None,
    after_batch: Callable[[], None] | None,
    report: EvaluationReport,
) -> None:
    for pid in portals:
        context = build_context(session, pid, resolved)
        for object_type in ("contact", "deal"):
            after: str | None = None
            while True:
                selection = repository.next_id_range(session, pid, object_type, after, batch_size)
                if selection is None:
                    break
                batch = _evaluate_batch(session, context, object_type, selection, now)
                report.add(batch)
                if after_batch is not None:
                    after_batch()
                if progress is not None:
                    progress(batch.records)
                after = selection.last
        report.add(periodic.evaluate_periods(session, context, now))


def evaluate_records(
    session: Session,
    portal_id: int,
    object_type: str,
    ids: Sequence[str],
    now: datetime,
    *,
    rules: RulesFile | None = None,
) -> EvaluationReport:
    """Re-evaluate the clocks of the records just changed (the sync's and webhook's hook),
    and ask the due-clock job to refresh the quotas and rates that count such records."""
    resolved = _resolve_rules(session, rules)
    if resolved is None or not ids:
        return EvaluationReport()
    object_type = object_type.removesuffix("s")  # "contacts" -> "contact"
    if object_type not in ("contact", "deal"):
        raise ValueError(f"SLA rules apply to contacts and deals, not to {object_type!r} records")
    context = cached_context(session, portal_id, resolved, now)
    report = EvaluationReport()
    unique = sorted(set(ids))
    for start in range(0, len(unique), BATCH_SIZE):
        selector: Selector = unique[start : start + BATCH_SIZE]
        report.add(_evaluate_selection(session, context, object_type, selector, now))
    periodic.request_refresh(session, context, object_type, now)
    return report


# The steps of a full pass, for the parallel driver (app/evaluation/parallel.py): one batch
# evaluated and written (not committed), the SQLite page cache, the collector's pause.
evaluate_selection = _evaluate_batch
widen_sqlite_cache = _widen_sqlite_cache
cyclic_gc_paused = _cyclic_gc_paused

__all__ = [
    "EvaluationReport",
    "IdRange",
    "cyclic_gc_paused",
    "evaluate_all",
    "evaluate_records",
    "evaluate_selection",
    "widen_sqlite_cache",
    "write_changes",
]
