"""One row per sync run: what it did, for `/admin/health`, the dashboard and `slaguard status`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import SyncRun


def start_run(session: Session, mode: str, now: datetime) -> int:
    run = SyncRun(mode=mode, status="running", started_at=now, counts={})
    session.add(run)
    session.flush()
    return run.id


def finish_run(
    session: Session,
    run_id: int,
    *,
    status: str,
    now: datetime,
    portal_id: int | None,
    counts: dict[str, Any],
    requests: int,
    rate_limited: int,
    retries: int,
    error: str | None = None,
) -> None:
    run = session.get(SyncRun, run_id)
    if run is None:
        return
    run.status = status
    run.finished_at = now
    run.portal_id = portal_id
    run.counts = counts
    run.requests = requests
    run.rate_limited = rate_limited
    run.retries = retries
    run.error = error


def latest_runs(session: Session, limit: int = 10) -> list[SyncRun]:
    query = select(SyncRun).order_by(SyncRun.started_at.desc(), SyncRun.id.desc()).limit(limit)
    return list(session.scalars(query))
