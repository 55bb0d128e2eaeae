"""`slaguard serve --role`: what each role of a replica serves and runs, what SQLite refuses,
and a worker stopped by SIGTERM mid-delivery exiting in time with nothing left held."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from alerts.outbox.runtime import delivery_worker
from app.config import Settings, load_settings
from app.errors import ConfigError
from app.main import create_app
from app.models import AlertDelivery
from app.roles import SHUTDOWN_GRACE_SECONDS
from app.store import migrate
from app.store.db import SessionFactory, create_db_engine, create_session_factory
from sandbox.server import free_port
from tests.alerts.outbox.test_worker import SECRET, breaches
from tests.fixtures.slaguard_process import SLAGUARD, slaguard_environ
from tests.fixtures.store import PostgresDatabases
from tests.fixtures.waiting import wait_for
from tests.integrations.webhooks.receiver import Answer, Receiver

# uvicorn ends by re-raising the SIGTERM it handled: the status a process manager expects.
STOPPED = (0, -signal.SIGTERM)


def test_an_unknown_role_is_refused_naming_the_roles() -> None:
    with pytest.raises(ConfigError, match=r"SLAGUARD_ROLE must be one of all, api, worker"):
        load_settings(slaguard_role="leader", _env_file=None)


def test_a_role_other_than_all_on_sqlite_is_refused_saying_postgresql_is_needed() -> None:
    with pytest.raises(ConfigError, match=r"SLAGUARD_ROLE=worker needs PostgreSQL"):
        load_settings(database_url="sqlite:///x.db", slaguard_role="worker", _env_file=None)
    assert load_settings(database_url="sqlite:///x.db", _env_file=None).slaguard_role == "all"


def test_serve_with_a_worker_role_on_sqlite_exits_before_binding_with_the_reason(
    tmp_path: Path,
) -> None:
    done = subprocess.run(
        [str(SLAGUARD), "serve", "--role", "scheduler", "--port", str(free_port())],
        env=slaguard_environ(DATABASE_URL=f"sqlite:///{tmp_path / 'x.db'}"),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    assert "SLAGUARD_ROLE=scheduler needs PostgreSQL" in done.stderr + done.stdout
    assert not (tmp_path / "x.db").exists()


def test_the_outbox_lease_must_cover_a_batch_and_stay_bounded() -> None:
    with pytest.raises(ConfigError, match="SLAGUARD_OUTBOX_LEASE_SECONDS"):
        load_settings(slaguard_outbox_lease_seconds=1, _env_file=None)


@pytest.fixture
def pg_url(postgres_databases: PostgresDatabases) -> str:
    url = postgres_databases.create()
    migrate.upgrade(url)
    return url


def app_for(pg_url: str, role: str) -> TestClient:
    settings = Settings(database_url=pg_url, slaguard_role=role, _env_file=None)  # type: ignore[call-arg]
    return TestClient(create_app(settings))


@pytest.mark.postgres
def test_each_role_serves_and_runs_only_its_share(pg_url: str) -> None:
    with app_for(pg_url, "api") as api:
        assert api.app.state.scheduler is None  # type: ignore[attr-defined]
        assert api.post("/webhooks/hubspot", json=[]).status_code != 404  # refused, unsigned
        assert api.get("/health").status_code == 200
    with app_for(pg_url, "worker") as worker:
        runner = worker.app.state.scheduler  # type: ignore[attr-defined]
        assert [job.id for job in runner.status().jobs] == ["webhook_apply", "alerts-deliver"]
        assert runner.status().lock.startswith("none")  # every worker runs them at once
        assert worker.post("/webhooks/hubspot", json=[]).status_code == 404
        assert worker.get("/metrics").status_code == 200
    with app_for(pg_url, "scheduler") as scheduler:
        status = scheduler.app.state.scheduler.status()  # type: ignore[attr-defined]
        ids = {job.id for job in status.jobs}
        assert "alerts-deliver" not in ids and {"webhook_worker", "alerts-escalate"} <= ids
        assert status.lock == "PostgreSQL advisory lock"
        assert scheduler.get("/dashboard").status_code == 404


# -- SIGTERM ---------------------------------------------------------------------------------


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver().start()
    yield server
    server.stop()


def start_worker(pg_url: str, workdir: Path) -> tuple[subprocess.Popen[str], str]:
    port = free_port()
    env = slaguard_environ(
        DATABASE_URL=pg_url,
        SLAGUARD_ROLE="worker",
        SLAGUARD_WEBHOOKS_ALLOW_PRIVATE="true",
        SLAGUARD_TEST_WEBHOOK_SECRET=SECRET.text(),
    )
    log = (workdir / "worker.log").open("w")
    process = subprocess.Popen(
        [str(SLAGUARD), "serve", "--port", str(port)],
        env=env,
        cwd=workdir,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        if process.poll() is not None:
            raise AssertionError((workdir / "worker.log").read_text())
        try:
            return httpx.get(f"{url}/health", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    wait_for(answers, "the worker answers", 60)
    return process, url


def held(factory: SessionFactory) -> list[tuple[str, str | None]]:
    with factory() as session:
        rows = session.scalars(select(AlertDelivery).order_by(AlertDelivery.id)).all()
        return [(row.state, row.lease_owner) for row in rows]


@pytest.mark.postgres
def test_sigterm_during_a_stuck_delivery_exits_within_the_bound_and_hands_the_claim_back(
    pg_url: str, receiver: Receiver, tmp_path: Path
) -> None:
    engine = create_db_engine(pg_url)
    factory = create_session_factory(engine)
    try:
        breaches(factory, tmp_path, receiver.url, 3)
        receiver.answer(Answer(200, delay=60))  # the first send hangs past the grace
        process, _ = start_worker(pg_url, tmp_path)
        wait_for(lambda: len(receiver.requests) == 1, "the worker sends the first alert", 30)
        assert {state for state, _ in held(factory)} == {"delivering"}

        process.send_signal(signal.SIGTERM)
        began = time.monotonic()
        assert process.wait(timeout=SHUTDOWN_GRACE_SECONDS + 10) in STOPPED
        took = time.monotonic() - began

        assert took < SHUTDOWN_GRACE_SECONDS + 5
        # Nothing waits out a 5-minute lease: another worker may send them at once.
        assert held(factory) == [("pending", None)] * 3
        assert "released 3 claimed alert deliveries" in (tmp_path / "worker.log").read_text()
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_sigterm_while_delivering_normally_finishes_the_batch_and_exits_at_once(
    pg_url: str, receiver: Receiver, tmp_path: Path
) -> None:
    engine = create_db_engine(pg_url)
    factory = create_session_factory(engine)
    try:
        breaches(factory, tmp_path, receiver.url, 3)
        receiver.answer(Answer(200, delay=1.0))  # one slow answer: the stop comes meanwhile
        process, _ = start_worker(pg_url, tmp_path)
        wait_for(lambda: len(receiver.requests) == 1, "the worker sends the first alert", 30)

        process.send_signal(signal.SIGTERM)
        began = time.monotonic()
        assert process.wait(timeout=SHUTDOWN_GRACE_SECONDS + 10) in STOPPED

        assert time.monotonic() - began < SHUTDOWN_GRACE_SECONDS
        assert held(factory) == [("delivered", None)] * 3  # the claimed batch was finished
        assert len({r.headers["webhook-id"] for r in receiver.requests}) == 3
    finally:
        engine.dispose()


def test_the_delivery_worker_claims_for_the_configured_lease(tmp_path: Path) -> None:
    settings = load_settings(
        database_url=f"sqlite:///{tmp_path / 'x.db'}",
        slaguard_outbox_lease_seconds=42,
        _env_file=None,
    )
    engine = create_db_engine(settings.database_url)
    try:
        with delivery_worker(settings, create_session_factory(engine)) as worker:
            assert worker.lease == timedelta(seconds=42)
    finally:
        engine.dispose()
