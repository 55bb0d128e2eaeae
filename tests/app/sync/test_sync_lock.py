"""One sync per portal at a time, across real processes, on SQLite and PostgreSQL: a second
`slaguard sync` names the holder and exits 1, or waits with --wait; the scheduled sync skips
its run; a run killed with SIGKILL is closed as abandoned by the portal's next run."""

from __future__ import annotations

import logging
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr
from sqlalchemy import select

from app.config import Settings
from app.models import SyncRun
from app.scheduler import JobContext
from app.store.db import SessionFactory
from app.sync.jobs import sync_jobs
from tests.fixtures.api import ADMIN_TOKEN, make_client
from tests.fixtures.slaguard_process import sandbox_environ
from tests.fixtures.waiting import wait_for

SLAGUARD = [sys.executable, "-c", "from app.cli import main; main()"]

HOLD_SYNC_LOCK = """
import sys
from app.sync.lock import sync_lock_for
lock = sync_lock_for(sys.argv[1], int(sys.argv[2]))
print("held" if lock.acquire() else "busy", flush=True)
sys.stdin.read()
"""


def _env(database_url: str, sandbox: Any) -> dict[str, str]:
    return sandbox_environ(database_url, sandbox, SLAGUARD_LOG_LEVEL="INFO")


class Command:
    """`slaguard ARGS` in its own process, its stderr collected line by line as it comes."""

    def __init__(self, args: list[str], env: dict[str, str], cwd: str) -> None:
        self.process = subprocess.Popen(
            SLAGUARD + args,
            env=env,
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append(line)

    @property
    def pid(self) -> int:
        return self.process.pid

    def said(self, text: str) -> bool:
        return any(text in line for line in self.lines)

    def finish(self, timeout: float = 300) -> int:
        code = self.process.wait(timeout=timeout)
        self._reader.join(timeout=30)
        return code

    @property
    def stderr(self) -> str:
        return "".join(self.lines)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)


@pytest.fixture
def commands() -> Iterator[Callable[..., Command]]:
    started: list[Command] = []

    def start(args: list[str], env: dict[str, str], cwd: str) -> Command:
        command = Command(args, env, cwd)
        started.append(command)
        return command

    yield start
    for command in started:
        command.kill()


