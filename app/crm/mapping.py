"""HubSpot records → store rows: the typed columns the SLA engine queries, derived from the
properties exactly as HubSpot sent them (which are kept whole in `properties`).

Typed text columns are clipped to their column width so one odd value cannot fail a page on
PostgreSQL; the full value stays in `properties`.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from app.crm.objects import ENGAGEMENT_TYPES
from app.store.bulk import Row
from integrations.hubspot.parsing import parse_timestamp
from integrations.hubspot.records import CrmRecord, OwnerRecord


def _text(value: str | None, width: int) -> str | None:
    if value is None or value == "":
        return None
    return value[:width]


def _amount(value: str | None) -> Decimal | None:
    if value is None or value.strip() == "":
        return None
    try:
        amount = Decimal(value.strip())
    except InvalidOperation:
        return None
    # Numeric(18, 2): anything larger cannot be stored and is no real deal amount.
    if not amount.is_finite() or abs(amount) >= Decimal(10) ** 16:
        return None
    return amount.quantize(Decimal("0.01"))


def _time(record: CrmRecord, name: str) -> datetime | None:
    return parse_timestamp(record.properties.get(name))


def merged_ids(record: CrmRecord) -> list[str]:
    """Ids HubSpot merged into this record (`hs_merged_object_ids`, `;`-separated)."""
    raw = record.properties.get("hs_merged_object_ids") or ""
    return [part.strip() for part in raw.split(";") if part.strip() and part.strip() != record.id]


def modified_at(record: CrmRecord) -> datetime | None:
    """The record's last modification: the cursor property, or updatedAt as a fallback."""
    for name in ("lastmodifieddate", "hs_lastmodifieddate"):
        value = _time(record, name)
        if value is not None:
            return value
    return record.updated_at


# Properties HubSpot updates whenever a tracked value changes, even when it changes back
# (a stage left and re-entered has a new entered date; a reassigned owner a new assigned date).
_HISTORY_MARKERS = ("hubspot_owner_assigneddate", "hs_merged_object_ids")
_HISTORY_MARKER_PREFIXES = ("hs_v2_date_entered_", "hs_v2_date_exited_", "hs_date_entered_")


def _is_history_marker(name: str) -> bool:
    return (
        name in _HISTORY_MARKERS
        or name.startswith(_HISTORY_MARKER_PREFIXES)
        or (name.startswith("hs_lifecyclestage_") and name.endswith("_date"))
    )


def history_fingerprint(
    properties: dict[str, Any], tracked: tuple[str, ...]
) -> dict[str, str | None]:
    """What must differ for a record's tracked history to have changed: the tracked values
    and the dates HubSpot stamps when they change. Equal fingerprints, equal history (but
    for a value without a date property changed and changed back between two reads)."""
    found = {name: properties.get(name) or None for name in tracked}
    for name, value in properties.items():
        if value and _is_history_marker(name):
            found[name] = value
    return found


def _created_at(record: CrmRecord) -> datetime | None:
    return _time(record, "createdate") or _time(record, "hs_createdate") or record.created_at


def _common(portal_id: int, record: CrmRecord, synced_at: datetime) -> Row:
    return {
        "portal_id": portal_id,
        "id": record.id,
        "archived": record.archived,
        # HubSpot's null is an unset property: only set ones are kept (a read gives None for
        # both), which halves a contact's row (most of the stage-date properties are unset)
        "properties": {
            name: value for name, value in record.properties.items() if value is not None
        },
        "created_at": _created_at(record),
        "modified_at": modified_at(record),
        "synced_at": synced_at,
    }


def contact_row(portal_id: int, record: CrmRecord, synced_at: datetime) -> Row:
    props = record.properties
    return {
        **_common(portal_id, record, synced_at),
        "email": _text(props.get("email"), 320),
        "lifecycle_stage": _text(props.get("lifecyclestage"), 64),
        "owner_id": _text(props.get("hubspot_owner_id"), 32),
        "owner_assigned_at": _time(record, "hubspot_owner_assigneddate"),
        "lead_status": _text(props.get("hs_lead_status"), 64),
        "lead_source": _text(props.get("hs_analytics_source"), 64),
    }


def deal_row(portal_id: int, record: CrmRecord, synced_at: datetime) -> Row:
    props = record.properties
    return {
        **_common(portal_id, record, synced_at),
        "name": _text(props.get("dealname"), 512),
        "pipeline": _text(props.get("pipeline"), 64),
        "deal_stage": _text(props.get("dealstage"), 64),
        "amount": _amount(props.get("amount")),
        "close_date": _time(record, "closedate"),
        "owner_id": _text(props.get("hubspot_owner_id"), 32),
    }


def engagement_row(portal_id: int, record: CrmRecord, synced_at: datetime) -> Row:
    props = record.properties
    direction = props.get("hs_call_direction") or props.get("hs_email_direction")
    status = (
        props.get("hs_call_status")
        or props.get("hs_email_status")
        or props.get("hs_meeting_outcome")
        or props.get("hs_task_status")
    )
    return {
        **_common(portal_id, record, synced_at),
        "type": ENGAGEMENT_TYPES.get(record.object_type, record.object_type)[:16],
        "occurred_at": _time(record, "hs_timestamp") or _created_at(record),
        "owner_id": _text(props.get("hubspot_owner_id"), 32),
        "direction": _text(direction, 32),
        "status": _text(status, 64),
    }


def record_row(portal_id: int, record: CrmRecord, synced_at: datetime) -> Row:
    """The row for any CRM record, picked by its HubSpot object type."""
    if record.object_type == "contacts":
        return contact_row(portal_id, record, synced_at)
    if record.object_type == "deals":
        return deal_row(portal_id, record, synced_at)
    if record.object_type in ENGAGEMENT_TYPES:
        return engagement_row(portal_id, record, synced_at)
    raise ValueError(f"slaguard does not store HubSpot {record.object_type}")


def owner_row(portal_id: int, owner: OwnerRecord) -> Row:
    primary = next((team for team in owner.teams if team.primary), None)
    return {
        "portal_id": portal_id,
        "id": owner.id,
        "email": _text(owner.email, 320),
        "first_name": _text(owner.first_name, 255),
        "last_name": _text(owner.last_name, 255),
        "user_id": _text(owner.user_id, 32),
        "teams": [{"id": t.id, "name": t.name, "primary": t.primary} for t in owner.teams],
        "primary_team_id": _text(primary.id if primary else None, 32),
        "archived": owner.archived,
        "created_at": owner.created_at,
        "updated_at": owner.updated_at,
    }
