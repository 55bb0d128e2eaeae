"""Reading HubSpot-style requests: object types, repeated or comma lists, booleans, bodies."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import Request

from sandbox.hubspot.errors import bad_request
from sandbox.portal.shapes import OBJECT_TYPES

# HubSpot accepts object type ids and singular names as well as the plural names.
TYPE_ALIASES: dict[str, str] = {
    "0-1": "contacts",
    "0-3": "deals",
    "0-48": "calls",
    "0-49": "emails",
    "0-47": "meetings",
    "0-46": "notes",
    "0-27": "tasks",
    **{kind[:-1]: kind for kind in OBJECT_TYPES},
    **{kind: kind for kind in OBJECT_TYPES},
}


def object_type(raw: str) -> str:
    kind = TYPE_ALIASES.get(raw.lower())
    if kind is None:
        raise bad_request(f"Unable to infer object type from: {raw}")
    return kind


def name_list(request: Request, name: str) -> list[str]:
    """`?properties=a,b` and `?properties=a&properties=b` both mean [a, b]."""
    names: list[str] = []
    for value in request.query_params.getlist(name):
        names += [part.strip() for part in value.split(",") if part.strip()]
    return names


def flag(request: Request, name: str, default: bool = False) -> bool:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    lowered = raw.lower()
    if lowered not in ("true", "false"):
        raise bad_request(f"'{name}' must be true or false; got {raw!r}.")
    return lowered == "true"


def integer(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise bad_request(f"'{name}' must be an integer; got {raw!r}.") from None
    if not low <= value <= high:
        raise bad_request(f"'{name}' must be between {low} and {high}; got {value}.")
    return value


def record_id(raw: str | None, what: str = "after") -> int | None:
    if raw is None or raw == "":
        return None
    try:
        return int(raw)
    except ValueError:
        raise bad_request(
            f"'{what}' must be a record id (an integer as text); got {raw!r}."
        ) from None


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


async def json_body(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise bad_request("The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object.")
    return body
