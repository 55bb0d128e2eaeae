"""What a valid rules file says that is surely not meant: a filter that can never match, a
goal that a calendar's working hours cannot make up in years."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, time

from app.sla.calendar import MAX_ADD_DAYS
from app.sla.schema import (
    DIRECTIONS,
    CadenceRule,
    CalendarSpec,
    ResponseRule,
    RulesFile,
    StageAgeRule,
    Touches,
    parse_range,
)

Location = tuple[str | int, ...]


def _direction_warnings(touches: Touches) -> Iterator[str]:
    """Directions filter calls and emails only (HubSpot gives nothing else one)."""
    wanted = set(touches.directions or ())
    if not wanted:
        return
    every = set().union(*DIRECTIONS.values())
    for value in sorted(wanted - every):
        yield (
            f"{value} is not a direction HubSpot uses (calls: INBOUND, OUTBOUND; "
            "emails: EMAIL, INCOMING_EMAIL, FORWARDED_EMAIL); it matches nothing"
        )
    directed = [kind for kind in touches.types if kind in DIRECTIONS]
    if not directed:
        undirected = " and ".join(f"{kind}s" for kind in touches.types)
        yield f"has no effect: {undirected} have no direction"
    for kind in directed:
        if not wanted & DIRECTIONS[kind]:
            *others, last = sorted(DIRECTIONS[kind])
            choices = f"{', '.join(others)} or {last}"
            yield (
                f"no {kind} can match: {kind}s are {choices}, and directions lists only "
                f"{', '.join(sorted(wanted))}"
            )


def _filters(rules: RulesFile) -> Iterator[tuple[Location, Touches]]:
    for index, rule in enumerate(rules.rules):
        if isinstance(rule, ResponseRule | CadenceRule) and rule.stop and rule.stop.engagement:
            yield ("rules", index, "stop", "engagement"), rule.stop.engagement
        if isinstance(rule, CadenceRule):
            yield ("rules", index, "counts"), rule.counts


def direction_warnings(rules: RulesFile) -> Iterator[tuple[Location, str]]:
    """(where, why) for each directions filter that cannot do what it says."""
    for path, touches in _filters(rules):
        for message in _direction_warnings(touches):
            yield (*path, "directions"), message


_DAY_SECONDS = 86_400


def _seconds_of(start: time, end: time) -> int:
    begin = datetime.combine(datetime.min, start)
    finish = datetime.combine(datetime.min, end)
    seconds = int((finish - begin).total_seconds())
    return seconds if seconds > 0 else seconds + _DAY_SECONDS  # crosses midnight


def weekly_working_seconds(spec: CalendarSpec) -> int:
    """Working time in a week without holidays (ranges of one day may overlap: an upper bound,
    which is all the reach check needs)."""
    return sum(_seconds_of(*parse_range(text)) for ranges in spec.hours.values() for text in ranges)


def _goal_paths(rules: RulesFile) -> Iterator[tuple[Location, int, str | None, str]]:
    """(where, goal seconds beyond whole days, calendar named by the rule, goal text)."""
    for index, rule in enumerate(rules.rules):
        if rule.time != "business":
            continue
        if isinstance(rule, ResponseRule):
            path: Location = ("rules", index, "goal")
        elif isinstance(rule, CadenceRule):
            path = ("rules", index, "touches", "within")
        elif isinstance(rule, StageAgeRule):
            path = ("rules", index, "max")
        else:
            continue
        goal = rule.goal_value
        if goal.seconds:
            yield path, goal.seconds, rule.calendar, str(goal)


def reach_warnings(rules: RulesFile) -> Iterator[tuple[Location, str]]:
    """(where, why) for each goal some calendar of the rule cannot make up within the
    deadlines the engine computes (MAX_ADD_DAYS): such a deadline is refused, not computed."""
    weeks = MAX_ADD_DAYS / 7
    for path, seconds, named, text in _goal_paths(rules):
        names = [named] if named else sorted(rules.calendars)
        for name in names:
            spec = rules.calendars.get(name)
            if spec is None:
                continue
            weekly = weekly_working_seconds(spec)
            if seconds > weekly * weeks:
                yield (
                    path,
                    (
                        f"{text} is more working time than calendar {name} has in "
                        f"{MAX_ADD_DAYS} days ({weekly // 60} min a week): "
                        "its deadlines would be refused"
                    ),
                )
