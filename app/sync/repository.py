"""What the sync reads of the CRM store to plan its pages: stored versions, counts, live ids,
links (the writes are the CRM store's own, `app.crm.repository`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from app.crm.repository import MODEL_FOR_STORE_TYPE
from app.models import Association, Engagement


def stored_versions(
    session: Session, store_type: str, portal_id: int, ids: Sequence[str]
) -> dict[str, tuple[datetime | None, bool]]:
    """(modified_at, archived) of the given records already in the store (absent ids are
    left out): what tells a changed record from one read again unchanged."""
    if not ids:
        return {}
    model = MODEL_FOR_STORE_TYPE[store_type]
    query = select(model.id, model.modified_at, model.archived).where(
        model.portal_id == portal_id, model.id.in_(list(ids))
    )
    return {row.id: (row.modified_at, row.archived) for row in session.execute(query)}


def holds_any(session: Session, store_type: str, portal_id: int) -> bool:
    """Whether the store holds any record of `store_type` for the portal (archived too)."""
    model = MODEL_FOR_STORE_TYPE[store_type]
    query = select(model.id).where(model.portal_id == portal_id).limit(1)
    if model is Engagement:
        query = query.where(Engagement.type == store_type)
    return session.execute(query).first() is not None


def live_count(session: Session, store_type: str, portal_id: int, created_through: datetime) -> int:
    """Records of `store_type` the store holds as live (not archived) and created at or before
    `created_through`: what an incremental run compares with HubSpot's own count."""
    model = MODEL_FOR_STORE_TYPE[store_type]
    query = select(func.count()).where(
        model.portal_id == portal_id,
        model.archived.is_(False),
        model.created_at <= created_through,
    )
    if model is Engagement:
        query = query.where(Engagement.type == store_type)
    return int(session.execute(query).scalar_one())


def live_ids_after(
    session: Session, store_type: str, portal_id: int, after: str | None, limit: int
) -> list[str]:
    """Up to `limit` ids of live records of `store_type` after `after`, in id order (a
    keyset walk over the store: each step resumes where the last ended)."""
    model = MODEL_FOR_STORE_TYPE[store_type]
    query = select(model.id).where(model.portal_id == portal_id, model.archived.is_(False))
    if model is Engagement:
        query = query.where(Engagement.type == store_type)
    if after is not None:
        query = query.where(model.id > after)
    return list(session.scalars(query.order_by(model.id).limit(limit)))


def stored_properties(
    session: Session, store_type: str, portal_id: int, ids: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """The `properties` the store holds for the given records (absent ids are left out)."""
    if not ids:
        return {}
    model = MODEL_FOR_STORE_TYPE[store_type]
    query = select(model.id, model.properties).where(
        model.portal_id == portal_id, model.id.in_(list(ids))
    )
    return {row.id: dict(row.properties or {}) for row in session.execute(query)}


def refresh_statistics(session: Session, store_type: str) -> None:
    """PostgreSQL: re-read the row statistics of the tables a sync of `store_type` writes.

    A table that grew from empty during a bulk load still has its empty-table statistics
    until autovacuum gets to it, and the planner then answers the per-page
    `object_id IN (...)` deletes by scanning every row of the record type, a cost that grows
    with the table (figures in docs/benchmarks.md)."""
    if session.get_bind().dialect.name != "postgresql":
        return
    table = MODEL_FOR_STORE_TYPE[store_type].__tablename__
    session.execute(text(f"ANALYZE {table}, transitions, associations"))


def stored_links(
    session: Session, portal_id: int, from_type: str, from_ids: Sequence[str], to_type: str
) -> set[tuple[str, str]]:
    """The (from_id, to_id) pairs the store holds from `from_ids` to `to_type` records."""
    if not from_ids:
        return set()
    query = select(Association.from_id, Association.to_id).where(
        Association.portal_id == portal_id,
        Association.from_type == from_type,
        Association.to_type == to_type,
        Association.from_id.in_(list(from_ids)),
    )
    return {(row.from_id, row.to_id) for row in session.execute(query)}
