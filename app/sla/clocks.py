"""A clock cycle's arithmetic: deadlines through pauses, and the state and events at `now`.

States follow the SLA model: running -> warning -> breached while the clock runs; met (stopped
by the deadline), met_late (stopped after it) or cancelled once it ends; `paused` is a flag on
a running clock. Events are derived from the same facts, each type at most once per cycle, so
evaluating again at a later `now` only ever adds the events that became due.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from app.sla.calendar import BusinessCalendar, Calendar
from app.sla.durations import Goal
from app.sla.states import SlaEventType, SlaState

Span = tuple[datetime, datetime | None]

# Bound once: `judge` runs for every cycle of a full pass, and looking a member up on its enum
# costs several times reading a module global.
_RUNNING, _WARNING, _BREACHED = SlaState.RUNNING, SlaState.WARNING, SlaState.BREACHED
_MET, _MET_LATE, _CANCELLED = SlaState.MET, SlaState.MET_LATE, SlaState.CANCELLED
_WARNING_EVENT, _BREACHED_EVENT = SlaEventType.WARNING, SlaEventType.BREACHED
_MET_EVENT, _MET_LATE_EVENT = SlaEventType.MET, SlaEventType.MET_LATE
_CANCELLED_EVENT = SlaEventType.CANCELLED


@dataclass(slots=True)
class CycleOutcome:
    """What one cycle of a clock rule looks like at `now`. Treated as immutable (not declared
    frozen: a full pass builds half a million, and a frozen dataclass is built in four times
    the time)."""

    cycle: int
    started_at: datetime
    owner_id: str | None
    goal: str
    state: SlaState
    paused: bool
    warning_at: datetime | None
    due_at: datetime | None
    stopped_at: datetime | None
    breached_at: datetime | None
    next_due_at: datetime | None
    events: tuple[tuple[SlaEventType, datetime], ...]
    details: dict[str, Any] = field(default_factory=dict)


def goal_span(calendar: Calendar, start: datetime, goal: Goal, business: bool) -> timedelta:
    """The goal as counted time from `start`. Business days mean "the same hour D business
    days later", which is not a fixed number of working hours, so they are measured here."""
    if not business:
        return goal.as_calendar_time()
    span = goal.remainder
    if goal.days:
        span += calendar.elapsed(start, calendar.working_days_after(start, goal.days))
    return span


def deadline(
    calendar: Calendar, start: datetime, span: timedelta, pauses: Sequence[Span]
) -> datetime | None:
    """When `span` of counted time has passed since `start`, not counting paused spans.
    None while an open-ended pause holds the clock before it gets there."""
    remaining = span
    cursor = start
    for pause_start, pause_end in pauses:
        if pause_end is not None and pause_end <= cursor:
            continue
        if pause_start > cursor:
            candidate = calendar.add(cursor, remaining)
            if candidate <= pause_start:
                return candidate
            remaining -= calendar.elapsed(cursor, pause_start)
        if pause_end is None:
            return None
        cursor = pause_end
    return calendar.add(cursor, remaining)


@dataclass(slots=True)
class CycleFacts:
    """Everything known about one cycle, before judging it at `now` (treated as immutable,
    not declared frozen, like CycleOutcome)."""

    cycle: int
    started_at: datetime
    owner_id: str | None
    goal: Goal
    calendar: Calendar
    business: bool
    warning_share: float | None
    pauses: Sequence[Span] = ()
    stopped_at: datetime | None = None  # met (or met_late) here
    cancelled_at: datetime | None = None  # the record left the SLA here
    details: dict[str, Any] = field(default_factory=dict)
    # (due, warning) computed earlier under the same rule, start, owner and no pauses
    known_deadlines: tuple[datetime, datetime | None] | None = None


@lru_cache(maxsize=256)
def goal_text(goal: Goal) -> str:
    return str(goal)


def due_and_warning(
    facts: CycleFacts, pauses: Sequence[Span], *, with_warning: bool = True
) -> tuple[datetime | None, datetime | None]:
    """The deadline and the warning time. Without pauses, a goal in business days is
    "D business days later" directly, the common case and the cheapest to compute."""
    calendar, start, goal = facts.calendar, facts.started_at, facts.goal
    share = facts.warning_share if with_warning else None
    if not pauses and facts.business and type(calendar) is BusinessCalendar:
        return calendar.goal_deadline(start, goal.days, goal.remainder, share)
    if pauses:
        span = goal_span(calendar, start, goal, facts.business)
        due = deadline(calendar, start, span, pauses)
        warn = deadline(calendar, start, span * share, pauses) if share else None
        return due, warn
    span_known: timedelta | None
    if facts.business and goal.days:
        due = calendar.working_days_after(start, goal.days)
        if goal.seconds:
            due = calendar.add(due, goal.remainder)
        span_known = None
    else:
        span_known = goal.remainder if facts.business else goal.as_calendar_time()
        due = calendar.add(start, span_known)
    if not share:
        return due, None
    span = span_known if span_known is not None else calendar.elapsed(start, due)
    return due, calendar.add(start, span * share)


def _paused_at(pauses: Sequence[Span], at: datetime) -> bool:
    return any(start <= at and (end is None or at < end) for start, end in pauses)


def judge(facts: CycleFacts, now: datetime) -> CycleOutcome:
    """The cycle's state and events as of `now` (facts after `now` are ignored)."""
    start = facts.started_at
    pauses = [p for p in facts.pauses if p[1] is None or p[1] > start]
    stop = facts.stopped_at if facts.stopped_at and facts.stopped_at <= now else None
    cancel = facts.cancelled_at if facts.cancelled_at and facts.cancelled_at <= now else None
    if stop and cancel and cancel < stop:
        stop = None
    elif stop and cancel:
        cancel = None
    end = stop or cancel
    # A warning only matters while the clock runs; an ended cycle needs just its deadline
    # (met or met late), which halves the calendar work over a history of finished cycles.
    known = facts.known_deadlines
    due: datetime | None
    warn: datetime | None
    if (
        known is not None
        and not pauses
        and (known[1] is not None or end is not None or not facts.warning_share)
    ):
        due, warn = known[0], (known[1] if end is None else None)
    else:
        due, warn = due_and_warning(facts, pauses, with_warning=end is None)
    horizon = end or now
    events: list[tuple[SlaEventType, datetime]] = []
    if warn is not None and warn <= horizon and (end is None or warn < end):
        events.append((_WARNING_EVENT, warn))
    breached_at = None
    if due is not None and due <= horizon and (end is None or due < end):
        breached_at = due
        events.append((_BREACHED_EVENT, due))
    paused = False
    state: SlaState
    if stop is not None:
        state = _MET_LATE if breached_at else _MET
        events.append((_MET_LATE_EVENT if breached_at else _MET_EVENT, stop))
    elif cancel is not None:
        state = _CANCELLED
        events.append((_CANCELLED_EVENT, cancel))
    else:
        paused = _paused_at(pauses, now)
        state = (
            _BREACHED
            if breached_at
            else (_WARNING if warn is not None and warn <= now else _RUNNING)
        )
    next_due = None
    if end is None:
        if warn is not None and warn > now:
            next_due = warn
        elif due is not None and due > now:
            next_due = due
    return CycleOutcome(
        cycle=facts.cycle,
        started_at=start,
        owner_id=facts.owner_id,
        goal=goal_text(facts.goal),
        state=state,
        paused=paused,
        warning_at=warn,
        due_at=due,
        stopped_at=end,
        breached_at=breached_at,
        next_due_at=next_due,
        events=tuple(events),
        details=facts.details,
    )
