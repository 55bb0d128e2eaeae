"""What-if for quota and rate rules: every period of the window judged as the due-clock job
judges the current one (app/evaluation/periodic.py's counting, app/sla's verdicts). Read-only."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from app.evaluation import periodic
from app.evaluation.backtest_repository import first_record_at
from app.evaluation.context import PortalContext
from app.sla.periods import Period, period_containing, previous_period, rolling_window
from app.sla.quotas import judge_quota
from app.sla.rates import within_bounds
from app.sla.schema import Condition, PeriodRules, QuotaRule, RateRule
from app.sla.states import SlaState

# A window of a few years at most is asked for; the bound keeps a typo from looping for long.
MAX_PERIODS = 400

# What was counted, by what the count depends on: a quota or rate whose target or bound is all
# that changed between the two files is counted once and judged twice.
Counts = dict[tuple[Any, ...], Any]


def _conditions(conditions: list[Condition] | Condition | None) -> str:
    if conditions is None:
        return ""
    if isinstance(conditions, Condition):
        return conditions.model_dump_json()
    return "|".join(condition.model_dump_json() for condition in conditions)


@dataclass(frozen=True, slots=True)
class PeriodResult:
    key: str
    state: str  # met / missed, or on_track / at_risk for the period still running
    count: int | None  # quota: records counted
    target: int | None  # quota: the target
    value: float | None = None  # rate: the value (None: no sample)
    in_bounds: bool | None = None  # rate: None when the sample is too small to judge


@dataclass(slots=True)
class PeriodTally:
    kind: str
    periods: list[PeriodResult] = field(default_factory=list)

    @property
    def judged(self) -> list[PeriodResult]:
        return [p for p in self.periods if p.state in (SlaState.MET, SlaState.MISSED)]

    @property
    def met(self) -> int:
        return sum(1 for p in self.judged if p.state == SlaState.MET)

    @property
    def attainment(self) -> float | None:
        """Quota: records counted / target over every period of the window (the running one
        included); rate: share of the judged periods within bounds."""
        quota = [p for p in self.periods if p.count is not None and p.target]
        if quota:
            return sum(p.count or 0 for p in quota) / sum(p.target or 0 for p in quota)
        judged = self.judged
        return self.met / len(judged) if judged else None


def periods_since(now: datetime, name: str, time_zone: str, since: datetime) -> list[Period]:
    """The periods that overlap [since, now], oldest first."""
    spans = [period_containing(now, name, time_zone)]
    while spans[-1].start > since and len(spans) < MAX_PERIODS:
        spans.append(previous_period(spans[-1], name, time_zone))
    return list(reversed(spans))


def _quota(
    session: Session,
    context: PortalContext,
    rule: QuotaRule,
    period: Period,
    now: datetime,
    counts: Counts,
) -> PeriodResult:
    counting = context.book.calendar_for(rule, None)
    key = (
        "quota",
        context.portal_id,
        rule.object,
        _conditions(rule.scope),
        _conditions(rule.counts),
        period.start,
        period.end,
    )
    entries = counts.get(key)
    if entries is None:
        found = periodic.first_entries(
            session, context, rule, rule.counts, period.start, period.end
        )
        entries = counts[key] = sorted(found.values())
    outcome = judge_quota(rule, period, entries, counting, now)
    return PeriodResult(period.key, outcome.state, outcome.metrics["count"], rule.target)


def _rate(
    session: Session,
    context: PortalContext,
    rule: RateRule,
    period: Period,
    now: datetime,
    counts: Counts,
) -> PeriodResult:
    until = min(now, period.end)
    key = (
        "rate",
        context.portal_id,
        rule.object,
        _conditions(rule.scope),
        rule.metric or "",
        _conditions(rule.denominator),
        _conditions(rule.numerator),
        period.start,
        period.end,
        until,
    )
    value = counts.get(key)
    if value is None:
        value = counts[key] = periodic.rate_value(session, context, rule, period, until)
    verdict = within_bounds(rule, value)
    if now >= period.end or rule.window_goal is not None:
        state = SlaState.MISSED if verdict is False else SlaState.MET
    else:
        state = SlaState.AT_RISK if verdict is False else SlaState.ON_TRACK
    return PeriodResult(period.key, state, None, None, value.value, verdict)


def period_tally(
    session: Session,
    context: PortalContext,
    rule: PeriodRules,
    now: datetime,
    since: datetime,
    counts: Counts | None = None,
) -> PeriodTally:
    counts = counts if counts is not None else {}
    tally = PeriodTally(rule.kind)
    if isinstance(rule, RateRule) and rule.window_goal is not None:
        window = rolling_window(now, rule.window_goal.as_calendar_time())
        tally.periods.append(_rate(session, context, rule, window, now, counts))
        return tally
    zone = context.book.calendar(context.book.calendar_name(rule, None)).time_zone
    # Periods before the portal's first record would only add empty, missed periods.
    first = first_record_at(session, context.portal_id)
    start = max(since, first) if first is not None else now
    for period in periods_since(now, rule.period or "month", zone, start):
        if isinstance(rule, QuotaRule):
            tally.periods.append(_quota(session, context, rule, period, now, counts))
        else:
            tally.periods.append(_rate(session, context, rule, period, now, counts))
    return tally
