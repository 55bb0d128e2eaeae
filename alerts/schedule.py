"""When things go out: escalation steps and reminders in business time, the working hours a
DM waits for, and grouping of due intents into one message per target.

Business time is the record's calendar (`app.sla.calendar`), counted the way rule goals are:
hours are working hours, days are "the same hour D business days later".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from alerts.model import (
    AlertEvent,
    DeliveryIntent,
    EventType,
    IntentStatus,
    Receiver,
    Route,
    TargetKind,
)
from app.sla.calendar import Calendar
from app.sla.clocks import goal_span
from app.sla.durations import Goal


def business_after(calendar: Calendar, start: datetime, span: Goal) -> datetime:
    """The instant `span` of business time after `start` in `clock`'s calendar."""
    return calendar.add(start, goal_span(calendar, start, span, business=True))


@dataclass(frozen=True, slots=True)
class FollowUp:
    """An escalation step or reminder to make into an event when `due_at` comes, if the
    instance is still breached then. `step` counts escalation steps from 1."""

    route: str
    type: EventType
    step: int | None
    due_at: datetime
    receivers: tuple[Receiver, ...]


def escalation_plan(event: AlertEvent, route: Route, calendar: Calendar) -> tuple[FollowUp, ...]:
    """The route's ladder for a breach, each step counted from the breach itself (so a late
    evaluation does not push the ladder back)."""
    if event.type is not EventType.BREACHED:
        return ()
    return tuple(
        FollowUp(
            route=route.name,
            type=EventType.ESCALATED,
            step=number,
            due_at=business_after(calendar, event.occurred_at, step.after),
            receivers=step.receivers,
        )
        for number, step in enumerate(route.escalation, start=1)
    )


def next_reminder(route: Route, previous: datetime, calendar: Calendar) -> FollowUp | None:
    """The reminder after the one at `previous` (the breach time for the first)."""
    if route.repeat is None:
        return None
    return FollowUp(
        route=route.name,
        type=EventType.REMINDER,
        step=None,
        due_at=business_after(calendar, previous, route.repeat),
        receivers=route.receivers,
    )


# A breach nobody met for this many reminders has been heard; counting further only costs.
MAX_REMINDERS = 1000


def due_follow_ups(
    breach: AlertEvent, route: Route, calendar: Calendar, now: datetime
) -> list[tuple[int, FollowUp]]:
    """(number, follow-up) for each escalation step due by `now`, and for the latest reminder
    due by `now` (one nudge, however many a stopped job missed). Numbers count from 1, for
    steps and reminders alike."""
    due = [
        (step.step, step)
        for step in escalation_plan(breach, route, calendar)
        if step.step is not None and step.due_at <= now
    ]
    reminder = _latest_reminder(breach, route, calendar, now)
    return due if reminder is None else [*due, reminder]


def _latest_reminder(
    breach: AlertEvent, route: Route, calendar: Calendar, now: datetime
) -> tuple[int, FollowUp] | None:
    if breach.type is not EventType.BREACHED:
        return None
    latest: tuple[int, FollowUp] | None = None
    previous = breach.occurred_at
    for number in range(1, MAX_REMINDERS + 1):
        reminder = next_reminder(route, previous, calendar)
        if reminder is None or reminder.due_at > now or reminder.due_at <= previous:
            break
        latest, previous = (number, reminder), reminder.due_at
    return latest


def waits_for_working_hours(route: Route, target_kind: TargetKind) -> bool:
    if target_kind is TargetKind.SLACK_USER:
        return True
    return target_kind is TargetKind.SLACK_CHANNEL and route.channels_wait_for_working_hours


class WorkingHours(Protocol):
    def next_counting(self, at: datetime) -> datetime: ...


def earliest_send(
    route: Route, target_kind: TargetKind, now: datetime, hours: WorkingHours
) -> datetime:
    """`now`, or the start of the next working hours for a message that must not wake anyone."""
    if waits_for_working_hours(route, target_kind):
        return hours.next_counting(now)
    return now


@dataclass(frozen=True, slots=True)
class Batch:
    """Intents for one target that go out as one message."""

    target_kind: TargetKind
    target: str
    due_at: datetime
    intents: tuple[DeliveryIntent, ...]


def due_batches(intents: Iterable[DeliveryIntent], now: datetime) -> list[Batch]:
    """Pending intents that may go out by `now`, one batch per target.

    A target's batch is due `group_wait` after its earliest ready intent, and then carries
    every intent for that target that is ready by `now`, so a burst becomes one message per
    target instead of one per event. Batches come out in due order.
    """
    ready: dict[tuple[TargetKind, str], list[DeliveryIntent]] = {}
    for intent in intents:
        if intent.status is IntentStatus.PENDING and intent.not_before <= now:
            ready.setdefault(intent.group_key, []).append(intent)
    batches = []
    for (kind, target), group in ready.items():
        first = min(group, key=lambda intent: intent.not_before)
        due_at = first.not_before + first.group_wait
        if due_at <= now:
            ordered = tuple(sorted(group, key=lambda i: (i.not_before, i.event_id)))
            batches.append(Batch(kind, target, due_at, ordered))
    return sorted(batches, key=lambda batch: (batch.due_at, batch.target_kind, batch.target))
