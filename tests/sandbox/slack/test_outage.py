"""Outages a test switches on over HTTP: 429 with Retry-After, 500 for a while, a late answer."""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx
import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from sandbox.slack import SlackEmulatorState
from tests.sandbox.slack.conftest import FrozenClock


def set_outages(slack_url: str, *outages: dict[str, Any]) -> dict[str, Any]:
    answer = httpx.post(f"{slack_url}/slack/api/faults", json={"outages": list(outages)})
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def post_status(client: WebClient, text: str) -> tuple[int, str | None, str | None]:
    try:
        client.chat_postMessage(channel="sales", text=text)
    except SlackApiError as error:
        headers = {k.lower(): v for k, v in error.response.headers.items()}
        return error.response.status_code, error.response["error"], headers.get("retry-after")
    return 200, None, None


def test_a_429_episode_fails_its_count_of_calls_with_retry_after_and_posts_nothing(
    slack_url: str, client: WebClient, slack_state: SlackEmulatorState
) -> None:
    set_outages(
        slack_url, {"status": 429, "retry_after": 3, "calls": 2, "methods": ["chat.postMessage"]}
    )

    assert client.auth_test()["ok"]  # another method is not part of the episode
    seen = [post_status(client, f"n{n}") for n in range(3)]

    assert seen == [(429, "ratelimited", "3"), (429, "ratelimited", "3"), (200, None, None)]
    assert [m.text for m in slack_state.messages("sales")] == ["n2"]
    state = httpx.get(f"{slack_url}/slack/api/faults").json()
    assert state["outages"][0]["met"] == 2 and state["outages"][0]["over"] is True
    assert [c.fault for c in slack_state.calls if c.method == "chat.postMessage"] == [
        "outage_429",
        "outage_429",
        None,
    ]


def test_a_500_episode_lasts_its_seconds_then_calls_succeed_again(
    slack_url: str, client: WebClient, slack_state: SlackEmulatorState, frozen_clock: FrozenClock
) -> None:
    set_outages(slack_url, {"status": 500, "seconds": 4})

    during = [post_status(client, "during")[:2] for _ in range(3)]
    frozen_clock.now += 4
    after = post_status(client, "after")

    assert during == [(500, "internal_error")] * 3
    assert after == (200, None, None)
    assert [m.text for m in slack_state.messages("sales")] == ["after"]


def test_episodes_apply_in_order_and_an_empty_list_ends_them(
    slack_url: str, client: WebClient
) -> None:
    set_outages(slack_url, {"status": 429, "calls": 1}, {"status": 503, "calls": 1})
    first, second = post_status(client, "a")[0], post_status(client, "b")[0]
    set_outages(slack_url, {"status": 500})
    third = post_status(client, "c")[0]
    cleared = set_outages(slack_url)
    fourth = post_status(client, "d")[0]

    assert (first, second, third, fourth) == (429, 503, 500, 200)
    assert cleared == {"outages": []}


def test_a_late_answer_comes_after_the_message_is_posted(
    slack_url: str, client: WebClient, slack_state: SlackEmulatorState
) -> None:
    set_outages(
        slack_url, {"answer_after_seconds": 1.5, "calls": 1, "methods": ["chat.postMessage"]}
    )
    answered = threading.Event()

    def post() -> None:
        client.chat_postMessage(channel="sales", text="slow one")
        answered.set()

    started = time.monotonic()
    threading.Thread(target=post, daemon=True).start()
    slack_state.wait_for(lambda messages: any(m.text == "slow one" for m in messages), 5)

    assert not answered.is_set()  # posted, but the caller has not heard so yet
    assert answered.wait(5)
    assert time.monotonic() - started >= 1.5


@pytest.mark.parametrize(
    ("body", "complaint"),
    [
        ({"outages": [{"status": 404}]}, "outages[0].status must be one of 429, 500, 503"),
        ({"outages": [{"calls": 2}]}, "outages[0] needs a status"),
        ({"outages": [{"status": 429, "retry_after": 0}]}, "outages[0].retry_after"),
        ({"outages": [{"status": 500, "calls": 0}]}, "outages[0].calls"),
        ({"outages": [{"status": 500, "whenever": 1}]}, "unknown fields: whenever"),
        ({"outage": []}, 'expected a JSON object {"outages": [...]}'),
    ],
)
def test_a_faults_request_the_sandbox_cannot_act_on_is_refused_with_the_reason(
    slack_url: str, body: dict[str, Any], complaint: str
) -> None:
    answer = httpx.post(f"{slack_url}/slack/api/faults", json=body)

    assert answer.status_code == 400
    assert complaint in answer.json()["error"]
    assert httpx.get(f"{slack_url}/slack/api/faults").json() == {"outages": []}
