"""Every write the sync and the webhook worker make to the CRM tables, in bulk.

Upserts are `INSERT … ON CONFLICT DO UPDATE` on both SQLite and PostgreSQL, one executemany
per page through the store's bulk writer (`app.store.bulk`). Functions take the session as an
argument and never commit: the caller commits (a sync page together with its checkpoint).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import and_, delete, select, update
from sqlalchemy.orm import Session

from app.models import (
    Association,
    Contact,
    Deal,
    Engagement,
    LifecycleStage,
    Owner,
    Pipeline,
    PipelineStage,
    Portal,
    Transition,
)
from app.store.bulk import Row, bulk_insert, bulk_upsert, delete_in
from integrations.hubspot.records import AccountDetails, PipelineRecord, PropertyOption

RecordModel = type[Contact] | type[Deal] | type[Engagement]

MODEL_FOR_STORE_TYPE: dict[str, RecordModel] = {
    "contact": Contact,
    "deal": Deal,
    "call": Engagement,
    "email": Engagement,
    "meeting": Engagement,
    "note": Engagement,
    "task": Engagement,
    "engagement": Engagement,
}
# Columns a record upsert never overwrites: set only by merge handling.
_KEEP_ON_UPDATE = {"portal_id", "id", "merged_into_id"}


# A record's upsert: a stored row read later than the incoming one is kept (late pages never
# win), and a merged-away record never comes back to life through a late or stale read.
_NOT_OLDER = (
    "{table}.modified_at IS NULL OR excluded.modified_at IS NULL"
    " OR excluded.modified_at >= {table}.modified_at"
)
_MERGED_STAYS_ARCHIVED = (
    "CASE WHEN {table}.merged_into_id IS NOT NULL THEN true ELSE excluded.archived END"
)


def ensure_portal(session: Session, portal_id: int) -> None:
    """A portals row for `portal_id` (defaults until the account details are read)."""
    bulk_insert(session, Portal, [{"id": portal_id}], skip_conflicts_on=["id"])


def upsert_portal(session: Session, details: AccountDetails, now: datetime) -> None:
    row = {
        "id": details.portal_id,
        "time_zone": details.time_zone[:64],
        "currency": details.currency[:8],
        "ui_domain": details.ui_domain[:255],
        "updated_at": now,
    }
    bulk_upsert(session, Portal, [row], keys=["id"])


def upsert_records(session: Session, store_type: str, rows: Sequence[Row]) -> None:
    """Contacts, deals or engagements from `app.crm.mapping` (all rows of one type)."""
    if not rows:
        return
    model = MODEL_FOR_STORE_TYPE[store_type]
    table = model.__tablename__
    columns = [name for name in rows[0] if name not in _KEEP_ON_UPDATE]
    merged = "merged_into_id" in model.__table__.c  # engagements are never merged
    bulk_upsert(
        session,
        table,
        rows,
        keys=["portal_id", "id"],
        update_columns=columns,
        set_sql={"archived": _MERGED_STAYS_ARCHIVED.format(table=table)} if merged else None,
        where_sql=_NOT_OLDER.format(table=table),
    )


def upsert_owners(session: Session, rows: Sequence[Row]) -> None:
    bulk_upsert(session, Owner, rows, keys=["portal_id", "id"])


def mark_merged(
    session: Session,
    store_type: str,
    portal_id: int,
    survivor_of: dict[str, str],
    synced_at: datetime,
) -> None:
    """Merged-away records (id -> survivor id) end archived and pointing at their survivor,
    seen before or not."""
    if not survivor_of:
        return
    model = MODEL_FOR_STORE_TYPE[store_type]
    rows = [
        {
            "portal_id": portal_id,
            "id": merged_id,
            "archived": True,
            "merged_into_id": survivor_id,
            "properties": {},
            "synced_at": synced_at,
        }
        for merged_id, survivor_id in survivor_of.items()
    ]
    bulk_upsert(
        session,
        model,
        rows,
        keys=["portal_id", "id"],
        update_columns=["archived", "merged_into_id"],
    )


def drop_associations_to(
    session: Session, portal_id: int, to_type: str, to_ids: Sequence[str]
) -> None:
    """Links to archived records disappear from HubSpot's answers: drop them here too."""
    if to_ids:
        delete_in(
            session,
            Association,
            "to_id",
            to_ids,
            fixed={"portal_id": [portal_id], "to_type": [to_type]},
        )


_LINK_COLUMNS = (
    Association.from_type,
    Association.from_id,
    Association.to_id,
    Association.type_id,
    Association.label,
)


