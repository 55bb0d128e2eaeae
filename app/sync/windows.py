"""Search requests for incremental reads that never hit the 10,000-result cap.

A window is a closed range of modification times [start, end]. Inside it records are read in
`hs_object_id` order, each request asking only for ids above the last one stored
(`modified BETWEEN start AND end AND hs_object_id > last_id`, sorted by id, `after` never
used). So no request ever pages past the first 200 results, however many records the window
holds, and 10,000+ records sharing one timestamp are read like any others: the id, not the
time, moves the cursor. `end` is the newest modification HubSpot reported when the window
opened, so records changed while we read land in the next window; `start` is the previous
window's end minus an overlap, because a freshly changed record takes a few seconds to become
searchable.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

SEARCH_OVERLAP = timedelta(minutes=2)


def epoch_ms(moment: datetime) -> int:
    return int(moment.astimezone(UTC).timestamp() * 1000)


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def from_epoch_ms(value: int) -> datetime:
    return EPOCH + timedelta(milliseconds=value)  # exact, where a float division may round


def newest_request(modified_property: str, since: datetime | None) -> dict[str, Any]:
    """The newest record (modified at or after `since`) and, in `total`, how many there are."""
    groups = []
    if since is not None:
        groups = [
            {
                "filters": [
                    {
                        "propertyName": modified_property,
                        "operator": "GTE",
                        "value": str(epoch_ms(since)),
                    }
                ]
            }
        ]
    return {
        "filterGroups": groups,
        "sorts": [{"propertyName": modified_property, "direction": "DESCENDING"}],
        "properties": [modified_property],
        "limit": 1,
    }


def window_request(
    modified_property: str,
    properties: list[str],
    *,
    start_ms: int,
    end_ms: int,
    last_id: str | None,
    limit: int,
) -> dict[str, Any]:
    """The next `limit` records of the window [start_ms, end_ms] with ids above `last_id`."""
    filters: list[dict[str, Any]] = [
        {
            "propertyName": modified_property,
            "operator": "BETWEEN",
            "value": str(start_ms),
            "highValue": str(end_ms),
        }
    ]
    if last_id is not None:
        filters.append({"propertyName": "hs_object_id", "operator": "GT", "value": last_id})
    return {
        "filterGroups": [{"filters": filters}],
        "sorts": [{"propertyName": "hs_object_id", "direction": "ASCENDING"}],
        "properties": properties,
        "limit": limit,
    }


def window_start(synced_through: datetime) -> datetime:
    return synced_through - SEARCH_OVERLAP


def live_count_request(created_property: str, created_through_ms: int) -> dict[str, Any]:
    """How many live records were created at or before `created_through_ms` (in `total`).

    Search never shows archived records, so this is HubSpot's live count; compared with the
    store's count of the same set it tells an incremental run whether anything it holds as
    live has been archived, deleted or merged away since (see engine.py, phase `deletes`).
    """
    return {
        "filterGroups": [
            {
                "filters": [
                    {
                        "propertyName": created_property,
                        "operator": "LTE",
                        "value": str(created_through_ms),
                    }
                ]
            }
        ],
        "properties": ["hs_object_id"],
        "limit": 1,
    }
