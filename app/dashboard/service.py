"""What each dashboard page shows, built from app.evaluation.reports and the dashboard's
repository. Takes a session and does not commit; the router owns the transaction."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from zoneinfo import ZoneInfo

from markupsafe import Markup
from sqlalchemy.orm import Session

from app.dashboard import repository, rollups
from app.dashboard.cache import ReportCache
from app.dashboard.charts import Series, bar_chart, line_chart
from app.dashboard.repository import OwnerInfo, PortalInfo
from app.evaluation import reports
from app.evaluation.context import PortalContext, build_context
from app.models import SlaInstance
from app.sla.periods import period_containing
from app.sla.rates import RateValue, within_bounds
from app.sla.schema import QuotaRule, RateRule, ResponseRule, RulesFile

PERIODS = {"week": "This week", "30d": "Last 30 days", "quarter": "This quarter"}
DEFAULT_PERIOD = "30d"
SALES_KINDS = ("response", "cadence", "stage_age")
# Current state of a clock / of a period, shown in the same three columns.
NOW_COLUMNS = (("running", "on_track"), ("warning", "at_risk"), ("breached", "missed"))
NOW_STATES = tuple(state for pair in NOW_COLUMNS for state in pair)
FUNNEL_STAGES = ("marketingqualifiedlead", "salesqualifiedlead", "opportunity", "customer")
SORT_KEYS = ("owner", "touched", "median", "p90", "median_wall", "breaches")


@dataclass(frozen=True, slots=True)
class Filters:
    period: str = DEFAULT_PERIOD
    owner: str | None = None
    team: str | None = None
    sort: str = "median"

    def since(self, now: datetime, time_zone: str) -> datetime:
        if self.period == "week":
            return period_containing(now, "week", time_zone).start
        if self.period == "quarter":
            return period_containing(now, "quarter", time_zone).start
        return now - timedelta(days=30)

    def owner_ids(self, known: dict[str, OwnerInfo]) -> set[str] | None:
        """The owners the filter keeps, or None when it keeps everyone."""
        if self.owner:
            return {self.owner}
        if self.team:
            return {o.id for o in known.values() if o.team_id == self.team}
        return None


def week_bounds(since: datetime, now: datetime, time_zone: str) -> list[datetime]:
    """Week boundaries from `since` to the end of this week (the first span starts at `since`)."""
    bounds = [since]
    week = period_containing(since, "week", time_zone)
    while week.start <= now:
        bounds.append(week.end)
        week = period_containing(week.end, "week", time_zone)
    return bounds


# -- agreement overview ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RuleSummary:
    rule_id: str
    title: str
    kind: str
    now: tuple[int, int, int]  # running / warning / breached (on track / at risk / missed)
    compliance: float | None  # in the chosen period
    weekly: list[float | None]
    chart: Markup


@dataclass(frozen=True, slots=True)
class Overview:
    sales: list[RuleSummary]
    marketing: list[RuleSummary]
    week_labels: list[str]


def overview(
    session: Session,
    portal: PortalInfo,
    rules: RulesFile | None,
    filters: Filters,
    now: datetime,
    cache: ReportCache,
) -> Overview:
    since = filters.since(now, portal.time_zone)
    bounds = week_bounds(since, now, portal.time_zone)
    labels = [b.astimezone(_zone(portal)).strftime("%b %d") for b in bounds[:-1]]
    shown = [(r.id, str(r.kind), r.title) for r in rules.active_rules] if rules else []
    current = repository.state_counts(
        session, portal.id, [rule_id for rule_id, _, _ in shown], NOW_STATES
    )
    # The weeks cover the whole period, so their sums are reports.rule_compliance(since).
    weekly = repository.weekly_verdicts(
        session, portal.id, [rule_id for rule_id, _, _ in shown], bounds
    )
    sales: list[RuleSummary] = []
    marketing: list[RuleSummary] = []
    for rule_id, kind, title in shown:
        counts = current.get(rule_id, {})
        on_time = sum(on for on, _ in weekly.get(rule_id, []))
        verdicts = sum(on + late for on, late in weekly.get(rule_id, []))
        now_counts = [counts.get(clock, 0) + counts.get(span, 0) for clock, span in NOW_COLUMNS]
        shares = [on / (on + late) if on + late else None for on, late in weekly.get(rule_id, [])]
        shares = shares or [None] * len(labels)
        chart = _period_chart(session, portal, rules, rule_id, now, cache)
        if chart is None:
            chart = line_chart(
                f"{title}: share on time per week",
                labels,
                [Series("on time", shares)],
                percent=True,
            )
        summary = RuleSummary(
            rule_id,
            title,
            kind,
            (now_counts[0], now_counts[1], now_counts[2]),
            on_time / verdicts if verdicts else None,
            shares,
            chart,
        )
        (sales if kind in SALES_KINDS else marketing).append(summary)
    return Overview(sales, marketing, labels)


def _period_chart(
    session: Session,
    portal: PortalInfo,
    rules: RulesFile | None,
    rule_id: str,
    now: datetime,
    cache: ReportCache,
) -> Markup | None:
    """A quota's progress against its pacing line, a rate's value per period with its bound:
    what a period rule's week-by-week share on time would not show while its period runs."""
    if rules is None:
        return None
    try:
        rule = rules.rule(rule_id)
    except KeyError:
        return None
    if isinstance(rule, QuotaRule):
        return _quota_view(session, portal, rules, rule, now, cache).chart
    if isinstance(rule, RateRule):
        return _rate_view(session, portal, rules, rule, now).chart
    return None


