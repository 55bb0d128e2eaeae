"""Response and cadence clocks: a cycle per entry into the start condition, stopped by the
first qualifying touch (response) or the K-th touch within D days (cadence)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from datetime import datetime

from app.sla.calendar import Calendar
from app.sla.clocks import CycleFacts, Span
from app.sla.conditions import entries, predicate, spans
from app.sla.records import LEAD_STATUS, OWNER, Directory, Interval, Record, Touch
from app.sla.schema import (
    DIRECTIONS,
    CadenceRule,
    Condition,
    ResponseRule,
    Start,
    Stop,
    Touches,
    WhileTrue,
)

CalendarFor = Callable[[str | None], Calendar]


def start_entries(start: Start, record: Record, directory: Directory) -> list[Interval]:
    """When each cycle starts."""
    if start.created:
        return [Interval(None, record.created_at, None)] if record.created_at else []
    if start.owner_assigned:
        return entries(record.intervals(OWNER), lambda v: v is not None, every_change=True)
    if start.entered_stage:
        stages = frozenset(start.entered_stage)
        return entries(record.intervals(record.stage_property), lambda v: v in stages)
    if start.lead_status_set:
        statuses = frozenset(start.lead_status_set)
        return entries(record.intervals(LEAD_STATUS), lambda v: v in statuses)
    assert start.condition is not None
    condition = start.condition
    return entries(record.intervals(condition.property), predicate(condition, directory))


# Conditions derived from a rule's spec, built once per spec object (keeps it alive too).
_DERIVED: dict[int, tuple[Stop | WhileTrue, list[Condition]]] = {}


def _conditions_of(spec: Stop | WhileTrue) -> list[Condition]:
    cached = _DERIVED.get(id(spec))
    if cached is not None and cached[0] is spec:
        return cached[1]
    conditions = list(spec.conditions or ())
    if spec.lead_status_in:
        conditions.append(Condition(property=LEAD_STATUS, in_=list(spec.lead_status_in)))
    _DERIVED[id(spec)] = (spec, conditions)
    return conditions


def first_entry_after(
    record: Record, conditions: Sequence[Condition], directory: Directory, after: datetime
) -> datetime | None:
    """The first time at or after `after` that a record enters one of the conditions."""
    best: datetime | None = None
    for condition in conditions:
        test = predicate(condition, directory)
        for interval in entries(record.intervals(condition.property), test):
            if interval.entered >= after:
                if best is None or interval.entered < best:
                    best = interval.entered
                break
    return best


def stage_advanced_after(record: Record, directory: Directory, after: datetime) -> datetime | None:
    """When the record first moved to a later stage than the one it had at `after`."""
    stage_property = record.stage_property
    base = directory.stage_order(record.object_type, record.value_at(stage_property, after))
    for interval in record.intervals(stage_property):
        if interval.entered <= after:
            continue
        order = directory.stage_order(record.object_type, interval.value)
        if order is None or base is None or order > base:
            return interval.entered
    return None


def qualifying_touches(
    record: Record, touches: Touches, owner_id: str | None, after: datetime
) -> list[Touch]:
    types = frozenset(touches.types)
    directions = frozenset(touches.directions) if touches.directions else None
    found = []
    for touch in record.touches:
        if touch.occurred_at < after or touch.type not in types:
            continue
        if (
            directions is not None
            and touch.type in DIRECTIONS
            and touch.direction not in directions
        ):
            continue  # a direction filters only the types that have one (calls, emails)
        # The owner at the time of the touch counts too (a lead reassigned mid-cycle).
        if (
            touches.by == "owner"
            and owner_id is not None
            and touch.owner_id != owner_id
            and (
                touch.owner_id is None
                or record.value_at(OWNER, touch.occurred_at) != touch.owner_id
            )
        ):
            continue
        found.append(touch)
    return found


def pause_spans(record: Record, pause: WhileTrue | None, directory: Directory) -> list[Span]:
    if pause is None:
        return []
    result: list[Span] = []
    for condition in _conditions_of(pause):
        result.extend(spans(record.intervals(condition.property), predicate(condition, directory)))
    result.sort(key=lambda span: span[0])
    return result


def _earliest(*times: datetime | None) -> datetime | None:
    present = [t for t in times if t is not None]
    return min(present) if present else None


def clock_facts(
    rule: ResponseRule | CadenceRule,
    record: Record,
    directory: Directory,
    calendar_for: CalendarFor,
    skip: Collection[int] = (),
) -> list[CycleFacts]:
    """Every cycle of a response or cadence rule on one record (but those numbered in `skip`)."""
    starts = start_entries(rule.start, record, directory)
    if skip and all(n + 1 in skip for n in range(len(starts))):
        return []
    pauses = pause_spans(record, rule.pause, directory)
    cancel_conditions = _conditions_of(rule.cancel) if rule.cancel else []
    stop = rule.stop
    stop_conditions = _conditions_of(stop) if stop else []
    goal = rule.goal_value
    cycles = []
    for index, entry in enumerate(starts):
        if index + 1 in skip:
            continue
        started = entry.entered
        following = starts[index + 1].entered if index + 1 < len(starts) else None
        owner = record.value_at(OWNER, started) or record.owner_id
        calendar = calendar_for(owner)
        details: dict[str, object] = {}
        stopped = _earliest(
            first_entry_after(record, stop_conditions, directory, started),
            stage_advanced_after(record, directory, started)
            if stop and stop.stage_advanced
            else None,
        )
        if stop is not None and stop.engagement is not None:
            touches = qualifying_touches(record, stop.engagement, owner, started)
            if touches:
                stopped = _earliest(stopped, touches[0].occurred_at)
                details["first_touch"] = touches[0].type
        if isinstance(rule, CadenceRule):
            touches = qualifying_touches(record, rule.counts, owner, started)
            if following is not None:
                touches = [t for t in touches if t.occurred_at < following]
            details["touches"] = len(touches)
            details["needed"] = rule.touches.count
            if len(touches) >= rule.touches.count:
                stopped = _earliest(stopped, touches[rule.touches.count - 1].occurred_at)
        cancelled = _earliest(
            first_entry_after(record, cancel_conditions, directory, started), following
        )
        if stopped is not None and following is not None and stopped >= following:
            stopped = None
        cycles.append(
            CycleFacts(
                cycle=index + 1,
                started_at=started,
                owner_id=owner,
                goal=goal,
                calendar=calendar,
                business=rule.time == "business",
                warning_share=rule.warning_at,
                pauses=pauses,
                stopped_at=stopped,
                cancelled_at=cancelled,
                details=details,
            )
        )
    return cycles
