"""Queries of the dashboard's rollups (dashboard_touch_times and its marks)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from app.models import DashboardRollupMark, DashboardTouchTime, SlaEvent, SlaInstance
from app.sla.states import SlaState

STOPPED = (SlaState.MET, SlaState.MET_LATE)
_CHUNK = 500


def mark(session: Session, portal_id: int, rule_id: str) -> DashboardRollupMark | None:
    return session.get(DashboardRollupMark, (portal_id, rule_id))


def save_mark(
    session: Session, portal_id: int, rule_id: str, fingerprint: str, through: int, now: datetime
) -> None:
    row = mark(session, portal_id, rule_id)
    if row is None:
        row = DashboardRollupMark(portal_id=portal_id, rule_id=rule_id)
        session.add(row)
    row.fingerprint, row.through_event_id, row.updated_at = fingerprint, through, now
    session.flush()


def newest_event_id(session: Session) -> int:
    return int(session.scalar(select(func.max(SlaEvent.id))) or 0)


def settled_event_id(session: Session, head: int, recorded_before: datetime) -> int:
    """The newest event id up to `head` recorded before `recorded_before`: every event below
    it was committed by now, as no writing transaction runs for longer than half the gap."""
    query = select(func.max(SlaEvent.id)).where(
        SlaEvent.id <= head, SlaEvent.recorded_at < recorded_before
    )
    return int(session.scalar(query) or 0)


def instances_with_events_after(
    session: Session, portal_id: int, rule_id: str, after: int, through: int | None = None
) -> set[int]:
    """The instances of a rule that have an SLA event with an id above `after`: read by the
    primary key's range, so a fresh mark makes this a handful of rows."""
    query = select(SlaEvent.instance_id, SlaEvent.portal_id, SlaEvent.rule_id).where(
        SlaEvent.id > after
    )
    if through is not None:
        query = query.where(SlaEvent.id <= through)
    return {
        int(instance_id)
        for instance_id, portal, rule in session.execute(query)
        if portal == portal_id and rule == rule_id and instance_id is not None
    }


def stopped_cycles(
    session: Session, portal_id: int, rule_id: str, instance_ids: Iterable[int] | None
) -> list[Any]:
    """(id, object type, object id, owner, started, stopped) of a rule's cycles that stopped
    met or met late: all of them, or those among `instance_ids`."""
    columns = (
        SlaInstance.id,
        SlaInstance.object_type,
        SlaInstance.object_id,
        SlaInstance.owner_id,
        SlaInstance.started_at,
        SlaInstance.stopped_at,
    )
    where = (
        SlaInstance.portal_id == portal_id,
        SlaInstance.rule_id == rule_id,
        SlaInstance.state.in_(STOPPED),
        SlaInstance.stopped_at.is_not(None),
    )
    if instance_ids is None:
        return list(session.execute(select(*columns).where(*where)))
    wanted = sorted(instance_ids)
    found: list[Any] = []
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        found.extend(session.execute(select(*columns).where(*where, SlaInstance.id.in_(chunk))))
    return found


def forget(
    session: Session, portal_id: int, rule_id: str, instance_ids: Sequence[int] | None
) -> None:
    """Removes the rule's rollup rows: all of them, or those of `instance_ids`."""
    where = (DashboardTouchTime.portal_id == portal_id, DashboardTouchTime.rule_id == rule_id)
    if instance_ids is None:
        session.execute(delete(DashboardTouchTime).where(*where))
        return
    wanted = sorted(instance_ids)
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        session.execute(
            delete(DashboardTouchTime).where(*where, DashboardTouchTime.instance_id.in_(chunk))
        )


def store(session: Session, rows: list[dict[str, Any]]) -> None:
    if rows:
        session.execute(insert(DashboardTouchTime), rows)


def touch_times(
    session: Session, portal_id: int, rule_id: str, since: datetime | None
) -> list[Any]:
    """(instance id, owner, wall hours, business hours) of the rule's rolled-up cycles started
    since `since`, read from the covering index."""
    query = select(
        DashboardTouchTime.instance_id,
        DashboardTouchTime.owner_id,
        DashboardTouchTime.wall_hours,
        DashboardTouchTime.business_hours,
    ).where(DashboardTouchTime.portal_id == portal_id, DashboardTouchTime.rule_id == rule_id)
    if since is not None:
        query = query.where(DashboardTouchTime.started_at >= since)
    # The driver's own tuples (every column is a plain number or text): tens of thousands
    # of rows cost a fraction of SQLAlchemy's rows.
    result = session.connection().execute(query)
    try:
        return list(result.cursor.fetchall()) if result.cursor is not None else []
    finally:
        result.close()
