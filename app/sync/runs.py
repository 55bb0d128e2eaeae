"""One row per sync run: what it did, for `/admin/health`, the dashboard and `slaguard status`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.models import SyncRun
from app.models.sync import SyncMode, SyncRunStatus

ABANDONED_REASON = "the process running it ended without finishing it (killed or crashed)"


def start_run(session: Session, mode: SyncMode, now: datetime, portal_id: int | None = None) -> int:
    """A `running` row; with the portal's sync lock held (see app.sync.lock)."""
    run = SyncRun(
        mode=mode, status=SyncRunStatus.RUNNING, started_at=now, portal_id=portal_id, counts={}
    )
    session.add(run)
    session.flush()
    return run.id


def close_abandoned_runs(session: Session, portal_id: int, now: datetime) -> list[int]:
    """Close every `running` run of the portal as `abandoned`; the caller holds the portal's
    sync lock, so none of them has a live process behind it. Returns their ids."""
    closed = session.scalars(
        update(SyncRun)
        .where(SyncRun.portal_id == portal_id, SyncRun.status == SyncRunStatus.RUNNING)
        .values(status=SyncRunStatus.ABANDONED, finished_at=now, error=ABANDONED_REASON)
        .returning(SyncRun.id)
    )
    return sorted(closed)


def finish_run(
    session: Session,
    run_id: int,
    *,
    status: SyncRunStatus,
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
