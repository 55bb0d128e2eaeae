"""One consistent read of the store for the health page and the metrics scrape."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from alerts.outbox.status import OutboxStatus, outbox_status
from app.admin import repository as repo
from app.admin import thresholds
from app.config import Settings
from app.store.db import SessionFactory

Snapshot = TypeVar("Snapshot")


@dataclass(frozen=True)
class DatabaseInfo:
    backend: str
    url: str  # password masked
    reachable: bool
    revision: str | None
    head: str | None
    error: str | None = None

    @property
    def up_to_date(self) -> bool:
        return self.reachable and self.revision == self.head


@dataclass(frozen=True)
class HealthSnapshot:
    latest_runs: dict[str, repo.SyncRunInfo]
    latest_finished_run: repo.SyncRunInfo | None
    latest_successful_run: repo.SyncRunInfo | None
    checkpoints: list[repo.CheckpointInfo]
    webhooks: repo.WebhookBacklog
    sla_counts: list[repo.InstanceCount]
    sla_overdue: repo.OverdueInstances
    unserved_portals: repo.UnservedPortalEvents
    reevaluations: repo.SlaReevaluations
    abandoned_runs: int = 0
    rules_activated_at: datetime | None = None
    alerts: OutboxStatus | None = None


@dataclass(frozen=True)
class MetricsSnapshot:
    run_totals: list[repo.SyncRunTotal]
    latest_successful_run: repo.SyncRunInfo | None
    checkpoints: list[repo.CheckpointInfo]
    webhooks: repo.WebhookBacklog
    sla_counts: list[repo.InstanceCount]
    sla_overdue: repo.OverdueInstances
    unserved_portals: repo.UnservedPortalEvents
    reevaluations: repo.SlaReevaluations
    alerts: OutboxStatus | None = None


def read_for_health(session: Session, now: datetime) -> HealthSnapshot:
    return HealthSnapshot(
        latest_runs=repo.latest_run_per_mode(session),
        latest_finished_run=repo.latest_finished_run(session),
        latest_successful_run=repo.latest_successful_run(session),
        checkpoints=repo.checkpoints(session),
        webhooks=repo.webhook_backlog(session),
        sla_counts=repo.sla_instance_counts(session),
        sla_overdue=repo.overdue_instances(session, now),
        reevaluations=repo.sla_reevaluations(session),
        abandoned_runs=repo.abandoned_run_count(session),
        rules_activated_at=repo.rules_activated_at(session),
        alerts=outbox_status(session, now),
        unserved_portals=repo.unserved_portal_events(
            session, now - thresholds.UNSERVED_PORTAL_RECENT
        ),
    )


def read_for_metrics(session: Session, now: datetime) -> MetricsSnapshot:
    return MetricsSnapshot(
        run_totals=repo.sync_run_totals(session),
        latest_successful_run=repo.latest_successful_run(session),
        checkpoints=repo.checkpoints(session),
        webhooks=repo.webhook_backlog(session),
        sla_counts=repo.sla_instance_counts(session),
        sla_overdue=repo.overdue_instances(session, now),
        reevaluations=repo.sla_reevaluations(session),
        unserved_portals=repo.unserved_portal_events(
            session, now - thresholds.UNSERVED_PORTAL_RECENT
        ),
        alerts=outbox_status(session, now),
    )


def read_everything(
    settings: Settings,
    session_factory: SessionFactory,
    reader: Callable[[Session], Snapshot],
) -> tuple[DatabaseInfo, Snapshot | None]:
    """The database's state and, when it can be read, what `reader` reads of the store; never
    raises on a database that is down or behind (that is what the operator is asking about)."""
    url = settings.safe_database_url
    backend = make_url(settings.database_url).get_backend_name()
    head = repo.head_revision()
    try:
        with session_factory() as session:
            revision = repo.schema_revision(session)
            database = DatabaseInfo(backend, url, True, revision, head)
            if not database.up_to_date:
                return database, None  # the queries below may name tables that do not exist
            return database, reader(session)
    except SQLAlchemyError as exc:
        return DatabaseInfo(backend, url, False, None, head, _reason(exc, settings)), None


def _reason(exc: SQLAlchemyError, settings: Settings) -> str:
    """The driver's first line (it names the host, not the password), scrubbed to be sure."""
    original = getattr(exc, "orig", None) or exc
    lines = str(original).strip().splitlines()
    reason = f"{type(exc).__name__}: {lines[0] if lines else 'unknown error'}"
    password = make_url(settings.database_url).password
    if password:
        reason = reason.replace(str(password), "***")
    return reason[:300]
