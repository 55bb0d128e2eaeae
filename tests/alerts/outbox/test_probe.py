"""`alerts test ROUTE` on Slack: the test message reaches each channel of the route (and the
fallback that stands in for owners) through the real Slack deliverer, against the emulator."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from alerts.config import AlertsConfig
from alerts.model import Matcher, Receiver, ReceiverKind, Route, TargetKind
from alerts.outbox.probe import find_route, probe_route
from alerts.outbox.slack_refs import StoredSlackMessageRefs
from alerts.slack_delivery import SlackDeliverer
from app.store.db import SessionFactory
from integrations.slack import SlackClient
from sandbox.slack import SlackEmulatorState, create_slack_app
from tests.fixtures.live_server import serving

ROUTE = Route(
    name="reps",
    match=Matcher(),
    receivers=(Receiver(ReceiverKind.OWNER), Receiver(ReceiverKind.CHANNEL, "sales")),
    fallback=(Receiver(ReceiverKind.CHANNEL, "no-such-channel"),),
)
CONFIG = AlertsConfig(routes=(ROUTE,), webhooks={}, managers={})


@pytest.fixture
def slack() -> Iterator[tuple[SlackEmulatorState, SlackClient]]:
    state = SlackEmulatorState(seed=2, rate_limits=False)
    with serving(create_slack_app(state)) as url:
        yield state, SlackClient(next(iter(state.tokens)), base_url=f"{url}/api/")


def test_each_channel_gets_a_test_message_and_a_missing_one_is_reported(
    session_factory: SessionFactory, slack: tuple[SlackEmulatorState, SlackClient]
) -> None:
    state, client = slack
    deliverer = SlackDeliverer(client, StoredSlackMessageRefs(session_factory))

    results = probe_route(
        find_route(CONFIG, "reps"),
        CONFIG,
        {TargetKind.SLACK_CHANNEL: deliverer},
        datetime(2026, 3, 2, 9, tzinfo=UTC),
    )

    assert [(r.receiver, r.outcome) for r in results] == [
        ("owner", "skipped"),
        ("channel:sales", "delivered"),
        ("channel:no-such-channel", "dead"),
    ]
    (message,) = state.messages("sales")
    assert message.text.startswith(":test_tube: slaguard test of route reps")


def test_an_unknown_route_is_named_with_the_known_ones() -> None:
    with pytest.raises(LookupError, match=r"no route 'nope' .*\(routes: reps\)"):
        find_route(CONFIG, "nope")
