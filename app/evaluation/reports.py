"""Reporting for the dashboard and the admin: compliance per rule, time to first touch per
owner, quota progress with its pacing line, rates over time. Read-only."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from statistics import median, quantiles

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from app.evaluation import periodic, repository
from app.evaluation.context import build_context
from app.models import SlaInstance
from app.sla.calendar import Calendar
from app.sla.periods import Period, period_containing, previous_period
from app.sla.quotas import pacing_share
from app.sla.rates import within_bounds
from app.sla.schema import QuotaRule, RateRule, ResponseRule, RulesFile
from app.sla.states import SlaState

ON_TIME = (SlaState.MET,)
LATE = (SlaState.MET_LATE, SlaState.BREACHED, SlaState.MISSED)


@dataclass(frozen=True, slots=True)
class RuleCompliance:
    rule_id: str
    kind: str
    counts: dict[str, int]
    paused: int
    compliance: float | None  # met on time / (met + late + breached); None without verdicts

    @property
    def running(self) -> int:
        return self.counts.get(SlaState.RUNNING, 0)


def rule_compliance(
    session: Session, portal_id: int | None, since: datetime | None = None
) -> list[RuleCompliance]:
    """Counts by state per rule (instances started since `since`; every portal when
    `portal_id` is None), and the share on time."""
    query = select(
        SlaInstance.rule_id,
        SlaInstance.kind,
        SlaInstance.state,
        func.count(),
        func.sum(case((SlaInstance.paused, 1), else_=0)),
    )
    if portal_id is not None:
        query = query.where(SlaInstance.portal_id == portal_id)
    if since is not None:
        query = query.where(SlaInstance.started_at >= since)
    rows = session.execute(
        query.group_by(SlaInstance.rule_id, SlaInstance.kind, SlaInstance.state)
    ).all()
    counts: dict[tuple[str, str], dict[str, int]] = defaultdict(dict)
    paused: dict[tuple[str, str], int] = defaultdict(int)
    for rule_id, kind, state, count, paused_count in rows:
        counts[(rule_id, kind)][state] = int(count)
        paused[(rule_id, kind)] += int(paused_count or 0)
    result = []
    for (rule_id, kind), by_state in sorted(counts.items()):
        on_time = sum(by_state.get(s, 0) for s in ON_TIME)
        late = sum(by_state.get(s, 0) for s in LATE)
        total = on_time + late
        result.append(
            RuleCompliance(
                rule_id, kind, by_state, paused[(rule_id, kind)], on_time / total if total else None
            )
        )
    return result


@dataclass(frozen=True, slots=True)
class OwnerTouchTimes:
    owner_id: str | None
    touched: int
    median_hours: float
    p90_hours: float
    median_business_hours: float
    p90_business_hours: float


def _p90(values: list[float]) -> float:
    if len(values) < 2:
        return values[0]
    return quantiles(values, n=10, method="inclusive")[-1]


def touch_time_rows(
    wall: Mapping[str | None, list[float]], business: Mapping[str | None, list[float]]
) -> list[OwnerTouchTimes]:
    """Per owner (sorted, no owner first): the count, median and p90 of hours to first touch
    on the clock and in business time. The dashboard's rollup builds its rows with it too, so
    the two read the same figures."""
    return [
        OwnerTouchTimes(
            owner,
            len(hours),
            median(hours),
            _p90(hours),
            median(business[owner]),
            _p90(business[owner]),
        )
        for owner, hours in sorted(wall.items(), key=lambda item: item[0] or "")
    ]


def time_to_first_touch(
    session: Session,
    portal_id: int,
    rules: RulesFile,
    rule_id: str,
    since: datetime | None = None,
) -> list[OwnerTouchTimes]:
    """Per owner, median and p90 of start -> stop of a response rule's stopped cycles, in wall
    hours and in the business hours of the calendar that counted for that owner."""
    rule = rules.rule(rule_id)
    if not isinstance(rule, ResponseRule):
        raise ValueError(f"rule {rule_id} is a {rule.kind} rule, not a response rule")
    book = build_context(session, portal_id, rules).book
    query = select(SlaInstance.owner_id, SlaInstance.started_at, SlaInstance.stopped_at).where(
        SlaInstance.portal_id == portal_id,
        SlaInstance.rule_id == rule_id,
        SlaInstance.state.in_((SlaState.MET, SlaState.MET_LATE)),
    )
    if since is not None:
        query = query.where(SlaInstance.started_at >= since)
    wall: dict[str | None, list[float]] = defaultdict(list)
    business: dict[str | None, list[float]] = defaultdict(list)
    business_rule = rule.model_copy(update={"time": "business"})
    # One calendar per owner, not per cycle: a portal has few owners and many stopped cycles.
    calendars: dict[str | None, Calendar] = {}
    for owner_id, started, stopped in session.execute(query):
        if stopped is None:
            continue
        wall[owner_id].append((stopped - started).total_seconds() / 3600)
        calendar = calendars.get(owner_id)
        if calendar is None:
            calendar = calendars[owner_id] = book.calendar_for(business_rule, owner_id)
        business[owner_id].append(calendar.elapsed(started, stopped).total_seconds() / 3600)
    return touch_time_rows(wall, business)


@dataclass(frozen=True, slots=True)
class QuotaProgress:
    rule_id: str
    period: Period
    target: int
    count: int
    state: str
    # (instant, records counted so far, where the pacing line says they should be)
    points: list[tuple[datetime, int, float]] = field(default_factory=list)


def quota_progress(
    session: Session,
    portal_id: int,
    rules: RulesFile,
    rule_id: str,
    now: datetime,
    step: timedelta = timedelta(days=1),
) -> QuotaProgress:
    """The current period of a quota: cumulative count against the pacing line, by `step`."""
    rule = rules.rule(rule_id)
    if not isinstance(rule, QuotaRule):
        raise ValueError(f"rule {rule_id} is a {rule.kind} rule, not a quota")
    context = build_context(session, portal_id, rules)
    calendar = context.book.calendar(context.book.calendar_name(rule, None))
    counting = context.book.calendar_for(rule, None)
    period = period_containing(now, rule.period, calendar.time_zone)
    entries = sorted(
        periodic.first_entries(
            session, context, rule, rule.counts, period.start, period.end
        ).values()
    )
    points = []
    at = period.start
    while at < period.end:
        at = min(at + step, period.end)
        shown = min(at, now)
        counted = sum(1 for entry in entries if entry <= shown)
        points.append((at, counted, round(rule.target * pacing_share(counting, period, at), 2)))
    count = sum(1 for entry in entries if entry <= now)
    row = repository.period_instance(session, portal_id, rule_id, period.key)
    state = row.state if row is not None else SlaState.ON_TRACK
    return QuotaProgress(rule_id, period, rule.target, count, state, points)


@dataclass(frozen=True, slots=True)
class RatePoint:
    period: Period
    value: float | None
    sample: int
    within_bounds: bool | None


def rates_over_time(
    session: Session,
    portal_id: int,
    rules: RulesFile,
    rule_id: str,
    now: datetime,
    periods: int = 6,
) -> list[RatePoint]:
    """A rate rule's value for the last `periods` periods (its own period, or months for a
    rolling rule), oldest first."""
    rule = rules.rule(rule_id)
    if not isinstance(rule, RateRule):
        raise ValueError(f"rule {rule_id} is a {rule.kind} rule, not a rate")
    context = build_context(session, portal_id, rules)
    calendar = context.book.calendar(context.book.calendar_name(rule, None))
    name = rule.period or "month"
    current = period_containing(now, name, calendar.time_zone)
    spans = [current]
    while len(spans) < periods:
        spans.append(previous_period(spans[-1], name, calendar.time_zone))
    result = []
    for span in reversed(spans):
        value = periodic.rate_value(session, context, rule, span, min(now, span.end))
        result.append(RatePoint(span, value.value, value.sample, within_bounds(rule, value)))
    return result
