"""The vocabulary of alert routing: events in, routes and silences as configured, intents out.

Everything here is plain data (frozen dataclasses and StrEnums) so the routing core stays a
pure function that tests can drive without a database, a network or a real clock.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from app.sla.calendar import Calendar
from app.sla.durations import Goal
from app.sla.states import SlaEventType

DEFAULT_GROUP_WAIT = timedelta(seconds=30)


# The stored event types are the engine's (`sla_events.type`); routing names them EventType.
EventType = SlaEventType


# Follow-ups belong to the route that scheduled them; a route without an event filter does
# not pick them up as well, or every escalation would also reach the first route's receivers.
FOLLOW_UPS = frozenset({EventType.ESCALATED, EventType.REMINDER})


class ReceiverKind(StrEnum):
    OWNER = "owner"
    MANAGER = "manager"
    CHANNEL = "channel"
    WEBHOOK = "webhook"
    # Write-back into HubSpot itself: a task for the owner, SLA properties on the record.
    HUBSPOT_TASK = "hubspot_task"
    HUBSPOT_PROPERTIES = "hubspot_properties"


class TargetKind(StrEnum):
    """Where a delivery physically goes, once the receiver is resolved."""

    SLACK_USER = "slack_user"
    SLACK_CHANNEL = "slack_channel"
    WEBHOOK = "webhook"
    # Stored in alert_deliveries.target_kind (16 characters at most).
    HUBSPOT_TASK = "hubspot_task"
    HUBSPOT_PROPERTIES = "hubspot_props"


def endpoint_name(target_kind: str | None, target: str | None) -> str:
    """The switch (alert_endpoints.name) a delivery of this kind answers to."""
    if target_kind == TargetKind.WEBHOOK:
        return f"webhook:{target}"
    if target_kind == TargetKind.HUBSPOT_TASK:
        return "hubspot_task"
    if target_kind == TargetKind.HUBSPOT_PROPERTIES:
        return "hubspot_properties"
    return "slack"


HUBSPOT_TARGETS = frozenset({TargetKind.HUBSPOT_TASK, TargetKind.HUBSPOT_PROPERTIES})
# The target every write-back delivery names: the portal the record lives in.
HUBSPOT_TARGET = "hubspot"


class IntentStatus(StrEnum):
    PENDING = "pending"
    SUPPRESSED = "suppressed"


class Unresolved(StrEnum):
    """Why a receiver could not be reached directly (shown in /admin/health)."""

    NO_OWNER = "no_owner"
    NO_SLACK_USER = "no_slack_user"
    NO_MANAGER = "no_manager"
    NO_FALLBACK = "no_fallback"


@dataclass(frozen=True, slots=True)
class AlertEvent:
    """An SLA event as routing needs it. `route` and `step` are set on follow-ups only."""

    id: int
    portal_id: int
    instance_id: int
    rule_id: str
    rule_kind: str
    type: EventType
    object_type: str
    object_id: str
    owner_id: str | None
    occurred_at: datetime
    route: str | None = None
    step: int | None = None


@dataclass(frozen=True, slots=True)
class Receiver:
    """`name` is the channel (name or id) or the webhook endpoint; empty for owner/manager."""

    kind: ReceiverKind
    name: str = ""

    def __str__(self) -> str:
        return f"{self.kind}:{self.name}" if self.name else str(self.kind)


@dataclass(frozen=True, slots=True)
class Matcher:
    """Each field, when non-empty, must contain the event's value; empty fields match all."""

    rule_ids: frozenset[str] = frozenset()
    rule_kinds: frozenset[str] = frozenset()
    event_types: frozenset[EventType] = frozenset()
    owner_teams: frozenset[str] = frozenset()
    object_types: frozenset[str] = frozenset()

    def matches(
        self, event: AlertEvent, teams: tuple[str, ...], *, follow_ups: bool = False
    ) -> bool:
        """Whether `event` is selected. Without an event filter, follow-ups are selected only
        when `follow_ups` (silences: muting a rule mutes its escalations and reminders)."""
        if self.event_types:
            if event.type not in self.event_types:
                return False
        elif event.type in FOLLOW_UPS and not follow_ups:
            return False
        return (
            _allows(self.rule_ids, event.rule_id)
            and _allows(self.rule_kinds, event.rule_kind)
            and _allows(self.object_types, event.object_type)
            and (not self.owner_teams or not self.owner_teams.isdisjoint(teams))
        )


def _allows(allowed: frozenset[str], value: str) -> bool:
    return not allowed or value in allowed


