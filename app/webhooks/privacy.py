"""contact.privacyDeletion: the contact's personal data leaves every table of the store.

What goes: the contact row, its property versions and transitions, its associations (both
directions), pending re-reads, every raw webhook event about it or naming it (association and
merge events included), the dead letters that mention it, and any row of another area's table
that points at it through an (object|record|from|to)_type / _id column pair (SLA instances,
events, ...). What stays: HubSpot's numeric id in `erased_records`, which is no personal data by
itself and is what keeps a late or retried event from bringing the contact back.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import Table, delete, or_, select
from sqlalchemy.orm import Session

from app.models import (
    Base,
    Contact,
    ErasedRecord,
    PropertyVersion,
    RecordRefresh,
    WebhookDeadLetter,
    WebhookEvent,
)
from app.store.bulk import bulk_insert

# Column pairs that name a record in any table; a table may have several.
_RECORD_COLUMN_PAIRS = (
    ("object_type", "object_id"),
    ("record_type", "record_id"),
    ("from_type", "from_id"),
    ("to_type", "to_id"),
)
# Tables this module clears explicitly (or must leave alone).
_HANDLED = {
    "contacts",
    "property_clocks",
    "record_refresh_queue",
    "erased_records",
    "webhook_events",
    "webhook_dead_letters",
}
_ID_FIELDS = ("objectId", "fromObjectId", "toObjectId", "primaryObjectId", "newObjectId")
_CONTACT_NAMES = ("contact", "contacts", "CONTACT")


def is_erased(session: Session, portal_id: int, contact_id: str) -> bool:
    return session.get(ErasedRecord, (portal_id, "contact", contact_id)) is not None


class ErasedContacts:
    """The erased contacts a round of events names, loaded in one query, kept up to date as
    the round erases more."""

    def __init__(self, session: Session, events: Iterable[WebhookEvent]) -> None:
        named: dict[int, set[str]] = {}
        for event in events:
            named.setdefault(event.portal_id, set()).update(contact_ids_named(event))
        self._erased: set[tuple[int, str]] = set()
        for portal_id, ids in named.items():
            for chunk in _chunks(sorted(ids), 500):
                found = session.scalars(
                    select(ErasedRecord.object_id).where(
                        ErasedRecord.portal_id == portal_id,
                        ErasedRecord.object_type == "contact",
                        ErasedRecord.object_id.in_(chunk),
                    )
                )
                self._erased.update((portal_id, contact_id) for contact_id in found)

    def add(self, portal_id: int, contact_id: str) -> None:
        self._erased.add((portal_id, contact_id))

    def is_about_erased(self, event: WebhookEvent) -> bool:
        """About an erased contact itself: not to be applied at all."""
        return event.object_type == "contact" and (event.portal_id, event.object_id) in self._erased

    def names_erased(self, event: WebhookEvent) -> bool:
        """Names an erased contact anywhere (merges, association changes): its raw copy must
        not be kept, even when the event is applied."""
        return any((event.portal_id, i) in self._erased for i in contact_ids_named(event))


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def contact_ids_named(event: WebhookEvent) -> set[str]:
    payload = event.payload if isinstance(event.payload, dict) else {}
    named: set[str] = set()
    if event.object_type == "contact":
        named.add(event.object_id)
        if event.subscription_type == "contact.merge":
            named.update(str(i) for i in payload.get("mergedObjectIds") or [])
            for field in ("primaryObjectId", "newObjectId"):
                if payload.get(field) is not None:
                    named.add(str(payload[field]))
    to_contact = str(payload.get("associationType", "")).upper().endswith("_TO_CONTACT")
    if to_contact and payload.get("toObjectId") is not None:
        named.add(str(payload["toObjectId"]))
    return named


def erase_contact(session: Session, portal_id: int, contact_id: str, now: datetime) -> None:
    _remember_erasure(session, portal_id, contact_id, now)
    session.execute(delete(Contact).where(Contact.portal_id == portal_id, Contact.id == contact_id))
    for model in (PropertyVersion, RecordRefresh):
        session.execute(
            delete(model).where(
                model.portal_id == portal_id,
                model.object_type == "contact",
                model.object_id == contact_id,
            )
        )
    _delete_rows_pointing_at(session, portal_id, contact_id)
    _delete_raw_events(session, portal_id, contact_id)
    _delete_dead_letters(session, contact_id)


def _remember_erasure(session: Session, portal_id: int, contact_id: str, now: datetime) -> None:
    row = {"portal_id": portal_id, "object_type": "contact", "object_id": contact_id}
    bulk_insert(session, ErasedRecord, [{**row, "erased_at": now}], skip_conflicts_on=())


def _delete_rows_pointing_at(session: Session, portal_id: int, contact_id: str) -> None:
    # Children before parents, so a foreign key never stops the erasure half-way.
    for table in reversed(Base.metadata.sorted_tables):
        if table.name in _HANDLED:
            continue
        conditions = _pointing_conditions(table, contact_id)
        if not conditions:
            continue
        where = or_(*conditions)
        if "portal_id" in table.c:
            where = where & (table.c.portal_id == portal_id)
        session.execute(delete(table).where(where))


def _pointing_conditions(table: Table, contact_id: str) -> list[Any]:
    conditions = []
    for type_column, id_column in _RECORD_COLUMN_PAIRS:
        if type_column in table.c and id_column in table.c:
            conditions.append(
                table.c[type_column].in_(_CONTACT_NAMES) & (table.c[id_column] == contact_id)
            )
    return conditions


def _delete_raw_events(session: Session, portal_id: int, contact_id: str) -> None:
    session.execute(
        delete(WebhookEvent).where(
            WebhookEvent.portal_id == portal_id,
            WebhookEvent.object_type == "contact",
            WebhookEvent.object_id == contact_id,
        )
    )
    # Other records' association and merge events can name the contact in their payload.
    candidates = session.execute(
        select(WebhookEvent.id, WebhookEvent.payload).where(
            WebhookEvent.portal_id == portal_id,
            or_(
                WebhookEvent.subscription_type.like("%.associationChange"),
                WebhookEvent.subscription_type.like("%.merge"),
            ),
        )
    )
    naming = [event_id for event_id, payload in candidates if _names(payload, contact_id)]
    if naming:
        session.execute(delete(WebhookEvent).where(WebhookEvent.id.in_(naming)))


def _delete_dead_letters(session: Session, contact_id: str) -> None:
    # A dead letter did not parse, so it may name the contact anywhere: any JSON value equal
    # to the id, or the id as a whole number in text that is not JSON at all.
    candidates = session.execute(
        select(WebhookDeadLetter.id, WebhookDeadLetter.raw).where(
            WebhookDeadLetter.raw.contains(contact_id)
        )
    )
    pattern = re.compile(rf"(?<!\d){re.escape(contact_id)}(?!\d)")
    doomed = [letter_id for letter_id, raw in candidates if pattern.search(raw)]
    if doomed:
        session.execute(delete(WebhookDeadLetter).where(WebhookDeadLetter.id.in_(doomed)))


def _names(payload: Any, contact_id: str) -> bool:
    if not isinstance(payload, dict):
        return False
    for field in _ID_FIELDS:
        if str(payload.get(field)) == contact_id:
            return True
    merged = payload.get("mergedObjectIds")
    return isinstance(merged, list) and contact_id in [str(i) for i in merged]
