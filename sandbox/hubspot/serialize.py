"""Records as HubSpot's CRM v3 JSON: string ids and values, ISO timestamps, newest history first."""

from __future__ import annotations

from typing import Any

from sandbox.portal import HistoryEntry, Record
from sandbox.portal.catalog import DEFAULT_PROPERTIES, DEFINITION_BY_NAME
from sandbox.portal.shapes import CREATED_PROPERTY, MODIFIED_PROPERTY
from sandbox.portal.timeline import iso_ms


def always_returned(object_type: str) -> tuple[str, ...]:
    """HubSpot adds these to every answer, whatever properties were asked for."""
    return ("hs_object_id", CREATED_PROPERTY[object_type], MODIFIED_PROPERTY[object_type])


def _select(record: Record, names: list[str] | None) -> dict[str, str | None]:
    kind = record.object_type
    wanted = list(DEFAULT_PROPERTIES[kind]) if not names else [*always_returned(kind), *names]
    known = DEFINITION_BY_NAME[kind]
    chosen: dict[str, str | None] = {}
    for name in wanted:
        if name in record.properties:
            chosen[name] = record.properties[name]
        elif name in known:
            chosen[name] = None
    return chosen


def history_json(entry: HistoryEntry) -> dict[str, Any]:
    body: dict[str, Any] = {
        "value": entry.value if entry.value is not None else "",
        "timestamp": iso_ms(entry.timestamp_ms),
        "sourceType": entry.source_type,
    }
    if entry.source_id is not None:
        body["sourceId"] = entry.source_id
    if entry.updated_by_user_id is not None:
        body["updatedByUserId"] = entry.updated_by_user_id
    return body


def public_object(
    record: Record,
    properties: list[str] | None,
    with_history: list[str] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {"id": str(record.id), "properties": _select(record, properties)}
    if with_history:
        known = DEFINITION_BY_NAME[record.object_type]
        body["propertiesWithHistory"] = {
            name: [history_json(e) for e in reversed(record.history_of(name))]
            for name in with_history
            if name in record.properties or name in known
        }
    body["createdAt"] = iso_ms(record.created_ms)
    body["updatedAt"] = iso_ms(record.modified_ms)
    body["archived"] = record.archived
    if record.archived and record.archived_ms is not None:
        body["archivedAt"] = iso_ms(record.archived_ms)
    return body
