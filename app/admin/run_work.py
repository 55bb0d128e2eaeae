"""What an admin run does, in a thread of the serving process: a HubSpot sync (incremental or
full) or a full SLA evaluation, with a heartbeat beside it until it ends.

The work is the same code the scheduled jobs run (SyncService; the sweep's evaluation with
its hand-off queue bookkeeping), so a run by hand behaves as the scheduled one would.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any

from app import hubspot_client
from app.admin import runs
from app.admin.audit import Actor
from app.admin.runs import RunRequest
from app.config import Settings
from app.evaluation import handoff
from app.evaluation.service import evaluate_all
from app.reported_errors import REPORTED_ERRORS
from app.store.db import SessionFactory, session_scope
from app.sync.lock import SyncInProgressError
from app.sync.progress import LogProgress
from app.sync.service import SyncService

log = logging.getLogger(__name__)

Work = Callable[[], dict[str, Any]]
STOPPED_REASON = "the service stopped before the run ended; trigger it again"
Clock = Callable[[], datetime]


def _now() -> datetime:
    return datetime.now(UTC)


def sync_work(settings: Settings, factory: SessionFactory, full: bool) -> Work:
    """Raises ConfigError at once when HubSpot is not configured (nothing to start)."""
    client = hubspot_client.from_settings(settings)

    def work() -> dict[str, Any]:
        report = SyncService(settings, factory, client, progress=LogProgress()).run(full=full)
        return {
            "sync_run_id": report.run_id,
            "portal_id": report.portal_id,
            "counts": report.counts,
            "requests": report.requests,
            "rate_limited": report.rate_limited,
            "retries": report.retries,
            "seconds": round(report.seconds, 3),
        }

    return work


def evaluation_work(factory: SessionFactory, clock: Clock = _now) -> Work:
    def work() -> dict[str, Any]:
        with session_scope(factory) as session:
            queued = handoff.covered(session)  # the pass covers them: their rows go after it
            session.commit()
            report = evaluate_all(session, now=clock(), after_batch=session.commit)
            handoff.clear_covered(session, queued)
        return asdict(report)

    return work


def _reason(exc: BaseException) -> str:
    # A person's sentence for our own errors; only the type for anything else (its text may
    # carry a URL with a token or a row's contents).
    if isinstance(exc, SyncInProgressError):
        return exc.situation  # without the command line's --wait advice
    return str(exc) if isinstance(exc, REPORTED_ERRORS) else type(exc).__name__


class RunExecutor:
    """Starts admin runs in background threads of this process."""

    def __init__(
        self,
        factory: SessionFactory,
        *,
        heartbeat: timedelta = runs.HEARTBEAT,
        stale_after: timedelta = runs.STALE_AFTER,
        clock: Clock = _now,
    ) -> None:
        self.factory = factory
        self.heartbeat = heartbeat
        self.stale_after = stale_after
        self.clock = clock
        self.threads: dict[int, threading.Thread] = {}

    def start(self, request: RunRequest, work: Work, actor: Actor) -> int:
        run_id = runs.start(self.factory, request, actor, self.clock(), self.stale_after)
        self.threads = {key: alive for key, alive in self.threads.items() if alive.is_alive()}
        thread = threading.Thread(
            target=self._run, args=(run_id, work), name=f"admin-run-{run_id}", daemon=True
        )
        self.threads[run_id] = thread
        thread.start()
        return run_id

    def _run(self, run_id: int, work: Work) -> None:
        done = threading.Event()
        beating = threading.Thread(target=self._beat, args=(run_id, done), daemon=True)
        beating.start()
        result: dict[str, Any] = {}
        # Stays if the work ends by anything but returning or an Exception (a SystemExit).
        error: str | None = "the run was interrupted"
        try:
            result = work()
            error = None
        except Exception as exc:
            error = _reason(exc)
            log.warning("admin run %d failed: %s", run_id, error)
        finally:
            done.set()
            beating.join()
            runs.finish(self.factory, run_id, self.clock(), result=result, error=error)

    def _beat(self, run_id: int, done: threading.Event) -> None:
        while not done.wait(self.heartbeat.total_seconds()):
            try:
                runs.beat(self.factory, run_id, self.clock())
            except Exception:
                # A store that refuses one beat may take the next; eight missed in a row
                # and the run is taken for dead, which is what it looks like from outside.
                log.warning("admin run %d: heartbeat not written", run_id, exc_info=True)

    def abandon_unfinished(self) -> None:
        """At shutdown: the runs still working end with the process, so say so now rather
        than leave the slot taken until their heartbeat goes stale."""
        unfinished = [key for key, thread in self.threads.items() if thread.is_alive()]
        if unfinished:
            runs.abandon(self.factory, unfinished, self.clock(), STOPPED_REASON)
