"""The in-memory shape of a CRM record and of the portal's settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from sandbox.portal.calendar import MONDAY_TO_FRIDAY, WorkingHours


class HistoryEntry(NamedTuple):
    """One past value of a property, as HubSpot's propertiesWithHistory reports it.

    A NamedTuple rather than a dataclass: pages build thousands of these per request.
    """

    value: str | None
    timestamp_ms: int
    source_type: str
    source_id: str | None = None
    updated_by_user_id: int | None = None


@dataclass
class Record:
    """One CRM object. `history` holds each property's values oldest first."""

    object_type: str
    id: int
    created_ms: int
    modified_ms: int
    properties: dict[str, str | None]
    history: dict[str, list[HistoryEntry]] = field(default_factory=dict)
    archived: bool = False
    archived_ms: int | None = None
    merged_into: int | None = None

    @property
    def active(self) -> bool:
        """Listed and searchable: neither archived nor merged away."""
        return not self.archived and self.merged_into is None

    def history_of(self, name: str) -> list[HistoryEntry]:
        """The property's history, oldest first; one entry when it never changed."""
        entries = self.history.get(name)
        if entries:
            return list(entries)
        if name not in self.properties or self.properties[name] is None:
            return []
        return [HistoryEntry(self.properties[name], self.created_ms, "CRM_UI")]


@dataclass(frozen=True)
class PortalConfig:
    """Everything that decides a portal's content. Same config, same portal."""

    contacts: int = 300
    seed: int = 1
    # Base records are spread over this many days before `anchor_ms`.
    history_days: int = 180
    # Records sharing one modified time (the 10,000-cap trap); only built when contacts
    # exceed it by 1,000, so small portals stay simple.
    same_timestamp_block: int = 10_500
    portal_id: int = 0  # 0: derived from the seed
    time_zone: str = "America/New_York"
    # The reps' working week and hours in `time_zone` (Python weekday numbers, Monday = 0).
    work_days: tuple[int, ...] = MONDAY_TO_FRIDAY
    open_hour: int = 9
    close_hour: int = 18
    currency: str = "USD"
    anchor_ms: int | None = None  # None: the clock's time when the portal is built

    @property
    def working_hours(self) -> WorkingHours:
        return WorkingHours(self.time_zone, self.work_days, self.open_hour, self.close_hour)

    def resolved_portal_id(self) -> int:
        return self.portal_id or 40_000_000 + self.seed % 1_000_000
