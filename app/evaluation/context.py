"""What one evaluation of one portal needs, built once: rules split by kind, fingerprints,
calendars, the portal's directory, and which data the rules read."""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from app.evaluation import repository
from app.evaluation.repository import CONTACT_COLUMNS, DEAL_COLUMNS
from app.sla.calendar_book import CalendarBook
from app.sla.records import TRACKED, Directory
from app.sla.rules import fingerprint
from app.sla.schema import (
    CadenceRule,
    ClockRules,
    Condition,
    PeriodRules,
    QuotaRule,
    RateRule,
    ResponseRule,
    RulesFile,
    StageAgeRule,
)


def _conditions(rule: ClockRules) -> list[Condition]:
    found = list(rule.scope)
    if isinstance(rule, ResponseRule | CadenceRule):
        if rule.start.condition:
            found.append(rule.start.condition)
        for spec in (rule.stop, rule.pause, rule.cancel):
            if spec is not None and spec.conditions:
                found.extend(spec.conditions)
    return found


@dataclass(slots=True)
class PortalContext:
    portal_id: int
    rules: RulesFile
    directory: Directory
    book: CalendarBook
    time_zone: str
    clock_rules: dict[str, list[ClockRules]] = field(default_factory=dict)
    period_rules: list[PeriodRules] = field(default_factory=list)
    fingerprints: dict[str, str] = field(default_factory=dict)

    @property
    def rule_ids(self) -> set[str]:
        return set(self.fingerprints)

    def needs_properties(self, object_type: str) -> bool:
        """Whether a rule reads a property beyond the typed columns (then JSON is loaded)."""
        typed = set(CONTACT_COLUMNS if object_type == "contact" else DEAL_COLUMNS)
        known = typed | set(TRACKED) | {"team"}
        return any(
            condition.property not in known
            for rule in self.clock_rules.get(object_type, [])
            for condition in _conditions(rule)
        )

    def needs_touches(self, object_type: str) -> bool:
        for rule in self.clock_rules.get(object_type, []):
            if isinstance(rule, CadenceRule):
                return True
            if isinstance(rule, ResponseRule) and rule.stop.engagement is not None:
                return True
        return False


def build_context(session: Session, portal_id: int, rules: RulesFile) -> PortalContext:
    directory = repository.load_directory(session, portal_id)
    zone = repository.portal_time_zone(session, portal_id)
    context = PortalContext(
        portal_id=portal_id,
        rules=rules,
        directory=directory,
        book=CalendarBook(rules, zone, directory.owner_teams),
        time_zone=zone,
    )
    for rule in rules.active_rules:
        context.fingerprints[rule.id] = fingerprint(rule, rules)
        if isinstance(rule, ResponseRule | CadenceRule | StageAgeRule):
            context.clock_rules.setdefault(rule.object, []).append(rule)
        elif isinstance(rule, QuotaRule | RateRule):
            context.period_rules.append(rule)
    return context


CONTEXT_TTL = timedelta(seconds=60)
_cache: dict[tuple[int, int], tuple[PortalContext, datetime, weakref.ref[Any]]] = {}


def cached_context(
    session: Session, portal_id: int, rules: RulesFile, now: datetime
) -> PortalContext:
    """The portal's context, rebuilt at most once a minute per database: incremental
    evaluation runs per webhook batch and must not reload owners, stages and calendars."""
    bind = session.get_bind()
    key = (portal_id, id(rules))
    hit = _cache.get(key)
    if (
        hit is not None
        and hit[0].rules is rules
        and hit[2]() is bind
        and timedelta(0) <= now - hit[1] < CONTEXT_TTL
    ):
        return hit[0]
    context = build_context(session, portal_id, rules)
    if len(_cache) > 64:
        _cache.clear()
    _cache[key] = (context, now, weakref.ref(bind))
    return context
