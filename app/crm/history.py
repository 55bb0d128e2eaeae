"""Value timelines (transitions) from `propertiesWithHistory`, with stage-date fallbacks.

A transition is one value a tracked property held: entered at the history entry's timestamp,
exited when the next entry begins (null while current). Where HubSpot gave no history for a
stage property, or history starts after stages the record already went through, the stage
date properties (`hs_v2_date_entered_*`, `hs_lifecyclestage_*_date`, `hs_date_entered_*`) fill
the gap, marked with source `date_property`.
"""

from __future__ import annotations

import functools
from datetime import datetime

from app.store.bulk import Row
from integrations.hubspot.parsing import parse_timestamp
from integrations.hubspot.records import CrmRecord, PropertyChange

STAGE_PROPERTY = {"contacts": "lifecyclestage", "deals": "dealstage"}


def stage_date_properties(object_type: str, stage_ids: list[str]) -> list[str]:
    """The date properties to request so gaps in stage history can be filled."""
    names: list[str] = []
    for stage in stage_ids:
        names += [f"hs_v2_date_entered_{stage}", f"hs_v2_date_exited_{stage}"]
        if object_type == "contacts":
            names.append(f"hs_lifecyclestage_{stage}_date")
        else:
            names.append(f"hs_date_entered_{stage}")
    return names


@functools.lru_cache(maxsize=4096)
def _stage_of(name: str) -> str | None:
    """The stage a stage-date property names (hs_v2_date_entered_lead -> lead), else None."""
    if name.startswith("hs_v2_date_entered_"):
        return name.removeprefix("hs_v2_date_entered_")
    if name.startswith("hs_date_entered_"):
        return name.removeprefix("hs_date_entered_")
    if name.startswith("hs_lifecyclestage_") and name.endswith("_date"):
        return name.removeprefix("hs_lifecyclestage_").removesuffix("_date")
    return None


def _entered_dates(record: CrmRecord) -> list[tuple[datetime, str]]:
    """(entered, stage) pairs the record's stage date properties show, oldest first."""
    found: dict[str, datetime] = {}
    for name, raw in record.properties.items():
        if not raw:
            continue
        stage = _stage_of(name)
        when = parse_timestamp(raw) if stage else None
        if stage and when and (stage not in found or when < found[stage]):
            found[stage] = when
    return sorted((when, stage) for stage, when in found.items())


def _timeline(changes: list[tuple[datetime, str | None, str | None]]) -> list[Row]:
    """Rows from (entered, value, source_id) oldest first; exact repeats dropped."""
    rows: list[Row] = []
    seen: set[tuple[datetime, str | None]] = set()
    for entered, value, source_id in changes:
        if (entered, value) in seen:
            continue
        seen.add((entered, value))
        if rows:
            rows[-1]["exited_at"] = entered
        rows.append(
            {"value": value, "entered_at": entered, "exited_at": None, "source_id": source_id}
        )
    return rows


def _from_history(entries: list[PropertyChange]) -> list[tuple[datetime, str | None, str | None]]:
    # HubSpot lists newest first; a stable sort on the reversed list keeps same-instant order.
    oldest_first = list(reversed(entries))
    ordered = sorted(oldest_first, key=lambda change: change.timestamp)
    return [
        (
            change.timestamp,
            (change.value or "")[:255] or None,
            (change.source_id or "")[:64] or None,
        )
        for change in ordered
    ]


def record_transitions(portal_id: int, store_type: str, record: CrmRecord) -> list[Row]:
    """Transition rows for every property of `record` that came with history."""
    rows: list[Row] = []
    stage_property = STAGE_PROPERTY.get(record.object_type)
    for prop, entries in record.history.items():
        changes = _from_history(entries)
        if prop == stage_property:
            oldest = changes[0][0] if changes else None
            fill = [
                (when, stage, None)
                for when, stage in _entered_dates(record)
                if oldest is None or when < oldest
            ]
            changes = fill + changes
        for row in _timeline(changes):
            row.update(
                portal_id=portal_id,
                object_type=store_type,
                object_id=record.id,
                property=prop,
                source="history",
            )
            rows.append(row)
        if prop == stage_property:
            _mark_date_sources(rows, prop, record)
    return rows


def _mark_date_sources(rows: list[Row], prop: str, record: CrmRecord) -> None:
    history_times = {change.timestamp for change in record.history.get(prop, [])}
    for row in rows:
        if row["property"] == prop and row["entered_at"] not in history_times:
            row["source"] = "date_property"
