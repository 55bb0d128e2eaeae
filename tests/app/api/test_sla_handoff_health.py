"""Failed and pending SLA hand-offs as an operator sees them: /admin/health and /metrics."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy.orm import Session

from app.config import Settings
from app.evaluation import handoff
from app.evaluation.rules_store import activate_rules
from app.models import SlaRuleSet
from app.store.db import SessionFactory, session_scope
from tests.app.api.test_metrics import scrape, value
from tests.fixtures.api import ADMIN_TOKEN, make_client
from tests.fixtures.crm import PORTAL, add_contact, seed_portal
from tests.fixtures.rules import rules_file

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
FIRST_TOUCH = """  - id: first-touch
    kind: response
    start: {entered_stage: marketingqualifiedlead}
    stop: {engagement: {types: [call]}}
    goal: 4h
"""


@pytest.fixture
def client(settings: Settings, session: Session) -> Iterator[TestClient]:
    yield from make_client(settings, slaguard_admin_token=SecretStr(ADMIN_TOKEN))


def health(client: TestClient) -> dict[str, Any]:
    response = client.get("/admin/health", headers=AUTH)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def seed(factory: SessionFactory, tmp_path: Path, now: datetime) -> None:
    with session_scope(factory) as session:
        seed_portal(session)
        for contact_id in ("1", "2"):
            stages = [("lead", now - timedelta(hours=2)), ("marketingqualifiedlead", now)]
            add_contact(session, contact_id, stages)
        activate_rules(session, rules_file(tmp_path, FIRST_TOUCH), now)


def sla_reasons(body: dict[str, Any]) -> list[str]:
    return [r for r in body["reasons"] if "SLA" in r]


def test_a_failed_hand_off_degrades_health_until_it_is_applied_and_stays_counted(
    client: TestClient, session_factory: SessionFactory, tmp_path: Path
) -> None:
    now = datetime.now(UTC)
    seed(session_factory, tmp_path, now)
    with session_scope(session_factory) as session:  # rules that cannot be read back
        session.add(SlaRuleSet(fingerprint="e" * 64, source="bad.yaml", text="[", activated_at=now))
    with session_scope(session_factory) as session:
        waiting = handoff.enqueue(session, {(PORTAL, "contact"): ["1", "2"]}, now)
    assert handoff.hand_off(session_factory, waiting, now).failed == 2

    body = health(client)
    assert body["status"] == "degraded"
    (reason,) = sla_reasons(body)
    assert reason.startswith("2 record(s) whose SLA evaluation failed are queued for a retry")
    assert "RulesFileError: bad.yaml" in reason
    sla = body["sla"]
    assert (sla["handoff_failures"], sla["reevaluations_pending"]) == (2, 2)
    assert sla["reevaluations_retrying"] == 2
    assert sla["last_handoff_failure"].startswith("RulesFileError: bad.yaml")
    samples = scrape(client)
    assert value(samples, "slaguard_sla_handoff_failures_total") == 2
    assert value(samples, "slaguard_sla_reevaluations_pending") == 2
    assert value(samples, "slaguard_sla_reevaluations_retrying") == 2

    with session_scope(session_factory) as session:  # the rules are put right
        activate_rules(session, rules_file(tmp_path, FIRST_TOUCH, "good.yaml"), now)
    assert handoff.drain(session_factory, now + handoff.RETRY_MAX).evaluated == 2

    body = health(client)
    assert sla_reasons(body) == []
    assert (body["sla"]["handoff_failures"], body["sla"]["reevaluations_pending"]) == (2, 0)
    samples = scrape(client)
    assert value(samples, "slaguard_sla_handoff_failures_total") == 2  # a counter: kept
    assert value(samples, "slaguard_sla_reevaluations_pending") == 0
    assert value(samples, "slaguard_sla_reevaluation_oldest_age_seconds") == 0


def test_a_record_waiting_too_long_for_its_evaluation_degrades_health(
    client: TestClient, session_factory: SessionFactory, tmp_path: Path
) -> None:
    """Queued ten minutes ago and never evaluated (nothing drains the queue)."""
    now = datetime.now(UTC)
    seed(session_factory, tmp_path, now)
    with session_scope(session_factory) as session:
        handoff.enqueue(session, {(PORTAL, "contact"): ["1"]}, now - timedelta(minutes=10))

    body = health(client)
    (reason,) = sla_reasons(body)
    assert reason.startswith("1 record(s) wait for SLA re-evaluation, the oldest for 6")
    assert body["sla"]["oldest_reevaluation_age_seconds"] >= 600
    assert body["thresholds"]["sla_reevaluation_max_age_seconds"] == 300
    assert value(scrape(client), "slaguard_sla_reevaluation_oldest_age_seconds") >= 600


def test_a_fresh_queue_entry_is_not_a_problem(
    client: TestClient, session_factory: SessionFactory, tmp_path: Path
) -> None:
    now = datetime.now(UTC)
    seed(session_factory, tmp_path, now)
    with session_scope(session_factory) as session:
        handoff.enqueue(session, {(PORTAL, "contact"): ["1"]}, now)
    body = health(client)
    assert sla_reasons(body) == []
    assert body["sla"]["reevaluations_pending"] == 1
