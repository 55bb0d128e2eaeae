"""A synthetic HubSpot portal: derived base records plus the few that changed since start.

Reads merge the two: a record that was changed, created, archived or merged lives in
`overrides` (keyed by its index); every other record is derived from the seed when asked.
All mutation goes through `PortalWriter` (portal/writer.py) under the portal's lock.
"""

from __future__ import annotations

import bisect
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from sandbox.portal.generator import (
    SURVIVOR_REMAINDER,
    Generator,
    is_base_archived,
    is_base_merged,
)
from sandbox.portal.owners import Owner
from sandbox.portal.records import HistoryEntry, PortalConfig, Record
from sandbox.portal.shapes import (
    CONTACTS,
    CONTACTS_PER_DEAL,
    DEAL_SLOT,
    DEALS,
    ENGAGEMENT_TYPES,
    OBJECT_TYPES,
    TRACKED_PROPERTIES,
)


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass(frozen=True)
class TruthRecord:
    """What the portal really holds for one record: the yardstick for sync tests."""

    object_type: str
    id: int
    properties: dict[str, str | None]
    archived: bool
    merged_into: int | None
    created_ms: int
    modified_ms: int
    associations: dict[str, list[int]]
    history: dict[str, list[HistoryEntry]]


@dataclass
class _TypeState:
    count: int
    overrides: dict[int, Record] = field(default_factory=dict)
    overridden_base: list[int] = field(default_factory=list)  # sorted base indices
    # Links added at run time: from id -> {to type -> to ids}; merges add the loser's links.
    links: dict[int, dict[str, set[int]]] = field(default_factory=dict)
    losers: dict[int, list[int]] = field(default_factory=dict)  # survivor id -> merged ids
    # The version each changed record had before its latest change (None: it is new); search
    # keeps answering with it until the change is "indexed".
    previous: dict[int, Record | None] = field(default_factory=dict)


