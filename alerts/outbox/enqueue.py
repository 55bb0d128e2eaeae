"""Routing new SLA events into delivery rows, in the transaction that records the events.

The evaluation calls `enqueue_events` with the events it just inserted. Each is routed with
the pure router against the `alerts:` section in force, and one row per (event, route,
receiver) is inserted, skipping rows that already exist: an event logged again, a
re-evaluation or a replayed sync enqueues nothing twice, and a rollback takes the deliveries
with the events. Owners and managers given by email become Slack users at delivery time (a
Slack call has no place in the evaluation's transaction).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, tuple_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from alerts.config import AlertsConfig
from alerts.model import HUBSPOT_TARGET, AlertEvent, Receiver, ReceiverKind, Silence, TargetKind
from alerts.outbox.config import alerts_in_force
from alerts.outbox.events import alert_event
from alerts.outbox.silences import silenced_reason, silences_in_force
from alerts.payload import message_id
from alerts.routing import HUBSPOT_RECEIVERS, active_silence, matching_routes
from app.models import AlertDelivery, Owner, SlaEvent

# An event noticed this long after it happened (the first evaluation of a portal's history,
# a rule added over old records) is history, not news: it alerts nobody.
MAX_EVENT_AGE = timedelta(days=1)
_CHUNK = 500
UNIQUE_KEY = ("event_id", "route", "receiver")
# (instance id, type, occurred at, recorded at) of an event as the evaluation inserted it.
NewEvent = tuple[int, str, "datetime | str", "datetime | str"]


@dataclass(frozen=True, slots=True)
class Planned:
    receiver: str
    target_kind: TargetKind | None
    target: str | None


def enqueue_events(session: Session, events: Sequence[NewEvent]) -> None:
    """Route the events just inserted, given as (instance id, type, occurred at, recorded
    at) as the evaluation stored them, into delivery rows."""
    if not events:
        return
    # Without routes this one indexed query is all the evaluation pays.
    config = alerts_in_force(session)
    if config is None or not config.routes:
        return
    fresh = [(instance, kind) for instance, kind, occurred, recorded in events
             if _age(occurred, recorded) <= MAX_EVENT_AGE]  # fmt: skip
    if not fresh:
        return
    loaded = _load_events(session, fresh)
    teams = owner_teams(session, loaded)
    silences = silences_in_force(session, max(recorded for _, recorded in loaded)) if loaded else []
    rows = [
        row
        for event, recorded_at in loaded
        for row in _rows_for(
            event, recorded_at, config, teams.get(event.owner_id or "", ()), silences
        )
    ]
    _insert_ignoring_duplicates(session, rows)


def _age(occurred: datetime | str, recorded: datetime | str) -> timedelta:
    # SQLite rows come as the stored naive UTC text, PostgreSQL rows as datetimes.
    return _instant(recorded) - _instant(occurred)


def _instant(value: datetime | str) -> datetime:
    if isinstance(value, str):
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    return value


_EVENT_FIELDS = (
    SlaEvent.id,
    SlaEvent.instance_id,
    SlaEvent.portal_id,
    SlaEvent.rule_id,
    SlaEvent.kind,
    SlaEvent.type,
    SlaEvent.object_type,
    SlaEvent.object_id,
    SlaEvent.owner_id,
    SlaEvent.occurred_at,
    SlaEvent.recorded_at,
    SlaEvent.details,
    SlaEvent.follow_up,
)


def _load_events(
    session: Session, keys: Sequence[tuple[int, str]]
) -> list[tuple[AlertEvent, datetime]]:
    wanted = set(keys)
    instances = sorted({instance for instance, _ in wanted})
    found: list[tuple[AlertEvent, datetime]] = []
    for start in range(0, len(instances), _CHUNK):
        chunk = instances[start : start + _CHUNK]
        query = select(*_EVENT_FIELDS).where(SlaEvent.instance_id.in_(chunk))
        for row in session.connection().execute(query):
            if (row.instance_id, row.type) in wanted:
                found.append((alert_event(row), row.recorded_at))
    return found


def owner_teams(
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
    if receiver.kind in HUBSPOT_RECEIVERS:
        return [Planned(str(receiver), HUBSPOT_RECEIVERS[receiver.kind], HUBSPOT_TARGET)]
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
    event: AlertEvent,
    recorded_at: datetime,
    config: AlertsConfig,
    teams: tuple[str, ...],
    silences: Sequence[Silence] = (),
) -> list[dict[str, Any]]:
    silence = active_silence(event, silences, teams, recorded_at) if silences else None
    return [
        {**_row(event, route, planned, recorded_at), **_state(silence, recorded_at)}
        for route, planned in _planned(event, config, teams)
    ]


def _state(silence: Silence | None, recorded_at: datetime) -> dict[str, Any]:
    # A silenced row is kept, settled and naming its silence, so status and health count it.
    if silence is None:
        return {"state": "pending", "next_attempt_at": recorded_at, "silence_id": None,
                "reason": None}  # fmt: skip
    return {
        "state": "suppressed",
        "next_attempt_at": None,
        "silence_id": int(silence.id),
        "reason": silenced_reason(silence),
    }


def _row(event: AlertEvent, route: str, planned: Planned, recorded_at: datetime) -> dict[str, Any]:
    return {
        "event_id": event.id,
        "portal_id": event.portal_id,
        "instance_id": event.instance_id,
        "route": route,
        "receiver": planned.receiver,
        "state": "pending",
        "attempts": 0,
        "next_attempt_at": recorded_at,
        "idempotency_key": delivery_key(event.id, route, planned),
        "target_kind": planned.target_kind and str(planned.target_kind),
        "target": planned.target,
        "created_at": recorded_at,
    }


def planned_for(
    session: Session, event: AlertEvent, config: AlertsConfig
) -> list[tuple[str, Planned]]:
    """(route, row) pairs one event becomes, as enqueueing would write them."""
    teams = owner_teams(session, [(event, event.occurred_at)])
    return list(_planned(event, config, teams.get(event.owner_id or "", ())))


def delivery_key(event_id: int, route: str, planned: Planned) -> str:
    """Stable across retries. An endpoint sees one `webhook-id` per event, whichever routes
    named it, so it can drop the second copy."""
    if planned.target_kind is TargetKind.WEBHOOK and planned.target:
        return message_id(event_id, planned.target)
    return f"sla_{event_id}_{route}_{planned.receiver}"


def _insert_ignoring_duplicates(session: Session, rows: list[dict[str, Any]]) -> None:
    # Not app.evaluation.bulk: the evaluation imports this module (no cycle back into it).
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(AlertDelivery).on_conflict_do_nothing(index_elements=list(UNIQUE_KEY))
    for start in range(0, len(rows), _CHUNK):
        session.connection().execute(statement, rows[start : start + _CHUNK])


def enqueue_follow_up(
    session: Session,
    event: AlertEvent,
    receivers: Sequence[Receiver],
    recorded_at: datetime,
    config: AlertsConfig,
) -> None:
    """Delivery rows for an escalation step or reminder just recorded: to the receivers of the
    step (or the route's, for a reminder), under the route that scheduled it. `event.route`
    must be set."""
    route = event.route or ""
    teams = owner_teams(session, [(event, recorded_at)]).get(event.owner_id or "", ())
    planned = [
        item
        for receiver in receivers
        if _endpoint_takes(receiver, event, config)
        for item in plan_receiver(receiver, config, teams)
    ]
    silence = active_silence(event, silences_in_force(session, recorded_at), teams, recorded_at)
    state = _state(silence, recorded_at)
    rows = [{**_row(event, route, item, recorded_at), **state} for item in planned]
    _insert_ignoring_duplicates(session, rows)


def _endpoint_takes(receiver: Receiver, event: AlertEvent, config: AlertsConfig) -> bool:
    if receiver.kind is not ReceiverKind.WEBHOOK:
        return True
    endpoint = config.webhooks.get(receiver.name)
    return endpoint is None or not endpoint.events or event.type in endpoint.events
