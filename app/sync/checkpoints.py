"""Where each object type's sync resumes, per portal.

A checkpoint is saved in the same transaction as the page it follows, so after a crash the
store and its checkpoint always agree: the next run resumes at the first page not committed.
`state` holds the phase in progress (`list`, `search`, `deletes`, `archived`, `links`) and its
cursor; `synced_through` is the modification time up to which the store is known complete.

The state is stored as a JSON object whose keys are `SyncState`'s field names. A field that is
unset (None, or False for a flag) is left out, as the untyped dict of earlier versions left it
out or stored null: rows written by either load the same.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy.orm import Session

from app.models import SyncCheckpoint
from app.models.sync import SyncMode
from app.store.bulk import bulk_upsert


class SyncPhase(StrEnum):
    LIST = "list"
    SEARCH = "search"
    DELETES = "deletes"
    ARCHIVED = "archived"
    LINKS = "links"


_MS_FIELDS = ("start_ms", "end_ms", "links_from_ms", "archived_read_ms", "links_read_ms")
_INT_FIELDS = ("total", "live_total")
_TEXT_FIELDS = ("after", "last_id")
_FLAG_FIELDS = ("first", "history_inline")


@dataclass(frozen=True, slots=True)
class SyncState:
    """One object type's sync in progress (or, with no phase, between runs)."""

    mode: SyncMode | None = None
    phase: SyncPhase | None = None
    # the list, archived list or links cursor (HubSpot's `after`, or the last id re-linked)
    after: str | None = None
    # an incremental window [start_ms, end_ms] and the last id read inside it
    start_ms: int | None = None
    end_ms: int | None = None
    last_id: str | None = None
    # records HubSpot reported: all of them (progress), the live ones (the delete check)
    total: int | None = None
    live_total: int | None = None
    # a first full sync: every record listed is new, and its history comes with the list
    first: bool = False
    history_inline: bool = False
    # when the links read by this run began
    links_from_ms: int | None = None
    # carried from run to run: when the archived list and the links were last read in full
    archived_read_ms: int | None = None
    links_read_ms: int | None = None

    def kept(self) -> SyncState:
        """What carries from one run to the next."""
        return SyncState(archived_read_ms=self.archived_read_ms, links_read_ms=self.links_read_ms)

    def to_json(self) -> dict[str, Any]:
        stored: dict[str, Any] = {}
        for item in dataclasses.fields(self):
            value = getattr(self, item.name)
            if value is None or value is False:
                continue
            stored[item.name] = str(value) if isinstance(value, StrEnum) else value
        return stored

    @classmethod
    def from_json(cls, stored: dict[str, Any] | None) -> SyncState:
        """Reads what `to_json` or the untyped state before it stored; keys it does not know
        are dropped, so a row written by a newer version still resumes."""
        stored = stored or {}

        def present(name: str) -> bool:
            return stored.get(name) is not None

        values: dict[str, Any] = {}
        if present("mode"):
            values["mode"] = SyncMode(stored["mode"])
        if present("phase"):
            values["phase"] = SyncPhase(stored["phase"])
        values.update(
            {name: int(stored[name]) for name in _MS_FIELDS + _INT_FIELDS if present(name)}
        )
        values.update({name: str(stored[name]) for name in _TEXT_FIELDS if present(name)})
        values.update({name: bool(stored[name]) for name in _FLAG_FIELDS if present(name)})
        return cls(**values)


@dataclass(frozen=True, slots=True)
class Checkpoint:
    state: SyncState = field(default_factory=SyncState)
    synced_through: datetime | None = None


def load_checkpoint(session: Session, portal_id: int, object_type: str) -> Checkpoint:
    row = session.get(SyncCheckpoint, (portal_id, object_type))
    if row is None:
        return Checkpoint()
    return Checkpoint(state=SyncState.from_json(row.state), synced_through=row.synced_through)


def save_checkpoint(
    session: Session, portal_id: int, object_type: str, checkpoint: Checkpoint, now: datetime
) -> None:
    row = {
        "portal_id": portal_id,
        "object_type": object_type,
        "state": checkpoint.state.to_json(),
        "synced_through": checkpoint.synced_through,
        "updated_at": now,
    }
    bulk_upsert(session, SyncCheckpoint, [row], keys=["portal_id", "object_type"])
