"""POST /slack/actions with requests signed as Slack signs them (v0 scheme, computed here), the
click recorded through SlackActions, and the message in the Slack emulator showing who acted."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from alerts.messages import (
    ACK_ACTION,
    OPEN_ACTION,
    SNOOZE_HOUR_ACTION,
    SNOOZE_MORNING_ACTION,
    AlertFacts,
    render_alert,
)
from alerts.model import EventType
from app.api.slack_actions import tomorrow_morning
from app.config import Settings
from app.main import create_app
from app.store.db import SessionFactory
from sandbox.slack import MessageVersion, SlackEmulatorState, create_slack_app
from tests.fixtures.live_server import serving

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"


@dataclass
class RecordedActions:
    """SlackActions kept in lists, standing in for the store's implementation."""

    acks: list[tuple[int, str, datetime]] = field(default_factory=list)
    snoozes: list[tuple[int, str, datetime, datetime]] = field(default_factory=list)

    def acknowledge(self, instance_id: int, slack_user: str, at: datetime) -> None:
        self.acks.append((instance_id, slack_user, at))

    def snooze(self, instance_id: int, slack_user: str, until: datetime, at: datetime) -> None:
        self.snoozes.append((instance_id, slack_user, until, at))


@dataclass
class Harness:
    client: TestClient
    actions: RecordedActions
    slack: SlackEmulatorState
    channel: str
    message: dict[str, Any]


def slack_signature(body: str, timestamp: int) -> str:
    # Slack's documented v0 scheme: HMAC-SHA256 of "v0:{timestamp}:{body}" with the secret.
    digest = hmac.new(SECRET.encode(), f"v0:{timestamp}:{body}".encode(), hashlib.sha256)
    return "v0=" + digest.hexdigest()


