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


def newest_request(modified_property: str) -> dict[str, Any]:
    """The newest live record and, in `total`, how many live records there are."""
    return {
        "filterGroups": [],
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
