"""A Slack emulator served over real HTTP on loopback, and slack_sdk clients pointed at it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from slack_sdk import WebClient

from sandbox.slack import SlackEmulatorState, create_slack_app
from tests.fixtures.live_server import serving


class FrozenClock:
    """A monotonic clock that moves only when a test says so (rate-limit buckets never refill)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def frozen_clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
def serve() -> Iterator[Callable[[SlackEmulatorState], str]]:
    """Starts a server for a state and returns its base URL; stops every server at the end."""
    stack: list[Any] = []

    def start(state: SlackEmulatorState) -> str:
        context = serving(create_slack_app(state))
        stack.append(context)
        return context.__enter__()

    yield start
    for context in reversed(stack):
        context.__exit__(None, None, None)


@pytest.fixture
def slack_state(frozen_clock: FrozenClock) -> SlackEmulatorState:
    return SlackEmulatorState(seed=1, clock=frozen_clock)


@pytest.fixture
def slack_url(serve: Callable[[SlackEmulatorState], str], slack_state: SlackEmulatorState) -> str:
    return serve(slack_state)


@pytest.fixture
def bot_token(slack_state: SlackEmulatorState) -> str:
    return next(iter(slack_state.tokens))


@pytest.fixture
def client(slack_url: str, bot_token: str) -> WebClient:
    return WebClient(token=bot_token, base_url=f"{slack_url}/api/")
