"""How the store names one CRM record, whichever feed wrote it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RecordKey:
    portal_id: int
    object_type: str  # slaguard's store type: contact, deal
    object_id: str
