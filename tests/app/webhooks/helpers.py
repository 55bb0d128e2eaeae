"""Building HubSpot webhook events and signing requests the way HubSpot does (its own SDK)."""

from __future__ import annotations

import itertools
import json
import time
from typing import Any

from hubspot.utils.signature import Signature

SECRET = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
PORTAL = 62515
_event_ids = itertools.count(1000)


def signed_headers(body: bytes, uri: str, secret: str = SECRET, age_ms: int = 0) -> dict[str, str]:
    timestamp = str(time.time_ns() // 1_000_000 - age_ms)
    signature = Signature.get_signature(
        secret, body.decode("utf-8"), "v3", http_uri=uri, http_method="POST", timestamp=timestamp
    )
    return {
        "Content-Type": "application/json",
        "X-HubSpot-Signature-v3": signature,
        "X-HubSpot-Request-Timestamp": timestamp,
    }


def encode(events: list[Any]) -> bytes:
    return json.dumps(events, separators=(",", ":")).encode()


def event(
    subscription_type: str,
    object_id: int,
    occurred_at: int,
    *,
    portal_id: int = PORTAL,
    **extra: Any,
) -> dict[str, Any]:
    return {
        "eventId": next(_event_ids),
        "subscriptionId": 4242,
        "portalId": portal_id,
        "appId": 777,
        "occurredAt": occurred_at,
        "subscriptionType": subscription_type,
        "attemptNumber": 0,
        "objectId": object_id,
        "changeSource": "CRM",
        **extra,
    }


def property_change(
    object_type: str, object_id: int, occurred_at: int, name: str, value: str | None
) -> dict[str, Any]:
    return event(
        f"{object_type}.propertyChange",
        object_id,
        occurred_at,
        propertyName=name,
        propertyValue=value,
    )


def ingest(session_factory: Any, events: list[Any]) -> Any:
    """Store a batch the way the endpoint does (parse, insert once, commit)."""
    from datetime import UTC, datetime

    from app.store.db import session_scope
    from app.webhooks.ingest import split_batch, store_batch

    with session_scope(session_factory) as session:
        return store_batch(session, split_batch(events), datetime.now(UTC))


def seed_read(factory: Any, object_type: str, ids: list[int]) -> None:
    """Records as a read from HubSpot long ago stored them: events about them apply at once
    (an event about a record never read only waits for its read)."""
    from datetime import UTC, datetime

    from app.crm.repository import ensure_portal
    from app.models import Contact, Deal
    from app.store.db import session_scope

    model = Contact if object_type == "contact" else Deal
    long_ago = datetime(2020, 1, 1, tzinfo=UTC)
    with session_scope(factory) as session:
        ensure_portal(session, PORTAL)
        for object_id in ids:
            session.add(
                model(
                    portal_id=PORTAL,
                    id=str(object_id),
                    archived=False,
                    properties={},
                    modified_at=long_ago,
                    synced_at=long_ago,
                )
            )
