"""Changing a portal: every change bumps the modified time, records history, and is announced.

Listeners receive `Change`s (the webhook sender turns them into HubSpot events). Records are
copied before they change, so a reader holding the old object never sees a half-made edit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from sandbox.portal.portal import Portal
from sandbox.portal.records import HistoryEntry, Record
from sandbox.portal.shapes import (
    CONTACTS,
    CREATED_PROPERTY,
    MODIFIED_PROPERTY,
    TRACKED_PROPERTIES,
)
from sandbox.portal.timeline import iso_ms


@dataclass(frozen=True)
class Change:
    """One thing that happened, in the terms HubSpot's webhooks use."""

    kind: str  # creation | propertyChange | deletion | merge | associationChange
    object_type: str
    object_id: int
    occurred_ms: int
    property_name: str | None = None
    property_value: str | None = None
    change_source: str = "CRM_UI"
    merged_object_ids: tuple[int, ...] = ()
    to_object_type: str | None = None
    to_object_id: int | None = None


Listener = Callable[[list[Change]], None]


class PortalWriter:
    def __init__(self, portal: Portal) -> None:
        self.portal = portal
        self.listeners: list[Listener] = []

    def _announce(self, changes: list[Change]) -> None:
        if changes:
            for listener in list(self.listeners):
                listener(changes)

    def _moment(self, at_ms: int | None, record: Record | None = None) -> int:
        moment = at_ms if at_ms is not None else self.portal.now_ms()
        return max(moment, record.modified_ms) if record is not None else moment

    def _current(self, object_type: str, record_id: int) -> Record:
        record = self.portal.get(object_type, record_id)
        if record is None:
            raise KeyError(f"{object_type} {record_id} does not exist")
        return record

    def update(
        self,
        object_type: str,
        record_id: int,
        changes: dict[str, str | None],
        source: str = "CRM_UI",
        user_id: int | None = None,
        at_ms: int | None = None,
    ) -> Record:
        """Sets properties; unchanged values are ignored (no history, no event)."""
        with self.portal.lock:
            old = self._current(object_type, record_id)
            moment = self._moment(at_ms, old)
            record = _copy(old)
            events = []
            for name, value in changes.items():
                if record.properties.get(name) == value:
                    continue
                previous = record.properties.get(name)
                record.history[name] = [
                    *record.history_of(name),
                    HistoryEntry(value, moment, source, None, user_id),
                ]
                record.properties[name] = value
                _derived_dates(record, name, previous, value, moment)
                events.append(
                    Change("propertyChange", object_type, record_id, moment, name, value, source)
                )
            if events:
                _touch(record, moment)
                self.portal._store(record)
        self._announce(events)
        return record

    def create(
        self,
        object_type: str,
        properties: dict[str, str | None],
        links: dict[str, Iterable[int]] | None = None,
        source: str = "FORM",
        at_ms: int | None = None,
    ) -> Record:
        with self.portal.lock:
            moment = self._moment(at_ms)
            index = self.portal.count(object_type)
            record_id = self.portal.record_id(object_type, index)
            values: dict[str, str | None] = {
                "hs_object_id": str(record_id),
                CREATED_PROPERTY[object_type]: iso_ms(moment),
                MODIFIED_PROPERTY[object_type]: iso_ms(moment),
                **properties,
            }
            record = Record(object_type, record_id, moment, moment, values)
            for name in TRACKED_PROPERTIES.get(object_type, ()):
                if values.get(name) is not None:
                    record.history[name] = [HistoryEntry(values[name], moment, source)]
                    _derived_dates(record, name, None, values[name], moment)
            self.portal._store(record)
            for to_type, ids in (links or {}).items():
                for to_id in ids:
                    self.portal._link(object_type, record_id, to_type, to_id)
                    self.portal._link(to_type, to_id, object_type, record_id)
        events = [Change("creation", object_type, record_id, moment, change_source=source)]
        events += [
            Change("propertyChange", object_type, record_id, moment, name, values[name], source)
            for name in TRACKED_PROPERTIES.get(object_type, ())
            if values.get(name) is not None
        ]
        self._announce(events)
        return record

    def archive(self, object_type: str, record_id: int, at_ms: int | None = None) -> Record:
        with self.portal.lock:
            old = self._current(object_type, record_id)
            moment = self._moment(at_ms, old)
            record = _copy(old)
            record.archived, record.archived_ms = True, moment
            _touch(record, moment)
            self.portal._store(record)
        self._announce([Change("deletion", object_type, record_id, moment)])
        return record

    def merge(
        self, object_type: str, primary_id: int, loser_id: int, at_ms: int | None = None
    ) -> Record:
        """The loser disappears into the primary, which lists it in hs_merged_object_ids."""
        if primary_id == loser_id:
            raise ValueError("a record cannot be merged into itself")
        with self.portal.lock:
            primary, loser = (
                _copy(self._current(object_type, primary_id)),
                _copy(self._current(object_type, loser_id)),
            )
            moment = max(self._moment(at_ms, primary), loser.modified_ms)
            loser.merged_into = primary_id
            _touch(loser, moment)
            merged = [
                i for i in (primary.properties.get("hs_merged_object_ids") or "").split(";") if i
            ]
            joined = ";".join([*merged, str(loser_id)])
            primary.history["hs_merged_object_ids"] = [
                *primary.history_of("hs_merged_object_ids"),
                HistoryEntry(joined, moment, "CRM_UI"),
            ]
            primary.properties["hs_merged_object_ids"] = joined
            _touch(primary, moment)
            self.portal._store(loser)
            self.portal._store(primary)
            self.portal._record_merge(object_type, primary_id, loser_id)
        self._announce(
            [Change("merge", object_type, primary_id, moment, merged_object_ids=(loser_id,))]
        )
        return primary

    def associate(
        self, from_type: str, from_id: int, to_type: str, to_id: int, at_ms: int | None = None
    ) -> None:
        with self.portal.lock:
            moment = self._moment(at_ms)
            self.portal._link(from_type, from_id, to_type, to_id)
            self.portal._link(to_type, to_id, from_type, from_id)
        change = Change(
            "associationChange",
            from_type,
            from_id,
            moment,
            to_object_type=to_type,
            to_object_id=to_id,
        )
        self._announce([change])


def _copy(record: Record) -> Record:
    return replace(
        record,
        properties=dict(record.properties),
        history={name: list(entries) for name, entries in record.history.items()},
    )


def _touch(record: Record, moment: int) -> None:
    record.modified_ms = moment
    record.properties[MODIFIED_PROPERTY[record.object_type]] = iso_ms(moment)


def _derived_dates(
    record: Record, name: str, previous: str | None, value: str | None, moment: int
) -> None:
    """The date properties HubSpot maintains when a stage or owner changes."""
    stamp = iso_ms(moment)
    props = record.properties
    if name == "lifecyclestage" and record.object_type == CONTACTS and value:
        if not props.get(f"hs_lifecyclestage_{value}_date"):
            props[f"hs_lifecyclestage_{value}_date"] = stamp
        props[f"hs_v2_date_entered_{value}"] = stamp
        if previous:
            props[f"hs_v2_date_exited_{previous}"] = stamp
    elif name == "dealstage" and value:
        props[f"hs_v2_date_entered_{value}"] = stamp
        if previous:
            props[f"hs_v2_date_exited_{previous}"] = stamp
    elif name == "hubspot_owner_id" and value:
        props["hubspot_owner_assigneddate"] = stamp
