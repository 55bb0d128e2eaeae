"""The seam between the outbox and the deliverers: what a worker hands over, what comes back.

The outbox (claiming, leases, retries, dead letters, the attempt log) knows nothing of Slack
or HTTP; a deliverer knows nothing of the store. A worker claims due deliveries, builds one
`DeliveryJob` per message (several deliveries when a group is folded into a digest), calls the
deliverer for the job's target kind and records the `DeliveryResult` as one attempt.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from alerts.messages import SlackMessage
from alerts.model import TargetKind


class Outcome(StrEnum):
    DELIVERED = "delivered"
    RETRY = "retry"  # worth trying again later (429, 5xx, network, timeout)
    DEAD = "dead"  # retrying cannot help (bad channel, revoked token, 4xx, redirect)


@dataclass(frozen=True, slots=True)
class SlackContent:
    message: SlackMessage
    # One Slack message per SLA instance and target, updated in place as the instance moves;
    # None for messages that stand alone (digests, scorecards, tests).
    instance_id: int | None
    # Reminders and escalations answer in the thread of the instance's message.
    in_thread: bool = False


@dataclass(frozen=True, slots=True)
class WebhookContent:
    endpoint: str
    url: str
    payload: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class HubSpotItem:
    """One delivery's SLA instance as write-back needs it, read when the job is built (so a
    retry writes the instance's state then, not the state when the event happened)."""

    delivery_id: int
    event_type: str
    instance_id: int
    portal_id: int
    object_type: str  # HubSpot's plural: contacts | deals
    object_id: str
    owner_id: str | None
    state: str
    due_at: datetime | None
    first_touch_minutes: int | None
    subject: str
    body: str


@dataclass(frozen=True, slots=True)
class HubSpotContent:
    items: tuple[HubSpotItem, ...]


@dataclass(frozen=True, slots=True)
class DeliveryJob:
    delivery_ids: tuple[int, ...]
    # Stable across retries: `webhook-id` for endpoints, message metadata for Slack, so the
    # receiver (or our own look-up) can tell a retry from a new alert.
    key: str
    target_kind: TargetKind
    target: str  # Slack user or channel id, or the endpoint's name
    attempt: int  # 1 on the first try
    slack: SlackContent | None = None
    webhook: WebhookContent | None = None
    hubspot: HubSpotContent | None = None


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    outcome: Outcome
    detail: str = ""  # the reason or a response excerpt; never a secret
    status_code: int | None = None
    retry_after: float | None = None  # seconds the receiver asked us to wait
    duration: float = 0.0
    # Facts the outbox turns into state: a 410 disables the endpoint, a revoked Slack token
    # degrades health.
    endpoint_gone: bool = False
    auth_broken: bool = False
    slack_channel: str | None = None
    slack_ts: str | None = None


class Deliverer(Protocol):
    def deliver(self, job: DeliveryJob) -> DeliveryResult: ...


@dataclass(frozen=True, slots=True)
class MessageRef:
    channel: str
    ts: str


class SlackMessageRefs(Protocol):
    """Where each SLA instance's Slack message lives, per target, to update it in place."""

    def find(self, instance_id: int, target: str) -> MessageRef | None: ...

    def save(self, instance_id: int, target: str, ref: MessageRef) -> None: ...


class SlackActions(Protocol):
    """What the buttons on an alert do; `/slack/actions` calls it after verifying the request."""

    def acknowledge(self, instance_id: int, slack_user: str, at: datetime) -> None: ...

    def snooze(self, instance_id: int, slack_user: str, until: datetime, at: datetime) -> None: ...
