"""The routing core: one SLA event + routes + directory + silences -> delivery intents.

Pure, like `app.sla`: no I/O, and the time is passed in. The outbox writes what this returns
in the transaction that records the event, keyed by `DeliveryIntent.dedupe_key`.

- Routes are tried in order; the first that matches wins unless it says `continue`.
- Follow-ups (`escalated`, `reminder`) go to the route that scheduled them, to the step's
  receivers for an escalation, and to any later route that names their type explicitly.
- `owner` is the record owner's Slack user and `manager` the owner's team managers; when
  there is none, the route's fallback receivers stand in and each intent says why.
- A silenced event still yields its intents, marked suppressed with the silence, so the
  history shows what was muted rather than nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from alerts.model import (
    HUBSPOT_TARGET,
    AlertEvent,
    DeliveryIntent,
    Directory,
    IntentStatus,
    Receiver,
    ReceiverKind,
    Route,
    RoutingResult,
    Silence,
    TargetKind,
    Unreachable,
    Unresolved,
)
from alerts.schedule import earliest_send

HUBSPOT_RECEIVERS = {
    ReceiverKind.HUBSPOT_TASK: TargetKind.HUBSPOT_TASK,
    ReceiverKind.HUBSPOT_PROPERTIES: TargetKind.HUBSPOT_PROPERTIES,
}


@dataclass(frozen=True, slots=True)
class _Target:
    kind: TargetKind
    id: str


@dataclass(frozen=True, slots=True)
class _Missing:
    reason: Unresolved
    detail: str


def matching_routes(
    event: AlertEvent, routes: Sequence[Route], teams: tuple[str, ...]
) -> list[Route]:
    """The routes that take `event`, in order, stopping after the first without `continue`."""
    chosen: list[Route] = []
    for route in routes:
        if route.match.matches(event, teams):
            chosen.append(route)
            if not route.continue_matching:
                break
    return chosen


Plan = list[tuple[Route, tuple[Receiver, ...]]]


def _addressed(event: AlertEvent, routes: Sequence[Route]) -> Plan:
    """The route (and receivers) a follow-up was scheduled by, if it still exists."""
    for route in routes:
        if route.name != event.route:
            continue
        if event.step is None:
            return [(route, route.receivers)]
        if 1 <= event.step <= len(route.escalation):
            return [(route, route.escalation[event.step - 1].receivers)]
    return []


def _resolve(
    receiver: Receiver, event: AlertEvent, directory: Directory
) -> list[_Target] | _Missing:
    if receiver.kind is ReceiverKind.OWNER:
        return _owner(event, directory)
    if receiver.kind is ReceiverKind.MANAGER:
        return _managers(event, directory)
    if receiver.kind is ReceiverKind.CHANNEL:
        channel = directory.channels.get(receiver.name.removeprefix("#"), receiver.name)
        return [_Target(TargetKind.SLACK_CHANNEL, channel)]
    if receiver.kind in HUBSPOT_RECEIVERS:
        return [_Target(HUBSPOT_RECEIVERS[receiver.kind], HUBSPOT_TARGET)]
    wanted = directory.webhook_events.get(receiver.name)
    if wanted and event.type not in wanted:
        return []  # the endpoint filters this type out: nothing to send, nothing missing
    return [_Target(TargetKind.WEBHOOK, receiver.name)]


def _owner(event: AlertEvent, directory: Directory) -> list[_Target] | _Missing:
    if not event.owner_id:
        return _Missing(Unresolved.NO_OWNER, "the record has no owner")
    slack_user = directory.owner_slack_users.get(event.owner_id)
    if not slack_user:
        detail = f"owner {event.owner_id} has no Slack user"
        return _Missing(Unresolved.NO_SLACK_USER, detail)
    return [_Target(TargetKind.SLACK_USER, slack_user)]


def _managers(event: AlertEvent, directory: Directory) -> list[_Target] | _Missing:
    teams = directory.teams_of(event.owner_id)
    managers = [user for team in teams for user in directory.team_managers.get(team, ())]
    if not managers:
        detail = f"no manager configured for the teams of owner {event.owner_id or '(none)'}"
        return _Missing(Unresolved.NO_MANAGER, detail)
    return [_Target(TargetKind.SLACK_USER, user) for user in dict.fromkeys(managers)]


def _intents_for(
    route: Route,
    receivers: tuple[Receiver, ...],
    event: AlertEvent,
    directory: Directory,
    now: datetime,
) -> Iterator[DeliveryIntent | Unreachable]:
    for receiver in receivers:
        found = _resolve(receiver, event, directory)
        if isinstance(found, list):
            for target in found:
                yield _intent(route, receiver, target, event, directory, now, None)
            continue
        yield from _fallback(route, receiver, found, event, directory, now)


def _fallback(
    route: Route,
    receiver: Receiver,
    missing: _Missing,
    event: AlertEvent,
    directory: Directory,
    now: datetime,
) -> Iterator[DeliveryIntent | Unreachable]:
    reached = False
    for stand_in in route.fallback:
        found = _resolve(stand_in, event, directory)
        if isinstance(found, _Missing):
            continue
        reason = f"fallback for {receiver}: {missing.detail} ({missing.reason})"
        for target in found:
            reached = True
            yield _intent(route, stand_in, target, event, directory, now, reason)
    if not reached:
        yield Unreachable(event.id, route.name, receiver, missing.reason, missing.detail)


def _intent(
    route: Route,
    receiver: Receiver,
    target: _Target,
    event: AlertEvent,
    directory: Directory,
    now: datetime,
    reason: str | None,
) -> DeliveryIntent:
    return DeliveryIntent(
        event_id=event.id,
        route=route.name,
        receiver=receiver,
        target_kind=target.kind,
        target=target.id,
        not_before=earliest_send(route, target.kind, now, _LazyClock(directory, event)),
        group_wait=route.group_wait,
        reason=reason,
    )


class _LazyClock:
    """The record's calendar, built only when a message actually waits for working hours."""

    def __init__(self, directory: Directory, event: AlertEvent) -> None:
        self._directory = directory
        self._event = event

    def next_counting(self, at: datetime) -> datetime:
        return self._directory.calendar_for(self._event).next_counting(at)


