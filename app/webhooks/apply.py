"""Applying one stored webhook event to the store. Nothing here commits.

Each kind of event is a fact with a time; `property_versions.claim` decides whether it is the
newest for what it changes, so applying the same events in any order, any number of times,
ends the same.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from app.crm import transitions
from app.crm.keys import RecordKey
from app.models import WebhookEvent
from app.webhooks import privacy, property_versions, records, refresh_queue


@dataclass
class Applied:
    """What applying events touched: records to re-evaluate, and erased contacts."""

    changed: set[RecordKey] = field(default_factory=set)
    erased: set[RecordKey] = field(default_factory=set)


def key_of(event: WebhookEvent, object_id: str | None = None) -> RecordKey:
    return RecordKey(event.portal_id, event.object_type, object_id or event.object_id)


def apply_event(session: Session, event: WebhookEvent, now: datetime, applied: Applied) -> None:
    """Apply `event`; events of object types slaguard does not store are only marked done."""
    if event.object_type not in records.STORED_TYPES:
        return
    action = event.subscription_type.partition(".")[2]
    handler = _HANDLERS.get(action)
    if handler is not None:
        handler(session, event, now, applied)


def _property_change(session: Session, event: WebhookEvent, now: datetime, out: Applied) -> None:
    key = key_of(event)
    prop = event.property_name or ""
    if transitions.is_tracked(key.object_type, prop):
        transitions.record_transition(
            session, key, prop, event.property_value, event.occurred_at, event.event_id
        )
        out.changed.add(key)
    if not property_versions.claim(session, key, prop, event.occurred_at, event.property_value):
        return
    row = records.load(session, key)
    if row is None:
        # Only a read from HubSpot creates a record (it may not exist there); its property
        # version keeps this value, and the read applies it if it is newer than what it reflects.
        refresh_queue.request_refresh(session, key, now)
        out.changed.discard(key)
        return
    if row.synced_at is None:
        # Never read from HubSpot: we only know what events said. Read the whole record soon.
        refresh_queue.request_refresh(session, key, now)
    if records.read_is_newer(row, event.occurred_at):
        return
    records.set_property(row, key.object_type, prop, event.property_value)
    out.changed.add(key)


def _archive_fact(
    session: Session,
    event: WebhookEvent,
    archived: bool,
    out: Applied,
    object_id: str | None = None,
) -> None:
    key = key_of(event, object_id)
    value = "true" if archived else "false"
    if not property_versions.claim(
        session, key, property_versions.ARCHIVED, event.occurred_at, value
    ):
        return
    row, _ = records.load_or_create(session, key)
    if not records.read_is_newer(row, event.occurred_at):
        row.archived = archived
        out.changed.add(key)


def _deletion(session: Session, event: WebhookEvent, now: datetime, out: Applied) -> None:
    _archive_fact(session, event, archived=True, out=out)


def _restore(session: Session, event: WebhookEvent, now: datetime, out: Applied) -> None:
    _archive_fact(session, event, archived=False, out=out)
    refresh_queue.request_refresh(session, key_of(event), now)


def _creation(session: Session, event: WebhookEvent, now: datetime, out: Applied) -> None:
    refresh_queue.request_refresh(session, key_of(event), now)


def _association_change(session: Session, event: WebhookEvent, now: datetime, out: Applied) -> None:
    payload = event.payload
    refresh_queue.request_refresh(session, key_of(event), now)
    # "CONTACT_TO_DEAL", "DEAL_TO_CONTACT", ...: the other end, when slaguard stores its type.
    other_type = str(payload.get("associationType", "")).partition("_TO_")[2].lower()
    other_id = payload.get("toObjectId")
    if other_type in records.STORED_TYPES and other_id is not None:
        other = RecordKey(event.portal_id, other_type, str(other_id))
        if not (
            other_type == "contact" and privacy.is_erased(session, event.portal_id, other.object_id)
        ):
            refresh_queue.request_refresh(session, other, now)


def _merge(session: Session, event: WebhookEvent, now: datetime, out: Applied) -> None:
    payload = event.payload
    survivor = str(payload.get("newObjectId") or payload.get("primaryObjectId") or event.object_id)
    merged_ids = {str(i) for i in payload.get("mergedObjectIds") or []}
    merged_ids.add(str(payload.get("primaryObjectId") or event.object_id))
    merged_ids.discard(survivor)
    for merged_id in sorted(merged_ids):
        if event.object_type == "contact" and privacy.is_erased(
            session, event.portal_id, merged_id
        ):
            continue  # its data is gone for good; a merge must not bring a stub back
        key = key_of(event, merged_id)
        if property_versions.claim(
            session, key, property_versions.MERGED_INTO, event.occurred_at, survivor
        ):
            row, _ = records.load_or_create(session, key)
            row.merged_into_id = survivor
            out.changed.add(key)
        # A merged-away record is archived: one more fact on the same version as deletions.
        _archive_fact(session, event, archived=True, out=out, object_id=merged_id)
    survivor_key = key_of(event, survivor)
    refresh_queue.request_refresh(session, survivor_key, now)
    out.changed.add(survivor_key)


def _privacy_deletion(session: Session, event: WebhookEvent, now: datetime, out: Applied) -> None:
    key = key_of(event)
    privacy.erase_contact(session, key.portal_id, key.object_id, now)
    out.erased.add(key)
    out.changed.discard(key)


_HANDLERS: dict[str, Callable[[Session, WebhookEvent, datetime, Applied], None]] = {
    "propertyChange": _property_change,
    "deletion": _deletion,
    "restore": _restore,
    "creation": _creation,
    "associationChange": _association_change,
    "merge": _merge,
    "privacyDeletion": _privacy_deletion,
}
