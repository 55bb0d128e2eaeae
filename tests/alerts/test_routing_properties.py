"""Properties of routing that must hold for any routes, events and silences."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from alerts.model import (
    AlertEvent,
    EscalationStep,
    EventType,
    IntentStatus,
    Matcher,
    Receiver,
    ReceiverKind,
    Route,
    Silence,
    TargetKind,
)
from alerts.routing import route_event
from alerts.schedule import due_batches, escalation_plan
from app.sla.durations import Goal
from tests.alerts.factories import CALENDAR, directory

START = datetime(2026, 11, 1, tzinfo=UTC)
instants = st.integers(min_value=0, max_value=60 * 24 * 90).map(
    lambda minutes: START + timedelta(minutes=minutes)
)
receivers = st.one_of(
    st.just(Receiver(ReceiverKind.OWNER)),
    st.just(Receiver(ReceiverKind.MANAGER)),
    st.sampled_from(["sales", "sales-managers", "marketing", "C999"]).map(
        lambda name: Receiver(ReceiverKind.CHANNEL, name)
    ),
    st.sampled_from(["crm", "bi"]).map(lambda name: Receiver(ReceiverKind.WEBHOOK, name)),
)
matchers = st.builds(
    Matcher,
    rule_ids=st.frozensets(st.sampled_from(["first-touch", "follow-up"]), max_size=1),
    event_types=st.frozensets(st.sampled_from(list(EventType)), max_size=2),
    owner_teams=st.frozensets(st.sampled_from(["team-east", "team-west"]), max_size=1),
    object_types=st.frozensets(st.sampled_from(["contact", "deal"]), max_size=1),
)
routes = st.lists(
    st.builds(
        Route,
        name=st.text("abcdef", min_size=1, max_size=4),
        match=matchers,
        receivers=st.tuples(receivers, receivers),
        fallback=st.lists(receivers, max_size=2).map(tuple),
        continue_matching=st.booleans(),
        channels_wait_for_working_hours=st.booleans(),
    ),
    max_size=5,
)
events = st.builds(
    AlertEvent,
    id=st.integers(1, 10_000),
    portal_id=st.just(7),
    instance_id=st.integers(1, 50),
    rule_id=st.sampled_from(["first-touch", "follow-up"]),
    rule_kind=st.sampled_from(["response", "quota"]),
    type=st.sampled_from(list(EventType)),
    object_type=st.sampled_from(["contact", "deal"]),
    object_id=st.sampled_from(["1", "2"]),
    owner_id=st.sampled_from([None, "11", "12", "13", "14"]),
    occurred_at=instants,
)


@given(events, routes, instants)
def test_every_target_gets_at_most_one_intent_per_event(
    event: AlertEvent, route_list: list[Route], now: datetime
) -> None:
    result = route_event(event, route_list, directory(), now=now)

    keys = [intent.dedupe_key for intent in result.intents]
    assert len(keys) == len(set(keys))
    assert all(intent.event_id == event.id for intent in result.intents)


@given(events, routes, instants)
def test_routing_the_same_event_again_gives_the_same_intents(
    event: AlertEvent, route_list: list[Route], now: datetime
) -> None:
    first = route_event(event, route_list, directory(), now=now)
    again = route_event(event, route_list, directory(), now=now)

    assert first == again


@given(events, routes, instants)
def test_nothing_goes_out_before_now_and_dms_wait_for_working_time(
    event: AlertEvent, route_list: list[Route], now: datetime
) -> None:
    result = route_event(event, route_list, directory(), now=now)

    for intent in result.intents:
        assert intent.not_before >= now
        if intent.target_kind is TargetKind.SLACK_USER:
            assert CALENDAR.is_counting(intent.not_before)


@given(events, routes, instants)
def test_a_silence_marks_intents_suppressed_and_drops_none(
    event: AlertEvent, route_list: list[Route], now: datetime
) -> None:
    everything = Silence(
        id="all",
        reason="test",
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(hours=1),
        instance_ids=frozenset({event.instance_id}),
    )
    loud = route_event(event, route_list, directory(), now=now)
    quiet = route_event(event, route_list, directory(), [everything], now=now)

    assert [i.dedupe_key for i in quiet.intents] == [i.dedupe_key for i in loud.intents]
    assert all(i.status is IntentStatus.SUPPRESSED for i in quiet.intents)


@settings(max_examples=50)
@given(st.lists(st.tuples(events, instants), max_size=30), routes, instants)
def test_every_due_intent_is_in_exactly_one_batch_for_its_own_target(
    arrivals: list[tuple[AlertEvent, datetime]], route_list: list[Route], now: datetime
) -> None:
    intents = [
        intent
        for event, at in arrivals
        for intent in route_event(event, route_list, directory(), now=at).intents
    ]
    batches = due_batches(intents, now)

    batched = [intent for batch in batches for intent in batch.intents]
    assert len(batched) == len({id(intent) for intent in batched})
    for batch in batches:
        assert batch.due_at <= now
        assert all(i.group_key == (batch.target_kind, batch.target) for i in batch.intents)
        assert all(i.status is IntentStatus.PENDING for i in batch.intents)
    assert len(batches) == len({(b.target_kind, b.target) for b in batches})


@given(instants, st.lists(st.integers(1, 40), min_size=1, max_size=4))
def test_escalation_steps_come_in_ladder_order_after_exactly_their_working_hours(
    breached_at: datetime, hours: list[int]
) -> None:
    ladder = Route(
        name="ladder",
        match=Matcher(),
        receivers=(),
        escalation=tuple(EscalationStep(Goal(days=0, seconds=h * 3600), ()) for h in sorted(hours)),
    )
    breach = AlertEvent(
        1, 7, 1, "first-touch", "response", EventType.BREACHED, "contact", "1", "11", breached_at
    )
    steps = escalation_plan(breach, ladder, CALENDAR)

    due = [step.due_at for step in steps]
    assert due == sorted(due)
    for step, h in zip(steps, sorted(hours), strict=True):
        assert CALENDAR.elapsed(breached_at, step.due_at) == timedelta(hours=h)
