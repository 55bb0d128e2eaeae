"""The body of `GET /admin/health`: what every part is doing, and a verdict with its reasons.

- `failing`: the store cannot be used (unreachable, or not at the schema this code needs).
- `degraded`: slaguard runs, but a user would notice something (see app.admin.thresholds).
- `ok`: neither.

Nothing here reads a secret: the database URL is the masked one, scheduler errors were
scrubbed by the scheduler, and no setting is echoed except intervals.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from alerts.outbox.status import OutboxStatus
from app import __version__
from app.admin import thresholds
from app.admin.repository import CheckpointInfo, SyncRunInfo
from app.admin.snapshot import DatabaseInfo, HealthSnapshot, read_everything, read_for_health
from app.config import Settings
from app.evaluation.rules_file import MISSING, VALID, current_state
from app.models.sync import SyncRunStatus
from app.scheduler import SchedulerStatus
from app.sla.states import SlaState
from app.store.db import SessionFactory

OK, DEGRADED, FAILING = "ok", "degraded", "failing"


@dataclass
class Verdict:
    failing: list[str] = field(default_factory=list)
    degraded: list[str] = field(default_factory=list)

    @property
    def status(self) -> str:
        return FAILING if self.failing else DEGRADED if self.degraded else OK

    @property
    def reasons(self) -> list[str]:
        return self.failing + self.degraded


def check_health(
    settings: Settings,
    session_factory: SessionFactory,
    scheduler: SchedulerStatus | None,
    now: datetime,
) -> dict[str, Any]:
    database, store = read_everything(
        settings, session_factory, lambda session: read_for_health(session, now)
    )
    verdict = Verdict()
    body: dict[str, Any] = {
        "version": __version__,
        "checked_at": now.isoformat(),
        "database": _database(database, verdict),
        "scheduler": _scheduler(scheduler, verdict),
    }
    if store is not None:
        body["sync"] = _sync(store, settings, now, verdict)
        body["webhooks"] = _webhooks(store, now, verdict)
        body["sla"] = _sla(store, now, verdict)
        body["rules"] = _rules(settings, store, verdict)
        if store.alerts is not None:
            body["alerts"] = alerts_health(store.alerts, now, verdict)
    body["thresholds"] = thresholds.as_dict(_sync_interval(settings))
    return {"status": verdict.status, "reasons": verdict.reasons, **body}


# -- parts ---------------------------------------------------------------------------------


def _database(database: DatabaseInfo, verdict: Verdict) -> dict[str, Any]:
    if not database.reachable:
        verdict.failing.append(f"the database is unreachable ({database.error})")
    elif not database.up_to_date:
        verdict.failing.append(
            f"the database is at schema {database.revision or 'empty'}, not {database.head}; "
            "run `slaguard db upgrade`"
        )
    return {
        "backend": database.backend,
        "url": database.url,
        "reachable": database.reachable,
        "schema_revision": database.revision,
        "schema_head": database.head,
        "up_to_date": database.up_to_date,
        "error": database.error,
    }


def _scheduler(status: SchedulerStatus | None, verdict: Verdict) -> dict[str, Any]:
    if status is None:
        # A deliberate configuration (tests, a web-only replica); the symptoms of nobody
        # running the jobs show up below as stale syncs and overdue clocks.
        return {"running": False, "leader": False, "jobs": [], "note": "not started here"}
    if not status.running:
        verdict.degraded.append("the scheduler is not running in this process")
    for job in status.jobs:
        if job.consecutive_failures >= thresholds.JOB_FAILURE_STREAK:
            verdict.degraded.append(
                f"job {job.id} failed its last {job.consecutive_failures} runs: {job.last_error}"
            )
    return status.to_dict()


def _sync(
    store: HealthSnapshot, settings: Settings, now: datetime, verdict: Verdict
) -> dict[str, Any]:
    enabled = settings.hubspot_access_token is not None
    interval = _sync_interval(settings)
    success = store.latest_successful_run
    success_at = success.finished_at if success else None
    last = store.latest_finished_run
    if last is not None and last.status == SyncRunStatus.FAILED:
        verdict.degraded.append(
            f"the last {last.mode} sync failed at {_iso(last.finished_at)}: {last.error}"
        )
    elif last is not None and last.status == SyncRunStatus.ABANDONED:
        verdict.degraded.append(
            f"the last {last.mode} sync (started {_iso(last.started_at)}) was abandoned: "
            f"{last.error}"
        )
    if enabled:
        stale_after = interval * thresholds.SYNC_STALE_INTERVALS
        if success_at is None:
            verdict.degraded.append("no HubSpot sync has succeeded yet")
        elif now - success_at > stale_after:
            verdict.degraded.append(
                f"the last successful sync finished {_age(success_at, now):.0f} s ago "
                f"(more than {thresholds.SYNC_STALE_INTERVALS} intervals of "
                f"{interval.total_seconds():.0f} s)"
            )
    return {
        "scheduled": enabled,
        "interval_seconds": interval.total_seconds(),
        "last_success_at": _iso(success_at),
        "last_success_age_seconds": _age(success_at, now),
        "last_runs": {mode: _run(run) for mode, run in store.latest_runs.items()},
        "abandoned_runs": store.abandoned_runs,
        "checkpoints": [_checkpoint(point, now) for point in store.checkpoints],
    }


def _run(run: SyncRunInfo) -> dict[str, Any]:
    return {
        "id": run.id,
        "status": run.status,
        "started_at": _iso(run.started_at),
        "finished_at": _iso(run.finished_at),
        "duration_seconds": run.duration_seconds,
        "counts": run.counts,
        "requests": run.requests,
        "rate_limited": run.rate_limited,
        "retries": run.retries,
        "error": run.error,
    }


def _checkpoint(point: CheckpointInfo, now: datetime) -> dict[str, Any]:
    return {
        "portal_id": point.portal_id,
        "object_type": point.object_type,
        # the store is complete up to this HubSpot modification time
        "synced_through": _iso(point.synced_through),
        "synced_through_age_seconds": _age(point.synced_through, now),
        "updated_at": _iso(point.updated_at),
        "in_progress": point.phase,
    }


def _webhooks(store: HealthSnapshot, now: datetime, verdict: Verdict) -> dict[str, Any]:
    backlog = store.webhooks
    oldest_age = _age(backlog.oldest_pending_received_at, now)
    if oldest_age is not None and oldest_age > thresholds.WEBHOOK_BACKLOG_MAX_AGE.total_seconds():
        verdict.degraded.append(
            f"{backlog.pending} webhook event(s) pending, the oldest received {oldest_age:.0f} s "
            "ago: the worker is behind or not running"
        )
    if backlog.failed:
        verdict.degraded.append(
            f"{backlog.failed} webhook event(s) failed every attempt and were not applied"
        )
    unserved = store.unserved_portals
    if unserved.count:
        verdict.degraded.append(
            f"{unserved.count} webhook event(s) of portals this slaguard does not serve arrived "
            f"in the last hour and were not stored (the latest: {unserved.newest_reason}); "
            "check HUBSPOT_PORTAL_IDS and where the HubSpot app is installed"
        )
    dead_age = _age(backlog.newest_dead_letter_at, now)
    newest_is_unserved = unserved.newest_at == backlog.newest_dead_letter_at
    if (
        dead_age is not None
        and dead_age <= thresholds.DEAD_LETTER_RECENT.total_seconds()
        and not newest_is_unserved
    ):
        verdict.degraded.append("a webhook event that did not parse arrived in the last 24 hours")
    return {
        "pending": backlog.pending,
        "oldest_pending_received_at": _iso(backlog.oldest_pending_received_at),
        "oldest_pending_age_seconds": oldest_age,
        "retrying": backlog.retrying,
        "failed": backlog.failed,
        "dead_letters": backlog.dead_letters,
        "newest_dead_letter_at": _iso(backlog.newest_dead_letter_at),
        "unserved_portal_events_recent": unserved.count,
    }


def _sla(store: HealthSnapshot, now: datetime, verdict: Verdict) -> dict[str, Any]:
    by_state: dict[str, int] = {}
    for row in store.sla_counts:
        by_state[row.state] = by_state.get(row.state, 0) + row.count
    overdue = store.sla_overdue
    lag = _age(overdue.oldest_due_at, now)
    if lag is not None and lag > thresholds.SLA_DUE_LAG_MAX.total_seconds():
        verdict.degraded.append(
            f"{overdue.count} SLA instance(s) past their due time, the oldest by {lag:.0f} s: "
            "warnings and breaches are detected late"
        )
    return {
        "running_clocks": by_state.get(SlaState.RUNNING, 0) + by_state.get(SlaState.WARNING, 0),
        "instances_by_state": by_state,
        "overdue": overdue.count,
        "oldest_overdue_due_at": _iso(overdue.oldest_due_at),
        "detection_lag_seconds": lag if lag is not None else 0.0,
        **_reevaluations(store, now, verdict),
    }


def _reevaluations(store: HealthSnapshot, now: datetime, verdict: Verdict) -> dict[str, Any]:
    queue = store.reevaluations
    age = _age(queue.oldest_enqueued_at, now)
    if queue.retrying:
        verdict.degraded.append(
            f"{queue.retrying} record(s) whose SLA evaluation failed are queued for a retry "
            f"(the latest error: {queue.retry_reason}): their SLA clocks are not up to date"
        )
    if age is not None and age > thresholds.SLA_REEVALUATION_MAX_AGE.total_seconds():
        verdict.degraded.append(
            f"{queue.pending} record(s) wait for SLA re-evaluation, the oldest for {age:.0f} s: "
            "the sla-reevaluate job is behind or not running"
        )
    return {
        "reevaluations_pending": queue.pending,
        "reevaluations_retrying": queue.retrying,
        "oldest_reevaluation_age_seconds": age if age is not None else 0.0,
        "handoff_failures": queue.failures_total,
        "last_handoff_failure_at": _iso(queue.last_failure_at),
        "last_handoff_failure": queue.last_failure_reason,
    }


def alerts_health(outbox: OutboxStatus, now: datetime, verdict: Verdict) -> dict[str, Any]:
    for name, reason in sorted(outbox.disabled.items()):
        what = "Slack" if name == "slack" else f"the {name} endpoint"
        verdict.degraded.append(f"{what} is disabled ({reason}): its alerts are dead letters")
    if outbox.dead_recent:
        verdict.degraded.append(
            f"{outbox.dead_recent} alert deliveries of the last 24 hours failed for good "
            "(dead letters: `slaguard alerts replay` sends them again)"
        )
    lag = _age(outbox.oldest_overdue_at, now)
    if lag is not None and lag > thresholds.ALERT_DELIVERY_LAG_MAX.total_seconds():
        verdict.degraded.append(
            f"an alert has waited {lag:.0f} s past its time: the alerts-deliver job is behind"
        )
    return {
        "outbox_depth": outbox.depth,
        "oldest_pending_age_seconds": outbox.oldest_pending_age(now) or 0.0,
        "dead_letters": outbox.dead,
        "dead_letters_recent": outbox.dead_recent,
        "sent_to_fallback": outbox.fallbacks,
        "latest_fallback_reason": outbox.latest_fallback,
        "disabled_endpoints": dict(sorted(outbox.disabled.items())),
        "deliveries": {
            f"{kind}/{state}": count
            for (kind, state), count in sorted(outbox.by_kind_and_state.items())
        },
    }


def _rules(settings: Settings, store: HealthSnapshot, verdict: Verdict) -> dict[str, Any]:
    state = current_state(settings.slaguard_rules)
    since = store.rules_activated_at
    # a missing file that never held rules is a service run without rules, not a fault
    if state.state != VALID and not (state.state == MISSING and since is None):
        verdict.degraded.append(state.consequence(since))
    return {
        "file": str(state.path),
        "state": state.state,
        "problem": state.problem,
        "in_force_since": _iso(since),
    }


# -- helpers -------------------------------------------------------------------------------


def _sync_interval(settings: Settings) -> timedelta:
    return timedelta(minutes=settings.slaguard_sync_interval_minutes)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _age(moment: datetime | None, now: datetime) -> float | None:
    if moment is None:
        return None
    return round(max(0.0, (now - moment).total_seconds()), 3)
