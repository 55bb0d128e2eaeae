"""The backtest's clock rules spread over worker processes, as `evaluate --workers` spreads a
full pass (the batches of app/evaluation/parallel.py): each worker reads and judges whole id
ranges in its own read-only transaction and sends back only the tallies, which the parent
adds up. Nothing is written anywhere; a worker's error fails the backtest with one sentence."""

from __future__ import annotations

import os
import signal
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from app.errors import ConfigError, SlaguardError
from app.evaluation.backtest import (
    BacktestResult,
    PeriodTallies,
    Plan,
    Tallies,
    assemble,
    clock_tallies,
    merge_tallies,
    period_rule_ids,
    period_tallies,
    period_task,
    plan,
    read_only,
    tally_selection,
)
from app.evaluation.backtest_periods import PeriodTally
from app.evaluation.context import PortalContext
from app.evaluation.parallel import Batch, EvaluationError, list_batches, shareable
from app.evaluation.parallel import _context as worker_start_method
from app.evaluation.repository import IdRange, portal_ids
from app.evaluation.service import BATCH_SIZE, cyclic_gc_paused, widen_sqlite_cache
from app.sla.schema import RulesFile
from app.store.db import SessionFactory, create_db_engine, create_session_factory


def default_workers(database_url: str) -> int:
    """As `evaluate` chooses: 2 processes where there are 2 CPUs and a file store, else 1."""
    return 2 if (os.cpu_count() or 1) >= 2 and shareable(database_url) else 1


def backtest_store(
    database_url: str,
    candidate: RulesFile,
    now: datetime,
    since: datetime,
    *,
    workers: int = 1,
    batch_size: int = BATCH_SIZE,
) -> BacktestResult:
    """The comparison on the store at `database_url`, in `workers` processes (1: this one)."""
    if workers > 1 and not shareable(database_url):
        raise ConfigError(
            "An in-memory SQLite store cannot be read by several processes; use --workers 1."
        )
    engine = create_db_engine(database_url)
    try:
        with create_session_factory(engine)() as session, read_only(session):
            the_plan = plan(session, candidate)
            if workers > 1:
                pids = portal_ids(session)
                batches = list(list_batches(session, pids, batch_size))
                rules = [(pid, rule_id) for pid in pids for rule_id in period_rule_ids(the_plan)]
                clock, periods = _in_workers(
                    database_url, the_plan, now, since, workers, batches, rules
                )
            else:
                clock = clock_tallies(session, the_plan, now, since, batch_size)
                periods = period_tallies(session, the_plan, now, since)
            return assemble(the_plan, now, since, clock, periods)
    finally:
        engine.dispose()


def _in_workers(
    database_url: str,
    the_plan: Plan,
    now: datetime,
    since: datetime,
    workers: int,
    batches: list[Batch],
    period_rules: list[tuple[int, str]],
) -> tuple[tuple[int, Tallies, Tallies], PeriodTallies]:
    """The period rules (few, long) are queued first, then the batches of records."""
    records = 0
    candidate: Tallies = {}
    current: Tallies = {}
    periods: PeriodTallies = {}
    tasks = len(batches) + len(period_rules)
    if not tasks:
        return (records, candidate, current), periods
    with ProcessPoolExecutor(
        max_workers=min(workers, tasks),
        mp_context=worker_start_method(),
        initializer=_start_worker,
        initargs=(database_url, the_plan, now, since),
    ) as executor:
        try:
            by_rule = {key: executor.submit(_period_rule, key) for key in period_rules}
            for count, found in executor.map(_tally_batch, batches):
                records += count
                merge_tallies(candidate, found[0])
                if len(found) > 1:
                    merge_tallies(current, found[1])
            periods = {key: future.result() for key, future in by_rule.items()}
        except BaseException:
            executor.shutdown(wait=False, cancel_futures=True)
            raise
    return (records, candidate, current), periods


# --- in the worker processes ---------------------------------------------------------------


@dataclass(slots=True)
class _Worker:
    database_url: str
    plan: Plan
    now: datetime
    since: datetime
    engine: Engine | None = None
    factory: SessionFactory | None = None
    contexts: dict[int, tuple[PortalContext, ...]] | None = None


_worker: _Worker | None = None


def _start_worker(database_url: str, the_plan: Plan, now: datetime, since: datetime) -> None:
    global _worker
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    _worker = _Worker(database_url, the_plan, now, since)


def _session(worker: _Worker) -> Session:
    if worker.factory is None:
        worker.engine = create_db_engine(worker.database_url)
        worker.factory = create_session_factory(worker.engine)
        worker.contexts = {}
    return worker.factory()


def _contexts(worker: _Worker, session: Session, portal_id: int) -> tuple[PortalContext, ...]:
    contexts = worker.contexts if worker.contexts is not None else {}
    if portal_id not in contexts:
        contexts[portal_id] = worker.plan.contexts(session, portal_id)
    return contexts[portal_id]


def _period_rule(key: tuple[int, str]) -> tuple[PeriodTally | None, PeriodTally | None]:
    worker = _worker
    assert worker is not None, "the worker initializer has not run"
    portal_id, rule_id = key
    try:
        with _session(worker) as session, read_only(session), cyclic_gc_paused():
            widen_sqlite_cache(session)
            contexts = _contexts(worker, session, portal_id)
            return period_task(session, contexts, rule_id, worker.now, worker.since, {})
    except SlaguardError:
        raise
    except Exception as exc:
        raise EvaluationError(
            f"Backtesting rule {rule_id} of portal {portal_id} failed: "
            f"{type(exc).__name__}: {_first_line(exc)}"
        ) from None


def _tally_batch(batch: Batch) -> tuple[int, list[Tallies]]:
    worker = _worker
    assert worker is not None, "the worker initializer has not run"
    try:
        with _session(worker) as session, read_only(session), cyclic_gc_paused():
            widen_sqlite_cache(session)
            selection = IdRange(batch.first, batch.last)
            return tally_selection(
                session,
                _contexts(worker, session, batch.portal_id),
                batch.object_type,
                selection,
                worker.now,
                worker.since,
            )
    except SlaguardError:
        raise
    except Exception as exc:
        raise EvaluationError(
            f"Backtesting the {batch.object_type}s {batch.first}..{batch.last} of portal "
            f"{batch.portal_id} failed: {type(exc).__name__}: {_first_line(exc)}"
        ) from None


def _first_line(exc: Exception) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0][:300] if lines else ""
