"""Routing new SLA events into delivery rows, in the transaction that records the events.

The evaluation calls `enqueue_events` with the (instance, type) keys of the events it just
inserted. Each is routed with the pure router against the `alerts:` section in force and one
row per (event, route, receiver) is inserted, skipping rows that already exist: an event
logged again, a re-evaluation or a replayed sync enqueues nothing twice, and a rollback takes
the deliveries with the events. Owners and managers given by email become Slack users at
delivery time (a Slack call has no place in the evaluation's transaction).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, tuple_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from alerts.config import AlertsConfig
from alerts.model import AlertEvent, EventType, Receiver, ReceiverKind, TargetKind
from alerts.outbox.config import alerts_in_force
from alerts.payload import message_id
from alerts.routing import matching_routes
from app.models import AlertDelivery, Owner, SlaEvent

# An event noticed this long after it happened (a first evaluation of an old portal, a rule
# added over old records) is history, not news: recorded as suppressed, not sent.
MAX_EVENT_AGE = timedelta(days=1)
_CHUNK = 500


@dataclass(frozen=True, slots=True)
class Planned:
    receiver: str
    target_kind: TargetKind | None
    target: str | None


def enqueue_events(session: Session, keys: Sequence[tuple[int, str]]) -> None:
    """Route the events with these (instance id, type) keys into delivery rows."""
    if not keys:
        return
    config = alerts_in_force(session)
    if config is None or not config.routes:
        return
    events = _load_events(session, keys)
    teams = _owner_teams(session, events)
    rows = [
        row
        for event, recorded_at in events
        for row in _rows_for(event, recorded_at, config, teams.get(event.owner_id or "", ()))
    ]
    _insert_ignoring_duplicates(session, rows)


def _load_events(
    session: Session, keys: Sequence[tuple[int, str]]
) -> list[tuple[AlertEvent, datetime]]:
    found: list[tuple[AlertEvent, datetime]] = []
    wanted = list(dict.fromkeys(keys))
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        query = select(SlaEvent).where(tuple_(SlaEvent.instance_id, SlaEvent.type).in_(chunk))
        found.extend((_alert_event(row), row.recorded_at) for row in session.scalars(query))
    return found


def _alert_event(row: SlaEvent) -> AlertEvent:
    return AlertEvent(
        id=row.id,
        portal_id=row.portal_id,
        instance_id=row.instance_id,
        rule_id=row.rule_id,
        rule_kind=row.kind,
        type=EventType(row.type),
        object_type=row.object_type,
        object_id=row.object_id,
        owner_id=row.owner_id,
        occurred_at=row.occurred_at,
    )


def _owner_teams(
    session: Session, events: Iterable[tuple[AlertEvent, datetime]]
) -> dict[str, tuple[str, ...]]:
    owners = {(e.portal_id, e.owner_id) for e, _ in events if e.owner_id}
    if not owners:
        return {}
    query = select(Owner.id, Owner.teams).where(tuple_(Owner.portal_id, Owner.id).in_(owners))
    return {
        owner_id: tuple(str(team["id"]) for team in teams or [] if "id" in team)
        for owner_id, teams in session.execute(query)
    }


def plan_receiver(
    receiver: Receiver, config: AlertsConfig, teams: tuple[str, ...]
) -> list[Planned]:
    """The rows one receiver becomes; owners and managers by email are resolved later."""
    if receiver.kind is ReceiverKind.OWNER:
        return [Planned(str(receiver), None, None)]
    if receiver.kind is ReceiverKind.MANAGER:
        people = dict.fromkeys(p for team in teams for p in config.managers.get(team, ()))
        if not people:  # resolved at delivery time to the fallback, with the reason
            return [Planned("manager", None, None)]
        return [Planned(f"manager:{person}", None, None) for person in people]
    if receiver.kind is ReceiverKind.CHANNEL:
        return [Planned(f"channel:{receiver.name}", TargetKind.SLACK_CHANNEL, receiver.name)]
    return [Planned(f"webhook:{receiver.name}", TargetKind.WEBHOOK, receiver.name)]


def _planned(
    event: AlertEvent, config: AlertsConfig, teams: tuple[str, ...]
) -> Iterator[tuple[str, Planned]]:
    for route in matching_routes(event, config.routes, teams):
        for receiver in route.receivers:
            if receiver.kind is ReceiverKind.WEBHOOK:
                endpoint = config.webhooks.get(receiver.name)
                if endpoint is not None and endpoint.events and event.type not in endpoint.events:
                    continue  # the endpoint does not take this type
            for planned in plan_receiver(receiver, config, teams):
                yield route.name, planned


def _rows_for(
    event: AlertEvent, recorded_at: datetime, config: AlertsConfig, teams: tuple[str, ...]
) -> list[dict[str, Any]]:
    stale = recorded_at - event.occurred_at > MAX_EVENT_AGE
    reason = (
        f"happened at {event.occurred_at.isoformat()}, more than {MAX_EVENT_AGE} "
        "before it was noticed"
        if stale
        else None
    )
    return [
        {
            "event_id": event.id,
            "portal_id": event.portal_id,
            "instance_id": event.instance_id,
            "route": route,
            "receiver": planned.receiver,
            "state": "suppressed" if stale else "pending",
            "attempts": 0,
            "next_attempt_at": None if stale else recorded_at,
            "idempotency_key": delivery_key(event.id, route, planned),
            "target_kind": planned.target_kind,
            "target": planned.target,
            "reason": reason,
            "created_at": recorded_at,
        }
        for route, planned in _planned(event, config, teams)
    ]


def delivery_key(event_id: int, route: str, planned: Planned) -> str:
    """Stable across retries. An endpoint sees one `webhook-id` per event, whichever routes
    named it, so it can drop the second copy."""
    if planned.target_kind is TargetKind.WEBHOOK and planned.target:
        return message_id(event_id, planned.target)
    return f"sla_{event_id}_{route}_{planned.receiver}"


def _insert_ignoring_duplicates(session: Session, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(AlertDelivery).on_conflict_do_nothing(
        index_elements=["event_id", "route", "receiver"]
    )
    for start in range(0, len(rows), _CHUNK):
        session.connection().execute(statement, rows[start : start + _CHUNK])
