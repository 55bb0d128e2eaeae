"""The full evaluation (`evaluate_all`) spread over worker processes.

A full pass is id-range batches of one portal's contacts or deals, and a batch depends only on
its own records and their stored instances: the instances of one record are read, evaluated
and written (with their events) by the batch whose range holds the record, and by no other.
So the parent lists the batches (ids only) and `workers` processes evaluate and write them,
each batch in its own transaction, committed when written, as
`evaluate_all(after_batch=session.commit)` does. The workers are forked from a fork server
that imported this code once (else spawned): nothing is inherited from a parent that has
threads or open connections.

On SQLite the workers take turns at the single write lock (the busy timeout waits for it), so
one evaluates while the other writes. A batch reads before its first write, and its write
transaction begins at that write: new instances' ids are read from the rowid run inside the
transaction, while no other process can insert (app/evaluation/repository.py).

Quota and rate periods count what the batches wrote: they are evaluated once per portal, in
the parent, after every batch. A worker's error fails the run with one sentence
(`EvaluationError`) and stops the other workers; so does Ctrl-C in the parent (the workers
ignore SIGINT and are terminated). Batches committed before that stay, as with the
in-process pass.
"""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import datetime
from multiprocessing import get_all_start_methods, get_context
from multiprocessing.context import BaseContext

from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from app.errors import ConfigError, SlaguardError
from app.evaluation import periodic, repository
from app.evaluation.context import PortalContext, build_context
from app.evaluation.repository import IdRange
from app.evaluation.rules_store import rules_in_force
from app.evaluation.service import (
    BATCH_SIZE,
    cyclic_gc_paused,
    evaluate_selection,
    widen_sqlite_cache,
)
from app.evaluation.writes import EvaluationReport
from app.sla.schema import RulesFile
from app.store.db import SessionFactory, create_db_engine, create_session_factory

OBJECT_TYPES = ("contact", "deal")


class EvaluationError(SlaguardError):
    """A batch of the parallel full evaluation failed (or a worker process died)."""


@dataclass(frozen=True, slots=True)
class Batch:
    portal_id: int
    object_type: str
    first: str
    last: str


def shareable(database_url: str) -> bool:
    """Whether worker processes can open the same store (not an in-memory SQLite one)."""
    url = make_url(database_url)
    return url.get_backend_name() != "sqlite" or url.database not in (None, "", ":memory:")


def list_batches(session: Session, portals: Sequence[int], batch_size: int) -> Iterator[Batch]:
    """The id ranges `evaluate_all` walks, in its order (only ids are read)."""
    for pid in portals:
        for object_type in OBJECT_TYPES:
            after: str | None = None
            while (
                selection := repository.next_id_range(session, pid, object_type, after, batch_size)
            ) is not None:
                yield Batch(pid, object_type, selection.first, selection.last)
                after = selection.last


def evaluate_all_parallel(
    database_url: str,
    *,
    now: datetime,
    workers: int,
    rules: RulesFile | None = None,
    portal_id: int | None = None,
    batch_size: int = BATCH_SIZE,
    progress: Callable[[int], None] | None = None,
) -> EvaluationReport:
    """`evaluate_all` over the store at `database_url` in `workers` (>= 2) processes, every
    batch committed when written, then each portal's quotas and rates (committed too)."""
    if workers < 2:
        raise ValueError("the parallel evaluation needs at least 2 workers")
    if not shareable(database_url):
        raise ConfigError(
            "An in-memory SQLite store cannot be evaluated by several processes; use --workers 1."
        )
    report = EvaluationReport()
    engine = create_db_engine(database_url)
    factory = create_session_factory(engine)
    try:
        with factory() as session:
            resolved = rules if rules is not None else rules_in_force(session)
            if resolved is None:
                return report
            portals = [portal_id] if portal_id is not None else repository.portal_ids(session)
            batches = list(list_batches(session, portals, batch_size))
            session.rollback()  # nothing written; hold no snapshot while the workers write
        if batches:
            _run_batches(database_url, resolved, now, workers, batches, progress, report)
        with factory() as session, cyclic_gc_paused():
            widen_sqlite_cache(session)
            for pid in portals:
                context = build_context(session, pid, resolved)
                report.add(periodic.evaluate_periods(session, context, now))
                session.commit()
    finally:
        engine.dispose()
    return report