@dataclass(frozen=True, slots=True)
class EscalationStep:
    """After `after` of business time since the breach, still breached: tell `receivers`."""

    after: Goal
    receivers: tuple[Receiver, ...]


@dataclass(frozen=True, slots=True)
class Route:
    name: str
    match: Matcher
    receivers: tuple[Receiver, ...]
    fallback: tuple[Receiver, ...] = ()
    continue_matching: bool = False
    escalation: tuple[EscalationStep, ...] = ()
    repeat: Goal | None = None
    group_wait: timedelta = DEFAULT_GROUP_WAIT
    # DMs always wait for working hours; channel posts only when the route says so.
    channels_wait_for_working_hours: bool = False


@dataclass(frozen=True, slots=True)
class Silence:
    """Mutes what matches, from `starts_at` until `ends_at`. The empty silence mutes nothing:
    at least one of the matcher, owners, records or instances must be given."""

    id: str
    reason: str
    starts_at: datetime
    ends_at: datetime
    match: Matcher | None = None
    owner_ids: frozenset[str] = frozenset()
    records: frozenset[tuple[str, str]] = frozenset()  # (object type, object id)
    instance_ids: frozenset[int] = frozenset()

    def is_active(self, now: datetime) -> bool:
        return self.starts_at <= now < self.ends_at

    def covers(self, event: AlertEvent, teams: tuple[str, ...]) -> bool:
        # Every criterion given must hold: a silence narrows, it never widens.
        checks: list[bool] = []
        if self.match is not None:
            checks.append(self.match.matches(event, teams, follow_ups=True))
        if self.owner_ids:
            checks.append(event.owner_id in self.owner_ids)
        if self.records:
            checks.append((event.object_type, event.object_id) in self.records)
        if self.instance_ids:
            checks.append(event.instance_id in self.instance_ids)
        return bool(checks) and all(checks)


@dataclass(frozen=True, slots=True)
class Directory:
    """What routing looks up, prepared by the caller from the store and the config.

    `owner_slack_users` holds the cached `users.lookupByEmail` answers: a Slack user id, or
    None when Slack said `users_not_found` or the owner has no email; an owner missing from
    it counts as having no Slack user (look owners up before routing). `calendar_for` is the
    record's business calendar (the same the rule counts in); it sets escalation times and
    the working hours a DM waits for, a manager's DM included (managers work the team's
    hours in the calendars slaguard knows).
    """

    calendar_for: Callable[[AlertEvent], Calendar]
    owner_slack_users: Mapping[str, str | None] = field(default_factory=dict)
    owner_teams: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    team_managers: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    channels: Mapping[str, str] = field(default_factory=dict)
    webhook_events: Mapping[str, frozenset[EventType]] = field(default_factory=dict)

    def teams_of(self, owner_id: str | None) -> tuple[str, ...]:
        return self.owner_teams.get(owner_id, ()) if owner_id else ()


@dataclass(frozen=True, slots=True)
class DeliveryIntent:
    """One message to one target because of one event. `dedupe_key` is unique per (event,
    target): the outbox's unique key, so routing the same event twice enqueues nothing new."""

    event_id: int
    route: str
    receiver: Receiver
    target_kind: TargetKind
    target: str
    not_before: datetime
    group_wait: timedelta
    status: IntentStatus = IntentStatus.PENDING
    reason: str | None = None
    silence_id: str | None = None

    @property
    def dedupe_key(self) -> str:
        return dedupe_key(self.event_id, self.target_kind, self.target)

    @property
    def group_key(self) -> tuple[TargetKind, str]:
        return (self.target_kind, self.target)


def dedupe_key(event_id: int, target_kind: TargetKind, target: str) -> str:
    return f"{event_id}/{target_kind}:{target}"


@dataclass(frozen=True, slots=True)
class Unreachable:
    """A receiver nobody could stand in for: recorded so health can say who missed what."""

    event_id: int
    route: str
    receiver: Receiver
    reason: Unresolved
    detail: str


@dataclass(frozen=True, slots=True)
class RoutingResult:
    intents: tuple[DeliveryIntent, ...]
    unreachable: tuple[Unreachable, ...]
    matched_routes: tuple[str, ...]

    @property
    def pending(self) -> tuple[DeliveryIntent, ...]:
        return tuple(i for i in self.intents if i.status is IntentStatus.PENDING)

    @property
    def suppressed(self) -> tuple[DeliveryIntent, ...]:
        return tuple(i for i in self.intents if i.status is IntentStatus.SUPPRESSED)
