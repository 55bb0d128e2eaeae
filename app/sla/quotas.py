"""Quota periods: at least N records entering a stage per week, month or quarter.

Pacing compares the count with the target times the share of the period's business time
already elapsed; below `at_risk_below` of that line the period is at_risk, early enough to act.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from app.sla.calendar import Calendar
from app.sla.periods import Period
from app.sla.schema import QuotaRule
from app.sla.states import SlaEventType, SlaState


@dataclass(frozen=True, slots=True)
class PeriodOutcome:
    period: Period
    state: SlaState
    stopped_at: datetime | None  # set once the period's verdict is final
    next_due_at: datetime | None
    events: tuple[tuple[SlaEventType, datetime], ...]
    metrics: dict[str, Any] = field(default_factory=dict)


def pacing_share(calendar: Calendar, period: Period, at: datetime) -> float:
    """Share of the period's counted time elapsed at `at` (0..1)."""
    total = calendar.elapsed(period.start, period.end).total_seconds()
    if total <= 0:
        return 1.0
    return min(1.0, calendar.elapsed(period.start, min(at, period.end)).total_seconds() / total)


def judge_quota(
    rule: QuotaRule, period: Period, entries: Sequence[datetime], calendar: Calendar, now: datetime
) -> PeriodOutcome:
    """The period at `now`, given the sorted times at which counted records entered."""
    count = bisect_right(list(entries), now)
    share = pacing_share(calendar, period, now)
    expected = rule.target * share
    metrics: dict[str, Any] = {
        "count": count,
        "target": rule.target,
        "expected": round(expected, 2),
        "elapsed_share": round(share, 4),
    }
    if count >= rule.target:
        reached = entries[rule.target - 1]
        events = ((SlaEventType.MET, reached),)
        return PeriodOutcome(period, SlaState.MET, reached, None, events, metrics)
    if now >= period.end:
        events = ((SlaEventType.MISSED, period.end),)
        return PeriodOutcome(period, SlaState.MISSED, period.end, None, events, metrics)
    if count < expected * rule.at_risk_below:
        events = ((SlaEventType.AT_RISK, now),)
        return PeriodOutcome(period, SlaState.AT_RISK, None, period.end, events, metrics)
    # On track until the pacing line overtakes the count: target*share*ratio > count.
    crossing_share = count / (rule.target * rule.at_risk_below)
    next_due = period.end
    if crossing_share < 1:
        total = calendar.elapsed(period.start, period.end)
        # One counted second past the line, where the count is strictly below it.
        crossing = calendar.add(period.start, total * crossing_share + timedelta(seconds=1))
        if now < crossing < period.end:
            next_due = crossing
    return PeriodOutcome(period, SlaState.ON_TRACK, None, next_due, (), metrics)
