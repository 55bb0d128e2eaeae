"""A stored SLA event as the router sees it (an ORM row or a selected row with the same
fields)."""

from __future__ import annotations

from typing import Any

from alerts.model import AlertEvent, EventType


def alert_event(row: Any) -> AlertEvent:
    """The stored event as routing sees it; a follow-up names its route and step."""
    details = row.details or {}
    step = details.get("step")
    return AlertEvent(
        id=row.id,
        portal_id=row.portal_id,
        instance_id=row.instance_id,
        rule_id=row.rule_id,
        rule_kind=row.kind,
        type=EventType(row.type),
        object_type=row.object_type,
        object_id=row.object_id,
        owner_id=row.owner_id,
        occurred_at=row.occurred_at,
        route=details.get("route") if row.follow_up else None,
        step=step if isinstance(step, int) else None,
    )