def _zone(portal: PortalInfo) -> ZoneInfo:
    return ZoneInfo(portal.time_zone)


# -- sales response --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RepRow:
    owner_id: str | None
    name: str
    touched: int
    median: float
    p90: float
    median_wall: float
    p90_wall: float
    breaches: int


@dataclass(frozen=True, slots=True)
class ResponseTable:
    rule_id: str
    title: str
    goal: str
    rows: list[RepRow]
    chart: Markup


def sales_response(
    session: Session,
    portal: PortalInfo,
    rules: RulesFile | None,
    filters: Filters,
    now: datetime,
    cache: ReportCache,
) -> list[ResponseTable]:
    if rules is None:
        return []
    since = filters.since(now, portal.time_zone)
    known = repository.owners(session, portal.id)
    keep = filters.owner_ids(known)
    context = build_context(session, portal.id, rules)
    tables = []
    for rule in rules.active_rules:
        if not isinstance(rule, ResponseRule):
            continue
        times = cache.get(
            ("first-touch", portal.id, rule.id, since),
            repository.store_marker(session),
            partial(_touch_times, session, context, rule, since),
        )
        breaches = repository.breaches_per_owner(session, portal.id, rule.id, since)
        rows = [
            RepRow(
                t.owner_id,
                _owner_name(known, t.owner_id),
                t.touched,
                t.median_business_hours,
                t.p90_business_hours,
                t.median_hours,
                t.p90_hours,
                breaches.get(t.owner_id, 0),
            )
            for t in times
            if keep is None or t.owner_id in keep
        ]
        rows = _sorted(rows, filters.sort)
        goal = rule.goal_value
        chart = bar_chart(
            f"{rule.title}: median time to first touch per rep, business hours",
            [row.name for row in rows],
            [row.median for row in rows],
            # A goal in business days has no fixed length in hours: no line for it.
            bound=goal.seconds / 3600 if goal.days == 0 else None,
            bound_name="goal (business hours)",
            digits=2,
        )
        tables.append(ResponseTable(rule.id, rule.title, rule.goal, rows, chart))
    return tables


def _touch_times(
    session: Session, context: PortalContext, rule: ResponseRule, since: datetime
) -> list[reports.OwnerTouchTimes]:
    """From the rollup when it is built for the calendars in force, else counted now."""
    found = rollups.time_to_first_touch(session, context, rule, since)
    if found is not None:
        return found
    return reports.time_to_first_touch(session, context.portal_id, context.rules, rule.id, since)


