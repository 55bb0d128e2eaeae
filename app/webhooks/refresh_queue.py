"""Records to re-read from HubSpot, coalesced: one row per record however many events ask."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.crm.keys import RecordKey
from app.models import RecordRefresh
from app.store.bulk import bulk_insert

# Events about one record tend to come in bursts (creation, then a property change per field):
# waiting this long after the first one lets one read serve the whole burst.
COALESCE_WINDOW = timedelta(seconds=2)


def request_refresh(session: Session, key: RecordKey, now: datetime) -> None:
    request_refreshes(session, [key], now)


def request_refreshes(session: Session, keys: Sequence[RecordKey], now: datetime) -> None:
    """Queue the records (an already queued one keeps its place and due time)."""
    bulk_insert(session, RecordRefresh, refresh_rows(keys, now), skip_conflicts_on=())


def refresh_rows(keys: Sequence[RecordKey], now: datetime) -> list[dict[str, Any]]:
    return [
        {
            "portal_id": key.portal_id,
            "object_type": key.object_type,
            "object_id": key.object_id,
            "requested_at": now,
            "due_at": now + COALESCE_WINDOW,
            "attempts": 0,
            "error": None,
        }
        for key in keys
    ]


def due_batches(
    session: Session, now: datetime, batch_size: int = 100, limit: int = 1000
) -> dict[tuple[int, str], list[str]]:
    """Due records grouped by (portal, object type), each group at most `batch_size` long."""
    rows = session.execute(
        select(RecordRefresh.portal_id, RecordRefresh.object_type, RecordRefresh.object_id)
        .where(RecordRefresh.due_at <= now)
        .order_by(RecordRefresh.due_at)
        .limit(limit)
    )
    groups: dict[tuple[int, str], list[str]] = defaultdict(list)
    for portal_id, object_type, object_id in rows:
        ids = groups[(portal_id, object_type)]
        if len(ids) < batch_size:
            ids.append(object_id)
    return dict(groups)


def done(session: Session, portal_id: int, object_type: str, ids: list[str]) -> None:
    session.execute(
        delete(RecordRefresh).where(
            RecordRefresh.portal_id == portal_id,
            RecordRefresh.object_type == object_type,
            RecordRefresh.object_id.in_(ids),
        )
    )


def postpone(
    session: Session, portal_id: int, object_type: str, ids: list[str], now: datetime, error: str
) -> None:
    """A failed read: try again later, backing off up to ten minutes."""
    rows = session.scalars(
        select(RecordRefresh).where(
            RecordRefresh.portal_id == portal_id,
            RecordRefresh.object_type == object_type,
            RecordRefresh.object_id.in_(ids),
        )
    )
    for row in rows:
        row.attempts += 1
        row.due_at = now + min(timedelta(minutes=10), COALESCE_WINDOW * 2**row.attempts)
        row.error = error[:500]
