"""/admin/api/runs: a sync (against the HubSpot sandbox) or a full evaluation started in the
background, 202 then polled; one at a time (409); a run left by a dead process is abandoned."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import func, select

from app.admin import runs
from app.admin.audit import Actor, token_fingerprint
from app.admin.runs import RunBusyError, RunRequest
from app.config import Settings
from app.models import AdminRun, AuditLog, Contact, SlaInstance, SyncRun
from app.models.admin_runs import RUN_SLOT
from app.store.db import SessionFactory, session_scope
from tests.alerts.outbox.helpers import put_rules_in_force, seed_leads
from tests.app.sync.truth import store_differences
from tests.fixtures.api import ADMIN_TOKEN, make_client
from tests.fixtures.waiting import wait_for

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture
def client(settings: Settings, session_factory: SessionFactory) -> Iterator[TestClient]:
    yield from make_client(settings, slaguard_admin_token=SecretStr(ADMIN_TOKEN))


def finished(client: TestClient, run_id: int) -> Any:
    def settled() -> Any:
        body = client.get(f"/admin/api/runs/{run_id}", headers=AUTH).json()
        return body if body["status"] != "running" else None

    return wait_for(settled, f"admin run {run_id} to end", timeout=60, interval=0.1)


def other_process_run(factory: SessionFactory, heartbeat_age: timedelta) -> int:
    """A run as another serving process leaves it in the store while it works (or after it
    was killed, once its heartbeat is old)."""
    now = datetime.now(UTC)
    with session_scope(factory) as session:
        row = AdminRun(
            kind="sync",
            full=True,
            status="running",
            slot=RUN_SLOT,
            requested_by="token:elsewhere",
            holder="999999@other-host",
            started_at=now - heartbeat_age - timedelta(minutes=5),
            heartbeat_at=now - heartbeat_age,
            result={},
        )
        session.add(row)
        session.flush()
        return row.id


def test_a_full_evaluation_runs_in_the_background_and_is_polled_to_its_result(
    client: TestClient, session_factory: SessionFactory, tmp_path: Path
) -> None:
    with session_scope(session_factory) as session:
        seed_leads(session, 3)
        put_rules_in_force(session, tmp_path, alerts=None)

    answer = client.post("/admin/api/runs/evaluation", headers=AUTH)

    assert answer.status_code == 202
    run_id = answer.json()["id"]
    assert answer.headers["location"] == f"/admin/api/runs/{run_id}"
    body = finished(client, run_id)
    assert body["status"] == "succeeded" and body["error"] is None
    assert body["result"]["records"] == 3 and body["result"]["created"] == 3
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(SlaInstance)) == 3
        audit = session.scalars(select(AuditLog)).one()
    assert (audit.action, audit.target, audit.actor, audit.source) == (
        "start_evaluation",
        f"admin_run:{run_id}",
        token_fingerprint(ADMIN_TOKEN),
        "api",
    )


def test_a_sync_pulls_the_sandbox_portal_and_reports_what_it_read(
    settings: Settings, session_factory: SessionFactory, sandbox: Any
) -> None:
    configured = {
        "slaguard_admin_token": SecretStr(ADMIN_TOKEN),
        "hubspot_access_token": SecretStr(sandbox.token),
        "hubspot_base_url": sandbox.hubspot_url,
    }
    for client in make_client(settings, **configured):
        answer = client.post("/admin/api/runs/sync", json={"full": True}, headers=AUTH)
        assert answer.status_code == 202
        body = finished(client, answer.json()["id"])

    assert body["status"] == "succeeded", body["error"]
    assert (body["kind"], body["full"]) == ("sync", True)
    with session_factory() as session:
        assert store_differences(session, sandbox.portal) == []
        assert session.scalar(select(func.count()).select_from(Contact))
        sync_run = session.get_one(SyncRun, body["result"]["sync_run_id"])
    assert (sync_run.mode, sync_run.status) == ("full", "succeeded")
    assert body["result"]["counts"] == sync_run.counts


def test_a_second_trigger_while_a_run_is_going_is_409_naming_it(
    client: TestClient, session_factory: SessionFactory
) -> None:
    busy = other_process_run(session_factory, heartbeat_age=timedelta(seconds=5))

    answer = client.post("/admin/api/runs/evaluation", headers=AUTH)

    assert answer.status_code == 409
    assert answer.json()["running_id"] == busy and str(busy) in answer.json()["detail"]
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(AdminRun)) == 1
        assert session.scalars(select(AuditLog)).all() == []


def test_a_run_whose_process_died_is_abandoned_and_blocks_nothing(
    client: TestClient, session_factory: SessionFactory
) -> None:
    dead = other_process_run(session_factory, heartbeat_age=timedelta(minutes=10))

    polled = client.get(f"/admin/api/runs/{dead}", headers=AUTH).json()
    answer = client.post("/admin/api/runs/evaluation", headers=AUTH)

    assert polled["status"] == "abandoned" and "heartbeat" in polled["error"]
    assert answer.status_code == 202
    assert finished(client, answer.json()["id"])["status"] == "succeeded"


def test_a_sync_without_hubspot_configured_is_409_and_starts_nothing(
    client: TestClient, session_factory: SessionFactory
) -> None:
    answer = client.post("/admin/api/runs/sync", headers=AUTH)

    assert answer.status_code == 409 and "HUBSPOT_ACCESS_TOKEN" in answer.json()["detail"]
    with session_factory() as session:
        assert session.scalars(select(AdminRun)).all() == []


def test_an_unknown_run_is_404(client: TestClient) -> None:
    assert client.get("/admin/api/runs/4242", headers=AUTH).status_code == 404


@pytest.mark.parametrize(
    ("body", "field"), [({"full": [1]}, "full"), ({"full": True, "objects": "all"}, "objects")]
)
def test_a_bad_sync_body_is_422_naming_the_field(
    client: TestClient, body: dict[str, Any], field: str
) -> None:
    answer = client.post("/admin/api/runs/sync", json=body, headers=AUTH)
    assert answer.status_code == 422
    assert [problem["loc"][-1] for problem in answer.json()["detail"]] == [field]


@pytest.mark.parametrize("header", [None, "Bearer wrong"])
def test_runs_are_refused_without_the_right_token(
    client: TestClient, session_factory: SessionFactory, header: str | None
) -> None:
    headers = {"Authorization": header} if header else {}
    assert client.post("/admin/api/runs/evaluation", headers=headers).status_code == 401
    assert client.post("/admin/api/runs/sync", headers=headers).status_code == 401
    assert client.get("/admin/api/runs/1", headers=headers).status_code == 401
    with session_factory() as session:
        assert session.scalars(select(AdminRun)).all() == []


def test_triggers_racing_in_many_threads_start_exactly_one_run(
    session_factory: SessionFactory,
) -> None:
    actor = Actor("token:race", "api")
    barrier = threading.Barrier(6)
    outcomes: list[str] = []

    def trigger() -> None:
        barrier.wait()
        try:
            runs.start(session_factory, RunRequest("evaluation", True), actor, datetime.now(UTC))
            outcomes.append("started")
        except RunBusyError:
            outcomes.append("busy")

    threads = [threading.Thread(target=trigger) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["busy"] * 5 + ["started"]
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(AdminRun)) == 1
        assert session.scalar(select(func.count()).select_from(AuditLog)) == 1


def test_a_heartbeat_keeps_a_long_run_from_being_taken_for_dead(
    session_factory: SessionFactory,
) -> None:
    started = datetime.now(UTC) - timedelta(minutes=10)
    run_id = runs.start(
        session_factory, RunRequest("sync", False), Actor("token:x", "api"), started
    )
    runs.beat(session_factory, run_id, datetime.now(UTC) - timedelta(seconds=10))

    with session_scope(session_factory) as session:
        assert runs.close_stale(session, datetime.now(UTC)) == 0
    with session_scope(session_factory) as session:
        row = runs.get(session, run_id, datetime.now(UTC) + runs.STALE_AFTER)
        assert row is not None and row.status == "abandoned" and row.slot is None
    runs.finish(session_factory, run_id, datetime.now(UTC), result={"late": True}, error=None)
    with session_factory() as session:
        assert session.get_one(AdminRun, run_id).status == "abandoned"  # stays as closed


def test_a_sync_the_portal_refuses_fails_with_a_sentence_and_no_secret(
    settings: Settings, session_factory: SessionFactory, sandbox: Any
) -> None:
    wrong = "pat-na1-00000000-0000-0000-0000-000000000000"
    configured = {
        "slaguard_admin_token": SecretStr(ADMIN_TOKEN),
        "hubspot_access_token": SecretStr(wrong),
        "hubspot_base_url": sandbox.hubspot_url,
    }
    for client in make_client(settings, **configured):
        answer = client.post("/admin/api/runs/sync", headers=AUTH)
        body = finished(client, answer.json()["id"])
        again = client.post("/admin/api/runs/sync", headers=AUTH)  # the slot was freed
        assert again.status_code == 202
        assert finished(client, again.json()["id"])["status"] == "failed"

    assert body["status"] == "failed" and body["finished_at"] is not None
    assert "HubSpot" in body["error"] and wrong not in body["error"]
