"""Parses and validates a CRM search body the way HubSpot does (400 on what it refuses)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sandbox.hubspot.errors import bad_request
from sandbox.portal.catalog import DEFINITION_BY_NAME

OPERATORS = frozenset(
    {
        "EQ", "NEQ", "LT", "LTE", "GT", "GTE", "BETWEEN", "IN", "NOT_IN",
        "HAS_PROPERTY", "NOT_HAS_PROPERTY", "CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN",
    }
)  # fmt: skip
MAX_GROUPS = 5
MAX_FILTERS_PER_GROUP = 6
MAX_FILTERS = 18
MAX_LIMIT = 200
DEFAULT_LIMIT = 10
RESULT_WINDOW = 10_000


@dataclass(frozen=True)
class Filter:
    property_name: str
    operator: str
    value: str | None = None
    high_value: str | None = None
    values: tuple[str, ...] = ()


@dataclass(frozen=True)
class SearchRequest:
    groups: tuple[tuple[Filter, ...], ...]
    sort_property: str | None
    descending: bool
    properties: list[str] | None
    limit: int
    after: int
    query: str | None


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _parse_filter(raw: Any, object_type: str) -> Filter:
    if not isinstance(raw, dict) or "propertyName" not in raw or "operator" not in raw:
        raise bad_request("Each filter needs a propertyName and an operator.")
    name, operator = str(raw["propertyName"]), str(raw["operator"])
    if operator not in OPERATORS:
        raise bad_request(f"Unknown filter operator {operator!r}.")
    if name not in DEFINITION_BY_NAME[object_type]:
        raise bad_request(
            f"There was a problem with the request: property {name!r} does not exist."
        )
    values = raw.get("values") or ()
    if operator in ("IN", "NOT_IN") and not values:
        raise bad_request(f"Operator {operator} needs a non-empty 'values' list.")
    if operator == "BETWEEN" and (raw.get("value") is None or raw.get("highValue") is None):
        raise bad_request("Operator BETWEEN needs 'value' and 'highValue'.")
    needs_value = operator not in ("HAS_PROPERTY", "NOT_HAS_PROPERTY", "IN", "NOT_IN")
    if needs_value and raw.get("value") is None:
        raise bad_request(f"Operator {operator} needs a 'value'.")
    return Filter(
        name,
        operator,
        _text(raw.get("value")),
        _text(raw.get("highValue")),
        tuple(str(_text(v)) for v in values),
    )


def _parse_sort(raw: Any) -> tuple[str | None, bool]:
    if not raw:
        return None, False
    if not isinstance(raw, list):
        raise bad_request("'sorts' must be a list.")
    if len(raw) > 1:
        raise bad_request("Only one sort is supported.")
    sort = raw[0]
    if isinstance(sort, str):  # the short form: "createdate" or "-createdate"
        return sort.lstrip("-"), sort.startswith("-")
    if not isinstance(sort, dict) or "propertyName" not in sort:
        raise bad_request("A sort needs a propertyName.")
    direction = str(sort.get("direction", "ASCENDING")).upper()
    if direction not in ("ASCENDING", "DESCENDING"):
        raise bad_request(f"Unknown sort direction {direction!r}.")
    return str(sort["propertyName"]), direction == "DESCENDING"


def _parse_paging(body: dict[str, Any]) -> tuple[int, int]:
    try:
        limit = int(body.get("limit") or DEFAULT_LIMIT)
        after = int(body.get("after") or 0)
    except (TypeError, ValueError):
        raise bad_request("'limit' and 'after' must be integers.") from None
    if limit < 1 or limit > MAX_LIMIT:
        raise bad_request(f"limit must be between 1 and {MAX_LIMIT}; got {limit}.")
    if after < 0:
        raise bad_request("'after' must not be negative.")
    if after >= RESULT_WINDOW:
        raise bad_request(
            f"Search results are limited to {RESULT_WINDOW} per query; 'after' {after} is past "
            "that. Narrow the query (for example by time window) instead of paging further."
        )
    return limit, after


def parse_search(body: Any, object_type: str) -> SearchRequest:
    if not isinstance(body, dict):
        raise bad_request("The search body must be a JSON object.")
    raw_groups = body.get("filterGroups") or []
    if not isinstance(raw_groups, list) or len(raw_groups) > MAX_GROUPS:
        raise bad_request(f"At most {MAX_GROUPS} filterGroups are allowed.")
    groups = []
    for raw_group in raw_groups:
        raw_filters = raw_group.get("filters") if isinstance(raw_group, dict) else None
        if not isinstance(raw_filters, list) or len(raw_filters) > MAX_FILTERS_PER_GROUP:
            raise bad_request(
                f"A filterGroup holds a list of at most {MAX_FILTERS_PER_GROUP} filters."
            )
        groups.append(tuple(_parse_filter(f, object_type) for f in raw_filters))
    if sum(len(group) for group in groups) > MAX_FILTERS:
        raise bad_request(f"At most {MAX_FILTERS} filters are allowed in one search.")
    sort_property, descending = _parse_sort(body.get("sorts"))
    if sort_property is not None and sort_property not in DEFINITION_BY_NAME[object_type]:
        raise bad_request(f"Cannot sort by unknown property {sort_property!r}.")
    limit, after = _parse_paging(body)
    properties = body.get("properties")
    if properties is not None and not isinstance(properties, list):
        raise bad_request("'properties' must be a list of names.")
    query = body.get("query")
    return SearchRequest(
        groups=tuple(group for group in groups if group) or ((),),
        sort_property=sort_property,
        descending=descending,
        properties=[str(p) for p in properties] if properties else None,
        limit=limit,
        after=after,
        query=str(query) if query else None,
    )
