"""Typed records the client hands to callers (never the SDK's generated model objects).

HubSpot sends property values as strings (or null); they stay strings here, exactly as sent,
and `app/sync/mapping.py` derives typed columns from them. Timestamps HubSpot sends as
metadata (createdAt, updatedAt, history timestamps) are parsed to aware UTC datetimes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Generic, NamedTuple, TypeVar

T = TypeVar("T")


class PropertyChange(NamedTuple):
    """One entry of `propertiesWithHistory.<name>`: a value the property held from `timestamp`.

    Named tuples (here and for links): immutable like frozen dataclasses and several times
    cheaper to build, which counts at millions of history entries per full sync."""

    value: str | None
    timestamp: datetime
    source_type: str | None = None
    source_id: str | None = None


class AssociatedId(NamedTuple):
    to_id: str
    type_id: int | None
    label: str | None
    category: str | None


class InlineLinks(NamedTuple):
    """A record's links of one type as a list page returns them (`associations=contacts`).

    `complete` is False when HubSpot paged the list (a record with more links than a list
    page carries): the record's links must then be read through associations v4."""

    to: list[AssociatedId]
    complete: bool


@dataclass(frozen=True, slots=True)
class CrmRecord:
    """A contact, deal, call, email, meeting, note or task."""

    object_type: str
    id: str
    properties: dict[str, str | None]
    archived: bool = False
    created_at: datetime | None = None
    updated_at: datetime | None = None
    archived_at: datetime | None = None
    # newest first, as HubSpot lists them; only for properties asked for with history
    history: dict[str, list[PropertyChange]] = field(default_factory=dict)
    # Links a list page returned inline (`associations=` asked for), by HubSpot's plural type
    # name; None when they were not asked for (see InlineLinks).
    associations: dict[str, InlineLinks] | None = None


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a list or search; `next_after` is None on the last page."""

    results: list[T]
    next_after: str | None
    total: int | None = None


@dataclass(frozen=True, slots=True)
class RawPage:
    """A CRM list or search answer whose records are not built yet.

    What the next request needs (the cursor, the last id) is read off the JSON at once, so the
    reader can ask for the next page while this one's records are built elsewhere
    (`HubSpotClient.records_of`, on another thread): building them costs more than the wait
    for HubSpot's answer."""

    object_type: str
    body: dict[str, Any]
    associations: tuple[str, ...]
    next_after: str | None
    total: int | None
    size: int
    last_id: str | None


@dataclass(frozen=True, slots=True)
class OwnerTeam:
    id: str
    name: str | None
    primary: bool


@dataclass(frozen=True, slots=True)
class OwnerRecord:
    id: str
    email: str | None
    first_name: str | None
    last_name: str | None
    user_id: str | None
    teams: list[OwnerTeam]
    archived: bool
    created_at: datetime | None
    updated_at: datetime | None


@dataclass(frozen=True, slots=True)
class StageRecord:
    id: str
    label: str
    display_order: int
    is_closed: bool
    probability: Decimal | None
    archived: bool


@dataclass(frozen=True, slots=True)
class PipelineRecord:
    id: str
    label: str
    display_order: int
    archived: bool
    stages: list[StageRecord]


@dataclass(frozen=True, slots=True)
class PropertyOption:
    """One option of an enumeration property (e.g. a lifecycle stage)."""

    value: str
    label: str
    display_order: int
    hidden: bool


@dataclass(frozen=True, slots=True)
class PropertyDefinition:
    name: str
    label: str
    type: str
    options: list[PropertyOption]


@dataclass(frozen=True, slots=True)
class AccountDetails:
    portal_id: int
    time_zone: str
    currency: str
    ui_domain: str


@dataclass(frozen=True, slots=True)
class AssociationSet:
    """Every record of one type a record is associated with (v4 batch read)."""

    from_id: str
    to: list[AssociatedId]
