"""Seeded fault injection: the same seed and calls meet the same 500s, 503s and slow answers."""

from __future__ import annotations

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import ServerErrorRetryHandler
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator

from sandbox.slack import SlackEmulatorState


def outcomes(serve, seed: int, calls: int = 24) -> tuple[list[object], list[str | None]]:
    state = SlackEmulatorState(seed=seed, fault_rate=0.5, slow_seconds=0.01, rate_limits=False)
    client = WebClient(token=next(iter(state.tokens)), base_url=f"{serve(state)}/api/")
    seen: list[object] = []
    for index in range(calls):
        try:
            seen.append(client.chat_postMessage(channel="sales", text=f"n{index}")["ok"])
        except SlackApiError as error:
            seen.append((error.response.status_code, error.response["error"]))
    return seen, [call.fault for call in state.calls]


def test_faults_repeat_for_a_seed_and_differ_across_seeds(serve) -> None:
    first, first_faults = outcomes(serve, seed=7)
    again, again_faults = outcomes(serve, seed=7)
    other, _ = outcomes(serve, seed=8)

    assert first == again and first_faults == again_faults
    assert other != first
    assert (500, "internal_error") in first
    assert (503, "service_unavailable") in first
    assert True in first
    assert "slow" in first_faults


def test_a_failed_call_posts_nothing_and_the_sdk_handler_retries_it(serve) -> None:
    state = SlackEmulatorState(seed=3, fault_rate=0.3, slow_seconds=0.01, rate_limits=False)
    client = WebClient(token=next(iter(state.tokens)), base_url=f"{serve(state)}/api/")
    pause = FixedValueRetryIntervalCalculator(0.01)
    client.retry_handlers.append(
        ServerErrorRetryHandler(max_retry_count=10, interval_calculator=pause)
    )

    for index in range(10):
        client.chat_postMessage(channel="sales", text=f"n{index}")

    assert [m.text for m in state.messages("sales")] == [f"n{i}" for i in range(10)]
    assert any(call.status in (500, 503) for call in state.calls)


def test_a_fault_rate_outside_0_to_1_is_refused() -> None:
    with pytest.raises(ValueError, match="fault_rate"):
        SlackEmulatorState(fault_rate=1.5)
