"""`/admin/api/silences`: create, list and end alert silences, behind the admin token.

Every body the schema allows is one slaguard can act on (at least one criterion, a duration
that is a positive span, text without control characters), so a schema-valid request is
never refused for its content.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query, status
from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.json_schema import SkipJsonSchema

from alerts.outbox.silences import (
    DURATION_PATTERN,
    SilenceSpec,
    create_silence,
    end_silence,
    list_silences,
    parse_duration,
    parse_record,
)
from app.admin import audit
from app.api.admin_actor import ActorDep
from app.api.admin_auth import AdminDep
from app.api.deps import SessionDep
from app.api.responses import ADMIN_REFUSALS, error
from app.models import AlertSilence

router = APIRouter(prefix="/admin/api", tags=["admin"])

_TEXT = r"^[^\x00-\x1f\x7f]*[^\x00-\x20\x7f][^\x00-\x1f\x7f]*$"  # printable, not blank
_RECORD = r"^[a-z_]{1,32}:[^\x00-\x20\x7f]{1,64}$"
_CRITERIA = ("rule", "owner", "record", "instance")
MAX_ID = 2**63 - 1
# Longer asks are cut to this: a silence is for a while, a route change is for good.
MAX_DURATION = timedelta(days=366)


class SilenceIn(BaseModel):
    """A silence from now on for `duration` (at most 366 days); at least one of rule, owner,
    record, instance."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"anyOf": [{"required": [name]} for name in _CRITERIA]},
    )

    reason: Annotated[str, Field(max_length=2000, pattern=_TEXT)]
    duration: Annotated[str, Field(max_length=32, pattern=DURATION_PATTERN, examples=["2h"])]
    # Absent, not null: a null criterion would let a body select nothing.
    rule: Annotated[str, Field(max_length=128, pattern=_TEXT)] | SkipJsonSchema[None] = None
    owner: Annotated[str, Field(max_length=64, pattern=_TEXT)] | SkipJsonSchema[None] = None
    record: (
        Annotated[str, Field(pattern=_RECORD, examples=["contact:501"])] | SkipJsonSchema[None]
    ) = None
    instance: Annotated[int, Field(ge=1, le=MAX_ID)] | SkipJsonSchema[None] = None
    created_by: Annotated[str, Field(max_length=200, pattern=_TEXT)] = "admin-api"

    @model_validator(mode="after")
    def _selects_something(self) -> SilenceIn:
        if all(getattr(self, name) is None for name in _CRITERIA):
            raise ValueError("a silence needs a rule, an owner, a record or an instance")
        return self


class SilenceOut(BaseModel):
    id: int
    rule: str | None
    owner: str | None
    record: str | None
    instance: int | None
    matcher: dict[str, Any] | None
    starts_at: datetime
    ends_at: datetime
    ended_at: datetime | None
    active: bool
    reason: str
    created_by: str
    created_at: datetime


def silence_out(row: AlertSilence, now: datetime) -> SilenceOut:
    record = f"{row.object_type}:{row.object_id}" if row.object_type and row.object_id else None
    return SilenceOut(
        id=row.id,
        rule=row.rule_id,
        owner=row.owner_id,
        record=record,
        instance=row.instance_id,
        matcher=row.matcher,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        ended_at=row.ended_at,
        active=row.ended_at is None and row.starts_at <= now < row.ends_at,
        reason=row.reason,
        created_by=row.created_by,
        created_at=row.created_at,
    )


def _spec(body: SilenceIn, now: datetime) -> SilenceSpec:
    return SilenceSpec(
        reason=body.reason,
        starts_at=now,
        ends_at=now + min(parse_duration(body.duration), MAX_DURATION),
        rule_id=body.rule,
        owner_id=body.owner,
        record=parse_record(body.record) if body.record else None,
        instance_id=body.instance,
    )


@router.post(
    "/silences",
    status_code=status.HTTP_201_CREATED,
    responses={400: error("the body is not JSON"), **ADMIN_REFUSALS},
)
def create(actor: ActorDep, body: SilenceIn, session: SessionDep) -> SilenceOut:
    """Mute the alerts the criteria select (all must hold), from now for `duration`.
    Deliveries it mutes are kept as `suppressed`, naming the silence."""
    now = datetime.now(UTC)
    silence_id = create_silence(session, _spec(body, now), body.created_by, now)
    details = body.model_dump(exclude_none=True)
    audit.record(session, actor, "create_silence", f"alert_silence:{silence_id}", now, details)
    row = session.get(AlertSilence, silence_id)
    assert row is not None
    return silence_out(row, now)


@router.get("/silences", responses={**ADMIN_REFUSALS})
def list_all(
    _: AdminDep,
    session: SessionDep,
    state: Annotated[Literal["active", "all"], Query()] = "active",
) -> list[SilenceOut]:
    """Silences still in force (`active`, the default, scheduled ones included), or all."""
    now = datetime.now(UTC)
    rows = list_silences(session, now, active_only=state == "active")
    return [silence_out(row, now) for row in rows]


@router.post(
    "/silences/{silence_id}/end",
    responses={404: error("no silence has this id"), **ADMIN_REFUSALS},
)
def end(
    actor: ActorDep, silence_id: Annotated[int, Path(ge=1, le=MAX_ID)], session: SessionDep
) -> SilenceOut:
    """End the silence now; ending one already over changes nothing."""
    now = datetime.now(UTC)
    row = end_silence(session, silence_id, now)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no silence {silence_id}")
    audit.record(session, actor, "end_silence", f"alert_silence:{silence_id}", now)
    return silence_out(row, now)
