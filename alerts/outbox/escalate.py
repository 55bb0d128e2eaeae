"""Escalation steps and reminders for SLA instances that stay breached.

A periodic job looks at every instance still breached, counts each route's ladder and
`repeat` from the breach in the record's business calendar, and records each step or
reminder whose time has come as an `escalated` or `reminder` row in `sla_events` (so it
shows in the history), with its delivery rows in the same transaction.

Each follow-up is inserted at most once: its key (`ROUTE/N`) is part of the events' unique
key and the insert skips a row that exists. Two jobs racing each other both try the insert;
on PostgreSQL the second waits for the first's transaction and then inserts nothing, on
SQLite the writers take turns at the write lock; only the one whose insert returned an id
enqueues deliveries. An instance that is met, cancelled or acknowledged gets nothing more.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from alerts.config import AlertsConfig
from alerts.model import AlertEvent, EventType
from alerts.outbox.config import alerts_in_force
from alerts.outbox.enqueue import MAX_EVENT_AGE, enqueue_follow_up, owner_teams
from alerts.outbox.events import alert_event
from alerts.outbox.hours import record_calendar
from alerts.outbox.silences import acknowledged_among
from alerts.routing import matching_routes
from alerts.schedule import FollowUp, due_follow_ups
from app.models import SlaEvent, SlaInstance
from app.sla.states import SlaState

# Breaches older than this are history: nobody is escalated to about last quarter's lead.
LOOKBACK = timedelta(days=90)


def acknowledged_instances(session: Session, instance_ids: Iterable[int]) -> frozenset[int]:
    """The instances among `instance_ids` someone acknowledged: their follow-ups stop."""
    return frozenset(acknowledged_among(session, list(instance_ids)))


def fire_due_follow_ups(session: Session, now: datetime) -> int:
    """Record (and enqueue) every escalation step and reminder due by `now` that has not
    fired yet; the number recorded."""
    config = alerts_in_force(session)
    if config is None or not any(r.escalation or r.repeat for r in config.routes):
        return 0
    breaches = still_breached(session, now)
    acknowledged = acknowledged_instances(session, (b.instance_id for b in breaches))
    fired = 0
    for breach in breaches:
        if breach.instance_id not in acknowledged:
            fired += _fire_for(session, breach, config, now)
    return fired


def still_breached(session: Session, now: datetime) -> list[AlertEvent]:
    """The breach event of each instance whose state is still `breached`."""
    query = (
        select(SlaEvent)
        .join(SlaInstance, SlaInstance.id == SlaEvent.instance_id)
        .where(
            SlaInstance.state == SlaState.BREACHED,
            SlaEvent.type == EventType.BREACHED,
            SlaEvent.occurred_at >= now - LOOKBACK,
        )
        .order_by(SlaEvent.id)
    )
    return [alert_event(row) for row in session.scalars(query)]


def _fire_for(session: Session, breach: AlertEvent, config: AlertsConfig, now: datetime) -> int:
    calendar = record_calendar(session, breach.portal_id, breach.rule_id, breach.owner_id)
    if calendar is None:
        return 0
    teams = owner_teams(session, [(breach, now)]).get(breach.owner_id or "", ())
    fired = 0
    for route in matching_routes(breach, config.routes, teams):
        for number, follow_up in due_follow_ups(breach, route, calendar, now):
            # Missed by a job that was down this long: a late nudge is noise, like old events.
            if now - follow_up.due_at <= MAX_EVENT_AGE:
                fired += _record(session, breach, number, follow_up, config, now)
    return fired


def _record(
    session: Session,
    breach: AlertEvent,
    number: int,
    follow_up: FollowUp,
    config: AlertsConfig,
    now: datetime,
) -> int:
    event_id = _insert_event(session, breach, number, follow_up, now)
    if event_id is None:
        return 0  # fired already, by an earlier run or a concurrent one
    event = AlertEvent(
        id=event_id,
        portal_id=breach.portal_id,
        instance_id=breach.instance_id,
        rule_id=breach.rule_id,
        rule_kind=breach.rule_kind,
        type=follow_up.type,
        object_type=breach.object_type,
        object_id=breach.object_id,
        owner_id=breach.owner_id,
        occurred_at=follow_up.due_at,
        route=follow_up.route,
        step=follow_up.step,
    )
    enqueue_follow_up(session, event, follow_up.receivers, now, config)
    return 1


def follow_up_key(route: str, number: int) -> str:
    return f"{route}/{number}"


def _insert_event(
    session: Session, breach: AlertEvent, number: int, follow_up: FollowUp, now: datetime
) -> int | None:
    cycle = session.scalar(select(SlaEvent.cycle).where(SlaEvent.id == breach.id))
    details: dict[str, str | int] = {"route": follow_up.route, "number": number}
    if follow_up.step is not None:
        details["step"] = follow_up.step
    values = {
        "instance_id": breach.instance_id,
        "portal_id": breach.portal_id,
        "rule_id": breach.rule_id,
        "kind": breach.rule_kind,
        "object_type": breach.object_type,
        "object_id": breach.object_id,
        "cycle": cycle,
        "owner_id": breach.owner_id,
        "type": str(follow_up.type),
        "occurred_at": follow_up.due_at,
        "recorded_at": now,
        "details": details,
        "follow_up": follow_up_key(follow_up.route, number),
    }
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = (
        insert(SlaEvent)
        .values(values)
        .on_conflict_do_nothing(index_elements=["instance_id", "type", "follow_up"])
        .returning(SlaEvent.id)
    )
    return session.connection().execute(statement).scalar_one_or_none()
