"""The write-back receivers in the rules file and in routing: `hubspot_task` and
`hubspot_properties` parse, route to their own target kinds (never to Slack), and fit the
store's target_kind column."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from alerts.config import AlertsConfig
from alerts.config_schema import parse_receiver
from alerts.model import EventType, Receiver, ReceiverKind, TargetKind
from alerts.outbox.enqueue import plan_receiver
from alerts.outbox.probe import probe_route
from alerts.routing import route_event
from tests.alerts.factories import directory, event, ny, route

TASK = Receiver(ReceiverKind.HUBSPOT_TASK)
PROPERTIES = Receiver(ReceiverKind.HUBSPOT_PROPERTIES)


def test_the_receivers_parse_from_their_names() -> None:
    assert parse_receiver("hubspot_task") == TASK
    assert parse_receiver(" hubspot_properties ") == PROPERTIES


@pytest.mark.parametrize("text", ["hubspot", "hubspot:task", "hubspot_tasks"])
def test_near_misses_are_refused_naming_the_forms(text: str) -> None:
    with pytest.raises(ValueError, match="hubspot_task or hubspot_properties"):
        parse_receiver(text)


def test_routing_sends_a_breach_to_hubspot_not_to_a_slack_user() -> None:
    result = route_event(
        event(type=EventType.BREACHED),
        [route(receivers=(TASK, PROPERTIES))],
        directory(owner_slack_users={}),
        now=ny(2026, 12, 2, 10),
    )
    kinds = sorted((i.target_kind, i.target) for i in result.intents)
    assert kinds == [
        (TargetKind.HUBSPOT_PROPERTIES, "hubspot"),
        (TargetKind.HUBSPOT_TASK, "hubspot"),
    ]
    assert result.unreachable == ()  # a record without a Slack user still gets its task


def test_the_outbox_rows_name_their_kind_within_the_column_width() -> None:
    for receiver in (TASK, PROPERTIES):
        (planned,) = plan_receiver(receiver, None, ())  # type: ignore[arg-type]
        assert planned.target == "hubspot"
        assert planned.receiver == str(receiver.kind)
        assert planned.target_kind is not None and len(planned.target_kind) <= 16


def test_a_route_test_skips_write_back_instead_of_calling_it_a_missing_webhook() -> None:
    tested = route(receivers=(TASK, PROPERTIES))
    config = AlertsConfig(routes=(tested,), webhooks={}, managers={})
    results = probe_route(tested, config, {}, datetime(2026, 12, 7, tzinfo=UTC))
    assert [(r.receiver, r.outcome) for r in results] == [
        ("hubspot_task", "skipped"),
        ("hubspot_properties", "skipped"),
    ]
