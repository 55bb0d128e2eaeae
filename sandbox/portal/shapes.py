"""The fixed vocabulary of a synthetic portal: object types, stages, teams, association ids.

Everything here is data, not behaviour, so a reader can see the portal's shape at a glance.
"""

from __future__ import annotations

from dataclasses import dataclass

CONTACTS = "contacts"
DEALS = "deals"
ENGAGEMENT_TYPES: tuple[str, ...] = ("calls", "emails", "meetings", "notes", "tasks")
OBJECT_TYPES: tuple[str, ...] = (CONTACTS, DEALS, *ENGAGEMENT_TYPES)

# HubSpot ids are per-object-type integers; deal and engagement ids in real portals are far
# beyond 32 bits, so the sandbox uses such ids too (it catches code that assumes small ints).
ID_OFFSETS: dict[str, int] = {
    CONTACTS: 1,
    DEALS: 9_000_000_001,
    "calls": 21_000_000_001,
    "emails": 22_000_000_001,
    "meetings": 23_000_000_001,
    "notes": 24_000_000_001,
    "tasks": 25_000_000_001,
}

# Base records per contact. One contact in CONTACTS_PER_DEAL gets a deal.
CONTACTS_PER_DEAL = 10
DEAL_SLOT = 3  # the contact index remainder that owns a deal
MEETINGS = "meetings"
# A deal's meeting takes this many times a team's first-touch delay to be booked.
MEETING_PACE = 3
ENGAGEMENTS_PER_CONTACT: dict[str, float] = {
    "calls": 0.6,
    "emails": 0.8,
    MEETINGS: 0.1,  # one per base deal (one deal per CONTACTS_PER_DEAL contacts)
    "notes": 0.2,
    "tasks": 0.2,
}

# The property that moves whenever a record changes: the cursor for incremental reads.
MODIFIED_PROPERTY: dict[str, str] = dict.fromkeys(OBJECT_TYPES, "hs_lastmodifieddate")
MODIFIED_PROPERTY[CONTACTS] = "lastmodifieddate"
CREATED_PROPERTY: dict[str, str] = dict.fromkeys(ENGAGEMENT_TYPES, "hs_createdate")
CREATED_PROPERTY[CONTACTS] = "createdate"
CREATED_PROPERTY[DEALS] = "createdate"

# Properties whose full history the portal keeps (and the ground truth exposes).
TRACKED_PROPERTIES: dict[str, tuple[str, ...]] = {
    CONTACTS: ("lifecyclestage", "hubspot_owner_id", "hs_lead_status"),
    DEALS: ("dealstage", "hubspot_owner_id"),
}

LIFECYCLE_STAGES: tuple[str, ...] = (
    "subscriber",
    "lead",
    "marketingqualifiedlead",
    "salesqualifiedlead",
    "opportunity",
    "customer",
    "evangelist",
    "other",
)
# Custom lifecycle stages (HubSpot since 2022) have numeric ids; this one sits after "lead".
CUSTOM_STAGE_ID = "1098541273"
CUSTOM_STAGE_LABEL = "Nurture"
LEAD_STATUSES: tuple[str, ...] = (
    "NEW",
    "OPEN",
    "IN_PROGRESS",
    "ATTEMPTED_TO_CONTACT",
    "CONNECTED",
    "BAD_TIMING",
    "UNQUALIFIED",
)
LEAD_SOURCES: tuple[tuple[str, float], ...] = (
    ("ORGANIC_SEARCH", 0.30),
    ("PAID_SEARCH", 0.15),
    ("SOCIAL_MEDIA", 0.10),
    ("REFERRALS", 0.10),
    ("DIRECT_TRAFFIC", 0.15),
    ("OFFLINE", 0.12),
    ("EMAIL_MARKETING", 0.08),
)


@dataclass(frozen=True)
class Stage:
    id: str
    label: str
    probability: float
    is_closed: bool


@dataclass(frozen=True)
class Pipeline:
    id: str
    label: str
    stages: tuple[Stage, ...]


PIPELINES: tuple[Pipeline, ...] = (
    Pipeline(
        "default",
        "Sales Pipeline",
        (
            Stage("appointmentscheduled", "Appointment Scheduled", 0.2, False),
            Stage("qualifiedtobuy", "Qualified To Buy", 0.4, False),
            Stage("presentationscheduled", "Presentation Scheduled", 0.6, False),
            Stage("decisionmakerboughtin", "Decision Maker Bought-In", 0.8, False),
            Stage("contractsent", "Contract Sent", 0.9, False),
            Stage("closedwon", "Closed Won", 1.0, True),
            Stage("closedlost", "Closed Lost", 0.0, True),
        ),
    ),
    Pipeline(
        "75849213",
        "Renewals",
        (
            Stage("75849214", "Renewal Due", 0.5, False),
            Stage("75849215", "Renewal Negotiation", 0.7, False),
            Stage("75849216", "Renewed", 1.0, True),
            Stage("75849217", "Churned", 0.0, True),
        ),
    ),
)


@dataclass(frozen=True)
class Team:
    """A team of owners and how fast its reps answer a new lead (in business minutes)."""

    id: str
    name: str
    median_response_minutes: int
    slow_share: float  # share of leads that wait far longer than the median


TEAMS: tuple[Team, ...] = (
    Team("6001", "Inbound SDR", 20, 0.05),
    Team("6002", "Outbound SDR", 90, 0.15),
    Team("6003", "Account Executives", 240, 0.30),
    Team("6004", "Marketing", 600, 0.50),
)

# HubSpot-defined association type ids (category HUBSPOT_DEFINED).
ASSOCIATION_TYPE_IDS: dict[tuple[str, str], int] = {
    (CONTACTS, DEALS): 4,
    (DEALS, CONTACTS): 3,
    ("calls", CONTACTS): 194,
    (CONTACTS, "calls"): 193,
    ("emails", CONTACTS): 198,
    (CONTACTS, "emails"): 197,
    ("meetings", CONTACTS): 200,
    (CONTACTS, "meetings"): 199,
    ("notes", CONTACTS): 202,
    (CONTACTS, "notes"): 201,
    ("tasks", CONTACTS): 204,
    (CONTACTS, "tasks"): 203,
    ("calls", DEALS): 206,
    (DEALS, "calls"): 205,
    ("emails", DEALS): 210,
    (DEALS, "emails"): 209,
    ("meetings", DEALS): 212,
    (DEALS, "meetings"): 211,
    ("notes", DEALS): 214,
    (DEALS, "notes"): 213,
    ("tasks", DEALS): 216,
    (DEALS, "tasks"): 215,
}

# Singular names used by webhook subscription types ("contact.propertyChange").
SINGULAR: dict[str, str] = {
    CONTACTS: "contact",
    DEALS: "deal",
    "calls": "call",
    "emails": "email",
    "meetings": "meeting",
    "notes": "note",
    "tasks": "task",
}
