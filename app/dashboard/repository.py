"""The dashboard's queries (the numbers reports.py does not already give), and the audit log.

Every query here is bounded: by an index it can use, by a period, or by a LIMIT, so that a page
stays fast on a store of hundreds of thousands of records.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.evaluation.reports import LATE, ON_TIME
from app.models import (
    AuditLog,
    Owner,
    Portal,
    SlaEvent,
    SlaInstance,
    SlaRuleSet,
    SyncRun,
    Transition,
)

OPEN_STATES = ("running", "warning", "breached")
URGENCY = ("warning", "running", "breached")
DASHBOARD_SOURCE = "dashboard"


@dataclass(frozen=True, slots=True)
class PortalInfo:
    id: int
    time_zone: str
    ui_domain: str


@dataclass(frozen=True, slots=True)
class OwnerInfo:
    id: str
    name: str
    team_id: str | None


def first_portal(session: Session) -> PortalInfo | None:
    """The portal the dashboard shows (one deployment serves one portal today)."""
    row = session.execute(
        select(Portal.id, Portal.time_zone, Portal.ui_domain).order_by(Portal.id).limit(1)
    ).first()
    return PortalInfo(int(row[0]), row[1], row[2]) if row else None


def store_marker(session: Session) -> tuple[int | None, int | None, int | None]:
    """What changes whenever a report's inputs do: the newest SLA event, stage transition and
    rule set (each a primary-key maximum, read from the key's index)."""
    row = session.execute(
        select(
            select(func.max(SlaEvent.id)).scalar_subquery(),
            select(func.max(Transition.id)).scalar_subquery(),
            select(func.max(SlaRuleSet.id)).scalar_subquery(),
        )
    ).one()
    return (row[0], row[1], row[2])


def owners(session: Session, portal_id: int) -> dict[str, OwnerInfo]:
    rows = session.execute(
        select(
            Owner.id, Owner.first_name, Owner.last_name, Owner.email, Owner.primary_team_id
        ).where(Owner.portal_id == portal_id)
    )
    result = {}
    for owner_id, first, last, email, team in rows:
        name = " ".join(part for part in (first, last) if part) or email or owner_id
        result[owner_id] = OwnerInfo(owner_id, name, team)
    return result


def state_counts(
    session: Session, portal_id: int, rule_ids: list[str], states: tuple[str, ...]
) -> dict[str, dict[str, int]]:
    """Per rule, its instances in each of `states` now: one seek per rule and state into
    ix_sla_instances_rule_state, read from the index alone."""
    if not rule_ids:
        return {}
    rows = session.execute(
        select(SlaInstance.rule_id, SlaInstance.state, func.count())
        .where(
            SlaInstance.portal_id == portal_id,
            SlaInstance.rule_id.in_(rule_ids),
            SlaInstance.state.in_(states),
        )
        .group_by(SlaInstance.rule_id, SlaInstance.state)
    )
    result: dict[str, dict[str, int]] = defaultdict(dict)
    for rule_id, state, count in rows:
        result[rule_id][state] = int(count)
    return dict(result)


def weekly_verdicts(
    session: Session, portal_id: int, rule_ids: list[str], bounds: list[datetime]
) -> dict[str, list[tuple[int, int]]]:
    """Per rule of `rule_ids`, (on time, late or breached) among the instances started in each
    span [bounds[i], bounds[i+1]).

    One count per span, grouped by rule and state: each reads one range of
    ix_sla_instances_rule_state_started per rule and verdict state, in the index's order, so
    nothing is sorted (a single query with the span as a CASE sorts every instance of the
    period to group them)."""
    spans = len(bounds) - 1
    if spans < 1 or not rule_ids:
        return {}
    result: dict[str, list[tuple[int, int]]] = defaultdict(lambda: [(0, 0)] * spans)
    for index in range(spans):
        rows = session.execute(
            select(SlaInstance.rule_id, SlaInstance.state, func.count())
            .where(
                SlaInstance.portal_id == portal_id,
                SlaInstance.rule_id.in_(rule_ids),
                SlaInstance.state.in_(ON_TIME + LATE),
                SlaInstance.started_at >= bounds[index],
                SlaInstance.started_at < bounds[index + 1],
            )
            .group_by(SlaInstance.rule_id, SlaInstance.state)
        )
        for rule_id, state, count in rows:
            on_time, late = result[rule_id][index]
            if state in ON_TIME:
                on_time += int(count)
            else:
                late += int(count)
            result[rule_id][index] = (on_time, late)
    return dict(result)


def breaches_per_owner(
    session: Session, portal_id: int, rule_id: str, since: datetime | None
) -> dict[str | None, int]:
    """Instances of a rule that ended late or are breached, per owner."""
    # Grouped by an expression, not the column: SQLite (without ANALYZE statistics, as a
    # store usually is) would otherwise walk the (portal, owner) index for its order and read
    # every instance of the portal instead of the rule's breaches along the rule/state index.
    owner = SlaInstance.owner_id.concat("")
    query = select(owner, func.count()).where(
        SlaInstance.portal_id == portal_id,
        SlaInstance.rule_id == rule_id,
        SlaInstance.state.in_(("breached", "met_late")),
    )
    if since is not None:
        query = query.where(SlaInstance.started_at >= since)
    rows = session.execute(query.group_by(owner))
    return {owner_id: int(count) for owner_id, count in rows}


def open_instances(
    session: Session,
    portal_id: int,
    *,
    states: tuple[str, ...] = OPEN_STATES,
    owner_ids: set[str] | None = None,
    rule_id: str | None = None,
    limit: int = 200,
) -> list[SlaInstance]:
    """Open clocks, the most urgent first: warning, then running (each by the nearest due
    time), then breached (the latest breach first; one breached for months is old news).

    One query per state, each walking ix_sla_instances_state_due in due order and stopping at
    `limit`: no sort of every open clock, however many there are."""
    found: list[SlaInstance] = []
    for state in states:
        query = select(SlaInstance).where(
            SlaInstance.portal_id == portal_id,
            SlaInstance.state == state,
            SlaInstance.object_type.in_(("contact", "deal")),
        )
        if owner_ids is not None:
            query = query.where(SlaInstance.owner_id.in_(owner_ids))
        if rule_id:
            query = query.where(SlaInstance.rule_id == rule_id)
        if state == "breached":
            query = query.order_by(SlaInstance.due_at.desc(), SlaInstance.id.desc())
        else:
            query = query.order_by(SlaInstance.due_at.asc(), SlaInstance.id)
        found.extend(session.scalars(query.limit(limit)))
    order = {state: rank for rank, state in enumerate(URGENCY)}
    found.sort(key=lambda row: order.get(row.state, len(order)))  # stable: keeps due order
    return found[:limit]


def instance(session: Session, instance_id: int) -> SlaInstance | None:
    return session.get(SlaInstance, instance_id)


def instance_events(session: Session, instance_id: int) -> list[SlaEvent]:
    query = select(SlaEvent).where(SlaEvent.instance_id == instance_id).order_by(SlaEvent.id)
    return list(session.scalars(query))


def stage_entries(
    session: Session, portal_id: int, stages: list[str], since: datetime
) -> dict[str, int]:
    """How many times contacts entered each lifecycle stage since `since` (a contact that
    leaves a stage and comes back counts again): counted in ix_transitions_entered alone."""
    rows = session.execute(
        select(Transition.value, func.count())
        .where(
            Transition.portal_id == portal_id,
            Transition.property == "lifecyclestage",
            Transition.value.in_(stages),
            Transition.entered_at >= since,
        )
        .group_by(Transition.value)
    )
    counts = {str(value): int(count) for value, count in rows}
    return {stage: counts.get(stage, 0) for stage in stages}


@dataclass(frozen=True, slots=True)
class StoredRate:
    key: str  # the period key (2026-11) or `rolling`
    start: datetime
    value: float | None
    sample: int
    numerator: float | None


def stored_rates(
    session: Session, portal_id: int, rule_id: str, limit: int = 6
) -> list[StoredRate]:
    """A rate rule's value per period as the evaluation last stored it, oldest first.

    The engine writes each period's value and sample into the period's instance; reading them
    back keeps the pages fast where recomputing every period from the records takes seconds on
    a large portal.
    """
    rows = session.execute(
        select(SlaInstance.object_id, SlaInstance.started_at, SlaInstance.metrics)
        .where(
            SlaInstance.portal_id == portal_id,
            SlaInstance.rule_id == rule_id,
            SlaInstance.object_type.in_(("period", "window")),
        )
        # By period key (2026-11, 2026-W48 sort as time does), the unique index's order: by
        # started_at the planner may walk the start-time index over every instance instead.
        .order_by(SlaInstance.object_id.desc(), SlaInstance.cycle.desc())
        .limit(limit)
    ).all()
    return [
        StoredRate(
            key, started, metrics.get("value"), int(metrics.get("sample") or 0),
            metrics.get("numerator"),
        )
        for key, started, metrics in reversed(rows)
    ]  # fmt: skip


def recent_sync_runs(session: Session, limit: int = 20) -> list[SyncRun]:
    return list(session.scalars(select(SyncRun).order_by(SyncRun.started_at.desc()).limit(limit)))


def record_action(
    session: Session,
    *,
    at: datetime,
    actor: str,
    action: str,
    target: str,
    remote: str | None,
    details: dict[str, Any] | None = None,
    source: str = DASHBOARD_SOURCE,
) -> AuditLog:
    entry = AuditLog(
        at=at,
        actor=actor,
        source=source,
        action=action,
        target=target,
        remote=remote,
        details=details or {},
    )
    session.add(entry)
    session.flush()
    return entry


def audit_entries(session: Session, limit: int = 100) -> list[AuditLog]:
    query = select(AuditLog).order_by(AuditLog.at.desc(), AuditLog.id.desc()).limit(limit)
    return list(session.scalars(query))


def acknowledged_targets(session: Session, targets: list[str]) -> set[str]:
    if not targets:
        return set()
    rows = session.scalars(
        select(AuditLog.target).where(
            AuditLog.action == "acknowledge", AuditLog.target.in_(targets)
        )
    )
    return set(rows)