def _owner_name(known: dict[str, OwnerInfo], owner_id: str | None) -> str:
    if owner_id is None:
        return "(no owner)"
    owner = known.get(owner_id)
    return owner.name if owner else owner_id


def _sorted(rows: list[RepRow], key: str) -> list[RepRow]:
    if key == "owner":
        return sorted(rows, key=lambda r: r.name.lower())
    if key == "touched":
        return sorted(rows, key=lambda r: -r.touched)
    if key == "breaches":
        return sorted(rows, key=lambda r: -r.breaches)
    attribute = key if key in ("median", "p90", "median_wall") else "median"
    # Slowest first: the manager's question is who needs help.
    return sorted(rows, key=lambda r: -float(getattr(r, attribute)))


# -- marketing delivery and funnel -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class QuotaView:
    rule_id: str
    title: str
    period_key: str
    target: int
    count: int
    state: str
    expected_now: float
    chart: Markup


@dataclass(frozen=True, slots=True)
class RatePoint:
    key: str
    start: datetime
    value: float | None
    sample: int
    within_bounds: bool | None


@dataclass(frozen=True, slots=True)
class RateView:
    rule_id: str
    title: str
    minimum: float | None
    maximum: float | None
    percent: bool
    points: list[RatePoint]
    chart: Markup


@dataclass(frozen=True, slots=True)
class Marketing:
    quotas: list[QuotaView]
    rates: list[RateView]
    entries: dict[str, int] = field(default_factory=dict)


def marketing_delivery(
    session: Session,
    portal: PortalInfo,
    rules: RulesFile | None,
    filters: Filters,
    now: datetime,
    cache: ReportCache,
) -> Marketing:
    since = filters.since(now, portal.time_zone)
    entries = repository.stage_entries(
        session, portal.id, ["marketingqualifiedlead", "salesqualifiedlead"], since
    )
    if rules is None:
        return Marketing([], [], entries)
    quotas = [
        _quota_view(session, portal, rules, rule, now, cache)
        for rule in rules.active_rules
        if isinstance(rule, QuotaRule)
    ]
    rates = [
        _rate_view(session, portal, rules, rule, now)
        for rule in rules.active_rules
        if isinstance(rule, RateRule) and rule.metric is None and rule.object == "contact"
    ]
    return Marketing(quotas, rates, entries)


def _quota_view(
    session: Session,
    portal: PortalInfo,
    rules: RulesFile,
    rule: QuotaRule,
    now: datetime,
    cache: ReportCache,
) -> QuotaView:
    progress = cache.get(
        ("quota", portal.id, rule.id, now),
        repository.store_marker(session),
        partial(reports.quota_progress, session, portal.id, rules, rule.id, now),
    )
    zone = _zone(portal)
    labels = [at.astimezone(zone).strftime("%b %d") for at, _, _ in progress.points]
    counts: list[float | None] = [float(c) if at <= now else None for at, c, _ in progress.points]
    # The first point at or after now carries the count so far, so the line reaches today.
    for index, (at, count, _) in enumerate(progress.points):
        if at > now:
            counts[index] = float(count)
            break
    pacing: list[float | None] = [p for _, _, p in progress.points]
    expected = next((p for at, _, p in progress.points if at >= now), float(progress.target))
    chart = line_chart(
        f"{rule.title}: counted so far against the pacing line",
        labels,
        [Series("counted", counts), Series("pacing line", pacing, dashed=True)],
        bound=float(progress.target),
        bound_name="target",
    )
    return QuotaView(
        rule.id,
        rule.title,
        progress.period.key,
        progress.target,
        progress.count,
        progress.state,
        expected,
        chart,
    )


