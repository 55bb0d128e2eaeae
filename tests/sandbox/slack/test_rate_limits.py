"""Slack's rate limits as slack_sdk meets them: 429, Retry-After, and its retry handler."""

from __future__ import annotations

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from sandbox.slack import SlackEmulatorState, SlackRateLimits


def test_posting_past_the_channel_burst_is_answered_429_with_retry_after(
    client: WebClient, slack_state: SlackEmulatorState
) -> None:
    burst = slack_state.limiter.limits.channel_burst
    for index in range(burst):
        client.chat_postMessage(channel="sales", text=f"alert {index}")

    with pytest.raises(SlackApiError) as caught:
        client.chat_postMessage(channel="sales", text="one too many")

    response = caught.value.response
    assert response.status_code == 429
    assert response["error"] == "ratelimited"
    assert int(response.headers["Retry-After"]) >= 1
    assert len(slack_state.messages("sales")) == burst
    # The limit is per channel: another channel still takes messages.
    client.chat_postMessage(channel="marketing", text="elsewhere")


def test_the_sdks_rate_limit_handler_waits_and_gets_the_message_through(
    serve, bot_token: str
) -> None:
    # One message per 2 s: the second post cannot slip through on a slow machine.
    limits = SlackRateLimits(channel_per_second=0.5, channel_burst=1)
    state = SlackEmulatorState({bot_token}, limits=limits)
    client = WebClient(token=bot_token, base_url=f"{serve(state)}/api/")
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=2))

    client.chat_postMessage(channel="sales", text="first")
    second = client.chat_postMessage(channel="sales", text="second")

    assert second["ok"] is True
    assert [m.text for m in state.messages("sales")] == ["first", "second"]
    assert [call.status for call in state.calls] == [200, 429, 200]
    assert state.calls[1].error == "ratelimited"


def test_other_methods_are_limited_per_tier(serve, frozen_clock) -> None:
    limits = SlackRateLimits(method_per_minute={"users.info": 2})
    state = SlackEmulatorState(clock=frozen_clock, limits=limits)
    client = WebClient(token=next(iter(state.tokens)), base_url=f"{serve(state)}/api/")
    user_id = state.users()[1].id

    client.users_info(user=user_id)
    client.users_info(user=user_id)
    with pytest.raises(SlackApiError) as caught:
        client.users_info(user=user_id)

    assert caught.value.response.status_code == 429
    assert caught.value.response.headers["Retry-After"] == "30"


def test_limits_can_be_switched_off(serve, frozen_clock) -> None:
    state = SlackEmulatorState(clock=frozen_clock, rate_limits=False)
    client = WebClient(token=next(iter(state.tokens)), base_url=f"{serve(state)}/api/")

    for index in range(20):
        client.chat_postMessage(channel="sales", text=f"alert {index}")

    assert len(state.messages("sales")) == 20


def test_posting_across_channels_meets_the_workspace_limit(serve, frozen_clock) -> None:
    limits = SlackRateLimits(workspace_per_minute=3)
    state = SlackEmulatorState(clock=frozen_clock, limits=limits)
    client = WebClient(token=next(iter(state.tokens)), base_url=f"{serve(state)}/api/")

    for channel in ("sales", "marketing", "revops-alerts"):
        client.chat_postMessage(channel=channel, text="hello")
    with pytest.raises(SlackApiError) as caught:
        client.chat_postMessage(channel="sales-managers", text="one channel too many")

    assert caught.value.response.status_code == 429
    assert caught.value.response.headers["Retry-After"] == "20"
