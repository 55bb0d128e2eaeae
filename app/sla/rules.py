"""The engine's entry points for clock rules: rule + record + calendars + now -> cycles.

Also the fingerprint that tells a changed rule from an unchanged one: an instance stores the
fingerprint it was computed under, so a running clock is recomputed when its rule changes
and a finished one keeps the goal it ran under.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from app.sla.calendar import Calendar
from app.sla.calendar_book import CalendarBook
from app.sla.clocks import CycleFacts, CycleOutcome, judge
from app.sla.conditions import in_scope
from app.sla.records import Directory, Record
from app.sla.response import clock_facts
from app.sla.schema import (
    CadenceRule,
    ClockRules,
    ResponseRule,
    RuleBase,
    RulesFile,
    StageAgeRule,
)
from app.sla.stage_age import stage_age_facts


@dataclass(frozen=True, slots=True)
class Hint:
    """What the store holds of a running cycle: when it reuses the stored deadlines."""

    started_at: datetime
    owner_id: str | None
    due_at: datetime | None
    warning_at: datetime | None


def fingerprint(rule: RuleBase, rules: RulesFile) -> str:
    """A short hash of what decides the rule's outcomes: the rule itself and the calendars."""
    material = {
        "rule": rule.model_dump(mode="json", by_alias=True),
        "calendars": {k: v.model_dump(mode="json") for k, v in rules.calendars.items()},
        "assignments": rules.assignments.model_dump(mode="json"),
    }
    text = json.dumps(material, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def applies_to(rule: ClockRules, record: Record, directory: Directory) -> bool:
    """Archived or merged records and records outside the scope have no running clocks."""
    if record.archived or record.merged or record.object_type != rule.object:
        return False
    return in_scope(rule.scope, record, directory)


def evaluate_clock_rule(
    rule: ClockRules,
    record: Record,
    directory: Directory,
    book: CalendarBook,
    now: datetime,
    settled: Collection[int] = (),
    hints: Mapping[int, Hint] | None = None,
) -> list[CycleOutcome]:
    """Every cycle of `rule` on `record` as of `now`; [] when the rule does not apply.

    Cycles numbered in `settled` are already finished in the store and keep their verdict,
    so they are not judged again (most of a full pass is history that never changes).
    `hints` are what the store holds of running cycles evaluated under the same rule: when
    start and owner agree and nothing paused, the deadline is reused rather than computed on
    the calendar again."""
    if not applies_to(rule, record, directory):
        return []

    def calendar_for(owner_id: str | None) -> Calendar:
        return book.calendar_for(rule, owner_id)

    if isinstance(rule, ResponseRule | CadenceRule):
        facts = clock_facts(rule, record, directory, calendar_for, settled)
    elif isinstance(rule, StageAgeRule):
        facts = stage_age_facts(rule, record, directory, calendar_for, settled)
    else:
        raise TypeError(f"not a clock rule: {rule!r}")
    if hints:
        facts = [_with_hint(f, hints.get(f.cycle)) for f in facts]
    return [judge(f, now) for f in facts if f.started_at <= now]


def _with_hint(facts: CycleFacts, hint: Hint | None) -> CycleFacts:
    if hint is None or facts.pauses:
        return facts
    if (
        hint.started_at != facts.started_at
        or hint.owner_id != facts.owner_id
        or hint.due_at is None
    ):
        return facts
    return replace(facts, known_deadlines=(hint.due_at, hint.warning_at))
