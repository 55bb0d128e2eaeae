"""Admin runs in the store: started one at a time, kept alive by a heartbeat, finished once.

One run at a time holds the `busy` slot (a unique constraint), so the check and the start are
one insert that cannot race. A process killed mid-run leaves its row `running` with a
heartbeat that stops moving: whoever looks next (a trigger or a poll) finds it older than
STALE_AFTER and closes it as `abandoned`, which frees the slot.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.admin import audit
from app.admin.audit import Actor
from app.leader import this_process
from app.models import AdminRun
from app.models.admin_runs import RUN_SLOT
from app.store.db import SessionFactory, session_scope

RUNNING, SUCCEEDED, FAILED, ABANDONED = "running", "succeeded", "failed", "abandoned"
HEARTBEAT = timedelta(seconds=15)
# Eight missed heartbeats: a run this quiet is in a process that is gone.
STALE_AFTER = timedelta(minutes=2)
ABANDONED_REASON = "the process running it stopped (no heartbeat for {seconds:.0f} s)"


class RunBusyError(Exception):
    def __init__(self, running: AdminRun | None) -> None:
        self.running_id = running.id if running is not None else None
        what = f"{running.kind} run {running.id}" if running is not None else "another run"
        super().__init__(f"{what} is still running; poll it, then try again")


@dataclass(frozen=True, slots=True)
class RunRequest:
    kind: str  # sync | evaluation
    full: bool


def close_stale(session: Session, now: datetime, stale_after: timedelta = STALE_AFTER) -> int:
    reason = ABANDONED_REASON.format(seconds=stale_after.total_seconds())
    result = session.execute(
        update(AdminRun)
        .where(AdminRun.slot == RUN_SLOT, AdminRun.heartbeat_at < now - stale_after)
        .values(status=ABANDONED, slot=None, finished_at=now, error=reason)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def running(session: Session) -> AdminRun | None:
    return session.scalars(select(AdminRun).where(AdminRun.slot == RUN_SLOT)).first()


def start(
    factory: SessionFactory,
    request: RunRequest,
    actor: Actor,
    now: datetime,
    stale_after: timedelta = STALE_AFTER,
) -> int:
    """Writes the run as `running` with its audit row, in one committed transaction; raises
    RunBusyError when another run holds the slot."""
    pid, host = this_process()
    try:
        with session_scope(factory) as session:
            close_stale(session, now, stale_after)
            row = AdminRun(
                kind=request.kind,
                full=request.full,
                status=RUNNING,
                slot=RUN_SLOT,
                requested_by=actor.who,
                holder=f"{pid}@{host}"[:160],
                started_at=now,
                heartbeat_at=now,
                result={},
            )
            session.add(row)
            session.flush()
            details = {"kind": request.kind, "full": request.full}
            audit.record(
                session, actor, f"start_{request.kind}", f"admin_run:{row.id}", now, details
            )
            return row.id
    except IntegrityError:
        with session_scope(factory) as session:
            raise RunBusyError(running(session)) from None


def beat(factory: SessionFactory, run_id: int, now: datetime) -> None:
    with session_scope(factory) as session:
        session.execute(
            update(AdminRun)
            .where(AdminRun.id == run_id, AdminRun.status == RUNNING)
            .values(heartbeat_at=now)
        )


def finish(
    factory: SessionFactory,
    run_id: int,
    now: datetime,
    *,
    result: dict[str, Any],
    error: str | None,
) -> None:
    """Settles the run and frees the slot; a run already closed as abandoned stays so."""
    with session_scope(factory) as session:
        session.execute(
            update(AdminRun)
            .where(AdminRun.id == run_id, AdminRun.status == RUNNING)
            .values(
                status=FAILED if error is not None else SUCCEEDED,
                slot=None,
                finished_at=now,
                heartbeat_at=now,
                result=result,
                error=error,
            )
        )


def abandon(factory: SessionFactory, run_ids: list[int], now: datetime, reason: str) -> None:
    """Closes runs this process cannot finish (it is stopping), freeing the slot at once."""
    with session_scope(factory) as session:
        session.execute(
            update(AdminRun)
            .where(AdminRun.id.in_(run_ids), AdminRun.status == RUNNING)
            .values(status=ABANDONED, slot=None, finished_at=now, error=reason)
        )


def get(session: Session, run_id: int, now: datetime) -> AdminRun | None:
    """The run as it stands, a stale one closed first (so a poll never waits forever)."""
    if close_stale(session, now):
        session.expire_all()
    return session.get(AdminRun, run_id)
