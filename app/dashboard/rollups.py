"""Time to first touch from a rollup: each stopped response cycle's wall and business hours,
counted once by the `dashboard-rollups` job instead of on every page load.

The figures equal `reports.time_to_first_touch` at every moment: the rollup holds the cycles
whose SLA events are all at or below its mark; cycles with a newer event (the tail) are read
and counted live. A change of the calendars a rule counts in (rules, owner teams) changes the
fingerprint, which voids the rollup until the job has rebuilt it: until then the page asks
`reports` itself (slower, never wrong).
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from app.dashboard import rollups_repository as repo
from app.evaluation.context import PortalContext, build_context
from app.evaluation.reports import OwnerTouchTimes, touch_time_rows
from app.sla.calendar import Calendar
from app.sla.schema import ResponseRule, RulesFile

# Twice the longest a writing transaction runs: events recorded before now - SETTLE are all
# committed, so the mark never passes one that has yet to appear (sla_events ids are taken at
# insert and may commit out of order on PostgreSQL).
SETTLE = timedelta(minutes=10)
BATCH = 5000


def _nothing() -> None:
    return None


def _business(rule: ResponseRule) -> ResponseRule:
    return rule.model_copy(update={"time": "business"})


def fingerprint(context: PortalContext, rule: ResponseRule) -> str:
    """What the business hours of the rule's cycles depend on: the calendar that counts for
    each owner (those not on the default named alone), and those calendars' definitions."""
    business = _business(rule)
    book = context.book
    owners = set(context.directory.owner_teams) | set(context.rules.assignments.owners)
    default = book.calendar_name(business, None)
    named = {o: book.calendar_name(business, o) for o in sorted(owners)}
    named = {o: n for o, n in named.items() if n != default}
    used = sorted({default, *named.values()})
    text = json.dumps(
        {
            "zone": context.time_zone,
            "default": default,
            "owners": named,
            "calendars": {n: context.rules.calendars[n].model_dump(mode="json") for n in used},
        },
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(text.encode()).hexdigest()


class _Hours:
    """Wall and business hours of a cycle, with one calendar per owner (as reports does)."""

    def __init__(self, context: PortalContext, rule: ResponseRule) -> None:
        self._book = context.book
        self._rule = _business(rule)
        self._calendars: dict[str | None, Calendar] = {}

    def of(self, owner_id: str | None, started: datetime, stopped: datetime) -> tuple[float, float]:
        calendar = self._calendars.get(owner_id)
        if calendar is None:
            calendar = self._calendars[owner_id] = self._book.calendar_for(self._rule, owner_id)
        wall = (stopped - started).total_seconds() / 3600
        return wall, calendar.elapsed(started, stopped).total_seconds() / 3600


def refresh_rule(
    session: Session,
    context: PortalContext,
    rule: ResponseRule,
    now: datetime,
    after_batch: Callable[[], None] = _nothing,
) -> int:
    """Brings one rule's rollup up to the settled part of the event log; returns the cycles
    (re)counted. `after_batch` (the job's commit) runs between batches of a rebuild, so the
    store's write lock is never held for the whole of it; until the mark is saved at the end,
    the old fingerprint (or none) keeps the page off the half-built rollup."""
    portal_id = context.portal_id
    head = repo.newest_event_id(session)
    through = max(repo.settled_event_id(session, head, now - SETTLE), 0)
    current = fingerprint(context, rule)
    found = repo.mark(session, portal_id, rule.id)
    changed: set[int] | None
    if found is None or found.fingerprint != current:
        changed = None  # everything, in the calendars that count now
    else:
        if through <= found.through_event_id:
            return 0
        changed = repo.instances_with_events_after(
            session, portal_id, rule.id, found.through_event_id, through
        )
    cycles = repo.stopped_cycles(session, portal_id, rule.id, changed)
    repo.forget(session, portal_id, rule.id, None if changed is None else sorted(changed))
    after_batch()
    hours = _Hours(context, rule)
    for start in range(0, len(cycles), BATCH):
        repo.store(
            session, [_row(hours, portal_id, rule.id, c) for c in cycles[start : start + BATCH]]
        )
        after_batch()
    repo.save_mark(session, portal_id, rule.id, current, through, now)
    return len(cycles)


def _row(hours: _Hours, portal_id: int, rule_id: str, cycle: Any) -> dict[str, Any]:
    instance_id, object_type, object_id, owner, started, stopped = cycle
    wall, business = hours.of(owner, started, stopped)
    return {
        "instance_id": instance_id,
        "portal_id": portal_id,
        "rule_id": rule_id,
        "object_type": object_type,
        "object_id": object_id,
        "owner_id": owner,
        "started_at": started,
        "wall_hours": wall,
        "business_hours": business,
    }


def refresh(
    session: Session,
    portal_id: int,
    rules: RulesFile,
    now: datetime,
    after_batch: Callable[[], None] = _nothing,
) -> int:
    context = build_context(session, portal_id, rules)
    return sum(
        refresh_rule(session, context, rule, now, after_batch)
        for rule in rules.active_rules
        if isinstance(rule, ResponseRule)
    )


def time_to_first_touch(
    session: Session,
    context: PortalContext,
    rule: ResponseRule,
    since: datetime | None,
) -> list[OwnerTouchTimes] | None:
    """As `reports.time_to_first_touch`, from the rollup and its live tail; None when the
    rollup is void (never built, or built in other calendars)."""
    found = repo.mark(session, context.portal_id, rule.id)
    if found is None or found.fingerprint != fingerprint(context, rule):
        return None
    tail = repo.instances_with_events_after(
        session, context.portal_id, rule.id, found.through_event_id
    )
    wall: dict[str | None, list[float]] = defaultdict(list)
    business: dict[str | None, list[float]] = defaultdict(list)
    for instance_id, owner, wall_hours, business_hours in repo.touch_times(
        session, context.portal_id, rule.id, since
    ):
        if instance_id not in tail:
            wall[owner].append(wall_hours)
            business[owner].append(business_hours)
    _add_live(session, context, rule, since, tail, wall, business)
    return touch_time_rows(wall, business)


def _add_live(
    session: Session,
    context: PortalContext,
    rule: ResponseRule,
    since: datetime | None,
    tail: Iterable[int],
    wall: dict[str | None, list[float]],
    business: dict[str | None, list[float]],
) -> None:
    hours = _Hours(context, rule)
    cycles: list[Any] = repo.stopped_cycles(session, context.portal_id, rule.id, tail)
    for _, _, _, owner, started, stopped in cycles:
        if since is not None and started < since:
            continue
        wall_hours, business_hours = hours.of(owner, started, stopped)
        wall[owner].append(wall_hours)
        business[owner].append(business_hours)
