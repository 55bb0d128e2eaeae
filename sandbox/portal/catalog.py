"""Property definitions of the portal, as GET /crm/v3/properties/{type} lists them."""

from __future__ import annotations

from dataclasses import dataclass

from sandbox.portal.shapes import (
    CONTACTS,
    CUSTOM_STAGE_ID,
    CUSTOM_STAGE_LABEL,
    DEALS,
    ENGAGEMENT_TYPES,
    LEAD_SOURCES,
    LEAD_STATUSES,
    LIFECYCLE_STAGES,
    PIPELINES,
)


@dataclass(frozen=True)
class PropertyDefinition:
    name: str
    label: str
    type: str  # string | number | datetime | enumeration | bool
    field_type: str
    group: str
    options: tuple[tuple[str, str], ...] = ()  # (value, label)
    hubspot_defined: bool = True


def _dt(name: str, label: str, group: str) -> PropertyDefinition:
    return PropertyDefinition(name, label, "datetime", "date", group)


def _text(name: str, label: str, group: str) -> PropertyDefinition:
    return PropertyDefinition(name, label, "string", "text", group)


def _num(name: str, label: str, group: str) -> PropertyDefinition:
    return PropertyDefinition(name, label, "number", "number", group)


def _enum(
    name: str, label: str, group: str, options: tuple[tuple[str, str], ...]
) -> PropertyDefinition:
    return PropertyDefinition(name, label, "enumeration", "select", group, options)


LIFECYCLE_OPTIONS: tuple[tuple[str, str], ...] = (
    *((stage, stage.title()) for stage in LIFECYCLE_STAGES[:2]),
    (CUSTOM_STAGE_ID, CUSTOM_STAGE_LABEL),
    *((stage, stage.title()) for stage in LIFECYCLE_STAGES[2:]),
)


LEAD_STATUS_OPTIONS = tuple((status, status) for status in LEAD_STATUSES)


def _contact_properties() -> list[PropertyDefinition]:
    info = "contactinformation"
    props = [
        _num("hs_object_id", "Record ID", info),
        _dt("createdate", "Create Date", info),
        _dt("lastmodifieddate", "Last Modified Date", info),
        _text("email", "Email", info),
        _text("firstname", "First Name", info),
        _text("lastname", "Last Name", info),
        _enum("lifecyclestage", "Lifecycle Stage", info, LIFECYCLE_OPTIONS),
        _enum("hs_lead_status", "Lead Status", "sales_properties", LEAD_STATUS_OPTIONS),
        PropertyDefinition("hubspot_owner_id", "Contact owner", "enumeration", "select", info),
        _dt("hubspot_owner_assigneddate", "Owner Assigned Date", info),
        _enum(
            "hs_analytics_source", "Original Source", "analyticsinformation",
            tuple((name, name) for name, _ in LEAD_SOURCES),
        ),
        _text("hs_merged_object_ids", "Merged Contact IDs", info),
        _dt("notes_last_contacted", "Last Contacted", "sales_properties"),
        _dt("hs_last_sales_activity_timestamp", "Last Engagement Date", "sales_properties"),
    ]  # fmt: skip
    for value, label in LIFECYCLE_OPTIONS:
        props.append(_dt(f"hs_lifecyclestage_{value}_date", f"Became a {label} Date", info))
        props.append(_dt(f"hs_v2_date_entered_{value}", f"Date entered {label}", info))
        props.append(_dt(f"hs_v2_date_exited_{value}", f"Date exited {label}", info))
    return props


def _deal_properties() -> list[PropertyDefinition]:
    info = "dealinformation"
    stages = tuple((s.id, s.label) for p in PIPELINES for s in p.stages)
    props = [
        _num("hs_object_id", "Record ID", info),
        _dt("createdate", "Create Date", info),
        _dt("hs_lastmodifieddate", "Last Modified Date", info),
        _text("dealname", "Deal Name", info),
        _enum("pipeline", "Pipeline", info, tuple((p.id, p.label) for p in PIPELINES)),
        _enum("dealstage", "Deal Stage", info, stages),
        _num("amount", "Amount", info),
        _dt("closedate", "Close Date", info),
        PropertyDefinition("hubspot_owner_id", "Deal owner", "enumeration", "select", info),
        PropertyDefinition("hs_is_closed_won", "Is Closed Won", "bool", "booleancheckbox", info),
    ]
    for stage_id, label in stages:
        props.append(_dt(f"hs_v2_date_entered_{stage_id}", f"Date entered {label}", info))
        props.append(_dt(f"hs_v2_date_exited_{stage_id}", f"Date exited {label}", info))
    return props


ENGAGEMENT_FIELDS: dict[str, tuple[str, ...]] = {
    "calls": ("hs_call_status", "hs_call_direction", "hs_call_duration", "hs_call_title"),
    "emails": ("hs_email_direction", "hs_email_subject", "hs_email_status"),
    "meetings": ("hs_meeting_title", "hs_meeting_outcome"),
    "notes": ("hs_note_body",),
    "tasks": ("hs_task_subject", "hs_task_status", "hs_task_type"),
}


def _engagement_properties(kind: str) -> list[PropertyDefinition]:
    group = f"{kind[:-1]}information"
    props = [
        _num("hs_object_id", "Record ID", group),
        _dt("hs_createdate", "Create Date", group),
        _dt("hs_lastmodifieddate", "Last Modified Date", group),
        _dt("hs_timestamp", "Activity date", group),
        PropertyDefinition("hubspot_owner_id", "Assigned to", "enumeration", "select", group),
        _num("hs_created_by_user_id", "Created by user ID", group),
    ]  # fmt: skip
    props += [_text(name, name, group) for name in ENGAGEMENT_FIELDS[kind]]
    if kind == "calls":
        props[-2] = _num("hs_call_duration", "Call duration", group)
    return props


DEFINITIONS: dict[str, tuple[PropertyDefinition, ...]] = {
    CONTACTS: tuple(_contact_properties()),
    DEALS: tuple(_deal_properties()),
    **{kind: tuple(_engagement_properties(kind)) for kind in ENGAGEMENT_TYPES},
}
DEFINITION_BY_NAME: dict[str, dict[str, PropertyDefinition]] = {
    kind: {p.name: p for p in defs} for kind, defs in DEFINITIONS.items()
}

# What HubSpot returns when the caller names no properties.
DEFAULT_PROPERTIES: dict[str, tuple[str, ...]] = {
    CONTACTS: ("createdate", "email", "firstname", "hs_object_id", "lastmodifieddate", "lastname"),
    DEALS: (
        "amount",
        "closedate",
        "createdate",
        "dealname",
        "dealstage",
        "hs_lastmodifieddate",
        "hs_object_id",
        "pipeline",
    ),
    **dict.fromkeys(ENGAGEMENT_TYPES, ("hs_createdate", "hs_lastmodifieddate", "hs_object_id")),
}