def _rate_view(
    session: Session, portal: PortalInfo, rules: RulesFile, rule: RateRule, now: datetime
) -> RateView:
    points = [
        RatePoint(
            stored.key,
            stored.start,
            stored.value,
            stored.sample,
            within_bounds(rule, RateValue(stored.value, stored.sample)),
        )
        for stored in repository.stored_rates(session, portal.id, rule.id)
    ]
    percent = rule.metric is None
    bound = rule.minimum if rule.minimum is not None else rule.maximum
    chart = line_chart(
        f"{rule.title} per period",
        [p.key for p in points],
        [Series(rule.title, [p.value for p in points])],
        percent=percent,
        bound=bound,
        bound_name="minimum" if rule.minimum is not None else "maximum",
    )
    return RateView(rule.id, rule.title, rule.minimum, rule.maximum, percent, points, chart)


@dataclass(frozen=True, slots=True)
class Funnel:
    stages: list[tuple[str, int, float | None]]  # stage, entered, share of the previous stage
    chart: Markup
    rates: list[RateView]


def funnel(
    session: Session, portal: PortalInfo, rules: RulesFile | None, filters: Filters, now: datetime
) -> Funnel:
    since = filters.since(now, portal.time_zone)
    entries = repository.stage_entries(session, portal.id, list(FUNNEL_STAGES), since)
    stages: list[tuple[str, int, float | None]] = []
    previous: int | None = None
    for stage in FUNNEL_STAGES:
        count = entries[stage]
        share = count / previous if previous else None
        stages.append((stage, count, share))
        previous = count
    chart = bar_chart(
        "Entries into each stage", [s for s, _, _ in stages], [float(c) for _, c, _ in stages]
    )
    rates = []
    if rules is not None:
        rates = [
            _rate_view(session, portal, rules, rule, now)
            for rule in rules.active_rules
            if isinstance(rule, RateRule) and (rule.metric is not None or rule.object == "deal")
        ]
    return Funnel(stages, chart, rates)


# -- instances -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class InstanceRow:
    id: int
    rule_id: str
    state: str
    object_type: str
    object_id: str
    owner: str
    due_at: datetime | None
    left: timedelta | None  # negative: overdue by
    hubspot_url: str
    acknowledged: bool


def instance_target(instance_id: int) -> str:
    return f"sla_instance:{instance_id}"


def hubspot_url(portal: PortalInfo, object_type: str, object_id: str) -> str:
    type_id = "0-3" if object_type == "deal" else "0-1"
    return f"https://{portal.ui_domain}/contacts/{portal.id}/record/{type_id}/{object_id}"


def instance_row(
    portal: PortalInfo,
    row: SlaInstance,
    known: dict[str, OwnerInfo],
    acknowledged: set[str],
    now: datetime,
) -> InstanceRow:
    return InstanceRow(
        row.id,
        row.rule_id,
        row.state,
        row.object_type,
        row.object_id,
        _owner_name(known, row.owner_id),
        row.due_at,
        row.due_at - now if row.due_at else None,
        hubspot_url(portal, row.object_type, row.object_id),
        instance_target(row.id) in acknowledged,
    )


def instances(
    session: Session, portal: PortalInfo, filters: Filters, state: str | None, now: datetime
) -> list[InstanceRow]:
    known = repository.owners(session, portal.id)
    states = (state,) if state in repository.OPEN_STATES else repository.OPEN_STATES
    rows = repository.open_instances(
        session, portal.id, states=states, owner_ids=filters.owner_ids(known)
    )
    acked = repository.acknowledged_targets(session, [instance_target(r.id) for r in rows])
    return [instance_row(portal, r, known, acked, now) for r in rows]


def duration_text(value: timedelta | None) -> str:
    """`3h 12m left` or `2d 4h over`."""
    if value is None:
        return "-"
    seconds = int(abs(value.total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    text = f"{days}d {hours}h" if days else f"{hours}h {minutes:02d}m"
    return f"{text} {'left' if value.total_seconds() >= 0 else 'over'}"
