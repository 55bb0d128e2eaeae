"""The service's `alerts-deliver` job delivers what the evaluation queued."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import select
from standardwebhooks import Webhook

from alerts.outbox.periodic import alert_jobs
from app.config import Settings
from app.models import AlertDelivery, AlertSlackMessage
from app.scheduler import JobContext
from app.store.db import SessionFactory, session_scope
from sandbox.slack import SlackEmulatorState, create_slack_app
from tests.alerts.outbox.helpers import evaluate, put_rules_in_force, seed_leads
from tests.alerts.outbox.test_worker import SECRET, breaches, states
from tests.fixtures.live_server import serving
from tests.integrations.webhooks.receiver import Receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver().start()
    yield server
    server.stop()


def test_the_delivery_job_sends_what_is_due_signed_with_the_secret_from_the_environment(
    settings: Settings,
    session_factory: SessionFactory,
    tmp_path: Path,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SLAGUARD_TEST_WEBHOOK_SECRET", SECRET.text())
    monkeypatch.setenv("SLAGUARD_WEBHOOKS_ALLOW_PRIVATE", "true")
    breaches(session_factory, tmp_path, receiver.url, 2)
    job, _ = alert_jobs(settings)
    assert job.id == "alerts-deliver" and job.seconds <= 5

    job.func(JobContext(settings, session_factory, logging.getLogger("test")))

    assert states(session_factory) == {"delivered": 2}
    for request in receiver.requests:
        Webhook(SECRET.text()).verify(request.body, request.headers)
    assert len({r.headers["webhook-id"] for r in receiver.requests}) == 2


CHANNEL_ROUTE = """alerts:
  routes:
    - name: sales
      match: {events: [breached]}
      receivers: ["#sales"]
"""


def test_with_a_slack_token_the_job_posts_through_the_slack_deliverer(
    settings: Settings, session_factory: SessionFactory, tmp_path: Path
) -> None:
    state = SlackEmulatorState(seed=1)
    with serving(create_slack_app(state)) as url:
        token = SecretStr(next(iter(state.tokens)))
        slack_settings = settings.model_copy(
            update={"slack_bot_token": token, "slack_api_url": f"{url}/api/"}
        )
        with session_scope(session_factory) as session:
            seed_leads(session, 1)
            put_rules_in_force(session, tmp_path, CHANNEL_ROUTE)
        with session_scope(session_factory) as session:
            evaluate(session)
        with session_scope(session_factory) as session:
            for row in session.scalars(select(AlertDelivery)):
                row.next_attempt_at = row.created_at = datetime.now(UTC)
        job, _ = alert_jobs(slack_settings)
        job.func(JobContext(slack_settings, session_factory, logging.getLogger("test")))

        (message,) = state.messages("sales")
    assert message.text.startswith("SLA breached: contact 1")
    assert states(session_factory) == {"delivered": 1}
    with session_factory() as session:
        (ref,) = session.scalars(select(AlertSlackMessage)).all()
    assert (ref.target, ref.ts) == ("sales", message.ts)