class Portal:
    """Thread-safe: the HTTP handlers, the activity ticker and tests share one portal."""

    def __init__(self, config: PortalConfig, clock: Callable[[], int] = wall_clock_ms) -> None:
        self.config = config
        self.clock = clock
        anchor = config.anchor_ms if config.anchor_ms is not None else clock()
        self.generator = Generator(config, anchor)
        self.lock = threading.RLock()
        self._state = {kind: _TypeState(self.generator.counts[kind]) for kind in OBJECT_TYPES}

    # --- facts ----------------------------------------------------------------------------

    @property
    def portal_id(self) -> int:
        return self.config.resolved_portal_id()

    @property
    def owners(self) -> tuple[Owner, ...]:
        return self.generator.owners

    def now_ms(self) -> int:
        return self.clock()

    def base_count(self, object_type: str) -> int:
        return self.generator.counts[object_type]

    def count(self, object_type: str) -> int:
        """Records ever created (ids are contiguous from the type's offset)."""
        return self._state[object_type].count

    def index_of(self, object_type: str, record_id: int) -> int:
        return self.generator.index_of(object_type, record_id)

    def record_id(self, object_type: str, index: int) -> int:
        return self.generator.record_id(object_type, index)

    # --- reading records --------------------------------------------------------------------

    def get(self, object_type: str, record_id: int) -> Record | None:
        """The record with this id, archived or merged ones included; None if it never existed."""
        index = self.index_of(object_type, record_id)
        state = self._state[object_type]
        if index < 0 or index >= state.count:
            return None
        with self.lock:
            record = state.overrides.get(index)
        return record if record is not None else self.generator.derive(object_type, index)

    def resolve(self, object_type: str, record_id: int) -> Record | None:
        """Follows merges: a merged-away id answers with the record it was merged into."""
        record = self.get(object_type, record_id)
        for _ in range(20):
            if record is None or record.merged_into is None:
                return record
            record = self.get(object_type, record.merged_into)
        return record

    def is_active(self, object_type: str, index: int) -> bool:
        record = self._state[object_type].overrides.get(index)
        if record is not None:
            return record.active
        return not (is_base_archived(object_type, index) or is_base_merged(object_type, index))

    def is_listed_archived(self, object_type: str, index: int) -> bool:
        """Shown by `archived=true` lists: archived, not merged away."""
        record = self._state[object_type].overrides.get(index)
        if record is not None:
            return record.archived and record.merged_into is None
        return is_base_archived(object_type, index) and not is_base_merged(object_type, index)

    def list_page(
        self,
        object_type: str,
        after_id: int | None,
        limit: int,
        archived: bool,
        detail: bool = True,
    ) -> tuple[list[Record], int | None]:
        """One page in id order and the id to continue after (None on the last page).
        `detail=False`: see Generator.derive."""
        state = self._state[object_type]
        start = 0 if after_id is None else max(0, self.index_of(object_type, after_id) + 1)
        wanted = self.is_listed_archived if archived else self.is_active
        indices: list[int] = []
        more = False
        with self.lock:
            for index in range(start, state.count):
                if not wanted(object_type, index):
                    continue
                if len(indices) == limit:
                    more = True
                    break
                indices.append(index)
        records = [self.record_at(object_type, index, detail) for index in indices]
        next_after = records[-1].id if more and records else None
        return records, next_after

    def record_at(self, object_type: str, index: int, detail: bool = True) -> Record:
        record = self._state[object_type].overrides.get(index)
        return record if record is not None else self.generator.derive(object_type, index, detail)

    # --- what search needs -------------------------------------------------------------------

    def changed_records(self, object_type: str) -> list[Record]:
        with self.lock:
            return list(self._state[object_type].overrides.values())

    def searchable_records(self, object_type: str, lag_ms: int) -> list[Record]:
        """Changed records as search sees them: a change younger than `lag_ms` is not indexed
        yet, so search still finds the version before it (or nothing, for a new record)."""
        if lag_ms <= 0:
            return self.changed_records(object_type)
        cutoff = self.now_ms() - lag_ms
        state = self._state[object_type]
        with self.lock:
            found = []
            for index, record in state.overrides.items():
                if record.modified_ms <= cutoff:
                    found.append(record)
                elif (earlier := state.previous.get(index)) is not None:
                    found.append(earlier)
            return found

    def is_overridden(self, object_type: str, index: int) -> bool:
        return index in self._state[object_type].overrides

    def overridden_base_between(self, object_type: str, first: int, stop: int) -> list[int]:
        with self.lock:
            marks = self._state[object_type].overridden_base
            return marks[bisect.bisect_left(marks, first) : bisect.bisect_left(marks, stop)]

    # --- associations --------------------------------------------------------------------------

    def associated_ids(self, from_type: str, from_id: int, to_type: str) -> list[int]:
        """Ids of `to_type` records linked to the record, merges followed on both sides."""
        found: set[int] = set()
        with self.lock:
            sources = [from_id, *self._losers_of(from_type, from_id)]
            for source in sources:
                found.update(self._base_links(from_type, source, to_type))
                extra = self._state[from_type].links.get(source, {}).get(to_type, set())
                found.update(extra)
        resolved = {self._live_id(to_type, target) for target in found}
        return sorted(i for i in resolved if i is not None)

    def _live_id(self, object_type: str, record_id: int) -> int | None:
        """The id a link to `record_id` leads to now: merges followed, archived ones dropped."""
        for _ in range(20):
            index = self.index_of(object_type, record_id)
            record = self._state[object_type].overrides.get(index)
            if record is None:  # a base record: its traps are arithmetic on the index
                if is_base_archived(object_type, index):
                    return None
                if not is_base_merged(object_type, index):
                    return record_id
                record_id -= 1
            elif record.archived:
                return None
            elif record.merged_into is None:
                return record_id
            else:
                record_id = record.merged_into
        return None

    def _losers_of(self, object_type: str, survivor_id: int) -> list[int]:
        losers = list(self._state[object_type].losers.get(survivor_id, []))
        index = self.index_of(object_type, survivor_id)
        is_base_survivor = index % 100 == SURVIVOR_REMAINDER and index + 1 < self.base_count(
            object_type
        )
        if object_type == CONTACTS and is_base_survivor:
            losers.append(survivor_id + 1)
        return losers

    def _base_links(self, from_type: str, from_id: int, to_type: str) -> list[int]:
        gen = self.generator
        index = self.index_of(from_type, from_id)
        if index < 0 or index >= self.base_count(from_type):
            return []
        if from_type == CONTACTS and to_type == DEALS:
            deal = index // CONTACTS_PER_DEAL
            if index % CONTACTS_PER_DEAL == DEAL_SLOT and deal < self.base_count(DEALS):
                return [gen.record_id(DEALS, deal)]
            return []
        if from_type == DEALS and to_type == CONTACTS:
            return [gen.record_id(CONTACTS, index * CONTACTS_PER_DEAL + DEAL_SLOT)]
        if from_type in ENGAGEMENT_TYPES and to_type == CONTACTS:
            return [gen.record_id(CONTACTS, gen.contact_of_engagement(from_type, index))]
        if from_type == CONTACTS and to_type in ENGAGEMENT_TYPES:
            return [gen.record_id(to_type, i) for i in gen.engagements_of_contact(to_type, index)]
        if from_type in ENGAGEMENT_TYPES and to_type == DEALS:
            # a touch on a deal's contact is logged on the deal too, as reps' tools do
            contact = gen.contact_of_engagement(from_type, index)
            deal = contact // CONTACTS_PER_DEAL
            if contact % CONTACTS_PER_DEAL == DEAL_SLOT and deal < self.base_count(DEALS):
                return [gen.record_id(DEALS, deal)]
            return []
        if from_type == DEALS and to_type in ENGAGEMENT_TYPES:
            contact = index * CONTACTS_PER_DEAL + DEAL_SLOT
            if contact >= self.base_count(CONTACTS):
                return []
            return [gen.record_id(to_type, i) for i in gen.engagements_of_contact(to_type, contact)]
        return []

    # --- ground truth --------------------------------------------------------------------------

    def truth(self, object_type: str) -> Iterator[TruthRecord]:
        """Every record ever created of this type, archived and merged ones included."""
        for index in range(self.count(object_type)):
            yield self.truth_of(object_type, self.record_at(object_type, index))

    def truth_of(self, object_type: str, record: Record) -> TruthRecord:
        links = {}
        for other in OBJECT_TYPES:
            if other != object_type and (
                CONTACTS in (object_type, other) or DEALS in (object_type, other)
            ):
                links[other] = self.associated_ids(object_type, record.id, other)
        tracked = TRACKED_PROPERTIES.get(object_type, ("hubspot_owner_id",))
        return TruthRecord(
            object_type=object_type,
            id=record.id,
            properties=dict(record.properties),
            archived=record.archived or record.merged_into is not None,
            merged_into=record.merged_into,
            created_ms=record.created_ms,
            modified_ms=record.modified_ms,
            associations=links,
            history={name: record.history_of(name) for name in tracked},
        )

    # --- used by the writer --------------------------------------------------------------------

    def _store(self, record: Record) -> None:
        """Callers hold the lock. Replaces (never edits) the stored record: readers stay safe."""
        object_type = record.object_type
        state = self._state[object_type]
        index = self.index_of(object_type, record.id)
        is_base = index < self.base_count(object_type)
        if is_base and index not in state.overrides:
            bisect.insort(state.overridden_base, index)
        before = state.overrides.get(index)
        if before is None and is_base:
            before = self.generator.derive(object_type, index)
        state.previous[index] = before
        state.overrides[index] = record
        state.count = max(state.count, index + 1)

    def _link(self, from_type: str, from_id: int, to_type: str, to_id: int) -> None:
        state = self._state[from_type]
        state.links.setdefault(from_id, {}).setdefault(to_type, set()).add(to_id)

    def _record_merge(self, object_type: str, survivor_id: int, loser_id: int) -> None:
        self._state[object_type].losers.setdefault(survivor_id, []).append(loser_id)
