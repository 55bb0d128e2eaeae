"""The weekly scorecard's figures, from `app.evaluation.reports` (the dashboard's numbers, so
the two never disagree), and its post: one per portal and ISO week, in the outbox.

`plan_scorecards` only reads (it may take a while on a large portal); `record_posts` writes
what it planned in a short transaction, where the unique post row settles which of two
schedulers, or which run before and after a restart, posts it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from alerts.messages import SlackMessage
from alerts.model import TargetKind
from alerts.outbox.config import alerts_in_force
from alerts.outbox.posts import SCORECARD, PostPlan, owner_names, portals, posts_in, record_post
from alerts.scorecard import (
    QuotaLine,
    RateLine,
    RepLine,
    ResponseLine,
    Scorecard,
    ScorecardSchedule,
    render_scorecard,
)
from app.evaluation import reports
from app.evaluation.rules_store import rules_in_force
from app.sla.schema import QuotaRule, RateRule, ResponseRule, RulesFile

WEEK = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class Planned:
    plan: PostPlan
    message: SlackMessage | None


def plan_scorecards(session: Session, now: datetime) -> list[Planned]:
    """This week's scorecard for every portal that has not had it, when it is due."""
    config = alerts_in_force(session)
    rules = rules_in_force(session)
    schedule = config.scorecard if config is not None else None
    due = schedule.due_now(now) if schedule is not None else None
    if schedule is None or due is None or rules is None:
        return []
    period = schedule.period(due)
    planned = []
    for portal in portals(session):
        if schedule.channel in posts_in(session, portal.id, SCORECARD, period):
            continue
        card = gather_scorecard(session, portal.id, rules, schedule, due)
        plan = PostPlan(
            portal.id,
            SCORECARD,
            period,
            schedule.channel,
            f"channel:{schedule.channel}",
            TargetKind.SLACK_CHANNEL,
            schedule.channel,
        )
        planned.append(Planned(plan, render_scorecard(card)))
    return planned


def record_posts(session: Session, planned: list[Planned], now: datetime) -> int:
    """Write the planned posts; returns how many were new (the rest were already there)."""
    return sum(1 for item in planned if record_post(session, item.plan, item.message, now))


def gather_scorecard(
    session: Session, portal_id: int, rules: RulesFile, schedule: ScorecardSchedule, due: datetime
) -> Scorecard:
    """The week before `due`, as of `due`: a late post says what an on-time one would have."""
    since = due - WEEK
    live = [rule for rule in rules.rules if rule.enabled]
    quotas = [_quota(session, portal_id, rules, r, due) for r in live if isinstance(r, QuotaRule)]
    rates = [
        _rate(session, portal_id, rules, r, due)
        for r in live
        if isinstance(r, RateRule) and r.metric is None and r.object == "contact"
    ]
    compliance = {c.rule_id: c for c in reports.rule_compliance(session, portal_id, since)}
    names = owner_names(session, portal_id)
    responses = [
        _response(session, portal_id, rules, r, since, compliance.get(r.id), names)
        for r in live
        if isinstance(r, ResponseRule)
    ]
    return Scorecard(since, due, schedule.time_zone, quotas, rates, responses)


def _quota(
    session: Session, portal_id: int, rules: RulesFile, rule: QuotaRule, due: datetime
) -> QuotaLine:
    progress = reports.quota_progress(session, portal_id, rules, rule.id, due)
    # The pacing line at its last point reached: count and line at the same instant.
    reached = [point for point in progress.points if point[0] <= due]
    line = QuotaLine(rule.title, progress.count, progress.target, str(progress.state))
    if not reached:
        return line
    at, counted, pacing = reached[-1]
    return QuotaLine(line.rule_name, line.count, line.target, line.state, at, counted, pacing)


def _rate(
    session: Session, portal_id: int, rules: RulesFile, rule: RateRule, due: datetime
) -> RateLine:
    latest = reports.rates_over_time(session, portal_id, rules, rule.id, due, periods=1)[-1]
    return RateLine(rule.title, latest.value, latest.sample, latest.within_bounds)


def _response(
    session: Session,
    portal_id: int,
    rules: RulesFile,
    rule: ResponseRule,
    since: datetime,
    compliance: reports.RuleCompliance | None,
    names: dict[str, str],
) -> ResponseLine:
    counts = compliance.counts if compliance is not None else {}
    on_time = sum(counts.get(state, 0) for state in reports.ON_TIME)
    late = sum(counts.get(state, 0) for state in reports.LATE)
    times = reports.time_to_first_touch(session, portal_id, rules, rule.id, since)
    reps = tuple(
        RepLine(
            names.get(t.owner_id, f"owner {t.owner_id}") if t.owner_id else "unassigned",
            t.touched,
            t.median_business_hours,
            t.median_hours,
        )
        for t in sorted(times, key=lambda t: t.median_business_hours)
    )
    share = compliance.compliance if compliance is not None else None
    return ResponseLine(rule.title, on_time, late, share, reps)
