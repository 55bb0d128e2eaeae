"""Every query behind `/admin/health` and `/metrics`. Read-only.

These run on every health check and every Prometheus scrape, so each one is an indexed
lookup or a count over an indexed predicate:

- sync runs: newest first through `ix_sync_runs_started`; the newest of one mode and the
  totals per mode and status through `ix_sync_runs_mode_status_started` (one narrow row per
  run, about 100,000 a year at the default 5-minute interval).
- webhook events: only the unprocessed ones, through `ix_webhook_events_pending`
  (processed_at, occurred_at); the processed millions are never touched.
- SLA instances: due ones through `ix_sla_instances_next_due_at`; counts per rule and state
  from the covering `ix_sla_instances_rule_state` (portal_id, rule_id, state).
- checkpoints: one row per portal and object type.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import (
    SlaHandoffStats,
    SlaInstance,
    SlaReevaluation,
    SlaRuleSet,
    SyncCheckpoint,
    SyncRun,
    WebhookDeadLetter,
    WebhookEvent,
)
from app.models.sync import SyncMode, SyncRunStatus
from app.models.webhook import MAX_ATTEMPTS
from app.store import migrate
from app.webhooks.ingest import UNSERVED_PORTAL


@dataclass(frozen=True)
class SyncRunInfo:
    id: int
    mode: str
    status: str  # a SyncRunStatus
    started_at: datetime
    finished_at: datetime | None
    counts: dict[str, Any]
    requests: int
    rate_limited: int
    retries: int
    error: str | None

    @property
    def duration_seconds(self) -> float | None:
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()


@dataclass(frozen=True)
class CheckpointInfo:
    portal_id: int
    object_type: str
    synced_through: datetime | None
    updated_at: datetime
    phase: str | None  # the pass in progress (list, search, archived), None between passes


@dataclass(frozen=True)
class SyncRunTotal:
    mode: str
    status: str
    runs: int
    rate_limited: int


@dataclass(frozen=True)
class WebhookBacklog:
    pending: int  # waiting for the worker (including ones being retried)
    oldest_pending_received_at: datetime | None
    retrying: int  # pending, and their last attempt failed
    failed: int  # gave up after MAX_ATTEMPTS; left with their error
    dead_letters: int  # raw events that did not parse
    newest_dead_letter_at: datetime | None


@dataclass(frozen=True)
class UnservedPortalEvents:
    """Webhook events refused (dead-lettered) because their portal is not served, recently."""

    count: int
    newest_at: datetime | None
    newest_reason: str | None


@dataclass(frozen=True)
class InstanceCount:
    rule_id: str
    state: str
    count: int


@dataclass(frozen=True)
class SlaReevaluations:
    """Records queued for the SLA engine, and the hand-offs that failed."""

    pending: int  # queued, their evaluation not committed yet
    oldest_enqueued_at: datetime | None
    retrying: int  # pending after at least one failed evaluation
    retry_reason: str | None  # the latest error among those
    failures_total: int  # failed evaluations since the store was created, in records
    last_failure_at: datetime | None
    last_failure_reason: str | None


@dataclass(frozen=True)
class OverdueInstances:
    count: int
    oldest_due_at: datetime | None


# -- database ------------------------------------------------------------------------------


def schema_revision(session: Session) -> str | None:
    """The revision the store is at, read from alembic_version."""
    return MigrationContext.configure(session.connection()).get_current_revision()


@lru_cache(maxsize=1)
def head_revision() -> str | None:
    """The newest revision this code ships (read from the migration scripts once)."""
    return migrate.head_revision()


# -- sync ----------------------------------------------------------------------------------


def _run_info(run: SyncRun) -> SyncRunInfo:
    return SyncRunInfo(
        id=run.id,
        mode=run.mode,
        status=run.status,
        started_at=run.started_at,
        finished_at=run.finished_at,
        counts=dict(run.counts or {}),
        requests=run.requests,
        rate_limited=run.rate_limited,
        retries=run.retries,
        error=run.error,
    )


def _newest_run(session: Session, *conditions: Any) -> SyncRunInfo | None:
    query = (
        select(SyncRun)
        .where(*conditions)
        .order_by(SyncRun.started_at.desc(), SyncRun.id.desc())
        .limit(1)
    )
    run = session.scalars(query).first()
    return _run_info(run) if run is not None else None


def latest_run_per_mode(session: Session) -> dict[str, SyncRunInfo]:
    """The newest run of each mode (finished or not)."""
    found: dict[str, SyncRunInfo] = {}
    for mode in SyncMode:
        run = _newest_run(session, SyncRun.mode == mode)
        if run is not None:
            found[mode] = run
    return found


def latest_finished_run(session: Session) -> SyncRunInfo | None:
    return _newest_run(session, SyncRun.finished_at.is_not(None))


def latest_successful_run(session: Session) -> SyncRunInfo | None:
    return _newest_run(session, SyncRun.status == SyncRunStatus.SUCCEEDED)


def checkpoints(session: Session) -> list[CheckpointInfo]:
    rows = session.scalars(
        select(SyncCheckpoint).order_by(SyncCheckpoint.portal_id, SyncCheckpoint.object_type)
    )
    return [
        CheckpointInfo(
            portal_id=row.portal_id,
            object_type=row.object_type,
            synced_through=row.synced_through,
            updated_at=row.updated_at,
            phase=(row.state or {}).get("phase"),
        )
        for row in rows
    ]


def abandoned_run_count(session: Session) -> int:
    """Runs whose process ended without finishing them (closed by the portal's next run)."""
    query = select(func.count()).where(
        SyncRun.mode.in_(tuple(SyncMode)), SyncRun.status == SyncRunStatus.ABANDONED
    )
    return session.scalar(query) or 0


def sync_run_totals(session: Session) -> list[SyncRunTotal]:
    query = (
        select(SyncRun.mode, SyncRun.status, func.count(), func.sum(SyncRun.rate_limited))
        .group_by(SyncRun.mode, SyncRun.status)
        .order_by(SyncRun.mode, SyncRun.status)
    )
    return [
        SyncRunTotal(mode=mode, status=status, runs=runs, rate_limited=int(limited or 0))
        for mode, status, runs, limited in session.execute(query)
    ]


# -- webhooks ------------------------------------------------------------------------------


def webhook_backlog(session: Session) -> WebhookBacklog:
    retryable = WebhookEvent.attempts < MAX_ATTEMPTS
    pending = session.execute(
        select(
            func.count().filter(retryable),
            func.min(WebhookEvent.received_at).filter(retryable),
            func.count().filter(retryable, WebhookEvent.error.is_not(None)),
            func.count().filter(WebhookEvent.attempts >= MAX_ATTEMPTS),
        ).where(WebhookEvent.processed_at.is_(None))
    ).one()
    dead = session.execute(select(func.count(), func.max(WebhookDeadLetter.received_at))).one()
    return WebhookBacklog(
        pending=pending[0],
        oldest_pending_received_at=pending[1],
        retrying=pending[2],
        failed=pending[3],
        dead_letters=dead[0],
        newest_dead_letter_at=dead[1],
    )


def unserved_portal_events(session: Session, since: datetime) -> UnservedPortalEvents:
    """Through the received_at index: the dead letters since `since` are few (a request keeps
    at most MAX_DEAD_LETTERS_PER_REQUEST)."""
    recent = (
        select(WebhookDeadLetter.received_at, WebhookDeadLetter.reason)
        .where(
            WebhookDeadLetter.received_at >= since,
            WebhookDeadLetter.reason.startswith(UNSERVED_PORTAL, autoescape=True),
        )
        .subquery()
    )
    count, newest_at = session.execute(select(func.count(), func.max(recent.c.received_at))).one()
    newest_reason = None
    if newest_at is not None:
        newest_reason = session.scalar(
            select(recent.c.reason).where(recent.c.received_at == newest_at).limit(1)
        )
    return UnservedPortalEvents(count=count, newest_at=newest_at, newest_reason=newest_reason)


# -- SLA -----------------------------------------------------------------------------------


def sla_instance_counts(session: Session) -> list[InstanceCount]:
    """Grouped in the order of ix_sla_instances_rule_state, so the database walks that index
    alone and needs no sort; the portals are summed here."""
    query = (
        select(SlaInstance.rule_id, SlaInstance.state, func.count())
        .group_by(SlaInstance.portal_id, SlaInstance.rule_id, SlaInstance.state)
        .order_by(SlaInstance.portal_id, SlaInstance.rule_id, SlaInstance.state)
    )
    totals: dict[tuple[str, str], int] = {}
    for rule_id, state, count in session.execute(query):
        totals[(rule_id, state)] = totals.get((rule_id, state), 0) + count
    return [
        InstanceCount(rule_id=rule_id, state=state, count=count)
        for (rule_id, state), count in sorted(totals.items())
    ]


def sla_reevaluations(session: Session) -> SlaReevaluations:
    """The queue holds only records waiting right now (each row goes with its evaluation):
    a few rows, unless evaluations keep failing."""
    pending, oldest, retrying = session.execute(
        select(
            func.count(),
            func.min(SlaReevaluation.enqueued_at),
            func.count().filter(SlaReevaluation.attempts > 0),
        )
    ).one()
    reason = None
    if retrying:
        reason = session.scalar(
            select(SlaReevaluation.last_error)
            .where(SlaReevaluation.attempts > 0)
            .order_by(SlaReevaluation.next_attempt_at.desc())
            .limit(1)
        )
    stats = session.get(SlaHandoffStats, 1)
    return SlaReevaluations(
        pending=pending,
        oldest_enqueued_at=oldest,
        retrying=retrying,
        retry_reason=reason,
        failures_total=stats.failures if stats is not None else 0,
        last_failure_at=stats.last_failure_at if stats is not None else None,
        last_failure_reason=stats.last_error if stats is not None else None,
    )


def overdue_instances(session: Session, now: datetime) -> OverdueInstances:
    """Instances whose next due time (warning, breach, period end) has passed but that the
    due-clock job has not advanced yet: the breach-detection lag."""
    count, oldest = session.execute(
        select(func.count(), func.min(SlaInstance.next_due_at)).where(
            SlaInstance.next_due_at <= now
        )
    ).one()
    return OverdueInstances(count=count, oldest_due_at=oldest)


# -- rules ---------------------------------------------------------------------------------


def rules_activated_at(session: Session) -> datetime | None:
    """When the rules in force (the newest rule set) were activated; None when none is stored."""
    query = select(SlaRuleSet.activated_at).order_by(SlaRuleSet.id.desc()).limit(1)
    return session.scalar(query)
