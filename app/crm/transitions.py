"""Changes of the tracked properties (`app.sla.records.TRACKED_BY_TYPE`) as rows of `transitions`.

A webhook change is inserted as a fact (ignored if the same value at the same instant is
already known, e.g. from the sync's history), then the record's timeline for that property is
relinked: each value exits when the next one enters. Both steps depend only on the set of facts,
not on the order they arrived in.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.crm.keys import RecordKey
from app.models import Transition
from app.sla.records import TRACKED_BY_TYPE
from app.store.bulk import bulk_insert

TRACKED_PROPERTIES = {store_type: frozenset(names) for store_type, names in TRACKED_BY_TYPE.items()}
VALUE_WIDTH = 255


def is_tracked(object_type: str, prop: str) -> bool:
    return prop in TRACKED_PROPERTIES.get(object_type, frozenset())


def record_transition(
    session: Session,
    key: RecordKey,
    prop: str,
    value: str | None,
    at: datetime,
    event_id: int | None,
) -> None:
    row = {
        "portal_id": key.portal_id,
        "object_type": key.object_type,
        "object_id": key.object_id,
        "property": prop,
        "value": None if value is None else value[:VALUE_WIDTH],
        "entered_at": at,
        "exited_at": None,
        "source": "webhook",
        "source_id": None if event_id is None else str(event_id),
    }
    bulk_insert(session, Transition, [row], skip_conflicts_on=())
    relink(session, key, prop)


def timeline_order(entered_at: datetime, value: str | None) -> tuple[datetime, int, str]:
    """One order for a property's timeline on every database (ties broken by value)."""
    return (entered_at, 0 if value is None else 1, value or "")


def relink(session: Session, key: RecordKey, prop: str) -> None:
    timeline = sorted(
        session.scalars(
            select(Transition).where(
                Transition.portal_id == key.portal_id,
                Transition.object_type == key.object_type,
                Transition.object_id == key.object_id,
                Transition.property == prop,
            )
        ),
        key=lambda t: timeline_order(t.entered_at, t.value),
    )
    for current, following in zip(timeline, [*timeline[1:], None], strict=True):
        exited_at = None if following is None else following.entered_at
        if current.exited_at != exited_at:
            current.exited_at = exited_at
