"""`serve` with a HubSpot token the portal refuses: the service starts (degraded), health says
why, and the log says the reason once per change of state, without a traceback."""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from app.admin.health import check_health
from app.config import Settings
from app.scheduler import JobSpec, Scheduler
from app.store.db import SessionFactory
from app.sync.jobs import sync_jobs
from tests.fixtures.api import ADMIN_TOKEN
from tests.fixtures.slaguard_process import sandbox_environ
from tests.fixtures.waiting import wait_for

WRONG_TOKEN = "pat-na1-00000000-0000-0000-0000-000000000000"
SYNC_JOB = "hubspot_incremental_sync"


@pytest.fixture
def scheduler_with_fast_sync(
    settings: Settings, session_factory: SessionFactory, sandbox: Any
) -> Iterator[Callable[[], Scheduler]]:
    started: list[Scheduler] = []

    def start() -> Scheduler:
        configured = settings.model_copy(
            update={
                "hubspot_access_token": SecretStr(WRONG_TOKEN),
                "hubspot_base_url": sandbox.hubspot_url,
            }
        )
        (job,) = sync_jobs(configured)
        # the service's own job, every 0.2 s instead of every few minutes
        fast = JobSpec(job.id, job.func, 0.2, job.description)
        scheduler = Scheduler(configured, session_factory, [fast], leader_check_seconds=0.1)
        scheduler.start()
        started.append(scheduler)
        return scheduler

    yield start
    for scheduler in started:
        scheduler.shutdown()


def _job_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [
        r
        for r in caplog.records
        if r.levelno >= logging.INFO and SYNC_JOB in r.getMessage() and "job" in r.getMessage()
    ]


@pytest.mark.sandbox(contacts=20, limits=False)
def test_a_rejected_token_is_logged_once_per_change_without_a_traceback(
    scheduler_with_fast_sync: Callable[[], Scheduler],
    settings: Settings,
    session_factory: SessionFactory,
    sandbox: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    scheduler = scheduler_with_fast_sync()
    wait_for(lambda: scheduler.status().job(SYNC_JOB).failures >= 4, "four refused runs")

    said = _job_lines(caplog)
    assert len(said) == 1, [r.getMessage() for r in said]
    assert "HUBSPOT_ACCESS_TOKEN" in said[0].getMessage() and said[0].exc_info is None
    assert "Traceback" not in caplog.text and WRONG_TOKEN not in caplog.text

    body = check_health(
        settings.model_copy(update={"hubspot_access_token": SecretStr(WRONG_TOKEN)}),
        session_factory,
        scheduler.status(),
        datetime.now(UTC),
    )
    assert body["status"] == "degraded"
    assert any("rejected the access token" in reason for reason in body["reasons"])

    caplog.clear()
    sandbox.emulator.settings.access_token = WRONG_TOKEN  # the portal now accepts it
    wait_for(lambda: scheduler.status().job(SYNC_JOB).consecutive_failures == 0, "a good run")
    wait_for(lambda: scheduler.status().job(SYNC_JOB).runs >= 7, "more good runs")
    back = [r for r in _job_lines(caplog) if "again" in r.getMessage()]
    assert len(back) == 1 and back[0].levelno == logging.INFO


@pytest.mark.sandbox(contacts=20, limits=False)
def test_serve_with_a_rejected_token_starts_and_health_says_why(
    database_url: str, sandbox: Any, tmp_path: Path
) -> None:
    env = sandbox_environ(
        database_url,
        sandbox,
        HUBSPOT_ACCESS_TOKEN=WRONG_TOKEN,
        SLAGUARD_ADMIN_TOKEN=ADMIN_TOKEN,
        SLAGUARD_LOG_LEVEL="INFO",
    )
    process = subprocess.Popen(
        [sys.executable, "-c", "from app.cli import main; main()", "serve", "--port", "0"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    errors: list[str] = []
    threading.Thread(target=lambda: errors.extend(process.stderr or []), daemon=True).start()
    try:
        assert process.stdout is not None
        announced = process.stdout.readline()
        assert announced.startswith("slaguard: http://"), errors
        url = announced.split(": ", 1)[1].strip()
        health: dict[str, Any] = {}

        def says_why() -> bool:
            answer = httpx.get(
                f"{url}/admin/health", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
            )
            health.update(answer.json())
            return any("HUBSPOT_ACCESS_TOKEN" in reason for reason in health["reasons"])

        wait_for(says_why, "health to name the refused token")
        assert health["status"] == "degraded"
        wait_for(lambda: any(SYNC_JOB in line for line in errors), "the log line")
    finally:
        process.terminate()
        process.wait(timeout=60)
    said = [line for line in errors if SYNC_JOB in line and "HUBSPOT_ACCESS_TOKEN" in line]
    assert len(said) == 1, errors
    assert not any("Traceback" in line for line in errors)
    assert not any(WRONG_TOKEN in line for line in errors)
