"""The HubSpot object types slaguard syncs and what it reads of each."""

from __future__ import annotations

from dataclasses import dataclass

from app.sla.records import TRACKED_BY_TYPE

ENGAGEMENT_TYPES = {
    "calls": "call",
    "emails": "email",
    "meetings": "meeting",
    "notes": "note",
    "tasks": "task",
}

CONTACT_PROPERTIES = (
    "email",
    "firstname",
    "lastname",
    "lifecyclestage",
    "hubspot_owner_id",
    "hubspot_owner_assigneddate",
    "hs_lead_status",
    "hs_analytics_source",
    "createdate",
    "lastmodifieddate",
    "hs_merged_object_ids",
    "notes_last_contacted",
    "hs_last_sales_activity_timestamp",
    "hs_sa_first_engagement_date",
    "num_contacted_notes",
)
DEAL_PROPERTIES = (
    "dealname",
    "pipeline",
    "dealstage",
    "amount",
    "closedate",
    "createdate",
    "hs_lastmodifieddate",
    "hubspot_owner_id",
    "hubspot_owner_assigneddate",
    "hs_merged_object_ids",
    "hs_is_closed_won",
)
ENGAGEMENT_PROPERTIES = (
    "hs_timestamp",
    "hubspot_owner_id",
    "hs_createdate",
    "hs_lastmodifieddate",
    "hs_call_direction",
    "hs_call_status",
    "hs_email_direction",
    "hs_email_status",
    "hs_meeting_outcome",
    "hs_task_status",
    "hs_task_type",
)


@dataclass(frozen=True)
class ObjectSpec:
    """How one HubSpot object type is read and stored."""

    name: str  # HubSpot's plural name: contacts, deals, calls, ...
    store_type: str  # singular name used in the store: contact, deal, call, ...
    modified_property: str  # the incremental cursor
    base_properties: tuple[str, ...]
    # properties whose value history becomes transitions (`TRACKED_BY_TYPE`)
    history_properties: tuple[str, ...] = ()
    # (to HubSpot type, store type) read through associations v4 for every changed record
    associations: tuple[tuple[str, str], ...] = ()

    @property
    def is_engagement(self) -> bool:
        return self.name in ENGAGEMENT_TYPES


CONTACTS = ObjectSpec(
    name="contacts",
    store_type="contact",
    modified_property="lastmodifieddate",
    base_properties=CONTACT_PROPERTIES,
    history_properties=TRACKED_BY_TYPE["contact"],
)
DEALS = ObjectSpec(
    name="deals",
    store_type="deal",
    modified_property="hs_lastmodifieddate",
    base_properties=DEAL_PROPERTIES,
    history_properties=TRACKED_BY_TYPE["deal"],
    associations=(("contacts", "contact"),),
)
ENGAGEMENTS = tuple(
    ObjectSpec(
        name=name,
        store_type=store_type,
        modified_property="hs_lastmodifieddate",
        base_properties=ENGAGEMENT_PROPERTIES,
        associations=(("contacts", "contact"), ("deals", "deal")),
    )
    for name, store_type in ENGAGEMENT_TYPES.items()
)
CRM_OBJECTS: dict[str, ObjectSpec] = {spec.name: spec for spec in (CONTACTS, DEALS, *ENGAGEMENTS)}


# Association rows store engagements under one type, because engagement ids are unique across
# calls, emails, meetings, notes and tasks and the SLA engine asks "which touches hit contact X".
ENGAGEMENT_STORE_TYPE = "engagement"


def association_from_type(spec: ObjectSpec) -> str:
    return ENGAGEMENT_STORE_TYPE if spec.is_engagement else spec.store_type


def spec_for(object_type: str) -> ObjectSpec:
    """The spec for a HubSpot plural name or a store singular name (contact / contacts)."""
    if object_type in CRM_OBJECTS:
        return CRM_OBJECTS[object_type]
    for spec in CRM_OBJECTS.values():
        if spec.store_type == object_type:
            return spec
    raise KeyError(object_type)
