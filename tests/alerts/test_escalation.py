"""Escalation ladders and reminders in business time, and grouping of due messages."""

from __future__ import annotations

from datetime import timedelta

from alerts.model import EscalationStep, EventType, TargetKind
from alerts.routing import route_event
from alerts.schedule import due_batches, due_follow_ups, escalation_plan, next_reminder
from app.sla.durations import parse_goal
from tests.alerts.factories import (
    CALENDAR,
    MANAGER,
    OWNER,
    channel,
    directory,
    event,
    ny,
    route,
)

LADDER = route(
    "breaches",
    receivers=(OWNER,),
    escalation=(
        EscalationStep(parse_goal("2h"), (MANAGER,)),
        EscalationStep(parse_goal("1d"), (channel("sales-managers"),)),
    ),
    repeat=parse_goal("4h"),
)


def test_escalation_steps_skip_a_holiday_and_a_weekend() -> None:
    # Thursday 24 December 2026, 16:00 in New York; Friday the 25th is Christmas Day.
    breach = event(occurred_at=ny(2026, 12, 24, 16))

    manager_step, channel_step = escalation_plan(breach, LADDER, CALENDAR)

    # One working hour on Thursday, none until Monday, one more on Monday morning.
    assert manager_step.due_at == ny(2026, 12, 28, 10)
    assert manager_step.receivers == (MANAGER,)
    assert manager_step.type is EventType.ESCALATED
    assert manager_step.step == 1
    # One business day later at the same hour: Monday 16:00.
    assert channel_step.due_at == ny(2026, 12, 28, 16)
    assert channel_step.step == 2


def test_an_escalation_that_fires_reaches_the_steps_receivers_at_its_time() -> None:
    breach = event(occurred_at=ny(2026, 12, 24, 16))
    manager_step, _ = escalation_plan(breach, LADDER, CALENDAR)
    escalated = event(
        id=2, type=EventType.ESCALATED, route="breaches", step=1, occurred_at=manager_step.due_at
    )

    result = route_event(escalated, [LADDER], directory(), now=manager_step.due_at)

    (intent,) = result.intents
    assert (intent.target_kind, intent.target) == (TargetKind.SLACK_USER, "U900")
    assert intent.not_before == ny(2026, 12, 28, 10)
    assert intent.route == "breaches"


def test_only_a_breach_starts_a_ladder() -> None:
    assert escalation_plan(event(type=EventType.WARNING), LADDER, CALENDAR) == ()


def test_reminders_repeat_in_business_time_across_the_weekend() -> None:
    breached_at = ny(2026, 12, 4, 15)  # Friday 15:00

    first = next_reminder(LADDER, breached_at, CALENDAR)
    assert first is not None
    second = next_reminder(LADDER, first.due_at, CALENDAR)
    assert second is not None

    assert first.due_at == ny(2026, 12, 7, 11)  # 2 h on Friday, 2 h on Monday
    assert second.due_at == ny(2026, 12, 7, 15)
    assert first.type is EventType.REMINDER
    assert first.receivers == (OWNER,)


def test_a_route_without_repeat_sends_no_reminders() -> None:
    assert next_reminder(route(), ny(2026, 12, 4, 15), CALENDAR) is None


def test_a_burst_for_one_channel_becomes_one_message_after_group_wait() -> None:
    monday_9 = ny(2026, 12, 7, 9)
    channel_route = route(receivers=(channel("sales"), OWNER))
    intents = [
        intent
        for number in range(500)
        for intent in route_event(
            event(id=number + 1, object_id=str(number)),
            [channel_route],
            directory(),
            now=monday_9 + timedelta(milliseconds=number * 10),
        ).intents
    ]

    assert due_batches(intents, monday_9 + timedelta(seconds=29)) == []
    batches = due_batches(intents, monday_9 + timedelta(seconds=35))

    assert [(b.target_kind, b.target) for b in batches] == [
        (TargetKind.SLACK_CHANNEL, "C100"),
        (TargetKind.SLACK_USER, "U011"),
    ]
    assert all(len(batch.intents) == 500 for batch in batches)
    assert batches[0].due_at == monday_9 + timedelta(seconds=30)


def test_due_follow_ups_are_the_steps_that_came_and_only_the_latest_reminder() -> None:
    # Thursday 24 December 2026, 16:00; a job that was stopped until Tuesday 29th, 13:00.
    breach = event(occurred_at=ny(2026, 12, 24, 16))

    due = due_follow_ups(breach, LADDER, CALENDAR, ny(2026, 12, 29, 13))

    assert [(number, f.type, f.due_at) for number, f in due] == [
        (1, EventType.ESCALATED, ny(2026, 12, 28, 10)),
        (2, EventType.ESCALATED, ny(2026, 12, 28, 16)),
        # 4 h reminders: Monday 12:00 and 16:00 passed unsent; Tuesday 12:00 is the one sent.
        (3, EventType.REMINDER, ny(2026, 12, 29, 12)),
    ]


def test_nothing_is_due_before_the_first_step_and_nothing_follows_other_events() -> None:
    breach = event(occurred_at=ny(2026, 12, 24, 16))
    assert due_follow_ups(breach, LADDER, CALENDAR, ny(2026, 12, 28, 9, 59)) == []
    met = event(type=EventType.MET_LATE, occurred_at=ny(2026, 12, 24, 16))
    assert due_follow_ups(met, LADDER, CALENDAR, ny(2027, 1, 4, 12)) == []
