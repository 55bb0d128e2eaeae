"""What one process does among replicas sharing a PostgreSQL store (SLAGUARD_ROLE).

- `api` receives (HubSpot webhooks, Slack actions, admin, dashboard) and runs no job: it
  stores what arrives and answers; any number of them can sit behind a proxy.
- `worker` applies stored webhook events and delivers the alert outbox, in every worker
  process at once: both claim their rows with FOR UPDATE SKIP LOCKED (app/webhooks/claims.py,
  alerts/outbox/leases.py), so N workers share the load without a lock of their own.
- `scheduler` runs every other periodic job (sync, SLA timers and sweeps, the rules file,
  escalations) under the leader lock (app/leader.py): start two, one leads, the other takes
  over when the leader dies. Its webhook job also re-reads the records events ask for, and
  applies events as one more claimer, so events still move with no worker running.
- `all` is the single process: every job under the leader lock, as before roles existed.
  SQLite allows only this one (app/config.py refuses the others).

Workers and schedulers serve /health, /admin/health and /metrics too, to be watched.
"""

from __future__ import annotations

import logging
import threading
from enum import StrEnum

from alerts.outbox import leases
from alerts.outbox.worker import worker_name
from app.config import Settings
from app.jobs import all_jobs
from app.leader import ProcessLocalLock
from app.scheduler import JobContext, JobSpec, Scheduler
from app.store.db import SessionFactory
from app.webhooks.jobs import RUN_BUDGET_SECONDS, WORKER_INTERVAL_SECONDS
from app.webhooks.worker import process_pending

log = logging.getLogger(__name__)

# Jobs every worker runs side by side; the scheduler runs all the others.
DELIVER_JOB_ID = "alerts-deliver"
APPLY_JOB_ID = "webhook_apply"
# SIGTERM: running jobs get this long to finish what they claimed (a round of events, a
# batch of deliveries); then the process releases its outbox leases and exits anyway.
SHUTDOWN_GRACE_SECONDS = 10.0


class Role(StrEnum):
    ALL = "all"
    API = "api"
    WORKER = "worker"
    SCHEDULER = "scheduler"

    @property
    def receives(self) -> bool:
        """Serves the routes that take input (webhooks, Slack actions, dashboard)."""
        return self in (Role.ALL, Role.API)


class WorkerLock(ProcessLocalLock):
    description = "none: every worker process runs these jobs, claiming rows it alone holds"


def _apply_webhook_events(context: JobContext) -> None:
    handled = process_pending(
        context.session_factory, stop=context.stopping, time_budget_s=RUN_BUDGET_SECONDS
    )
    if handled:
        context.log.info("applied %d webhook event(s)", handled)


def worker_jobs(settings: Settings) -> list[JobSpec]:
    deliver = next(job for job in all_jobs(settings) if job.id == DELIVER_JOB_ID)
    apply = JobSpec(
        APPLY_JOB_ID,
        _apply_webhook_events,
        WORKER_INTERVAL_SECONDS,
        "apply stored HubSpot webhook events (claimed per record, shared among workers)",
    )
    return [apply, deliver]


def scheduler_jobs(settings: Settings) -> list[JobSpec]:
    return [job for job in all_jobs(settings) if job.id != DELIVER_JOB_ID]


def runner_for(role: Role, settings: Settings, factory: SessionFactory) -> Scheduler | None:
    """The job runner this role needs (not started), or None for `api`."""
    if role is Role.API:
        return None
    if role is Role.WORKER:
        return Scheduler(settings, factory, worker_jobs(settings), lock=WorkerLock())
    if role is Role.SCHEDULER:
        return Scheduler(settings, factory, scheduler_jobs(settings))
    return Scheduler(settings, factory, all_jobs(settings))


def stop_within(runner: Scheduler, grace_seconds: float = SHUTDOWN_GRACE_SECONDS) -> bool:
    """Stop claiming, wait up to `grace_seconds` for running jobs; False if some still run.

    Webhook rounds are transactions (what a killed round claimed rolls back); outbox rows
    are leased, so the caller releases this process's leases when this returns False."""
    done = threading.Event()

    def shut() -> None:
        runner.shutdown(wait=True)
        done.set()

    threading.Thread(target=shut, name="slaguard-shutdown", daemon=True).start()
    if done.wait(grace_seconds):
        return True
    running = [job.id for job in runner.status().jobs if job.running]
    log.warning(
        "jobs still running %.0f s after the stop signal (%s); leaving them",
        grace_seconds,
        ", ".join(running) or "none",
    )
    return False


def release_outbox_leases(factory: SessionFactory) -> None:
    """After a stop that could not wait: this process's claimed deliveries go back to the
    outbox now rather than when their leases end (a send still in flight may then go twice;
    receivers dedupe by the idempotency key)."""
    released = leases.release_held(factory, worker_name())
    if released:
        log.warning("released %d claimed alert deliveries for other workers", released)


def job_ids(runner: Scheduler | None) -> list[str]:
    return [] if runner is None else [job.id for job in runner.status().jobs]
