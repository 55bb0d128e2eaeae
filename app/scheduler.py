"""Periodic jobs (APScheduler 3, in threads), run only by the leader process.

Domains declare jobs as `JobSpec`s next to their code and list them in `app.jobs.all_jobs`.
Every run is wrapped: a failure is logged (secrets scrubbed) and recorded, and never stops the
scheduler or the next run. An error meant for a person (REPORTED_ERRORS: a refused token, an
unreachable HubSpot) is logged without a traceback and only when it changes; a run that succeeds
after failures says so once. A job never overlaps itself; runs missed while it was busy or while
the process was not leader collapse into one. APScheduler 3 cannot share a job store between
processes, so each process schedules every job in memory and only the holder of the leader
lock (app.leader) lets them fire; the others keep trying to win the lock.
"""

from __future__ import annotations

import logging
import threading
import traceback
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.events import EVENT_JOB_MAX_INSTANCES, JobEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers import SchedulerNotRunningError
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger
from pydantic import SecretStr
from sqlalchemy.engine import make_url

from app.config import Settings
from app.leader import LeaderLock, leader_lock_for
from app.reported_errors import REPORTED_ERRORS
from app.store.db import SessionFactory

log = logging.getLogger(__name__)

LEADERSHIP_JOB_ID = "_leadership"
DEFAULT_LEADER_CHECK_SECONDS = 5.0
_MAX_ERROR_CHARS = 500


@dataclass(frozen=True)
class JobContext:
    """What a job receives: the settings, a way to open sessions, its own logger, and an
    event set when the process stops or loses leadership (a long job should check it between
    units of work, e.g. pages, and return early; it is never killed)."""

    settings: Settings
    session_factory: SessionFactory
    log: logging.Logger
    stopping: threading.Event = field(default_factory=threading.Event)


@dataclass(frozen=True)
class JobSpec:
    """A job every `seconds`. The first run comes as soon as this process leads, or one
    interval later when `run_at_start` is False."""

    id: str
    func: Callable[[JobContext], None]
    seconds: float
    description: str = ""
    run_at_start: bool = True

    def __post_init__(self) -> None:
        if not self.id or self.id.startswith("_"):
            raise ValueError(f"job id {self.id!r} must be non-empty and not start with '_'")
        if not self.seconds > 0:
            raise ValueError(f"job {self.id} needs a positive interval (got {self.seconds} s)")


@dataclass(frozen=True)
class JobStatus:
    id: str
    interval_seconds: float
    running: bool
    runs: int
    failures: int
    consecutive_failures: int
    skipped_overlaps: int
    last_started_at: datetime | None
    last_finished_at: datetime | None
    last_succeeded_at: datetime | None
    last_duration_seconds: float | None
    last_error: str | None
    last_error_at: datetime | None
    next_run_at: datetime | None


