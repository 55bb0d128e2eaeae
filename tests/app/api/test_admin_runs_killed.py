"""A run whose `slaguard serve` is killed -9 mid-sync: its row stays `running`, so another
process's trigger is refused while the heartbeat is recent; once the heartbeat is older than
STALE_AFTER the next trigger closes it as abandoned and starts."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from app.admin import runs
from app.admin.audit import Actor
from app.admin.runs import RunBusyError, RunRequest
from app.models import AdminRun, SyncRun
from app.store.db import SessionFactory
from tests.fixtures.api import ADMIN_TOKEN
from tests.fixtures.slaguard_process import Service, SlaguardEnv, sandbox_environ
from tests.fixtures.waiting import wait_for

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def sync_statuses(factory: SessionFactory) -> list[str]:
    with factory() as session:
        return list(session.scalars(select(SyncRun.status).order_by(SyncRun.id)))


@contextmanager
def service_running_an_admin_sync(
    database_url: str, session_factory: SessionFactory, sandbox: Any, tmp_path: Path
) -> Iterator[tuple[Service, int]]:
    """A real `slaguard serve` on the sandbox whose admin sync run has started (after the
    scheduled sync at start), and that run's id; stopped (SIGTERM) on leaving."""
    variables = sandbox_environ(
        database_url,
        sandbox,
        SLAGUARD_ADMIN_TOKEN=ADMIN_TOKEN,
        SLAGUARD_SYNC_INTERVAL_MINUTES="1440",
        SLAGUARD_LOG_LEVEL="WARNING",
    )
    service = Service(SlaguardEnv(tmp_path, variables), ADMIN_TOKEN)
    service.start()
    try:
        wait_for(lambda: sync_statuses(session_factory) == ["succeeded"], "the first sync")
        answer = httpx.post(f"{service.url}/admin/api/runs/sync", json={"full": True}, headers=AUTH)
        assert answer.status_code == 202, answer.text
        yield service, answer.json()["id"]
    finally:
        service.stop()


@pytest.mark.sandbox(contacts=3000)
def test_a_run_of_a_killed_process_blocks_until_its_heartbeat_is_stale(
    database_url: str, session_factory: SessionFactory, sandbox: Any, tmp_path: Path
) -> None:
    with service_running_an_admin_sync(database_url, session_factory, sandbox, tmp_path) as (
        service,
        run_id,
    ):
        service.kill_9()
    with session_factory() as session:
        left = session.get_one(AdminRun, run_id)
        assert (left.status, left.slot, left.finished_at) == ("running", "busy", None)
        beat = left.heartbeat_at

    actor = Actor("token:other-process", "api")
    request = RunRequest("evaluation", True)
    with pytest.raises(RunBusyError) as busy:
        runs.start(session_factory, request, actor, datetime.now(UTC))
    assert busy.value.running_id == run_id
    stale = beat + runs.STALE_AFTER + timedelta(seconds=1)
    next_id = runs.start(session_factory, request, actor, stale)

    with session_factory() as session:
        closed = session.get_one(AdminRun, run_id)
        assert (closed.status, closed.slot) == ("abandoned", None)
        assert closed.error is not None and "heartbeat" in closed.error
        assert session.get_one(AdminRun, next_id).status == "running"


@pytest.mark.sandbox(contacts=3000)
def test_a_run_of_a_service_stopped_by_sigterm_is_closed_at_once(
    database_url: str, session_factory: SessionFactory, sandbox: Any, tmp_path: Path
) -> None:
    with service_running_an_admin_sync(database_url, session_factory, sandbox, tmp_path) as (
        _,
        run_id,
    ):
        pass  # leaving stops the service with SIGTERM

    with session_factory() as session:
        closed = session.get_one(AdminRun, run_id)
        assert (closed.status, closed.slot) == ("abandoned", None)
        assert closed.error is not None and "service stopped" in closed.error
    actor = Actor("token:next-process", "api")
    assert runs.start(session_factory, RunRequest("evaluation", True), actor, datetime.now(UTC))
