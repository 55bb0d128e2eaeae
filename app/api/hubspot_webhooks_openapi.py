"""The OpenAPI description of `POST /webhooks/hubspot`: HubSpot's event array and every answer.

The endpoint reads its raw body itself (the signature covers the exact bytes, and a pydantic
model would validate every event on the hot path), so the request body is described here and
handed to FastAPI as `openapi_extra`.
"""

from __future__ import annotations

from typing import Any

from app.api.responses import error
from app.webhooks.body import MAX_EVENTS_PER_REQUEST
from app.webhooks.events import ACTIONS, OBJECT_TYPES

_ID = {"type": "integer", "minimum": 0, "format": "int64"}

HUBSPOT_EVENT: dict[str, Any] = {
    "title": "HubSpotWebhookEvent",
    "type": "object",
    "description": (
        "One HubSpot webhook event (v3). Fields beyond these are kept in the stored payload."
    ),
    "properties": {
        "eventId": {"type": "integer", "format": "int64"},
        "subscriptionId": {"type": "integer"},
        "portalId": {**_ID, "description": "must be a portal this slaguard serves"},
        "appId": {"type": "integer"},
        "occurredAt": {**_ID, "description": "epoch milliseconds"},
        "subscriptionType": {
            "type": "string",
            "enum": sorted(f"{o}.{a}" for o in OBJECT_TYPES for a in ACTIONS),
        },
        "attemptNumber": {"type": "integer"},
        "objectId": _ID,
        "propertyName": {"type": "string", "maxLength": 128},
        "propertyValue": {"type": ["string", "null"]},
        "changeSource": {"type": "string"},
        "primaryObjectId": _ID,
        "mergedObjectIds": {"type": "array", "items": _ID},
        "newObjectId": _ID,
        "associationType": {"type": "string"},
        "fromObjectId": _ID,
        "toObjectId": _ID,
        "associationRemoved": {"type": "boolean"},
    },
    "required": ["portalId", "occurredAt", "subscriptionType"],
}

WEBHOOK_REQUEST_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": (
            "A JSON array of HubSpot webhook events (HubSpot sends at most 100), signed with "
            "the headers X-HubSpot-Signature-v3 and X-HubSpot-Request-Timestamp. An element "
            "that is not a usable event of a served portal is accepted and kept as a dead "
            "letter with the reason."
        ),
        "content": {
            "application/json": {
                "schema": {
                    "type": "array",
                    "maxItems": MAX_EVENTS_PER_REQUEST,
                    "items": {"anyOf": [HUBSPOT_EVENT, {"description": "kept as a dead letter"}]},
                }
            }
        },
    }
}

_STORED = {
    "type": "object",
    "properties": {
        "stored": {"type": "integer", "minimum": 0},
        "duplicates": {"type": "integer", "minimum": 0},
        "dead_letters": {"type": "integer", "minimum": 0},
        "dead_letters_not_kept": {
            "type": "integer",
            "minimum": 1,
            "description": "dead letters beyond the per-request cap: counted, not stored",
        },
    },
    "required": ["stored", "duplicates", "dead_letters"],
}

WEBHOOK_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "the batch is committed (events, duplicates and dead letters counted)",
        "content": {"application/json": {"schema": _STORED}},
    },
    400: error("the body is not JSON, or not a JSON array"),
    401: error("the signature or its timestamp is missing, wrong or too old"),
    413: error(f"the body is over 1 MB or holds more than {MAX_EVENTS_PER_REQUEST:,} events"),
    415: error("Content-Type is not application/json (UTF-8)"),
    503: error(
        "HUBSPOT_CLIENT_SECRET is not set, or the portals to accept are not known yet "
        "(HubSpot retries)"
    ),
}
