"""Property versions: the last-written time (and value) of each record property a webhook set.

Last-writer-wins by event time is the rule that makes the store independent of arrival order.

Every change a webhook carries is a (record, property, instant, value) fact. A fact is applied
only if it is newer than the newest one applied before for that record and property; on the
same instant the larger value wins, so that any permutation of the same facts ends the same.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.crm.keys import RecordKey
from app.models import PropertyVersion

# Pseudo-properties for record-level facts, which no HubSpot property name can collide with.
ARCHIVED = ":archived"
MERGED_INTO = ":merged_into"


def rank(set_at: datetime, value: str | None) -> tuple[datetime, int, str]:
    return (set_at, 0 if value is None else 1, value or "")


def claim(session: Session, key: RecordKey, prop: str, set_at: datetime, value: str | None) -> bool:
    """True (and the version moves) if this fact is the newest seen for `prop` of `key`."""
    version = session.get(PropertyVersion, (key.portal_id, key.object_type, key.object_id, prop))
    if version is None:
        session.add(
            PropertyVersion(
                portal_id=key.portal_id,
                object_type=key.object_type,
                object_id=key.object_id,
                property=prop,
                set_at=set_at,
                value=value,
            )
        )
        return True
    if rank(set_at, value) <= rank(version.set_at, version.value):
        return False
    version.set_at = set_at
    version.value = value
    return True


def current(session: Session, key: RecordKey, prop: str) -> PropertyVersion | None:
    return session.get(PropertyVersion, (key.portal_id, key.object_type, key.object_id, prop))


def forget_record(session: Session, key: RecordKey) -> None:
    session.execute(
        delete(PropertyVersion).where(
            PropertyVersion.portal_id == key.portal_id,
            PropertyVersion.object_type == key.object_type,
            PropertyVersion.object_id == key.object_id,
        )
    )


def versions_of(session: Session, key: RecordKey) -> dict[str, PropertyVersion]:
    rows = session.scalars(
        select(PropertyVersion).where(
            PropertyVersion.portal_id == key.portal_id,
            PropertyVersion.object_type == key.object_type,
            PropertyVersion.object_id == key.object_id,
        )
    )
    return {row.property: row for row in rows}