@pytest.fixture
def lock_holder(database_url: str) -> Iterator[Callable[[int], subprocess.Popen[str]]]:
    """Starts a process that holds a portal's sync lock until its stdin closes."""
    started: list[subprocess.Popen[str]] = []

    def hold(portal_id: int) -> subprocess.Popen[str]:
        process = subprocess.Popen(
            [sys.executable, "-c", HOLD_SYNC_LOCK, database_url, str(portal_id)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        started.append(process)
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "held"
        return process

    yield hold
    for process in started:
        process.kill()
        process.wait(timeout=30)


def _runs(session_factory: SessionFactory) -> list[SyncRun]:
    with session_factory() as session:
        return list(session.scalars(select(SyncRun).order_by(SyncRun.id)))


def _slow_down(sandbox: Any, seconds: float | None) -> None:
    """Every HubSpot answer takes `seconds` (None: back to full speed)."""
    faults = sandbox.emulator.settings.faults
    faults.slow_rate = 0.0 if seconds is None else 1.0
    faults.slow_seconds = seconds or 0.0


def _error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error:")]


# -- a second sync while one runs ----------------------------------------------------------


@pytest.mark.sandbox(contacts=30, limits=False)
def test_a_second_sync_names_the_process_holding_the_portal_and_exits_1(
    database_url, session_factory, sandbox, lock_holder, tmp_path
) -> None:
    holder = lock_holder(sandbox.portal.portal_id)
    done = subprocess.run(
        [*SLAGUARD, "sync"],
        env=_env(database_url, sandbox),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 1
    errors = _error_lines(done.stderr)
    assert len(errors) == 1, done.stderr
    assert f"portal {sandbox.portal.portal_id}" in errors[0]
    assert f"process {holder.pid} on host {socket.gethostname()} since " in errors[0]
    assert "--wait" in errors[0] and "Traceback" not in done.stderr
    assert _runs(session_factory) == []  # a run that never started leaves no row


@pytest.mark.sandbox(contacts=30, limits=False)
def test_with_wait_the_second_sync_starts_once_the_holder_ends(
    database_url, session_factory, sandbox, lock_holder, commands, tmp_path
) -> None:
    holder = lock_holder(sandbox.portal.portal_id)
    waiting = commands(["sync", "--wait"], _env(database_url, sandbox), str(tmp_path))
    wait_for(lambda: waiting.said(f"process {holder.pid}"), "the second sync to wait")
    assert waiting.process.poll() is None and _runs(session_factory) == []
    assert holder.stdin is not None
    holder.stdin.close()  # the holder exits and lets go
    assert waiting.finish() == 0, waiting.stderr
    assert [run.status for run in _runs(session_factory)] == ["succeeded"]


@pytest.mark.sandbox(contacts=30, limits=False)
def test_with_a_wait_timeout_the_second_sync_gives_up_with_one_sentence(
    database_url, session_factory, sandbox, lock_holder, tmp_path
) -> None:
    holder = lock_holder(sandbox.portal.portal_id)
    done = subprocess.run(
        [*SLAGUARD, "sync", "--wait", "--wait-timeout", "1"],
        env=_env(database_url, sandbox),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 1
    errors = _error_lines(done.stderr)
    assert len(errors) == 1 and "still running after 1 s" in errors[0], done.stderr
    assert f"process {holder.pid}" in errors[0]
    assert _runs(session_factory) == []


@pytest.mark.sandbox(contacts=60, limits=False)
def test_two_real_syncs_of_one_portal_never_overlap(
    database_url, session_factory, sandbox, commands, tmp_path
) -> None:
    env = _env(database_url, sandbox)
    _slow_down(sandbox, 0.5)  # the first run keeps going while the others try
    first = commands(["sync", "--full"], env, str(tmp_path))
    wait_for(lambda: len(_runs(session_factory)) == 1, "the first sync to start its run")

    refused = subprocess.run(
        [*SLAGUARD, "sync"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert refused.returncode == 1
    assert f"process {first.pid} on host" in refused.stderr, refused.stderr

    waiting = commands(["sync", "--wait"], env, str(tmp_path))
    wait_for(lambda: waiting.said(f"process {first.pid}"), "the third sync to wait")
    _slow_down(sandbox, None)
    assert first.finish() == 0, first.stderr
    assert waiting.finish() == 0, waiting.stderr

    runs = _runs(session_factory)
    assert [(run.mode, run.status) for run in runs] == [
        ("full", "succeeded"),
        ("incremental", "succeeded"),
    ]
    assert runs[0].finished_at is not None and runs[1].started_at >= runs[0].finished_at


def test_the_scheduled_sync_skips_its_run_with_an_info_line_while_a_sync_runs(
    database_url, settings, session_factory, sandbox, lock_holder, caplog
) -> None:
    holder = lock_holder(sandbox.portal.portal_id)
    configured = settings.model_copy(
        update={
            "hubspot_access_token": SecretStr(sandbox.token),
            "hubspot_base_url": sandbox.hubspot_url,
        }
    )
    (job,) = sync_jobs(configured)
    job_log = logging.getLogger("slaguard.jobs.hubspot_incremental_sync")
    context = JobContext(settings=configured, session_factory=session_factory, log=job_log)
    with caplog.at_level(logging.INFO):
        job.func(context)  # returns: a skipped run is no failure
    skipped = [r for r in caplog.records if r.name == job_log.name and "skipped" in r.message]
    assert len(skipped) == 1 and skipped[0].levelno == logging.INFO
    assert f"process {holder.pid}" in skipped[0].message
    assert "--wait" not in skipped[0].message  # advice for the command line only
    assert _runs(session_factory) == []


# -- a sync killed with SIGKILL --------------------------------------------------------------


def _scrape(settings: Settings) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    for client in make_client(settings, slaguard_admin_token=SecretStr(ADMIN_TOKEN)):
        text = client.get("/metrics").text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "slaguard_sync_runs_total"
    }


def _health(settings: Settings) -> dict[str, Any]:
    for client in make_client(settings, slaguard_admin_token=SecretStr(ADMIN_TOKEN)):
        response = client.get("/admin/health", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    body: dict[str, Any] = response.json()
    return body


def _runs_total(status: str, mode: str = "full") -> tuple[str, tuple[tuple[str, str], ...]]:
    return ("slaguard_sync_runs_total", (("mode", mode), ("status", status)))


@pytest.mark.sandbox(contacts=60, limits=False)
def test_a_sync_killed_with_sigkill_is_closed_as_abandoned_by_the_next_run(
    database_url, settings, session_factory, sandbox, commands, tmp_path
) -> None:
    env = _env(database_url, sandbox)
    _slow_down(sandbox, 0.3)
    killed = commands(["sync", "--full"], env, str(tmp_path))
    wait_for(lambda: len(_runs(session_factory)) == 1, "the sync to start its run")
    killed.kill()
    _slow_down(sandbox, None)
    (orphan,) = _runs(session_factory)
    assert orphan.status == "running"
    assert _scrape(settings)[_runs_total("running")] == 1  # what the issue saw
    # another portal's run may have a live process behind it: it must stay as it is
    other_portal = sandbox.portal.portal_id + 1
    with session_factory() as session, session.begin():
        session.add(
            SyncRun(
                portal_id=other_portal,
                mode="incremental",
                status="running",
                started_at=datetime.now(UTC),
                counts={},
            )
        )

    done = subprocess.run(
        [*SLAGUARD, "sync"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert "abandoned" in done.stderr  # one warning line says what was closed

    runs = _runs(session_factory)
    assert [(run.portal_id, run.mode, run.status) for run in runs] == [
        (sandbox.portal.portal_id, "full", "abandoned"),
        (other_portal, "incremental", "running"),
        (sandbox.portal.portal_id, "incremental", "succeeded"),
    ]
    assert runs[0].finished_at is not None and "ended without finishing" in (runs[0].error or "")
    samples = _scrape(settings)
    assert samples[_runs_total("abandoned")] == 1
    assert _runs_total("running") not in samples  # no stale `running` for the killed run
    sync = _health(settings)["sync"]
    assert sync["abandoned_runs"] == 1
    assert sync["last_runs"]["full"]["status"] == "abandoned"
