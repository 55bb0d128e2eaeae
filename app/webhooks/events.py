"""Turning one element of a HubSpot webhook batch into a typed event, or saying why not.

The dedupe key follows HubSpot's advice (eventId is not guaranteed unique): a hash of
(subscriptionType, objectId, propertyName, occurredAt, propertyValue), plus the portal (object
ids are unique per portal only) and the fields that tell two association changes or two merges
of the same instant apart, which the five fields alone would fold into one.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeGuard

# HubSpot's object names in subscription types -> slaguard's object types (None: not stored).
OBJECT_TYPES: dict[str, str | None] = {
    "contact": "contact",
    "deal": "deal",
    "company": None,
    "ticket": None,
    "product": None,
    "line_item": None,
}
ACTIONS = frozenset(
    {
        "creation",
        "deletion",
        "propertyChange",
        "merge",
        "restore",
        "associationChange",
        "privacyDeletion",
    }
)
_MAX_ID_LENGTH = 32  # the width of the id columns
_MAX_PROPERTY_NAME = 128
_MAX_BIGINT = 2**63 - 1
_MAX_OCCURRED_MS = 253_402_300_799_000  # 9999-12-31, the last instant a datetime holds
# A HubSpot event is an object of scalars and one list of ids; far deeper nesting only makes
# every later step (serializing, the database's JSON parser) recurse that deep.
MAX_EVENT_DEPTH = 32
_SURROGATE = re.compile("[\ud800-\udfff]")
_SCALARS = frozenset({str, int, bool, type(None)})


class EventParseError(ValueError):
    """An element of a batch that is not a usable HubSpot event; the message is the reason."""


@dataclass(frozen=True)
class WebhookEventRecord:
    """One parsed HubSpot event, ready to be stored in `webhook_events`."""

    dedupe_key: str
    portal_id: int
    event_id: int | None
    subscription_type: str
    object_type: str  # HubSpot's object name: contact, deal, company, ...
    action: str  # creation, propertyChange, ...
    object_id: str
    property_name: str | None
    property_value: str | None
    occurred_at: datetime
    payload: dict[str, Any] = field(repr=False)


def parse_event(
    raw: Any, *, may_contain_nul: bool = True, may_contain_surrogate: bool = True
) -> WebhookEventRecord:
    """Validate one element of a batch; raise `EventParseError` with a short reason.

    `may_contain_nul=False` / `may_contain_surrogate=False` skip the search of every text for
    U+0000 / a lone surrogate, for callers that know the raw body cannot carry one (see
    `text_flags`).
    """
    if not isinstance(raw, dict):
        raise EventParseError("event is not a JSON object")
    problem = unstorable(raw, check_text=may_contain_nul or may_contain_surrogate)
    if problem is not None:
        raise EventParseError(problem)
    subscription_type = raw.get("subscriptionType")
    if not isinstance(subscription_type, str) or "." not in subscription_type:
        raise EventParseError("subscriptionType is missing or not '<object>.<action>'")
    hubspot_object, _, action = subscription_type.partition(".")
    if hubspot_object not in OBJECT_TYPES or action not in ACTIONS:
        raise EventParseError(f"unknown subscriptionType {subscription_type[:64]!r}")
    if action == "privacyDeletion" and hubspot_object != "contact":
        raise EventParseError("privacyDeletion exists for contacts only")
    portal_id = _int_field(raw, "portalId")
    occurred_ms = _int_field(raw, "occurredAt")
    object_id = _object_id(raw, action)
    property_name = raw.get("propertyName")
    if action == "propertyChange":
        if not isinstance(property_name, str) or not property_name:
            raise EventParseError("propertyChange without a propertyName")
    elif property_name is not None and not isinstance(property_name, str):
        raise EventParseError("propertyName is not a string")
    if property_name is not None and len(property_name) > _MAX_PROPERTY_NAME:
        raise EventParseError("propertyName is too long")
    if occurred_ms > _MAX_OCCURRED_MS:
        raise EventParseError("occurredAt is out of range")
    property_value = _optional_text(raw.get("propertyValue"), "propertyValue")
    event_id = raw.get("eventId")
    if event_id is not None and (not _is_int(event_id) or abs(event_id) > _MAX_BIGINT):
        raise EventParseError("eventId is not a 64-bit integer")
    return WebhookEventRecord(
        dedupe_key=dedupe_key(raw, portal_id, subscription_type, object_id, occurred_ms),
        portal_id=portal_id,
        event_id=event_id,
        subscription_type=subscription_type,
        object_type=hubspot_object,
        action=action,
        object_id=object_id,
        property_name=property_name,
        property_value=property_value,
        occurred_at=datetime.fromtimestamp(occurred_ms / 1000, tz=UTC),
        payload=raw,
    )


def dedupe_key(
    raw: dict[str, Any], portal_id: int, subscription_type: str, object_id: str, occurred_ms: int
) -> str:
    identity = [
        portal_id,
        subscription_type,
        object_id,
        raw.get("propertyName"),
        occurred_ms,
        raw.get("propertyValue"),
        # association changes and merges: what changed, beyond the object
        raw.get("fromObjectId"),
        raw.get("toObjectId"),
        raw.get("associationType"),
        raw.get("associationRemoved"),
        raw.get("primaryObjectId"),
        raw.get("mergedObjectIds"),
        raw.get("newObjectId"),
    ]
    return hashlib.sha256(_encode_identity(identity).encode()).hexdigest()


# json.dumps(identity, separators=(",", ":"), default=str), without building an encoder per call
# (the output, and so every stored key, is the same).
_encode_identity = json.JSONEncoder(separators=(",", ":"), default=str).encode


def _is_int(value: Any) -> TypeGuard[int]:
    return type(value) is int or (isinstance(value, int) and not isinstance(value, bool))


def _int_field(raw: dict[str, Any], name: str) -> int:
    value = raw.get(name)
    if not _is_int(value) or value < 0 or value > _MAX_BIGINT:
        raise EventParseError(f"{name} is missing or not a non-negative integer")
    return value


def _object_id(raw: dict[str, Any], action: str) -> str:
    value = raw.get("objectId")
    if value is None and action == "associationChange":
        value = raw.get("fromObjectId")
    if value is None and action == "merge":
        value = raw.get("primaryObjectId")
    if not _is_int(value) or value < 0:
        raise EventParseError("objectId is missing or not a non-negative integer")
    text = str(value)
    if len(text) > _MAX_ID_LENGTH:
        raise EventParseError("objectId is too long")
    return text


def _optional_text(value: Any, name: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool | int | float):
        return json.dumps(value)
    raise EventParseError(f"{name} is not a scalar")


def text_flags(body: bytes) -> tuple[bool, bool]:
    """(may contain U+0000, may contain a lone surrogate) for a raw JSON body: JSON carries a
    NUL only as the escape \\u0000, and a surrogate only as a \\uD8xx-\\uDFxx escape or as
    the bytes ED A0-BF (which `json.loads` lets through)."""
    escapes = b"\\u" in body
    nul = escapes and b"\\u0000" in body
    surrogate = _SURROGATE_BYTES.search(body) is not None if escapes or b"\xed" in body else False
    return nul, surrogate


_SURROGATE_BYTES = re.compile(rb"\\u[dD][89abcdefABCDEF]|\xed[\xa0-\xbf]")


def unstorable(raw: dict[str, Any], *, check_text: bool = True) -> str | None:
    """Why neither database could store this event as it is, or None.

    PostgreSQL's text and JSONB hold no U+0000, neither database's UTF-8 holds a lone
    surrogate, JSONB has no NaN or Infinity; nesting is bounded by `MAX_EVENT_DEPTH`.
    """
    if not check_text and _SCALARS.issuperset(map(type, raw.values())):
        return None  # a flat event of strings and integers: what HubSpot sends
    stack: list[tuple[Any, int]] = [(raw, 1)]
    while stack:
        current, depth = stack.pop()
        if depth > MAX_EVENT_DEPTH:
            return f"event is nested deeper than {MAX_EVENT_DEPTH} levels"
        pairs = current.items() if type(current) is dict else enumerate(current)
        for key, value in pairs:
            kind = type(value)
            if kind is dict or kind is list:
                stack.append((value, depth + 1))
            elif kind is float and not math.isfinite(value):
                return "event contains a number that is not finite (NaN or Infinity)"
            elif check_text:
                problem = _text_problem(key) or (_text_problem(value) if kind is str else None)
                if problem is not None:
                    return problem
    return None


def _text_problem(text: object) -> str | None:
    if type(text) is not str:
        return None
    if "\x00" in text:
        return "event contains a NUL character"
    if _SURROGATE.search(text):
        return "event contains a lone surrogate (not valid Unicode)"
    return None
