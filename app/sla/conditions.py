"""Conditions on record properties: scopes on current values, triggers on history."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from app.sla.records import DEAL_STAGE, LIFECYCLE, Directory, Interval, Record
from app.sla.schema import Condition

Predicate = Callable[[str | None], bool]
_WON_LIFECYCLE = frozenset({"customer", "evangelist"})


def as_text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _stage_class_matches(condition: Condition, value: str | None, directory: Directory) -> bool:
    if value is None:
        return False
    if condition.property == DEAL_STAGE:
        info = directory.deal_stages.get(value)
        if info is None:
            return False
        closed, won = info.is_closed, info.is_won
    elif condition.property == LIFECYCLE:
        closed = won = value in _WON_LIFECYCLE
    else:
        return False
    return {
        "open": not closed,
        "closed": closed,
        "won": won,
        "lost": closed and not won,
    }[condition.stage or "open"]


_PREDICATES: dict[tuple[int, int], tuple[Condition, Directory, Predicate]] = {}


def predicate(condition: Condition, directory: Directory) -> Predicate:
    """A test on one value of the condition's property (built once per condition)."""
    key = (id(condition), id(directory))
    cached = _PREDICATES.get(key)
    if cached is not None and cached[0] is condition and cached[1] is directory:
        return cached[2]
    if len(_PREDICATES) > 10_000:
        _PREDICATES.clear()
    test = _build_predicate(condition, directory)
    _PREDICATES[key] = (condition, directory, test)
    return test


def _build_predicate(condition: Condition, directory: Directory) -> Predicate:
    if condition.equals is not None:
        expected = condition.equals
        return lambda value: value == expected
    if condition.in_ is not None:
        allowed = frozenset(condition.in_)
        return lambda value: value in allowed
    if condition.not_in is not None:
        refused = frozenset(condition.not_in)
        return lambda value: value not in refused
    if condition.exists is not None:
        wanted = condition.exists
        return lambda value: (value is not None) == wanted
    return lambda value: _stage_class_matches(condition, value, directory)


def matches_now(condition: Condition, record: Record, directory: Directory) -> bool:
    """The condition on the record's current value (`team` tests the owner's teams)."""
    test = predicate(condition, directory)
    if condition.property == "team":
        teams = directory.owner_teams.get(record.owner_id or "", ())
        if condition.not_in is not None or condition.exists is False:
            return all(test(team) for team in teams) if teams else test(None)
        return any(test(team) for team in teams) if teams else test(None)
    return test(as_text(record.value(condition.property)))


def in_scope(scope: Sequence[Condition], record: Record, directory: Directory) -> bool:
    return all(matches_now(condition, record, directory) for condition in scope)


def entries(
    intervals: Sequence[Interval], test: Predicate, *, every_change: bool = False
) -> list[Interval]:
    """The intervals at which `test` becomes true (or, with `every_change`, every interval
    where it holds: a new owner is a new assignment even if the last one also passed)."""
    found: list[Interval] = []
    previous_true = False
    previous_value: str | None = None
    for interval in intervals:
        now_true = test(interval.value)
        if now_true and (not previous_true or (every_change and interval.value != previous_value)):
            found.append(interval)
        previous_true, previous_value = now_true, interval.value
    return found


def spans(intervals: Sequence[Interval], test: Predicate) -> list[tuple[datetime, datetime | None]]:
    """Maximal time spans during which `test` holds, merged across contiguous intervals."""
    result: list[tuple[datetime, datetime | None]] = []
    for interval in intervals:
        if not test(interval.value):
            continue
        if result and result[-1][1] == interval.entered:
            result[-1] = (result[-1][0], interval.exited)
        else:
            result.append((interval.entered, interval.exited))
    return result
