"""The admin API's reads of SLA instances and the SLA event log, paged by keyset.

Instances come newest first by id (`before`: the last id of the previous page), read portal by
portal: every index of sla_instances leads with portal_id, and with it fixed a rule and state,
or an owner, is a walk down an index already in id order, stopped by the LIMIT; a page costs
the same on the first and on the thousandth. A team is turned into its owners first. Events since a
time come in (recorded_at, id) order through `ix_sla_events_recorded_at`; the cursor is that
pair of the last event.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, select, tuple_
from sqlalchemy.orm import Session

from app.models import Owner, Portal, SlaEvent, SlaInstance


@dataclass(frozen=True, slots=True)
class InstanceFilter:
    rule: str | None = None
    state: str | None = None
    owner: str | None = None
    team: str | None = None
    since: datetime | None = None  # started at or after
    object_type: str | None = None


def _filtered(
    query: Select[tuple[SlaInstance]], found: InstanceFilter, owners: list[str] | None
) -> Select[tuple[SlaInstance]]:
    if found.rule is not None:
        query = query.where(SlaInstance.rule_id == found.rule)
    if found.state is not None:
        query = query.where(SlaInstance.state == found.state)
    if found.owner is not None:
        query = query.where(SlaInstance.owner_id == found.owner)
    if owners is not None:
        query = query.where(SlaInstance.owner_id.in_(owners))
    if found.since is not None:
        query = query.where(SlaInstance.started_at >= found.since)
    if found.object_type is not None:
        query = query.where(SlaInstance.object_type == found.object_type)
    return query


def _team(session: Session, portal_id: int, team: str) -> list[str]:
    query = select(Owner.id).where(Owner.portal_id == portal_id, Owner.primary_team_id == team)
    return list(session.scalars(query))


def instances(
    session: Session, found: InstanceFilter, *, before: int | None, limit: int
) -> list[SlaInstance]:
    page: list[SlaInstance] = []
    for portal_id in session.scalars(select(Portal.id).order_by(Portal.id)):
        owners = _team(session, portal_id, found.team) if found.team is not None else None
        if owners == []:
            continue  # a team without owners has no instances
        query = _filtered(select(SlaInstance), found, owners)
        query = query.where(SlaInstance.portal_id == portal_id)
        if before is not None:
            query = query.where(SlaInstance.id < before)
        page += session.scalars(query.order_by(SlaInstance.id.desc()).limit(limit))
    return sorted(page, key=lambda row: row.id, reverse=True)[:limit]


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