def active_silence(
    event: AlertEvent, silences: Iterable[Silence], teams: tuple[str, ...], now: datetime
) -> Silence | None:
    for silence in silences:
        if silence.is_active(now) and silence.covers(event, teams):
            return silence
    return None


def route_event(
    event: AlertEvent,
    routes: Sequence[Route],
    directory: Directory,
    silences: Iterable[Silence] = (),
    *,
    now: datetime,
) -> RoutingResult:
    """Every intent `event` causes at `now`, one per target (the first route to name a target
    keeps it), and the receivers nobody could reach."""
    teams = directory.teams_of(event.owner_id)
    plan: Plan = _addressed(event, routes) if event.route else []
    plan += [(route, route.receivers) for route in matching_routes(event, routes, teams)]
    intents: dict[str, DeliveryIntent] = {}
    unreachable: list[Unreachable] = []
    for route, receivers in plan:
        for item in _intents_for(route, receivers, event, directory, now):
            if isinstance(item, Unreachable):
                unreachable.append(item)
            else:
                intents.setdefault(item.dedupe_key, item)
    silence = active_silence(event, silences, teams, now)
    outcome = tuple(intents.values())
    if silence is not None:
        outcome = tuple(_suppressed(intent, silence) for intent in outcome)
    matched = tuple(dict.fromkeys(route.name for route, _ in plan))
    return RoutingResult(outcome, tuple(dict.fromkeys(unreachable)), matched)


def _suppressed(intent: DeliveryIntent, silence: Silence) -> DeliveryIntent:
    return replace(
        intent,
        status=IntentStatus.SUPPRESSED,
        silence_id=silence.id,
        reason=f"silenced until {silence.ends_at.isoformat()}: {silence.reason}",
    )