@dataclass(frozen=True)
class SchedulerStatus:
    running: bool
    leader: bool
    leader_since: datetime | None
    lock: str
    last_leader_check_at: datetime | None
    jobs: tuple[JobStatus, ...]

    def job(self, job_id: str) -> JobStatus:
        return next(job for job in self.jobs if job.id == job_id)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: datetimes as ISO 8601 strings."""
        result: dict[str, Any] = _jsonable(asdict(self))
        return result


@dataclass
class _JobRecord:
    spec: JobSpec
    running: bool = False
    runs: int = 0
    failures: int = 0
    consecutive_failures: int = 0
    skipped_overlaps: int = 0
    last_started_at: datetime | None = None
    last_finished_at: datetime | None = None
    last_succeeded_at: datetime | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def interval(self) -> timedelta:
        return timedelta(seconds=self.spec.seconds)

    def status(self, next_run_at: datetime | None) -> JobStatus:
        with self.lock:
            duration = None
            if self.last_started_at and self.last_finished_at and not self.running:
                duration = (self.last_finished_at - self.last_started_at).total_seconds()
            return JobStatus(
                id=self.spec.id,
                interval_seconds=self.spec.seconds,
                running=self.running,
                runs=self.runs,
                failures=self.failures,
                consecutive_failures=self.consecutive_failures,
                skipped_overlaps=self.skipped_overlaps,
                last_started_at=self.last_started_at,
                last_finished_at=self.last_finished_at,
                last_succeeded_at=self.last_succeeded_at,
                last_duration_seconds=duration,
                last_error=self.last_error,
                last_error_at=self.last_error_at,
                next_run_at=next_run_at,
            )


class Scheduler:
    """Runs `jobs` while this process holds the leader lock; `status()` feeds /admin/health."""

    def __init__(
        self,
        settings: Settings,
        session_factory: SessionFactory,
        jobs: Sequence[JobSpec],
        *,
        lock: LeaderLock | None = None,
        leader_check_seconds: float = DEFAULT_LEADER_CHECK_SECONDS,
    ) -> None:
        ids = [spec.id for spec in jobs]
        duplicates = sorted({job_id for job_id in ids if ids.count(job_id) > 1})
        if duplicates:
            raise ValueError(f"job ids must be unique; repeated: {', '.join(duplicates)}")
        self.settings = settings
        self._session_factory = session_factory
        self._records = {spec.id: _JobRecord(spec) for spec in jobs}
        self._lock = lock or leader_lock_for(settings.database_url)
        self._leader_check_seconds = leader_check_seconds
        self._secrets = _secret_values(settings)
        self._state_lock = threading.Lock()
        self._leader = False
        self._leader_since: datetime | None = None
        self._last_leader_check_at: datetime | None = None
        self._stopping = False
        # Set when this leadership term ends; a new term gets a fresh event.
        self._term_over = threading.Event()
        self._scheduler = BackgroundScheduler(
            timezone=UTC,
            executors={
                "default": ThreadPoolExecutor(max_workers=max(1, len(jobs))),
                # Its own thread, so busy jobs never delay a leadership check.
                "leadership": ThreadPoolExecutor(max_workers=1),
            },
        )
        self._scheduler.add_listener(self._note_skipped_overlap, EVENT_JOB_MAX_INSTANCES)

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> None:
        # APScheduler logs two INFO lines per run; with a 1-second job that buries everything
        # else. Our wrapper logs failures and records every run for the health page instead.
        for name in ("apscheduler.scheduler", "apscheduler.executors"):
            logging.getLogger(name).setLevel(logging.WARNING)
        scheduler_log = logging.getLogger("apscheduler.scheduler")
        if _SKIPPED_RUN_AT_DEBUG not in scheduler_log.filters:
            scheduler_log.addFilter(_SKIPPED_RUN_AT_DEBUG)
        for record in self._records.values():
            self._scheduler.add_job(
                self._run,
                IntervalTrigger(seconds=record.spec.seconds, timezone=UTC),
                args=[record],
                id=record.spec.id,
                name=record.spec.description or record.spec.id,
                max_instances=1,
                coalesce=True,
                misfire_grace_time=None,  # late is better than never; coalesce keeps it to one
                next_run_time=None,  # paused until this process leads
            )
        self._scheduler.add_job(
            self._check_leadership,
            IntervalTrigger(seconds=self._leader_check_seconds, timezone=UTC),
            id=LEADERSHIP_JOB_ID,
            executor="leadership",
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
            next_run_time=datetime.now(UTC),
        )
        self._scheduler.start()
        log.info(
            "scheduler started with %d job(s); leader election by %s",
            len(self._records),
            self._lock.description,
        )

    def shutdown(self, wait: bool = True) -> None:
        """Stop scheduling, wait for running jobs (when `wait`), then give up the lock."""
        with self._state_lock:
            self._stopping = True
            self._term_over.set()
        if self._scheduler.running:
            self._scheduler.shutdown(wait=wait)
        with self._state_lock:
            self._leader = False
            self._leader_since = None
        self._lock.release()
        log.info("scheduler stopped")

    # -- state -----------------------------------------------------------------------------

    @property
    def is_leader(self) -> bool:
        with self._state_lock:
            return self._leader

    def status(self) -> SchedulerStatus:
        jobs = []
        for job_id, record in self._records.items():
            job = self._scheduler.get_job(job_id) if self._scheduler.running else None
            jobs.append(record.status(job.next_run_time if job else None))
        with self._state_lock:
            return SchedulerStatus(
                running=self._scheduler.running,
                leader=self._leader,
                leader_since=self._leader_since,
                lock=self._lock.description,
                last_leader_check_at=self._last_leader_check_at,
                jobs=tuple(jobs),
            )

    # -- internals -------------------------------------------------------------------------

    def _check_leadership(self) -> None:
        held = self._lock.hold()
        now = datetime.now(UTC)
        with self._state_lock:
            if self._stopping:
                return
            self._last_leader_check_at = now
            was_leader, self._leader = self._leader, held
            if held and not was_leader:
                self._leader_since = now
                self._term_over = threading.Event()
            elif not held:
                self._leader_since = None
                self._term_over.set()
        try:
            if held and not was_leader:
                log.info("this process is now the scheduler leader (%s)", self._lock.description)
                for job_id, record in self._records.items():
                    first = now if record.spec.run_at_start else now + record.interval
                    self._scheduler.modify_job(job_id, next_run_time=first)
            elif was_leader and not held:
                log.warning("this process lost scheduler leadership; its jobs are paused")
                for job_id in self._records:
                    self._scheduler.pause_job(job_id)
        except SchedulerNotRunningError:
            pass  # shutting down meanwhile: nothing left to start or pause

    def _run(self, record: _JobRecord) -> None:
        spec = record.spec
        with record.lock:
            record.running = True
            record.last_started_at = datetime.now(UTC)
        context = JobContext(
            settings=self.settings,
            session_factory=self._session_factory,
            log=logging.getLogger(f"slaguard.jobs.{spec.id}"),
            stopping=self._term_over,
        )
        error: str | None = None
        try:
            spec.func(context)
        except REPORTED_ERRORS as exc:
            # A sentence for a person (a refused token, an unreachable HubSpot): no traceback,
            # and said again only when it changes, not on every run until someone fixes it.
            error = self._scrub(f"{type(exc).__name__}: {exc}")[:_MAX_ERROR_CHARS]
            with record.lock:
                repeated = record.consecutive_failures > 0 and record.last_error == error
            log.log(
                logging.DEBUG if repeated else logging.ERROR, "job %s failed: %s", spec.id, error
            )
        except Exception as exc:
            error = self._scrub(f"{type(exc).__name__}: {exc}")[:_MAX_ERROR_CHARS]
            details = self._scrub("".join(traceback.format_exception(exc)))
            log.error("job %s failed: %s\n%s", spec.id, error, details)
        finished = datetime.now(UTC)
        with record.lock:
            if error is None and record.consecutive_failures:
                log.info(
                    "job %s succeeded again after %d failed run(s)",
                    spec.id,
                    record.consecutive_failures,
                )
            record.running = False
            record.runs += 1
            record.last_finished_at = finished
            if error is None:
                record.last_succeeded_at = finished
                record.consecutive_failures = 0
            else:
                record.failures += 1
                record.consecutive_failures += 1
                record.last_error = error
                record.last_error_at = finished

    def _note_skipped_overlap(self, event: JobEvent) -> None:
        record = self._records.get(event.job_id)
        if record is not None:
            with record.lock:
                record.skipped_overlaps += 1

    def _scrub(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text


class _SkippedRunAtDebug(logging.Filter):
    """APScheduler warns each time a job's start passes while its previous run still works.
    A job never overlapping itself is the design (and counted in its `skipped_overlaps`), so
    the line is a DEBUG one: shown only where APScheduler's logger shows DEBUG."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno != logging.WARNING or _SKIPPED_RUN_TEXT not in str(record.msg):
            return True
        record.levelno, record.levelname = logging.DEBUG, logging.getLevelName(logging.DEBUG)
        return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)


_SKIPPED_RUN_TEXT = "maximum number of running instances reached"
_SKIPPED_RUN_AT_DEBUG = _SkippedRunAtDebug()


def _secret_values(settings: Settings) -> list[str]:
    """Every secret a job's error could echo: tokens, signing secrets, the DB password."""
    secrets = []
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        if isinstance(value, SecretStr) and value.get_secret_value():
            secrets.append(value.get_secret_value())
    password = make_url(settings.database_url).password
    if password:
        secrets.append(str(password))
    # Longest first, so a secret containing another is scrubbed whole.
    return sorted(set(secrets), key=len, reverse=True)


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    return value
