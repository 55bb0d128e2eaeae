"""Turning one element of a HubSpot webhook batch into a typed event, or saying why not.

The dedupe key follows HubSpot's advice (eventId is not guaranteed unique): a hash of
(subscriptionType, objectId, propertyName, occurredAt, propertyValue), plus the portal (object
ids are unique per portal only) and the fields that tell two association changes or two merges
of the same instant apart, which the five fields alone would fold into one.
"""

from __future__ import annotations

import hashlib
import json
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


def parse_event(raw: Any, *, may_contain_nul: bool = True) -> WebhookEventRecord:
    """Validate one element of a batch; raise `EventParseError` with a short reason.

    `may_contain_nul=False` skips the search for U+0000, for callers that know the raw body
    has no `\\u0000` escape (the only way JSON can carry one).
    """
    if not isinstance(raw, dict):
        raise EventParseError("event is not a JSON object")
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
    if may_contain_nul and _has_nul(raw):
        # PostgreSQL text and JSONB cannot hold U+0000; no real HubSpot value contains it.
        raise EventParseError("event contains a NUL character")
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


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False
