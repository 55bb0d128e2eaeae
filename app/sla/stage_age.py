"""Stage age: each stint of a record in a watched stage is a cycle that must end (the record
moves on) within the goal."""

from __future__ import annotations

from collections.abc import Callable, Collection

from app.sla.calendar import Calendar
from app.sla.clocks import CycleFacts
from app.sla.records import OWNER, Directory, Interval, Record
from app.sla.schema import StageAgeRule


def _watched(
    rule: StageAgeRule, record: Record, directory: Directory
) -> Callable[[str | None], bool]:
    if rule.stages == "open":
        if record.object_type == "deal":
            return lambda stage: (
                stage is not None
                and stage in directory.deal_stages
                and not directory.deal_stages[stage].is_closed
            )
        return lambda stage: stage is not None and stage not in ("customer", "evangelist", "other")
    watched = frozenset(rule.stages)
    return lambda stage: stage in watched


def _stints(record: Record) -> list[Interval]:
    """Stage intervals with repeats of the same value merged into one stint."""
    stints: list[Interval] = []
    for interval in record.intervals(record.stage_property):
        if stints and stints[-1].value == interval.value and stints[-1].exited == interval.entered:
            stints[-1] = Interval(interval.value, stints[-1].entered, interval.exited)
        else:
            stints.append(interval)
    return stints


def stage_age_facts(
    rule: StageAgeRule,
    record: Record,
    directory: Directory,
    calendar_for: Callable[[str | None], Calendar],
    skip: Collection[int] = (),
) -> list[CycleFacts]:
    """Every stint in a watched stage (but those numbered in `skip`)."""
    watched = _watched(rule, record, directory)
    goal = rule.goal_value
    cycles: list[CycleFacts] = []
    number = 0
    for stint in _stints(record):
        if not watched(stint.value):
            continue
        number += 1
        if number in skip:
            continue
        owner = record.value_at(OWNER, stint.entered) or record.owner_id
        calendar = calendar_for(owner)
        cycles.append(
            CycleFacts(
                cycle=number,
                started_at=stint.entered,
                owner_id=owner,
                goal=goal,
                calendar=calendar,
                business=rule.time == "business",
                warning_share=rule.warning_at,
                stopped_at=stint.exited,
                details={"stage": stint.value},
            )
        )
    return cycles
