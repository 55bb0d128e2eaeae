"""Owners become Slack users through `users.lookupByEmail` (the sandbox's Slack, over HTTP),
cached; an owner Slack does not know goes to the route's fallback, and health says so.
Health and /metrics show the outbox: depth, dead letters, disabled endpoints, latency."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from prometheus_client import generate_latest
from pydantic import SecretStr
from sqlalchemy import select

from alerts.outbox.runtime import slack_lookup
from alerts.outbox.worker import Worker
from app.admin.health import check_health
from app.admin.metrics import StoreCollector
from app.config import Settings
from app.models import AlertDelivery, AlertDeliveryAttempt, Owner, SlackUserCache
from app.store.db import SessionFactory, session_scope
from integrations.webhooks.sender import WebhookSender
from sandbox.slack import SlackEmulatorState, create_slack_app
from sandbox.slack.workspace import SlackPerson
from tests.alerts.outbox.helpers import evaluate, put_rules_in_force, seed_leads
from tests.alerts.outbox.test_worker import Clock, breaches, worker
from tests.fixtures.live_server import serving
from tests.integrations.webhooks.receiver import Answer, Receiver

DM_ROUTE = """alerts:
  routes:
    - name: reps
      match: {events: [breached]}
      receivers: [owner]
      fallback: ["#sales-managers"]
"""


@pytest.fixture
def slack() -> Iterator[tuple[SlackEmulatorState, str]]:
    state = SlackEmulatorState(seed=1, users=[SlackPerson("Rep", "One", "rep@example.com")])
    with serving(create_slack_app(state)) as url:
        yield state, url


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver().start()
    yield server
    server.stop()


def slack_settings(settings: Settings, state: SlackEmulatorState, url: str) -> Settings:
    token = next(iter(state.tokens))
    return settings.model_copy(
        update={"slack_bot_token": SecretStr(token), "slack_api_url": f"{url}/api/"}
    )


def due_now(factory: SessionFactory) -> None:
    with session_scope(factory) as session:
        for row in session.scalars(select(AlertDelivery)):
            row.next_attempt_at = row.created_at = datetime.now(UTC)


def dm_breach(factory: SessionFactory, tmp_path: Path, owner_email: str) -> None:
    with session_scope(factory) as session:
        seed_leads(session)
        put_rules_in_force(session, tmp_path, DM_ROUTE)
    with session_scope(factory) as session:
        owner = session.get(Owner, (4242, "7"))
        assert owner is not None
        owner.email = owner_email
    with session_scope(factory) as session:
        evaluate(session)
    due_now(factory)


def test_an_owner_found_in_slack_is_their_dm_target_and_the_answer_is_cached(
    settings: Settings,
    session_factory: SessionFactory,
    tmp_path: Path,
    slack: tuple[SlackEmulatorState, str],
) -> None:
    state, url = slack
    dm_breach(session_factory, tmp_path, "Rep@Example.com")
    lookup = slack_lookup(slack_settings(settings, state, url))
    Worker(session_factory, {}, lookup=lookup).deliver_due()

    rep = state.user_by_email("rep@example.com")
    assert rep is not None
    with session_factory() as session:
        (row,) = session.scalars(select(AlertDelivery)).all()
        cached = session.get(SlackUserCache, "rep@example.com")
    assert (row.target_kind, row.target, row.reason) == ("slack_user", rep.id, None)
    assert cached is not None and cached.slack_user_id == rep.id


def test_an_owner_unknown_to_slack_goes_to_the_fallback_and_health_shows_why(
    settings: Settings,
    session_factory: SessionFactory,
    tmp_path: Path,
    slack: tuple[SlackEmulatorState, str],
) -> None:
    state, url = slack
    dm_breach(session_factory, tmp_path, "nobody@example.com")
    lookup = slack_lookup(slack_settings(settings, state, url))
    Worker(session_factory, {}, lookup=lookup).deliver_due()

    with session_factory() as session:
        (row,) = session.scalars(select(AlertDelivery)).all()
        cached = session.get(SlackUserCache, "nobody@example.com")
    assert (row.target_kind, row.target) == ("slack_channel", "sales-managers")
    assert row.reason == ("fallback for owner: owner 7 has no Slack user (no_slack_user)")
    assert cached is not None and cached.slack_user_id is None  # users_not_found, cached
    health = check_health(settings, session_factory, None, datetime.now(UTC))
    assert health["alerts"]["sent_to_fallback"] == 1
    assert health["alerts"]["latest_fallback_reason"] == row.reason


def test_health_is_degraded_by_a_disabled_endpoint_and_metrics_show_the_outbox(
    settings: Settings,
    session_factory: SessionFactory,
    tmp_path: Path,
    receiver: Receiver,
) -> None:
    breaches(session_factory, tmp_path, receiver.url, 3)
    receiver.answer(Answer(200), Answer(410))
    with WebhookSender(allow_private=True, timeout=5) as sender:
        worker(session_factory, sender, Clock(), "w1").deliver_due()

    health = check_health(settings, session_factory, None, datetime.now(UTC))
    assert health["status"] == "degraded"
    assert any("webhook:crm endpoint is disabled" in r for r in health["reasons"])
    assert any("2 alert deliveries" in r and "dead letters" in r for r in health["reasons"])
    assert health["alerts"]["deliveries"] == {"webhook/delivered": 1, "webhook/dead": 2}
    text = generate_latest(
        StoreCollector(settings, session_factory, None, datetime.now(UTC))
    ).decode()
    assert "slaguard_alert_outbox_depth 0.0" in text
    assert "slaguard_alert_dead_letters 2.0" in text
    assert 'slaguard_alert_endpoint_disabled{endpoint="webhook:crm"} 1.0' in text
    assert "slaguard_alert_delivery_latency_seconds_count 1.0" in text
    assert 'slaguard_alert_deliveries{kind="webhook",state="dead"} 2.0' in text
    with session_factory() as session:
        attempts = session.scalars(select(AlertDeliveryAttempt.outcome)).all()
    assert sorted(attempts) == ["dead", "dead", "delivered"]