def _run_batches(
    database_url: str,
    rules: RulesFile,
    now: datetime,
    workers: int,
    batches: list[Batch],
    progress: Callable[[int], None] | None,
    report: EvaluationReport,
) -> None:
    executor = ProcessPoolExecutor(
        max_workers=min(workers, len(batches)),
        mp_context=_context(),
        initializer=_start_worker,
        initargs=(database_url, rules, now),
    )
    try:
        pending: set[Future[tuple[int, int, int, int]]] = {
            executor.submit(_evaluate_batch, batch) for batch in batches
        }
        while pending:
            done, pending = wait(pending, return_when=FIRST_EXCEPTION)
            for future in done:
                try:
                    records, created, updated, events = future.result()
                except BrokenProcessPool:
                    raise EvaluationError(
                        "An evaluation worker process ended unexpectedly; nothing after the "
                        "batches it had committed was written by it."
                    ) from None
                report.add(EvaluationReport(records, created, updated, events))
                if progress is not None:
                    progress(records)
    except BaseException:
        _stop(executor)
        raise
    executor.shutdown(wait=True)


def _context() -> BaseContext:
    """Workers forked from a fork server that imported the evaluation code once (a clean
    process: no threads, no connections), where there is one; else spawned."""
    if "forkserver" in get_all_start_methods():
        context = get_context("forkserver")
        context.set_forkserver_preload([__name__])
        return context
    return get_context("spawn")


def _stop(executor: ProcessPoolExecutor) -> None:
    """Cancel the queued batches and end the workers now (a batch being written rolls back)."""
    processes = list((executor._processes or {}).values())  # private: no public way in 3.11
    executor.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        if process.is_alive():
            process.terminate()
    for process in processes:
        process.join(timeout=10)
        if process.is_alive():
            process.kill()
            process.join(timeout=5)


# --- in the worker processes ---------------------------------------------------------------


@dataclass(slots=True)
class _Worker:
    database_url: str
    rules: RulesFile
    now: datetime
    engine: Engine | None = None
    factory: SessionFactory | None = None
    contexts: dict[int, PortalContext] | None = None


_worker: _Worker | None = None


def _start_worker(database_url: str, rules: RulesFile, now: datetime) -> None:
    """Initializer: Ctrl-C is the parent's to handle (it terminates the workers); the store
    is opened by the first batch, so that a failure to connect is reported as that batch's
    error rather than as a broken pool."""
    global _worker
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _worker = _Worker(database_url, rules, now)


def _evaluate_batch(batch: Batch) -> tuple[int, int, int, int]:
    worker = _worker
    assert worker is not None, "the worker initializer has not run"
    try:
        if worker.factory is None:
            worker.engine = create_db_engine(worker.database_url)
            worker.factory = create_session_factory(worker.engine)
            worker.contexts = {}
        contexts = worker.contexts if worker.contexts is not None else {}
        with worker.factory() as session, cyclic_gc_paused():
            widen_sqlite_cache(session)
            context = contexts.get(batch.portal_id)
            if context is None:
                context = build_context(session, batch.portal_id, worker.rules)
                contexts[batch.portal_id] = context
            selection = IdRange(batch.first, batch.last)
            done = evaluate_selection(session, context, batch.object_type, selection, worker.now)
            session.commit()
    except SlaguardError:
        raise
    except Exception as exc:
        raise EvaluationError(
            f"Evaluating the {batch.object_type}s {batch.first}..{batch.last} of portal "
            f"{batch.portal_id} failed: {_reason(exc)}"
        ) from None
    return done.records, done.created, done.updated, done.events


def _reason(exc: Exception) -> str:
    """The error's type and first line (a driver error's own message, without SQL)."""
    cause = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    lines = str(cause).strip().splitlines()
    text = lines[0][:300] if lines else ""
    return f"{type(cause).__name__}: {text}" if text else type(cause).__name__
