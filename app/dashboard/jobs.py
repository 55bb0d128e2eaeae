"""The dashboard's periodic job: keep its rollups up to the settled SLA event log."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from app.config import Settings
from app.dashboard import rollups
from app.evaluation.rules_store import rules_in_force
from app.models import Portal
from app.scheduler import JobContext, JobSpec
from app.store.db import session_scope

ROLLUP_SECONDS = 60.0


def refresh_rollups(context: JobContext) -> None:
    """Each portal's rollups in a transaction of its own; a rebuild after the calendars
    changed counts every stopped cycle again (seconds on a large portal)."""
    with session_scope(context.session_factory) as session:
        rules = rules_in_force(session)
        portal_ids = list(session.scalars(select(Portal.id).order_by(Portal.id)))
    if rules is None:
        return
    for portal_id in portal_ids:
        if context.stopping.is_set():
            return
        with session_scope(context.session_factory) as session:
            now = datetime.now(UTC)
            counted = rollups.refresh(session, portal_id, rules, now, session.commit)
        if counted:
            context.log.debug(
                "dashboard rollups: %d cycles counted for portal %d", counted, portal_id
            )


def dashboard_jobs(settings: Settings) -> list[JobSpec]:
    return [
        JobSpec(
            "dashboard-rollups",
            refresh_rollups,
            ROLLUP_SECONDS,
            "time to first touch per stopped response cycle, for the Sales response page",
        )
    ]
