"""A signed click on an alert button, through the service's own SlackActions, leaves its row:
an acknowledgement, or a silence on the instance until the snooze ends."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.orm import Session

from alerts.messages import ACK_ACTION, SNOOZE_HOUR_ACTION
from alerts.outbox.actions import StoredSlackActions
from alerts.outbox.silences import acknowledged
from app.config import Settings
from app.main import create_app
from app.models import AlertAcknowledgement, AlertSilence
from app.store.db import SessionFactory

SECRET = "e1f0a3b2c4d5e6f708192a3b4c5d6e7f"


def signed(body: str) -> dict[str, str]:
    # Slack's documented v0 scheme: HMAC-SHA256 of "v0:{timestamp}:{body}" with the secret.
    timestamp = str(int(time.time()))
    digest = hmac.new(SECRET.encode(), f"v0:{timestamp}:{body}".encode(), hashlib.sha256)
    return {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": "v0=" + digest.hexdigest(),
    }


def click(action_id: str, instance_id: int, user: str = "U0GRACE") -> str:
    payload = {
        "type": "block_actions",
        "user": {"id": user},
        "container": {"type": "message", "channel_id": "C0SALES", "message_ts": "1.000001"},
        "actions": [{"action_id": action_id, "value": str(instance_id), "type": "button"}],
    }
    return urlencode({"payload": json.dumps(payload)})


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    configured = settings.model_copy(update={"slack_signing_secret": SecretStr(SECRET)})
    app = create_app(configured, start_scheduler=False, slack_actions_factory=StoredSlackActions)
    with TestClient(app) as client:
        yield client


def test_acknowledge_records_who_acknowledged_the_instance(
    client: TestClient, session_factory: SessionFactory
) -> None:
    body = click(ACK_ACTION, 100)
    assert client.post("/slack/actions", content=body, headers=signed(body)).status_code == 200

    with session_factory() as session:
        row = session.scalars(select(AlertAcknowledgement)).one()
        assert (row.instance_id, row.acknowledged_by, row.via) == (100, "slack:U0GRACE", "slack")
        assert acknowledged(session, 100)
        assert not acknowledged(session, 101)


def test_snooze_silences_the_instance_for_an_hour(
    client: TestClient, session_factory: SessionFactory
) -> None:
    before = datetime.now(UTC)
    body = click(SNOOZE_HOUR_ACTION, 100)
    assert client.post("/slack/actions", content=body, headers=signed(body)).status_code == 200

    with session_factory() as session:
        row = session.scalars(select(AlertSilence)).one()
    assert (row.instance_id, row.created_by, row.ended_at) == (100, "slack:U0GRACE", None)
    assert row.rule_id is row.owner_id is row.object_id is None
    assert row.ends_at - row.starts_at == timedelta(hours=1)
    assert before <= row.starts_at <= datetime.now(UTC)


def test_a_forged_click_records_nothing(client: TestClient, session: Session) -> None:
    body = click(ACK_ACTION, 100)
    headers = signed(body) | {"X-Slack-Signature": "v0=" + "0" * 64}
    assert client.post("/slack/actions", content=body, headers=headers).status_code == 401

    assert session.scalars(select(AlertAcknowledgement)).all() == []
