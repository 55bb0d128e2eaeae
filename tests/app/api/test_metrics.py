"""GET /metrics: Prometheus text that parses, with the figures of the rows in the store."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as openmetrics_families,
)
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr
from sqlalchemy.orm import Session

from app import __version__
from app.config import Settings
from app.scheduler import JobContext, JobSpec, Scheduler
from app.store.db import SessionFactory
from tests.app.api import admin_rows as rows
from tests.fixtures.api import ADMIN_TOKEN, make_client
from tests.fixtures.sla import add_sla_instance

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest.fixture
def client(settings: Settings, session: Session) -> Iterator[TestClient]:
    yield from make_client(settings)


def scrape(client: TestClient, **headers: str) -> Samples:
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    samples: Samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, tuple(sorted(labels.items())))]


def test_an_empty_store_still_reports_every_gauge(client: TestClient) -> None:
    samples = scrape(client)
    build = [key for key in samples if key[0] == "slaguard_build_info"]
    assert len(build) == 1
    assert ("version", __version__) in build[0][1]
    assert value(samples, "slaguard_store_up") == 1
    assert value(samples, "slaguard_scheduler_leader") == 0
    assert value(samples, "slaguard_webhook_events_pending") == 0
    assert value(samples, "slaguard_webhook_oldest_pending_age_seconds") == 0
    assert value(samples, "slaguard_webhook_dead_letters") == 0
    assert value(samples, "slaguard_sla_overdue_clocks") == 0
    assert value(samples, "slaguard_sync_rate_limited_total") == 0


def test_the_figures_come_from_the_rows(client: TestClient, session: Session) -> None:
    t = datetime.now(UTC)
    for minutes, status, limited in ((30, "succeeded", 2), (20, "succeeded", 0), (10, "failed", 5)):
        rows.sync_run(session, mode="incremental", status=status, rate_limited=limited,
                      started_at=t - timedelta(minutes=minutes))  # fmt: skip
    rows.sync_run(session, mode="full", status="succeeded", started_at=t - timedelta(days=1))
    finished_contacts = t - timedelta(minutes=19)
    rows.checkpoint(session, "contacts", synced_through=t - timedelta(hours=1),
                    updated_at=finished_contacts)  # fmt: skip
    rows.webhook_event(session, 1, received_at=t - timedelta(seconds=90))
    rows.webhook_event(session, 2, received_at=t - timedelta(seconds=10))
    rows.webhook_event(session, 3, received_at=t - timedelta(hours=1), processed_at=t)
    rows.dead_letter(session, received_at=t)
    rows.dead_letter(session, received_at=t)
    start = t - timedelta(hours=1)
    add_sla_instance(session, "1", rule_id="mql", state="running", started_at=start,
                     next_due_at=t - timedelta(seconds=30))  # fmt: skip
    add_sla_instance(session, "2", rule_id="mql", state="running", started_at=start,
                     next_due_at=t + timedelta(hours=1))  # fmt: skip
    add_sla_instance(session, "3", rule_id="mql", state="breached", started_at=start,
                     next_due_at=None)  # fmt: skip
    add_sla_instance(session, "4", rule_id="deal-aging", state="warning", started_at=start,
                     next_due_at=t - timedelta(seconds=5), kind="stage_age")  # fmt: skip
    session.commit()

    samples = scrape(client)

    runs = "slaguard_sync_runs_total"
    assert value(samples, runs, mode="incremental", status="succeeded") == 2
    assert value(samples, runs, mode="incremental", status="failed") == 1
    assert value(samples, runs, mode="full", status="succeeded") == 1
    assert value(samples, "slaguard_sync_rate_limited_total") == 7
    assert value(
        samples, "slaguard_sync_last_success_timestamp_seconds", object_type="contacts"
    ) == pytest.approx(finished_contacts.timestamp(), abs=1e-3)
    assert value(samples, "slaguard_webhook_events_pending") == 2
    assert 90 <= value(samples, "slaguard_webhook_oldest_pending_age_seconds") < 3600
    assert value(samples, "slaguard_webhook_dead_letters") == 2
    instances = "slaguard_sla_instances"
    assert value(samples, instances, rule="mql", state="running") == 2
    assert value(samples, instances, rule="mql", state="breached") == 1
    assert value(samples, instances, rule="deal-aging", state="warning") == 1
    assert value(samples, "slaguard_sla_overdue_clocks") == 2
    assert value(samples, "slaguard_sla_detection_lag_seconds") >= 30


def test_an_object_type_mid_pass_reports_the_last_successful_run(
    client: TestClient, session: Session
) -> None:
    t = datetime.now(UTC)
    run = rows.sync_run(session, mode="incremental", status="succeeded",
                        started_at=t - timedelta(minutes=7))  # fmt: skip
    rows.checkpoint(session, "deals", synced_through=t - timedelta(hours=1), updated_at=t,
                    state={"mode": "incremental", "phase": "search"})  # fmt: skip
    session.commit()
    samples = scrape(client)
    assert run.finished_at is not None
    assert value(
        samples, "slaguard_sync_last_success_timestamp_seconds", object_type="deals"
    ) == pytest.approx(run.finished_at.timestamp(), abs=1e-3)


def test_two_replicas_on_one_store_report_the_same_counts(
    settings: Settings, session: Session
) -> None:
    rows.sync_run(session, mode="incremental", status="succeeded", started_at=datetime.now(UTC))
    session.commit()
    scraped = []
    for _ in range(2):
        for client in make_client(settings):
            scraped.append(scrape(client))
    key = ("slaguard_sync_runs_total", (("mode", "incremental"), ("status", "succeeded")))
    assert scraped[0][key] == scraped[1][key] == 1


def test_openmetrics_is_served_when_asked_for(client: TestClient) -> None:
    response = client.get("/metrics", headers={"Accept": "application/openmetrics-text"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/openmetrics-text")
    names = {family.name for family in openmetrics_families(response.text)}
    assert {"slaguard_sync_runs", "slaguard_webhook_events_pending"} <= names


# -- public or private -----------------------------------------------------------------------


def test_metrics_are_public_by_default(client: TestClient) -> None:
    assert client.get("/metrics").status_code == 200


def test_a_private_metrics_endpoint_wants_the_admin_token(
    settings: Settings, session: Session
) -> None:
    for client in make_client(
        settings, slaguard_metrics_public=False, slaguard_admin_token=SecretStr(ADMIN_TOKEN)
    ):
        refused = client.get("/metrics")
        assert refused.status_code == 401
        assert refused.headers["www-authenticate"].startswith("Bearer")
        assert client.get("/metrics", headers={"Authorization": "Bearer nope"}).status_code == 401
        samples = scrape(client, Authorization=f"Bearer {ADMIN_TOKEN}")
        assert value(samples, "slaguard_store_up") == 1
    for client in make_client(settings, slaguard_metrics_public=False):
        refused = client.get("/metrics", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
        assert refused.status_code == 403
        assert "SLAGUARD_ADMIN_TOKEN" in refused.json()["detail"]


def test_the_env_variable_makes_metrics_private(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLAGUARD_METRICS_PUBLIC", "false")
    assert Settings(_env_file=None).slaguard_metrics_public is False  # type: ignore[call-arg]


# -- the scheduler, for real -----------------------------------------------------------------


def test_scheduler_metrics_come_from_the_running_scheduler(
    settings: Settings, session_factory: SessionFactory
) -> None:
    failed = threading.Event()

    def flaky(context: JobContext) -> None:
        failed.set()
        raise RuntimeError("HubSpot is down")

    scheduler = Scheduler(
        settings, session_factory, [JobSpec("flaky", flaky, 3600)], leader_check_seconds=0.05
    )
    scheduler.start()
    try:
        assert failed.wait(30), "the job never ran"
        for _ in range(600):  # the failure is recorded just after the job returns
            if scheduler.status().job("flaky").failures:
                break
            threading.Event().wait(0.05)
        for client in make_client(settings):
            client.app.state.scheduler = scheduler  # type: ignore[attr-defined]
            samples = scrape(client)
    finally:
        scheduler.shutdown()
    assert value(samples, "slaguard_scheduler_leader") == 1
    assert value(samples, "slaguard_scheduler_job_failures_total", job="flaky") == 1
    assert ("slaguard_scheduler_job_last_success_timestamp_seconds", (("job", "flaky"),)) not in (
        samples
    )
