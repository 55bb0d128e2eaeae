"""The admin API's reads of SLA instances and the SLA event log, paged by keyset.

Instances come newest first by id (`before`: the last id of the previous page); every filter
is an equality or a range that an index of sla_instances serves, and the page is a LIMIT on
the primary key, so a page costs the same on the first and on the thousandth. Events since a
time come in (recorded_at, id) order through `ix_sla_events_recorded_at`; the cursor is that
pair of the last event.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, select, tuple_
from sqlalchemy.orm import Session

from app.models import Owner, SlaEvent, SlaInstance


@dataclass(frozen=True, slots=True)
class InstanceFilter:
    rule: str | None = None
    state: str | None = None
    owner: str | None = None
    team: str | None = None
    since: datetime | None = None  # started at or after
    object_type: str | None = None


def _filtered(
    query: Select[tuple[SlaInstance]], found: InstanceFilter
) -> Select[tuple[SlaInstance]]:
    if found.rule is not None:
        query = query.where(SlaInstance.rule_id == found.rule)
    if found.state is not None:
        query = query.where(SlaInstance.state == found.state)
    if found.owner is not None:
        query = query.where(SlaInstance.owner_id == found.owner)
    if found.team is not None:
        members = select(Owner.id).where(
            Owner.primary_team_id == found.team, Owner.portal_id == SlaInstance.portal_id
        )
        query = query.where(SlaInstance.owner_id.in_(members))
    if found.since is not None:
        query = query.where(SlaInstance.started_at >= found.since)
    if found.object_type is not None:
        query = query.where(SlaInstance.object_type == found.object_type)
    return query


def instances(
    session: Session, found: InstanceFilter, *, before: int | None, limit: int
) -> list[SlaInstance]:
    query = _filtered(select(SlaInstance), found)
    if before is not None:
        query = query.where(SlaInstance.id < before)
    query = query.order_by(SlaInstance.id.desc()).limit(limit)
    return list(session.scalars(query))


def instance(session: Session, instance_id: int) -> SlaInstance | None:
    return session.get(SlaInstance, instance_id)


def instance_events(session: Session, instance_id: int) -> list[SlaEvent]:
    query = select(SlaEvent).where(SlaEvent.instance_id == instance_id).order_by(SlaEvent.id)
    return list(session.scalars(query))


def events_since(
    session: Session, since: datetime, *, after: tuple[datetime, int] | None, limit: int
) -> list[SlaEvent]:
    query = select(SlaEvent).where(SlaEvent.recorded_at >= since)
    if after is not None:
        query = query.where(tuple_(SlaEvent.recorded_at, SlaEvent.id) > tuple_(*after))
    query = query.order_by(SlaEvent.recorded_at, SlaEvent.id).limit(limit)
    return list(session.scalars(query))
