"""`/admin/api/instances` and `/admin/api/events`: SLA instances and the event log, read-only."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Path, Query, status

from app.admin import sla_queries
from app.admin.sla_queries import InstanceFilter
from app.api.admin_auth import AdminDep
from app.api.admin_models import (
    DEFAULT_PAGE,
    MAX_ID,
    Cursor,
    EventCursor,
    EventOut,
    EventPage,
    InstanceOut,
    InstancePage,
    InstanceWithEvents,
    Limit,
    as_utc,
    event_cursor,
    parse_event_cursor,
)
from app.api.deps import SessionDep
from app.api.responses import ADMIN_REFUSALS, error

router = APIRouter(prefix="/admin/api", tags=["admin"])

State = Literal[
    "running", "warning", "breached", "met", "met_late", "cancelled",
    "on_track", "at_risk", "missed",
]  # fmt: skip
ObjectType = Literal["contact", "deal", "period", "window"]
Text = Annotated[str | None, Query(min_length=1, max_length=64)]


@router.get("/instances", responses={**ADMIN_REFUSALS})
def list_instances(
    _: AdminDep,
    session: SessionDep,
    rule: Text = None,
    state: State | None = None,
    owner: Text = None,
    team: Annotated[
        str | None,
        Query(
            min_length=1, max_length=32, description="A HubSpot team id (the owners' primary team)."
        ),
    ] = None,
    since: Annotated[
        datetime | None, Query(description="Started at or after (UTC unless an offset is given).")
    ] = None,
    object_type: ObjectType | None = None,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_PAGE,
) -> InstancePage:
    """SLA instances, newest first; every filter given must hold."""
    found = InstanceFilter(rule, state, owner, team, as_utc(since), object_type)
    rows = sla_queries.instances(session, found, before=cursor, limit=limit)
    following = rows[-1].id if len(rows) == limit else None
    return InstancePage(items=[InstanceOut.of(row) for row in rows], next_cursor=following)


@router.get(
    "/instances/{instance_id}",
    responses={404: error("no SLA instance has this id"), **ADMIN_REFUSALS},
)
def one_instance(
    _: AdminDep, instance_id: Annotated[int, Path(ge=1, le=MAX_ID)], session: SessionDep
) -> InstanceWithEvents:
    """One SLA instance with its events, oldest first."""
    row = sla_queries.instance(session, instance_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no SLA instance {instance_id}")
    events = [EventOut.of(event) for event in sla_queries.instance_events(session, instance_id)]
    return InstanceWithEvents(**InstanceOut.of(row).model_dump(), events=events)


@router.get("/events", responses={**ADMIN_REFUSALS})
def event_log(
    _: AdminDep,
    session: SessionDep,
    since: Annotated[
        datetime, Query(description="Recorded at or after (UTC unless an offset is given).")
    ],
    cursor: EventCursor = None,
    limit: Limit = DEFAULT_PAGE,
) -> EventPage:
    """The SLA event log from `since` on, in the order slaguard recorded it."""
    after = parse_event_cursor(cursor) if cursor is not None else None
    start = as_utc(since)
    assert start is not None
    rows = sla_queries.events_since(session, start, after=after, limit=limit)
    following = event_cursor(rows[-1]) if len(rows) == limit else None
    return EventPage(items=[EventOut.of(row) for row in rows], next_cursor=following)