def retarget_associations(
    session: Session, portal_id: int, to_type: str, survivor_of: dict[str, str]
) -> None:
    """Links to merged-away records now point at the survivor, as HubSpot moves them."""
    if not survivor_of:
        return
    moved = session.connection().execute(
        select(*_LINK_COLUMNS).where(
            Association.portal_id == portal_id,
            Association.to_type == to_type,
            Association.to_id.in_(list(survivor_of)),
        )
    )
    rows = [
        {
            "portal_id": portal_id,
            "from_type": from_type,
            "from_id": from_id,
            "to_type": to_type,
            "to_id": survivor_of[to_id],
            "type_id": type_id,
            "label": label,
        }
        for from_type, from_id, to_id, type_id, label in moved
    ]
    drop_associations_to(session, portal_id, to_type, list(survivor_of))
    keys = ["portal_id", "from_type", "from_id", "to_type", "to_id"]
    bulk_insert(session, Association, rows, skip_conflicts_on=keys)


def replace_transitions(
    session: Session,
    portal_id: int,
    object_type: str,
    object_ids: Sequence[str],
    properties: Sequence[str],
    rows: Sequence[Row],
) -> None:
    """Full history was read for these records: it replaces what the store knew of them."""
    if not object_ids:
        return
    delete_in(
        session,
        Transition,
        "object_id",
        object_ids,
        fixed={
            "portal_id": [portal_id],
            "object_type": [object_type],
            "property": list(properties),
        },
    )
    bulk_insert(session, Transition, rows)


def replace_associations(
    session: Session,
    portal_id: int,
    from_type: str,
    from_ids: Sequence[str],
    to_type: str,
    links: Iterable[tuple[str, str, int | None, str | None]],
) -> None:
    """The complete set of `to_type` links of `from_ids`: (from_id, to_id, type_id, label)."""
    if not from_ids:
        return
    delete_in(
        session,
        Association,
        "from_id",
        from_ids,
        fixed={"portal_id": [portal_id], "from_type": [from_type], "to_type": [to_type]},
    )
    rows: dict[tuple[str, str], Row] = {}
    for from_id, to_id, type_id, label in links:
        rows.setdefault(
            (from_id, to_id),
            {
                "portal_id": portal_id,
                "from_type": from_type,
                "from_id": from_id,
                "to_type": to_type,
                "to_id": to_id,
                "type_id": type_id,
                "label": (label or "")[:128] or None,
            },
        )
    bulk_insert(session, Association, list(rows.values()))


def replace_pipelines(
    session: Session, portal_id: int, object_type: str, pipelines: Sequence[PipelineRecord]
) -> None:
    """Pipelines and stages as HubSpot lists them now; ones no longer listed end archived."""
    bulk_upsert(
        session,
        Pipeline,
        [
            {
                "portal_id": portal_id,
                "id": p.id,
                "object_type": object_type,
                "label": p.label[:255],
                "display_order": p.display_order,
                "archived": p.archived,
            }
            for p in pipelines
        ],
        keys=["portal_id", "id"],
    )
    stage_rows = [
        {
            "portal_id": portal_id,
            "pipeline_id": p.id,
            "id": s.id,
            "label": s.label[:255],
            "display_order": s.display_order,
            "is_closed": s.is_closed,
            "is_won": s.is_closed and s.probability is not None and s.probability >= 1,
            "probability": s.probability,
            "archived": s.archived,
        }
        for p in pipelines
        for s in p.stages
    ]
    bulk_upsert(session, PipelineStage, stage_rows, keys=["portal_id", "pipeline_id", "id"])
    listed = [p.id for p in pipelines]
    session.execute(
        update(Pipeline)
        .where(
            Pipeline.portal_id == portal_id,
            Pipeline.object_type == object_type,
            Pipeline.id.not_in(listed),
        )
        .values(archived=True)
    )
    listed_stages = [(row["pipeline_id"], row["id"]) for row in stage_rows]
    stale = select(PipelineStage.pipeline_id, PipelineStage.id).where(
        PipelineStage.portal_id == portal_id, PipelineStage.archived.is_(False)
    )
    for pipeline_id, stage_id in session.execute(stale).all():
        if (pipeline_id, stage_id) not in listed_stages:
            session.execute(
                update(PipelineStage)
                .where(
                    and_(
                        PipelineStage.portal_id == portal_id,
                        PipelineStage.pipeline_id == pipeline_id,
                        PipelineStage.id == stage_id,
                    )
                )
                .values(archived=True)
            )


def replace_lifecycle_stages(
    session: Session, portal_id: int, options: Sequence[PropertyOption]
) -> None:
    session.execute(delete(LifecycleStage).where(LifecycleStage.portal_id == portal_id))
    rows = [
        {
            "portal_id": portal_id,
            "id": option.value[:64],
            "label": option.label[:255],
            "display_order": option.display_order,
        }
        for option in options
    ]
    bulk_insert(session, LifecycleStage, rows)
