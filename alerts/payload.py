"""The outgoing webhook payload, version 1 (schema: `alerts/schema/sla-event.v1.json`).

A receiver keys on `id` (also sent as `webhook-id`): it is the same for every retry of one
event to one endpoint. Fields are only ever added within a version; a change that removes or
retypes a field is a new version with a new schema file.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from alerts.model import AlertEvent

PAYLOAD_VERSION = 1
# HubSpot's object type ids, as its record URLs spell them.
_OBJECT_TYPE_IDS = {"contact": "0-1", "deal": "0-3"}


@dataclass(frozen=True, slots=True)
class Owner:
    id: str
    name: str | None
    email: str | None


@dataclass(frozen=True, slots=True)
class PayloadContext:
    """What the payload says beyond the event row: the rule, the instance, the owner."""

    rule_name: str
    rule_goal: str | None
    state: str
    started_at: datetime
    due_at: datetime | None
    breached_at: datetime | None
    cycle: int
    ui_domain: str = "app.hubspot.com"
    owner: Owner | None = None


def message_id(event_id: int, endpoint: str) -> str:
    """`webhook-id`: one per event and endpoint, the same on every retry."""
    return f"msg_{event_id}_{endpoint}"


def record_url(ui_domain: str, portal_id: int, object_type: str, object_id: str) -> str | None:
    type_id = _OBJECT_TYPE_IDS.get(object_type)
    if type_id is None:
        return None  # quota periods and rate windows are not HubSpot records
    return f"https://{ui_domain}/contacts/{portal_id}/record/{type_id}/{object_id}"


def _time(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


def build_payload(
    event: AlertEvent, context: PayloadContext, endpoint: str, sent_at: datetime
) -> dict[str, Any]:
    owner = context.owner
    return {
        "version": PAYLOAD_VERSION,
        "id": message_id(event.id, endpoint),
        "type": f"sla.{event.type}",
        "timestamp": sent_at.isoformat(),
        "data": {
            "event": {
                "id": event.id,
                "type": str(event.type),
                "occurred_at": event.occurred_at.isoformat(),
                "route": event.route,
                "step": event.step,
            },
            "portal_id": event.portal_id,
            "rule": {
                "id": event.rule_id,
                "name": context.rule_name,
                "kind": event.rule_kind,
                "goal": context.rule_goal,
            },
            "record": {
                "object_type": event.object_type,
                "object_id": event.object_id,
                "url": record_url(
                    context.ui_domain, event.portal_id, event.object_type, event.object_id
                ),
            },
            "owner": None
            if owner is None
            else {"id": owner.id, "name": owner.name, "email": owner.email},
            "instance": {
                "id": event.instance_id,
                "state": context.state,
                "cycle": context.cycle,
                "started_at": context.started_at.isoformat(),
                "due_at": _time(context.due_at),
                "breached_at": _time(context.breached_at),
            },
        },
    }
