"""The `alerts:` section of the rules file as pydantic models (shape only; cross-references,
secrets and addresses are checked in `alerts.config`).

    alerts:
      group_wait: 30s
      managers:                      # HubSpot team id -> Slack user ids or emails
        "1001": [U0ADA, ada.lovelace@example.com]
      webhooks:
        crm:
          url: https://hooks.example.com/slaguard
          secret_env: SLAGUARD_WEBHOOK_SECRET_CRM   # the secret itself never sits here
          events: [breached, met_late]
      routes:
        - name: reps
          match: {rules: [first-touch], events: [breached], teams: ["1001"]}
          receivers: [owner, "#sales", "webhook:crm"]
          fallback: ["#sales-managers"]
          continue: true
          repeat: 4h
          escalation:
            - {after: 2h, to: [manager]}
            - {after: 1d, to: ["#sales-managers"]}

      scorecard:                     # weekly, for both teams, to one channel
        channel: "#revops"
        weekday: monday
        time: "09:00"                # quoted: YAML reads 10:30 unquoted as a number
        timezone: Europe/Berlin
      digest:                        # a DM to each rep at the start of their working hours
        rules: [first-touch]         # optional: only these rules' records (default: all)

A receiver is `owner`, `manager`, `#channel-name`, `channel:C0123` (an id) or `webhook:NAME`.
"""

from __future__ import annotations

import re
from datetime import time
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from alerts.model import EventType, Receiver, ReceiverKind
from app.sla.durations import Goal, parse_goal

_CHANNEL = re.compile(r"^#?[a-z0-9_-][a-z0-9._-]{0,79}$")
_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{2,}$")
_ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")
RECEIVER_FORMS = "owner, manager, #channel, channel:C0123 or webhook:NAME"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def parse_receiver(text: str) -> Receiver:
    """`owner` / `manager` / `#sales` / `channel:C0123` / `webhook:crm` -> Receiver."""
    value = text.strip()
    if value in (ReceiverKind.OWNER, ReceiverKind.MANAGER):
        return Receiver(ReceiverKind(value))
    kind, colon, name = value.partition(":")
    if colon and kind == "webhook" and name:
        return Receiver(ReceiverKind.WEBHOOK, name)
    if colon and kind == "channel" and (_CHANNEL_ID.match(name) or _CHANNEL.match(name)):
        return Receiver(ReceiverKind.CHANNEL, name)
    if value.startswith("#") and _CHANNEL.match(value):
        return Receiver(ReceiverKind.CHANNEL, value.removeprefix("#"))
    raise ValueError(f"expected a receiver such as {RECEIVER_FORMS}, got {text!r}")


def _one_receiver(value: Any) -> Any:
    return parse_receiver(value) if isinstance(value, str) else value


def _receivers(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


# Parsed item by item, so an error points at the item's own line.
ReceiverItem = Annotated[Receiver, BeforeValidator(_one_receiver)]


def _duration(value: Any) -> Any:
    return parse_goal(value) if isinstance(value, str) else value


def _texts(value: Any) -> Any:
    if isinstance(value, str | int) and not isinstance(value, bool):
        value = [value]
    if isinstance(value, list):
        return [
            str(item) if isinstance(item, int) and not isinstance(item, bool) else item
            for item in value
        ]
    return value


class MatchSpec(Strict):
    rules: list[str] = Field(default_factory=list)
    kinds: list[str] = Field(default_factory=list)
    events: list[EventType] = Field(default_factory=list)
    teams: list[str] = Field(default_factory=list)
    objects: list[str] = Field(default_factory=list)

    _as_lists = field_validator("rules", "kinds", "events", "teams", "objects", mode="before")(
        _texts
    )


class StepSpec(Strict):
    after: Goal
    to: list[ReceiverItem] = Field(min_length=1)

    _after = field_validator("after", mode="before")(_duration)
    _to = field_validator("to", mode="before")(_receivers)


class RouteSpec(Strict):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")
    match: MatchSpec = Field(default_factory=MatchSpec)
    receivers: list[ReceiverItem] = Field(min_length=1)
    fallback: list[ReceiverItem] = Field(default_factory=list)
    continue_: bool = Field(False, alias="continue")
    repeat: Goal | None = None
    group_wait: Goal | None = None
    quiet_hours: bool = Field(False, description="channel posts wait for working hours too")
    escalation: list[StepSpec] = Field(default_factory=list)

    _lists = field_validator("receivers", "fallback", mode="before")(_receivers)
    _times = field_validator("repeat", "group_wait", mode="before")(_duration)


class WebhookSpec(Strict):
    url: str
    secret_env: str
    events: list[EventType] = Field(default_factory=list)

    _events = field_validator("events", mode="before")(_texts)

    @field_validator("secret_env")
    @classmethod
    def _env_name(cls, value: str) -> str:
        if not _ENV_NAME.match(value):
            raise ValueError(
                f"expected an environment variable name such as SLAGUARD_WEBHOOK_SECRET_CRM, "
                f"got {value!r}"
            )
        return value


WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_CLOCK = re.compile(r"^([01]?[0-9]|2[0-3]):([0-5][0-9])$")


class ScorecardSpec(Strict):
    channel: ReceiverItem
    weekday: int  # 0 = Monday, as datetime.weekday()
    time: time
    timezone: str

    @field_validator("channel")
    @classmethod
    def _a_channel(cls, value: Receiver) -> Receiver:
        if value.kind is not ReceiverKind.CHANNEL:
            raise ValueError(f"expected a channel such as #revops or channel:C0123, got {value}")
        return value

    @field_validator("weekday", mode="before")
    @classmethod
    def _weekday(cls, value: Any) -> Any:
        text = str(value).strip().lower()
        found = [i for i, day in enumerate(WEEKDAYS) if len(text) >= 3 and day.startswith(text)]
        if not isinstance(value, str) or len(found) != 1:
            raise ValueError(f"expected a weekday such as monday or mon, got {value!r}")
        return found[0]

    @field_validator("time", mode="before")
    @classmethod
    def _clock(cls, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            # YAML 1.1 reads 10:30 as the number 630; the author meant a time of day.
            raise ValueError('write the time in quotes, e.g. "10:30"')
        match = _CLOCK.match(value) if isinstance(value, str) else None
        if match is None:
            raise ValueError(f'expected a local time of day as "HH:MM", got {value!r}')
        return time(int(match[1]), int(match[2]))

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            message = f"expected an IANA time zone such as Europe/Berlin, got {value!r}"
            raise ValueError(message) from None
        return value


class DigestSpec(Strict):
    rules: list[str] = Field(default_factory=list)

    _rules = field_validator("rules", mode="before")(_texts)


class AlertsSpec(Strict):
    group_wait: Goal | None = None
    scorecard: ScorecardSpec | None = None
    digest: DigestSpec | None = None
    managers: dict[str, list[str]] = Field(default_factory=dict)
    webhooks: dict[str, WebhookSpec] = Field(default_factory=dict)
    routes: list[RouteSpec] = Field(default_factory=list)

    _group_wait = field_validator("group_wait", mode="before")(_duration)

    @field_validator("managers", mode="before")
    @classmethod
    def _team_ids(cls, value: Any) -> Any:
        # HubSpot team ids are numbers in YAML unless quoted; the store keeps them as text.
        if isinstance(value, dict):
            return {str(key): _texts(item) for key, item in value.items()}
        return value