def click_body(harness: Harness, action_id: str, value: str = "100", user: str = "U0GRACE") -> str:
    payload = {
        "type": "block_actions",
        "user": {"id": user, "username": "grace", "team_id": "T0TEAM"},
        "api_app_id": "A0APP",
        "container": {
            "type": "message",
            "message_ts": harness.message["ts"],
            "channel_id": harness.channel,
            "is_ephemeral": False,
        },
        "channel": {"id": harness.channel, "name": "sales"},
        "message": harness.message,
        "response_url": "https://hooks.slack.com/actions/T0TEAM/1/abc",
        "trigger_id": "1.2.3",
        "actions": [
            {
                "action_id": action_id,
                "block_id": f"alert-{value}",
                "value": value,
                "type": "button",
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }
    return urlencode({"payload": json.dumps(payload)})


def post(harness: Harness, body: str, *, age: float = 0.0, signature: str | None = None) -> Any:
    timestamp = int(time.time() - age)
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": str(timestamp),
        "X-Slack-Signature": signature or slack_signature(body, timestamp),
    }
    return harness.client.post("/slack/actions", content=body, headers=headers)


def alert_message() -> tuple[str, list[dict[str, Any]]]:
    facts = AlertFacts(
        event_type=EventType.BREACHED,
        instance_id=100,
        rule_name="First touch",
        promise="respond within 4h",
        record_label="Jane Doe (contact 501)",
        record_url="https://app.hubspot.com/contacts/7/record/0-1/501",
        owner_name="Grace Hopper",
        due_at=datetime(2026, 3, 2, 14, tzinfo=UTC),
    )
    rendered = render_alert(facts)
    return rendered.text, rendered.blocks


@pytest.fixture
def harness(settings: Settings) -> Iterator[Harness]:
    slack = SlackEmulatorState(seed=3, rate_limits=False)
    token = next(iter(slack.tokens))
    actions = RecordedActions()

    def factory(_: SessionFactory) -> RecordedActions:
        return actions

    with serving(create_slack_app(slack)) as url:
        configured = settings.model_copy(
            update={
                "slack_signing_secret": SecretStr(SECRET),
                "slack_bot_token": SecretStr(token),
                "slack_api_url": f"{url}/api/",
            }
        )
        app = create_app(configured, start_scheduler=False, slack_actions_factory=factory)
        sales = slack.channel("sales")
        assert sales is not None
        text, blocks = alert_message()
        posted = slack.append_message(sales, slack.bot_user, _version(text, blocks), thread_ts=None)
        message = {"type": "message", "ts": posted.ts, "text": text, "blocks": blocks}
        with TestClient(app) as client:
            yield Harness(client, actions, slack, sales.id, message)


def _version(text: str, blocks: list[dict[str, Any]]) -> MessageVersion:
    return MessageVersion(text=text, blocks=blocks, attachments=[], edited_ts=None)


def test_acknowledge_is_recorded_and_the_message_shows_who_acknowledged(harness: Harness) -> None:
    before = datetime.now(UTC)

    response = post(harness, click_body(harness, ACK_ACTION))

    assert response.status_code == 200
    [(instance, user, at)] = harness.actions.acks
    assert (instance, user) == (100, "U0GRACE")
    assert before <= at <= datetime.now(UTC)
    [message] = harness.slack.messages("sales")
    shown = message.blocks
    assert all(block["type"] != "actions" for block in shown)  # no buttons left to click
    assert "Acknowledged by <@U0GRACE>" in shown[-1]["elements"][0]["text"]
    assert message.text == harness.message["text"]


def test_snooze_for_an_hour_records_a_silence_ending_an_hour_later(harness: Harness) -> None:
    response = post(harness, click_body(harness, SNOOZE_HOUR_ACTION))

    assert response.status_code == 200
    [(instance, user, until, at)] = harness.actions.snoozes
    assert (instance, user, until - at) == (100, "U0GRACE", timedelta(hours=1))
    [message] = harness.slack.messages("sales")
    assert "Snoozed by <@U0GRACE>" in message.blocks[-1]["elements"][0]["text"]


def test_snooze_until_tomorrow_ends_at_nine_the_next_morning(harness: Harness) -> None:
    response = post(harness, click_body(harness, SNOOZE_MORNING_ACTION))

    assert response.status_code == 200
    [(_, _, until, at)] = harness.actions.snoozes
    assert until == datetime.combine(at.date() + timedelta(days=1), datetime.min.time(), UTC) + (
        timedelta(hours=9)
    )


def test_tomorrow_morning_is_counted_in_the_given_zone() -> None:
    new_york = ZoneInfo("America/New_York")
    late_evening = datetime(2026, 3, 7, 23, 30, tzinfo=new_york)  # 04:30 UTC on the 8th

    # The clocks go forward on 8 March in New York: 09:00 EDT is 13:00 UTC.
    assert tomorrow_morning(late_evening, new_york) == datetime(2026, 3, 8, 13, tzinfo=UTC)


@pytest.mark.parametrize(
    ("age", "signature"),
    [
        (0.0, "v0=" + "0" * 64),  # forged
        (6 * 60.0, None),  # correctly signed six minutes ago: a replay
        (-6 * 60.0, None),  # from six minutes in the future
    ],
    ids=["wrong", "six-minutes-old", "six-minutes-ahead"],
)
def test_a_wrong_or_stale_signature_is_refused_and_nothing_is_recorded(
    harness: Harness, age: float, signature: str | None
) -> None:
    response = post(harness, click_body(harness, ACK_ACTION), age=age, signature=signature)

    assert response.status_code == 401
    assert harness.actions.acks == []


def test_an_unsigned_request_is_refused(harness: Harness) -> None:
    body = click_body(harness, ACK_ACTION)
    headers = {"Content-Type": "application/x-www-form-urlencoded"}

    response = harness.client.post("/slack/actions", content=body, headers=headers)
    no_timestamp = harness.client.post(
        "/slack/actions",
        content=body,
        headers={**headers, "X-Slack-Signature": slack_signature(body, int(time.time()))},
    )
    not_a_number = harness.client.post(
        "/slack/actions",
        content=body,
        headers={**headers, "X-Slack-Request-Timestamp": "soon", "X-Slack-Signature": "v0=1"},
    )

    assert [response.status_code, no_timestamp.status_code, not_a_number.status_code] == [401] * 3
    assert harness.actions.acks == []


def test_a_signature_for_other_bytes_is_refused(harness: Harness) -> None:
    timestamp = int(time.time())
    signed_for = click_body(harness, ACK_ACTION, value="100")
    sent = click_body(harness, ACK_ACTION, value="101")

    response = post(harness, sent, signature=slack_signature(signed_for, timestamp))

    assert response.status_code == 401


def test_the_open_in_hubspot_link_is_answered_and_changes_nothing(harness: Harness) -> None:
    response = post(harness, click_body(harness, OPEN_ACTION))

    assert response.status_code == 200
    assert (harness.actions.acks, harness.actions.snoozes) == ([], [])
    [message] = harness.slack.messages("sales")
    assert len(message.versions) == 1


def test_a_signed_body_that_is_not_slacks_form_is_a_bad_request(harness: Harness) -> None:
    no_payload = post(harness, "hello=world")
    not_json = post(harness, urlencode({"payload": "{not json"}))
    bad_value = post(harness, click_body(harness, ACK_ACTION, value="drop table"))

    assert [no_payload.status_code, not_json.status_code, bad_value.status_code] == [400] * 3
    assert harness.actions.acks == []


def test_without_a_signing_secret_the_buttons_are_off_and_say_why(settings: Settings) -> None:
    with TestClient(create_app(settings, start_scheduler=False)) as client:
        response = client.post("/slack/actions", content="payload=%7B%7D")

    assert response.status_code == 503
    assert "SLACK_SIGNING_SECRET" in response.json()["detail"]
