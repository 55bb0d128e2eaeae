"""The admin API's answers (response models, so OpenAPI documents each field) and the query
parameters several routes share."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import Query
from pydantic import BaseModel

from app.models import AlertDelivery, AuditLog, SlaEvent, SlaInstance

MAX_ID = 2**63 - 1
DEFAULT_PAGE = 100
MAX_PAGE = 500

Limit = Annotated[int, Query(ge=1, le=MAX_PAGE, description="Rows per page.")]
Cursor = Annotated[
    int | None,
    Query(ge=1, le=MAX_ID, description="`next_cursor` of the previous page; absent: the first."),
]


# An event page's cursor: the last event's recorded_at (microseconds since 1970) and id. The
# digit bounds keep every string the pattern allows a valid time and a 64-bit id.
EVENT_CURSOR = r"^[0-9]{1,17}-[0-9]{1,18}$"
EventCursor = Annotated[
    str | None,
    Query(
        pattern=EVENT_CURSOR, description="`next_cursor` of the previous page; absent: the first."
    ),
]
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def event_cursor(row: SlaEvent) -> str:
    micros = (row.recorded_at - _EPOCH) // timedelta(microseconds=1)
    return f"{micros}-{row.id}"


def parse_event_cursor(text: str) -> tuple[datetime, int]:
    micros, _, ident = text.partition("-")
    return _EPOCH + timedelta(microseconds=int(micros)), int(ident)


def as_utc(value: datetime | None) -> datetime | None:
    """A time without an offset is read as UTC, as the CLI reads one."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


class InstanceOut(BaseModel):
    id: int
    portal_id: int
    rule_id: str
    kind: str
    object_type: str
    object_id: str
    cycle: int
    owner_id: str | None
    state: str
    paused: bool
    started_at: datetime
    warning_at: datetime | None
    due_at: datetime | None
    stopped_at: datetime | None
    breached_at: datetime | None
    goal: str | None
    metrics: dict[str, Any]
    updated_at: datetime

    @classmethod
    def of(cls, row: SlaInstance) -> InstanceOut:
        return cls.model_validate(row, from_attributes=True)


class EventOut(BaseModel):
    id: int
    instance_id: int
    rule_id: str
    kind: str
    object_type: str
    object_id: str
    cycle: int
    owner_id: str | None
    type: str
    follow_up: str
    occurred_at: datetime
    recorded_at: datetime
    details: dict[str, Any]

    @classmethod
    def of(cls, row: SlaEvent) -> EventOut:
        return cls.model_validate(row, from_attributes=True)


class InstancePage(BaseModel):
    items: list[InstanceOut]
    next_cursor: int | None  # absent: this was the last page


class InstanceWithEvents(InstanceOut):
    events: list[EventOut]


class EventPage(BaseModel):
    items: list[EventOut]
    next_cursor: str | None


class DeadLetterOut(BaseModel):
    id: int
    event_id: int
    instance_id: int
    route: str
    receiver: str
    target_kind: str | None
    target: str | None
    state: str
    attempts: int
    last_error: str | None
    created_at: datetime

    @classmethod
    def of(cls, row: AlertDelivery) -> DeadLetterOut:
        return cls.model_validate(row, from_attributes=True)


class DeadLetterPage(BaseModel):
    items: list[DeadLetterOut]
    next_cursor: int | None


class ReplayOut(BaseModel):
    """`replayed`: how many dead letters went back in the queue (0: nothing was dead, such as
    a second replay of the same one)."""

    replayed: int
    ids: list[int]


class AuditOut(BaseModel):
    id: int
    at: datetime
    actor: str
    source: str
    action: str
    target: str
    remote: str | None
    details: dict[str, Any]

    @classmethod
    def of(cls, row: AuditLog) -> AuditOut:
        return cls.model_validate(row, from_attributes=True)


class AuditPage(BaseModel):
    items: list[AuditOut]
    next_cursor: int | None
