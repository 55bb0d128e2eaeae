"""GET /admin/health: refused without the token, and a faithful picture of the store when
asked with it — on SQLite and PostgreSQL, from rows written through the models."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy.orm import Session

from app.admin.health import check_health
from app.config import Settings
from app.main import create_app
from app.scheduler import JobContext, JobSpec, Scheduler
from app.store import migrate
from app.store.db import SessionFactory, create_db_engine, create_session_factory
from tests.app.api import admin_rows as rows
from tests.fixtures.api import ADMIN_TOKEN, make_client
from tests.fixtures.sla import add_sla_instance
from tests.fixtures.waiting import wait_for

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture
def client(settings: Settings, session: Session) -> Iterator[TestClient]:
    # `session` first, so the tables are emptied after the test.
    yield from make_client(settings, slaguard_admin_token=SecretStr(ADMIN_TOKEN))


def health(client: TestClient) -> dict[str, Any]:
    response = client.get("/admin/health", headers=AUTH)
    assert response.status_code == 200, response.text
    assert ADMIN_TOKEN not in response.text
    body: dict[str, Any] = response.json()
    return body


def now() -> datetime:
    return datetime.now(UTC)


# -- who may ask ---------------------------------------------------------------------------


def test_without_a_configured_token_everyone_is_refused(settings: Settings) -> None:
    for client in make_client(settings):
        for headers in ({}, AUTH):
            response = client.get("/admin/health", headers=headers)
            assert response.status_code == 403
            assert "SLAGUARD_ADMIN_TOKEN" in response.json()["detail"]


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Bearer",
        f"Bearer {ADMIN_TOKEN}x",
        f"Bearer {ADMIN_TOKEN[:-1]}",
        f"Basic {ADMIN_TOKEN}",
        "Bearer wrong-token-of-some-length",
        "Bearer é-not-ascii".encode(),  # raw UTF-8 bytes on the wire
    ],
)
def test_a_missing_or_wrong_token_gets_401_with_a_bearer_challenge(
    client: TestClient, authorization: str | bytes | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    response = client.get("/admin/health", headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert "sync" not in response.json()
    assert ADMIN_TOKEN not in response.text


def test_the_scheme_is_case_insensitive(client: TestClient) -> None:
    response = client.get("/admin/health", headers={"Authorization": f"bearer {ADMIN_TOKEN}"})
    assert response.status_code == 200


# -- what it says --------------------------------------------------------------------------


def test_a_quiet_store_is_ok_and_names_its_schema(client: TestClient, settings: Settings) -> None:
    body = health(client)
    assert body["status"] == "ok"
    assert body["reasons"] == []
    database = body["database"]
    assert database["backend"] == ("sqlite" if settings.is_sqlite else "postgresql")
    assert database["reachable"] is True
    assert database["schema_revision"] == migrate.head_revision()
    assert database["up_to_date"] is True
    assert body["scheduler"]["running"] is False
    assert body["webhooks"]["pending"] == 0
    assert body["sla"]["overdue"] == 0


def test_an_abandoned_sync_is_counted_and_degrades_until_a_run_finishes(
    client: TestClient, session: Session
) -> None:
    t = now()
    rows.sync_run(session, mode="full", status="succeeded", started_at=t - timedelta(hours=2))
    rows.sync_run(
        session,
        mode="incremental",
        status="abandoned",
        started_at=t - timedelta(minutes=4),
        error="the process running it ended without finishing it (killed or crashed)",
    )
    session.commit()
    body = health(client)
    assert body["sync"]["abandoned_runs"] == 1
    assert body["status"] == "degraded"
    assert any("was abandoned" in reason for reason in body["reasons"])

    rows.sync_run(session, mode="incremental", status="succeeded", started_at=t)
    session.commit()
    body = health(client)
    assert body["sync"]["abandoned_runs"] == 1  # history, not a standing problem
    assert not any("abandoned" in reason for reason in body["reasons"])


def test_a_failed_sync_makes_it_degraded_with_the_reason(
    client: TestClient, session: Session
) -> None:
    t = now()
    rows.sync_run(session, mode="full", status="succeeded", started_at=t - timedelta(hours=2))
    rows.sync_run(
        session,
        mode="incremental",
        status="failed",
        started_at=t - timedelta(minutes=3),
        seconds=12.5,
        requests=41,
        rate_limited=2,
        retries=3,
        counts={"contacts": {"upserted": 120}},
        error="HubSpot rejected the access token (401); check HUBSPOT_ACCESS_TOKEN.",
    )
    rows.checkpoint(
        session,
        "contacts",
        synced_through=t - timedelta(minutes=10),
        updated_at=t - timedelta(minutes=3),
    )
    session.commit()

    body = health(client)

    assert body["status"] == "degraded"
    assert any("HubSpot rejected the access token" in r for r in body["reasons"])
    incremental = body["sync"]["last_runs"]["incremental"]
    assert incremental["status"] == "failed"
    assert incremental["requests"] == 41
    assert incremental["rate_limited"] == 2
    assert incremental["retries"] == 3
    assert incremental["duration_seconds"] == pytest.approx(12.5)
    assert incremental["counts"] == {"contacts": {"upserted": 120}}
    assert body["sync"]["last_runs"]["full"]["status"] == "succeeded"
    (contacts,) = body["sync"]["checkpoints"]
    assert contacts["object_type"] == "contacts"
    assert contacts["synced_through_age_seconds"] >= 600
    assert contacts["in_progress"] is None


def test_a_scheduled_sync_that_stopped_succeeding_is_degraded(
    settings: Settings, session: Session
) -> None:
    t = now()
    rows.sync_run(
        session, mode="incremental", status="succeeded", started_at=t - timedelta(hours=1)
    )
    session.commit()
    for client in make_client(
        settings,
        slaguard_admin_token=SecretStr(ADMIN_TOKEN),
        hubspot_access_token=SecretStr("pat-na1-not-a-real-token"),
        slaguard_sync_interval_minutes=5,
    ):
        body = health(client)
        assert "pat-na1-not-a-real-token" not in str(body)
    assert body["status"] == "degraded"
    assert body["sync"]["scheduled"] is True
    assert body["sync"]["last_success_age_seconds"] > 15 * 60  # 3 intervals of 5 minutes
    assert any("last successful sync finished" in r for r in body["reasons"])


def test_a_recent_successful_sync_is_ok(settings: Settings, session: Session) -> None:
    rows.sync_run(session, mode="incremental", status="succeeded", started_at=now())
    session.commit()
    for client in make_client(
        settings,
        slaguard_admin_token=SecretStr(ADMIN_TOKEN),
        hubspot_access_token=SecretStr("pat-na1-not-a-real-token"),
    ):
        assert health(client)["status"] == "ok"


def test_pending_webhook_events_show_their_count_and_age(
    client: TestClient, session: Session
) -> None:
    t = now()
    rows.webhook_event(session, 1, received_at=t - timedelta(minutes=10))
    rows.webhook_event(session, 2, received_at=t - timedelta(seconds=5), attempts=2, error="boom")
    rows.webhook_event(session, 3, received_at=t - timedelta(hours=1), processed_at=t)
    rows.webhook_event(session, 4, received_at=t - timedelta(hours=2), attempts=5, error="bad")
    rows.dead_letter(session, received_at=t - timedelta(days=3))
    session.commit()

    body = health(client)

    webhooks = body["webhooks"]
    assert webhooks["pending"] == 2
    assert webhooks["oldest_pending_age_seconds"] >= 600
    assert webhooks["retrying"] == 1
    assert webhooks["failed"] == 1
    assert webhooks["dead_letters"] == 1
    assert body["status"] == "degraded"
    reasons = " | ".join(body["reasons"])
    assert "2 webhook event(s) pending" in reasons
    assert "1 webhook event(s) failed every attempt" in reasons
    assert "did not parse" not in reasons  # that dead letter is three days old


def test_a_fresh_backlog_and_a_recent_dead_letter(client: TestClient, session: Session) -> None:
    t = now()
    rows.webhook_event(session, 1, received_at=t - timedelta(seconds=3))
    rows.dead_letter(session, received_at=t - timedelta(minutes=1))
    session.commit()
    body = health(client)
    assert body["webhooks"]["pending"] == 1
    assert body["reasons"] == ["a webhook event that did not parse arrived in the last 24 hours"]


def test_an_overdue_sla_clock_shows_as_detection_lag(client: TestClient, session: Session) -> None:
    t = now()
    start = t - timedelta(hours=1)
    add_sla_instance(session, "1", rule_id="mql-first-touch", state="running",
                     started_at=start, next_due_at=t - timedelta(minutes=2))  # fmt: skip
    add_sla_instance(session, "2", rule_id="mql-first-touch", state="warning",
                     started_at=start, next_due_at=t + timedelta(minutes=5))  # fmt: skip
    add_sla_instance(session, "3", rule_id="mql-first-touch", state="met",
                     started_at=start, next_due_at=None)  # fmt: skip
    session.commit()

    body = health(client)

    sla = body["sla"]
    assert sla["running_clocks"] == 2
    assert sla["instances_by_state"] == {"running": 1, "warning": 1, "met": 1}
    assert sla["overdue"] == 1
    assert sla["detection_lag_seconds"] >= 120
    assert body["status"] == "degraded"
    assert any("1 SLA instance(s) past their due time" in r for r in body["reasons"])


def test_a_clock_due_a_moment_ago_is_not_yet_a_problem(
    client: TestClient, session: Session
) -> None:
    add_sla_instance(session, "1", rule_id="r", state="running", started_at=now(),
                     next_due_at=now() - timedelta(seconds=2))  # fmt: skip
    session.commit()
    body = health(client)
    assert body["sla"]["overdue"] == 1
    assert body["status"] == "ok"


# -- the scheduler, for real ---------------------------------------------------------------


def test_the_scheduler_section_is_the_running_schedulers_status(
    settings: Settings, session_factory: SessionFactory
) -> None:
    ticks: list[datetime] = []

    def tick(context: JobContext) -> None:
        ticks.append(datetime.now(UTC))

    def leaky(context: JobContext) -> None:
        raise RuntimeError(f"upstream said no to {ADMIN_TOKEN}")

    configured = settings.model_copy(update={"slaguard_admin_token": SecretStr(ADMIN_TOKEN)})
    jobs = [JobSpec("tick", tick, 3600), JobSpec("leaky", leaky, 0.05)]
    scheduler = Scheduler(configured, session_factory, jobs, leader_check_seconds=0.05)
    scheduler.start()
    try:
        wait_for(lambda: scheduler.status().job("leaky").consecutive_failures >= 3, "3 failures")
        wait_for(lambda: scheduler.status().job("tick").runs >= 1, "the first tick")
        for client in make_client(configured):
            client.app.state.scheduler = scheduler  # type: ignore[attr-defined]
            body = health(client)
    finally:
        scheduler.shutdown()

    section = body["scheduler"]
    assert section["running"] is True
    assert section["leader"] is True
    jobs_by_id = {job["id"]: job for job in section["jobs"]}
    assert jobs_by_id["tick"]["runs"] == 1
    assert jobs_by_id["tick"]["last_error"] is None
    assert jobs_by_id["tick"]["next_run_at"] > jobs_by_id["tick"]["last_started_at"]
    assert jobs_by_id["leaky"]["last_error"] == "RuntimeError: upstream said no to ***"
    assert body["status"] == "degraded"
    assert any(r.startswith("job leaky failed its last") for r in body["reasons"])


# -- when the store cannot be used ---------------------------------------------------------


@pytest.mark.parametrize("fresh_database_url", ["sqlite", "postgresql"], indirect=True)
def test_a_schema_behind_the_code_is_failing_with_503(fresh_database_url: str) -> None:
    migrate.upgrade(fresh_database_url)
    settings = Settings(  # type: ignore[call-arg]
        database_url=fresh_database_url,
        slaguard_admin_token=SecretStr(ADMIN_TOKEN),
        _env_file=None,
    )
    with TestClient(create_app(settings, start_scheduler=False)) as client:
        migrate.downgrade(fresh_database_url, "-1")  # someone ran `slaguard db downgrade`
        response = client.get("/admin/health", headers=AUTH)
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "failing"
    assert body["database"]["up_to_date"] is False
    assert "run `slaguard db upgrade`" in body["reasons"][0]


def test_an_unreachable_database_is_failing_without_its_password() -> None:
    url = "postgresql+psycopg://slaguard:Hunter2-db-pass@127.0.0.1:9/slaguard"
    settings = Settings(database_url=url, _env_file=None)  # type: ignore[call-arg]
    engine = create_db_engine(url, connect_args={"connect_timeout": 2})
    try:
        body = check_health(settings, create_session_factory(engine), None, now())
    finally:
        engine.dispose()
    assert body["status"] == "failing"
    assert body["database"]["reachable"] is False
    assert body["database"]["url"] == "postgresql+psycopg://slaguard:***@127.0.0.1:9/slaguard"
    assert "the database is unreachable" in body["reasons"][0]
    assert "Hunter2-db-pass" not in str(body)
    assert "sync" not in body
