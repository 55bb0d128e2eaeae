"""Put HubSpot records into the store: rows, merges, transitions and associations.

The one entry point both the sync and the webhook worker use, so a record lands the same
way whichever road it came by. Nothing here commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from app.crm import repository
from app.crm.history import record_transitions
from app.crm.mapping import merged_ids, record_row
from app.crm.objects import association_from_type, spec_for
from integrations.hubspot.records import AssociationSet, CrmRecord


def apply_records(
    session: Session,
    portal_id: int,
    records: Sequence[CrmRecord],
    *,
    synced_at: datetime,
) -> None:
    """Upsert `records` (all of one HubSpot object type: contacts, deals, calls, ...).

    - typed columns and `properties` are written (a stored row that is newer is kept);
    - ids a record lists in `hs_merged_object_ids` end archived with `merged_into_id` set,
      and links to them move to the survivor; links to archived records are dropped;
    - for records that came with `propertiesWithHistory`, the transitions of those
      properties are replaced by the history read.
    """
    if not records:
        return
    spec = spec_for(records[0].object_type)
    repository.upsert_records(
        session, spec.store_type, [record_row(portal_id, r, synced_at) for r in records]
    )
    survivor_of: dict[str, str] = {}
    for record in records:
        survivor_of.update(dict.fromkeys(merged_ids(record), record.id))
    repository.mark_merged(session, spec.store_type, portal_id, survivor_of, synced_at)
    repository.retarget_associations(session, portal_id, spec.store_type, survivor_of)
    archived = [r.id for r in records if r.archived]
    repository.drop_associations_to(session, portal_id, spec.store_type, archived)
    with_history = [r for r in records if r.history]
    if with_history:
        properties = sorted({name for r in with_history for name in r.history})
        rows = [
            row for r in with_history for row in record_transitions(portal_id, spec.store_type, r)
        ]
        repository.replace_transitions(
            session,
            portal_id,
            spec.store_type,
            [r.id for r in with_history],
            properties,
            rows,
        )


def apply_associations(
    session: Session,
    portal_id: int,
    from_object_type: str,
    to_object_type: str,
    from_ids: Sequence[str],
    sets: Sequence[AssociationSet],
) -> None:
    """Replace the `to_object_type` links of `from_ids` with what HubSpot returned (ids
    missing from `sets` have none left)."""
    from_spec = spec_for(from_object_type)
    to_type = spec_for(to_object_type).store_type
    links = [
        (assoc.from_id, target.to_id, target.type_id, target.label)
        for assoc in sets
        for target in assoc.to
    ]
    repository.replace_associations(
        session, portal_id, association_from_type(from_spec), from_ids, to_type, links
    )
