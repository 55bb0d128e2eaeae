"""Where each object type's sync resumes, per portal.

A checkpoint is saved in the same transaction as the page it follows, so after a crash the
store and its checkpoint always agree: the next run resumes at the first page not committed.
`state` holds the phase in progress (`list`, `search`, `archived`) and its cursor;
`synced_through` is the modification time up to which the store is known complete.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from app.models import SyncCheckpoint
from app.store.bulk import bulk_upsert


@dataclass
class Checkpoint:
    state: dict[str, Any] = field(default_factory=dict)
    synced_through: datetime | None = None


def load_checkpoint(session: Session, portal_id: int, object_type: str) -> Checkpoint:
    row = session.get(SyncCheckpoint, (portal_id, object_type))
    if row is None:
        return Checkpoint()
    return Checkpoint(state=dict(row.state or {}), synced_through=row.synced_through)


def save_checkpoint(
    session: Session, portal_id: int, object_type: str, checkpoint: Checkpoint, now: datetime
) -> None:
    row = {
        "portal_id": portal_id,
        "object_type": object_type,
        "state": checkpoint.state,
        "synced_through": checkpoint.synced_through,
        "updated_at": now,
    }
    bulk_upsert(session, SyncCheckpoint, [row], keys=["portal_id", "object_type"])
