"""Reading queued records from HubSpot in batches and storing them in the CRM store (`app.crm`).

Creation, restore, merge and association events only say *that* a record changed; the
record itself (properties, history, associations) is read by batch, at most 100 ids per
request, once per record however many events asked in the coalescing window.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from app.config import Settings
from app.crm.apply import apply_associations, apply_records
from app.crm.keys import RecordKey
from app.crm.objects import ObjectSpec, spec_for
from app.evaluation import handoff
from app.hubspot_client import HubSpotApi
from app.store.db import SessionFactory, session_scope
from app.webhooks import privacy, property_versions, records, refresh_queue
from app.webhooks.ingest import write_lock
from integrations.hubspot.errors import HubSpotError
from integrations.hubspot.records import AssociationSet, CrmRecord

log = logging.getLogger(__name__)


def refresh_due_records(
    session_factory: SessionFactory, client: HubSpotApi, settings: Settings, now: datetime
) -> int:
    """Read and store every due queued record; returns how many ids were read."""
    with session_scope(session_factory) as session:
        batches = refresh_queue.due_batches(session, now)
    read = 0
    for (portal_id, object_type), ids in sorted(batches.items()):
        spec = spec_for(object_type)
        try:
            found, missing, links = _read(client, spec, ids, settings)
        except HubSpotError as exc:
            log.warning("re-reading %d %s record(s) failed: %s", len(ids), object_type, exc)
            with session_scope(session_factory) as session:
                refresh_queue.postpone(session, portal_id, object_type, ids, now, str(exc))
            continue
        with session_scope(session_factory) as session:
            changed = _store(session, portal_id, spec, ids, found, links, now)
            changed |= _archive_missing(session, portal_id, spec.store_type, missing, now)
            queued = handoff.enqueue(session, handoff.group_keys(changed), now)
        handoff.hand_off(session_factory, queued, now, lock=write_lock(session_factory))
        read += len(ids)
    return read


def _read(
    client: HubSpotApi, spec: ObjectSpec, ids: Sequence[str], settings: Settings
) -> tuple[list[CrmRecord], list[str], dict[str, list[AssociationSet]]]:
    properties = list(dict.fromkeys([*spec.base_properties, *settings.hubspot_extra_properties]))
    found, missing = client.batch_read_with_missing(
        spec.name, ids, properties=properties, properties_with_history=spec.history_properties
    )
    links = {
        to_name: client.associations(spec.name, to_name, ids) for to_name, _ in spec.associations
    }
    return found, missing, links


def _archive_missing(
    session: Session, portal_id: int, store_type: str, missing: Sequence[str], now: datetime
) -> set[RecordKey]:
    """Records HubSpot answered OBJECT_NOT_FOUND for are gone there: a stored one is archived
    (its SLA clocks stop); one never stored stays so (its events' facts wait in its property
    versions, should a restore bring it back)."""
    archived: set[RecordKey] = set()
    for object_id in missing:
        key = RecordKey(portal_id, store_type, object_id)
        row = records.load(session, key)
        if row is None or row.archived:
            continue
        # The read is a fact of `now`: an older deletion or restore arriving late loses to it.
        if property_versions.claim(session, key, property_versions.ARCHIVED, now, "true"):
            row.archived = True
            archived.add(key)
    return archived


def _store(
    session: Session,
    portal_id: int,
    spec: ObjectSpec,
    ids: list[str],
    found: list[CrmRecord],
    links: dict[str, list[AssociationSet]],
    now: datetime,
) -> set[RecordKey]:
    """Store what was read; returns the records that changed (for the SLA hand-off)."""
    if spec.store_type == "contact":
        # A contact erased while its read was in flight stays erased.
        found = [r for r in found if not privacy.is_erased(session, portal_id, r.id)]
    apply_records(session, portal_id, found, synced_at=now)
    for to_name, sets in links.items():
        apply_associations(session, portal_id, spec.name, to_name, ids, sets)
    changed = {RecordKey(portal_id, spec.store_type, r.id) for r in found}
    for key in changed:
        _reapply_newer_changes(session, key)
    refresh_queue.done(session, portal_id, spec.store_type, ids)
    return changed


def _reapply_newer_changes(session: Session, key: RecordKey) -> None:
    """Webhook changes newer than the moment the read reflects win over the read."""
    row = records.load(session, key)
    if row is None or row.modified_at is None:
        return
    for name, version in property_versions.versions_of(session, key).items():
        if name.startswith(":") or version.set_at <= row.modified_at:
            continue
        records.set_property(row, key.object_type, name, version.value)
