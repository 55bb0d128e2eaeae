"""Quota and rate rules on the store: count the cohorts of the current period (or rolling
window), judge them, and keep one instance per period (or per excursion of a window)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from app.evaluation import conflicts, live_records, repository
from app.evaluation.context import PortalContext
from app.evaluation.reconcile import Changes, Subject, event_row
from app.evaluation.writes import EvaluationReport, write_changes
from app.sla.conditions import in_scope, predicate
from app.sla.periods import Period, period_containing, rolling_window
from app.sla.quotas import PeriodOutcome, judge_quota
from app.sla.rates import ClosedDeal, RateValue, cohort_rate, deal_metric, within_bounds
from app.sla.schema import Condition, PeriodRules, QuotaRule, RateRule
from app.sla.states import SlaEventType, SlaState

ROLLING_RECHECK = timedelta(minutes=5)
_CHUNK = 2000


def first_entries(
    session: Session,
    context: PortalContext,
    rule: PeriodRules,
    condition: Condition,
    start: datetime,
    end: datetime | None,
    object_ids: Sequence[str] | None = None,
) -> dict[str, datetime]:
    """Record id -> first time it entered `condition` in [start, end), for in-scope records."""
    values = condition.in_ or ([condition.equals] if condition.equals is not None else None)
    test = predicate(condition, context.directory)
    first: dict[str, datetime] = {}
    for record_id, value, entered in repository.entries_between(
        session, context.portal_id, rule.object, condition.property, values, start, end, object_ids
    ):
        if test(value) and record_id not in first:
            first[record_id] = entered
    return _in_scope(session, context, rule, first)


def _in_scope(
    session: Session, context: PortalContext, rule: PeriodRules, found: dict[str, datetime]
) -> dict[str, datetime]:
    if not rule.scope:
        # Nothing to test but archived / merged: two columns, not each record's history.
        live = live_records.live_ids(session, context.portal_id, rule.object, list(found))
        return {record_id: at for record_id, at in found.items() if record_id in live}
    ids = sorted(found)
    kept: dict[str, datetime] = {}
    for start in range(0, len(ids), _CHUNK):
        for record in repository.load_records(
            session,
            context.portal_id,
            rule.object,
            ids[start : start + _CHUNK],
            with_properties=True,
            with_touches=False,
        ):
            if not (record.archived or record.merged) and in_scope(
                rule.scope, record, context.directory
            ):
                kept[record.id] = found[record.id]
    return kept


def rate_value(
    session: Session, context: PortalContext, rule: RateRule, window: Period, now: datetime
) -> RateValue:
    if rule.metric is not None:
        closed = []
        for row in repository.deals_closed_between(
            session, context.portal_id, window.start, window.end
        ):
            info = context.directory.deal_stages.get(row.deal_stage or "")
            if info is not None and info.is_closed:
                closed.append(ClosedDeal(row.created_at, row.close_date, row.amount, info.is_won))
        stages = context.directory.deal_stages
        open_deals = 0
        for stage, count in repository.deal_stage_counts(session, context.portal_id).items():
            info = stages.get(stage or "")
            if info is not None and not info.is_closed:
                open_deals += count
        return deal_metric(rule.metric, closed, open_deals)
    assert rule.denominator is not None and rule.numerator is not None
    cohort = first_entries(session, context, rule, rule.denominator, window.start, window.end)
    reached: dict[str, datetime] = {}
    ids = sorted(cohort)
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        reached.update(
            first_entries(session, context, rule, rule.numerator, window.start, now, chunk)
        )
    return cohort_rate(cohort, reached)


def _rate_period_outcome(
    rule: RateRule, period: Period, value: RateValue, now: datetime
) -> PeriodOutcome:
    verdict = within_bounds(rule, value)
    metrics: dict[str, Any] = {
        "value": value.value,
        "sample": value.sample,
        "numerator": value.numerator,
        "minimum": rule.minimum,
        "maximum": rule.maximum,
        "insufficient_sample": verdict is None,
    }
    if now >= period.end:
        state, event = (
            (SlaState.MISSED, SlaEventType.MISSED)
            if verdict is False
            else (SlaState.MET, SlaEventType.MET)
        )
        return PeriodOutcome(period, state, period.end, None, ((event, period.end),), metrics)
    if verdict is False:
        events = ((SlaEventType.AT_RISK, now),)
        return PeriodOutcome(period, SlaState.AT_RISK, None, period.end, events, metrics)
    return PeriodOutcome(period, SlaState.ON_TRACK, None, period.end, (), metrics)


def _goal_text(rule: PeriodRules) -> str:
    if isinstance(rule, QuotaRule):
        return f">= {rule.target}/{rule.period}"
    parts = []
    if rule.minimum is not None:
        parts.append(f">= {rule.minimum:g}")
    if rule.maximum is not None:
        parts.append(f"<= {rule.maximum:g}")
    return " ".join(parts)


def _reconcile_period(
    subject: Subject,
    rule: PeriodRules,
    outcome: PeriodOutcome,
    previous: Any,
    now: datetime,
    changes: Changes,
) -> None:
    row: dict[str, Any] = {
        "state": outcome.state,
        "paused": False,
        "owner_id": None,
        "started_at": outcome.period.start,
        "warning_at": None,
        "due_at": outcome.period.end,
        "stopped_at": outcome.stopped_at,
        "breached_at": outcome.stopped_at if outcome.state == SlaState.MISSED else None,
        "next_due_at": outcome.next_due_at,
        "goal": _goal_text(rule),
        "rule_fingerprint": subject.fingerprint,
        "metrics": outcome.metrics,
    }
    events = list(outcome.events)
    if previous is None:
        row.update(
            portal_id=subject.portal_id,
            rule_id=subject.rule_id,
            kind=subject.kind,
            object_type=subject.object_type,
            object_id=subject.object_id,
            cycle=1,
            updated_at=now,
        )
        changes.new.append((row, events))
        return
    if previous.stopped_at is not None:
        return  # a finished period keeps its verdict and goal
    if previous.state == SlaState.AT_RISK and outcome.state in (SlaState.ON_TRACK, SlaState.MET):
        events.append((SlaEventType.RESOLVED, now))
    changes.updates.append({"id": previous.id, "updated_at": now, **row})
    for kind, at in events:
        changes.events.append(event_row(subject, previous.id, previous.cycle, None, kind, at, now))


def _reconcile_rolling(
    subject: Subject,
    rule: RateRule,
    window: Period,
    value: RateValue,
    previous: Any,
    now: datetime,
    changes: Changes,
) -> None:
    """A rolling window: one instance per excursion out of bounds (missed -> resolved)."""
    verdict = within_bounds(rule, value)
    state = SlaState.MISSED if verdict is False else SlaState.ON_TRACK
    row: dict[str, Any] = {
        "state": state,
        "paused": False,
        "owner_id": None,
        "started_at": window.start,
        "due_at": None,
        "stopped_at": None,
        "next_due_at": now + ROLLING_RECHECK,
        "goal": _goal_text(rule),
        "rule_fingerprint": subject.fingerprint,
        "metrics": {
            "value": value.value,
            "sample": value.sample,
            "numerator": value.numerator,
            "window_start": window.start.isoformat(),
            "insufficient_sample": verdict is None,
        },
    }
    base = {
        "portal_id": subject.portal_id,
        "rule_id": subject.rule_id,
        "kind": subject.kind,
        "object_type": "window",
        "object_id": "rolling",
        "updated_at": now,
    }
    if previous is None or previous.stopped_at is not None:
        cycle = 1 if previous is None else previous.cycle + 1
        changes.new.append(
            (
                {
                    **row,
                    **base,
                    "cycle": cycle,
                    "breached_at": now if state == SlaState.MISSED else None,
                },
                [(SlaEventType.MISSED, now)] if state == SlaState.MISSED else [],
            )
        )
        return
    if previous.state == SlaState.MISSED and state == SlaState.ON_TRACK:
        changes.updates.append(
            {
                "id": previous.id,
                "updated_at": now,
                "stopped_at": now,
                "next_due_at": None,
                "metrics": row["metrics"],
            }
        )
        changes.events.append(
            event_row(subject, previous.id, previous.cycle, None, SlaEventType.RESOLVED, now, now)
        )
        changes.new.append(({**row, **base, "cycle": previous.cycle + 1, "breached_at": None}, []))
        return
    update = {"id": previous.id, "updated_at": now, **row, "started_at": previous.started_at}
    if previous.state == SlaState.ON_TRACK and state == SlaState.MISSED:
        update["breached_at"] = now
        changes.events.append(
            event_row(subject, previous.id, previous.cycle, None, SlaEventType.MISSED, now, now)
        )
    changes.updates.append(update)


def evaluate_period_rule(
    session: Session, context: PortalContext, rule: PeriodRules, now: datetime
) -> Changes:
    changes = Changes()
    object_type = "window" if isinstance(rule, RateRule) and rule.window else "period"

    def subject_for(key: str) -> Subject:
        return Subject(
            context.portal_id, rule.id, rule.kind, object_type, key, context.fingerprints[rule.id]
        )

    if isinstance(rule, RateRule) and rule.window_goal is not None:
        window = rolling_window(now, rule.window_goal.as_calendar_time())
        value = rate_value(session, context, rule, window, now)
        previous = repository.period_instance(session, context.portal_id, rule.id, "rolling")
        _reconcile_rolling(subject_for("rolling"), rule, window, value, previous, now, changes)
        return changes
    calendar = context.book.calendar(context.book.calendar_name(rule, None))
    counting = context.book.calendar_for(rule, None)
    period_name = rule.period or "month"
    current = period_containing(now, period_name, calendar.time_zone)
    periods = {current.key: current}
    for row in repository.open_period_instances(session, context.portal_id, rule.id):
        if row.object_id not in periods and row.due_at is not None:
            periods[row.object_id] = Period(row.object_id, row.started_at, row.due_at)
    for period in periods.values():
        previous = repository.period_instance(session, context.portal_id, rule.id, period.key)
        if previous is not None and previous.stopped_at is not None:
            continue
        if isinstance(rule, QuotaRule):
            entries = first_entries(session, context, rule, rule.counts, period.start, period.end)
            outcome = judge_quota(rule, period, sorted(entries.values()), counting, now)
        else:
            value = rate_value(session, context, rule, period, min(now, period.end))
            outcome = _rate_period_outcome(rule, period, value, now)
        _reconcile_period(subject_for(period.key), rule, outcome, previous, now, changes)
    return changes


def evaluate_periods(session: Session, context: PortalContext, now: datetime) -> EvaluationReport:
    """Each quota and rate rule's periods, counted and written (redone, on PostgreSQL, when
    that lost a race with a hand-off's refresh request or another pass: conflicts.py)."""
    report = EvaluationReport()
    for rule in context.period_rules:
        report.add(
            conflicts.redo_on_conflict(
                session,
                lambda rule=rule: write_changes(  # type: ignore[misc]
                    session, evaluate_period_rule(session, context, rule, now)
                ),
                f"the periods of rule {rule.id} of portal {context.portal_id}",
            )
        )
    return report


def request_refresh(
    session: Session, context: PortalContext, object_type: str, now: datetime
) -> None:
    rule_ids = [rule.id for rule in context.period_rules if rule.object == object_type]
    repository.request_period_refresh(session, context.portal_id, rule_ids, now)
