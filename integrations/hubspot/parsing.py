"""Raw JSON bodies → typed records.

The client asks the SDK for the raw response (`_preload_content=False`) and parses it here:
building the SDK's generated models for 100-200 records a page costs more than the HTTP
round trip itself (see bench/sync.py), and the records we want are plainer anyway.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from integrations.hubspot.errors import HubSpotResponseError
from integrations.hubspot.records import (
    AccountDetails,
    AssociatedId,
    AssociationSet,
    CrmRecord,
    InlineLinks,
    OwnerRecord,
    OwnerTeam,
    Page,
    PipelineRecord,
    PropertyChange,
    PropertyDefinition,
    PropertyOption,
    RawPage,
    StageRecord,
)

JSONObject = dict[str, Any]
_ZERO = timedelta(0)


def parse_timestamp(value: object) -> datetime | None:
    """HubSpot's timestamps: ISO-8601 (with `Z` or an offset), a bare date, or epoch ms."""
    if isinstance(value, str):  # the usual case first
        return _parse_text(value) if value else None
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value / 1000, tz=UTC)
    return None


@functools.lru_cache(maxsize=65_536)
def _parse_text(text: str) -> datetime | None:
    # Cached: a page repeats the same instants (history entries, shared modification times).
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        stripped = text.strip()
        if stripped.lstrip("-").isdigit():
            return datetime.fromtimestamp(int(stripped) / 1000, tz=UTC)
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed if parsed.utcoffset() == _ZERO else parsed.astimezone(UTC)


def _require(obj: JSONObject, key: str, what: str) -> Any:
    if key not in obj:
        raise HubSpotResponseError(f"HubSpot returned a {what} without {key!r}.")
    return obj[key]


def _str_or_none(value: object) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


def _history(raw: object) -> dict[str, list[PropertyChange]]:
    if not isinstance(raw, dict):
        return {}
    history: dict[str, list[PropertyChange]] = {}
    for name, entries in raw.items():
        changes: list[PropertyChange] = []
        for entry in entries or ():
            stamp = entry.get("timestamp")
            # the usual ISO text goes straight to the cached parser
            timestamp = _parse_text(stamp) if type(stamp) is str else parse_timestamp(stamp)
            if timestamp is None:
                continue  # an entry without a time cannot be placed on a timeline
            value, source_type, source_id = (
                entry.get("value"),
                entry.get("sourceType"),
                entry.get("sourceId"),
            )
            changes.append(
                PropertyChange(
                    value if value is None or type(value) is str else str(value),
                    timestamp,
                    source_type
                    if source_type is None or type(source_type) is str
                    else str(source_type),
                    source_id if source_id is None or type(source_id) is str else str(source_id),
                )
            )
        history[name] = changes
    return history


# HubSpot-defined association types as v3 names them inline, with their v4 type ids (what an
# associations v4 read reports for the same unlabeled link).
DEFAULT_ASSOCIATION_TYPE_IDS: dict[str, int] = {
    "deal_to_contact": 3,
    "contact_to_deal": 4,
    "call_to_contact": 194,
    "email_to_contact": 198,
    "meeting_event_to_contact": 200,
    "note_to_contact": 202,
    "task_to_contact": 204,
    "call_to_deal": 206,
    "email_to_deal": 210,
    "meeting_event_to_deal": 212,
    "note_to_deal": 214,
    "task_to_deal": 216,
}


@functools.lru_cache(maxsize=1024)
def _link_type(name: str | None) -> tuple[int | None, str | None, str | None]:
    """(type id, label, category) for an inline type name."""
    type_id = DEFAULT_ASSOCIATION_TYPE_IDS.get(name or "")
    if type_id is None:
        return None, name, None
    return type_id, None, "HUBSPOT_DEFINED"


def _inline_links(raw: object) -> InlineLinks:
    """One type's `{"results": [{"id", "type"}], "paging"?}`; a link listed once per type is
    kept once, with the HubSpot-defined type when it is among them."""
    if not raw:  # HubSpot leaves a type out when the record has no links of it
        return InlineLinks([], True)
    body = raw if isinstance(raw, dict) else {}
    links: dict[str, AssociatedId] = {}
    for item in body.get("results") or ():
        if "id" not in item:
            raise HubSpotResponseError("HubSpot returned an inline association without 'id'.")
        to_id = str(item["id"])
        type_id, label, category = _link_type(_str_or_none(item.get("type")))
        if to_id not in links or type_id is not None:
            links[to_id] = AssociatedId(to_id, type_id, label, category)
    paging = body.get("paging")
    return InlineLinks(list(links.values()), not (paging and paging.get("next")))


def _associations(raw: object, asked: tuple[str, ...]) -> dict[str, InlineLinks] | None:
    if not asked:
        return None
    given = raw if isinstance(raw, dict) else {}
    # HubSpot leaves a type out when the record has no links of it
    return {name: _inline_links(given.get(name)) for name in asked}


def crm_record(object_type: str, raw: JSONObject, asked: tuple[str, ...] = ()) -> CrmRecord:
    properties = raw.get("properties") or {}
    return CrmRecord(
        object_type=object_type,
        id=str(_require(raw, "id", "record")),
        properties={k: v if v is None or type(v) is str else str(v) for k, v in properties.items()},
        archived=bool(raw.get("archived", False)),
        created_at=parse_timestamp(raw.get("createdAt")),
        updated_at=parse_timestamp(raw.get("updatedAt")),
        archived_at=parse_timestamp(raw.get("archivedAt")),
        history=_history(raw.get("propertiesWithHistory")),
        associations=_associations(raw.get("associations"), asked),
    )


def next_after(body: JSONObject) -> str | None:
    paging = body.get("paging") or {}
    nxt = paging.get("next") or {}
    after = nxt.get("after")
    return None if after in (None, "") else str(after)


def raw_crm_page(object_type: str, body: JSONObject, associations: tuple[str, ...] = ()) -> RawPage:
    """A list or search page's cursor, total, size and last id; its records stay unbuilt
    (`crm_page_of`). `associations` are the types asked for inline."""
    results = _require(body, "results", "page")
    if not isinstance(results, list):
        raise HubSpotResponseError("HubSpot returned a page whose results are not a list.")
    total = body.get("total")
    last_id = _require(results[-1], "id", "record") if results else None
    return RawPage(
        object_type=object_type,
        body=body,
        associations=associations,
        next_after=next_after(body),
        total=int(total) if isinstance(total, int) else None,
        size=len(results),
        last_id=None if last_id is None else str(last_id),
    )


def crm_page_of(raw: RawPage) -> Page[CrmRecord]:
    """The records of a page read by `raw_crm_page`."""
    object_type, asked = raw.object_type, raw.associations
    return Page(
        results=[crm_record(object_type, item, asked) for item in raw.body["results"]],
        next_after=raw.next_after,
        total=raw.total,
    )


def crm_page(
    object_type: str, body: JSONObject, associations: tuple[str, ...] = ()
) -> Page[CrmRecord]:
    """A list or search page; `associations` are the types asked for inline."""
    return crm_page_of(raw_crm_page(object_type, body, associations))


def batch_records(object_type: str, body: JSONObject) -> list[CrmRecord]:
    return [crm_record(object_type, raw) for raw in _require(body, "results", "batch answer")]


def not_found_ids(body: JSONObject) -> list[str]:
    """The ids a batch answer (207) lists under its OBJECT_NOT_FOUND errors."""
    ids: list[str] = []
    for error in body.get("errors") or ():
        if isinstance(error, dict) and error.get("category") == "OBJECT_NOT_FOUND":
            context = error.get("context") or {}
            ids.extend(str(i) for i in (context.get("ids") or ()) if i is not None)
    return ids


def owner(raw: JSONObject) -> OwnerRecord:
    teams = [
        OwnerTeam(
            id=str(team.get("id")),
            name=_str_or_none(team.get("name")),
            primary=bool(team.get("primary", False)),
        )
        for team in raw.get("teams") or ()
    ]
    user_id = raw.get("userId")
    return OwnerRecord(
        id=str(_require(raw, "id", "owner")),
        email=_str_or_none(raw.get("email")),
        first_name=_str_or_none(raw.get("firstName")),
        last_name=_str_or_none(raw.get("lastName")),
        user_id=None if user_id is None else str(user_id),
        teams=teams,
        archived=bool(raw.get("archived", False)),
        created_at=parse_timestamp(raw.get("createdAt")),
        updated_at=parse_timestamp(raw.get("updatedAt")),
    )


def owner_page(body: JSONObject) -> Page[OwnerRecord]:
    results = _require(body, "results", "owner page")
    return Page(results=[owner(raw) for raw in results], next_after=next_after(body))


def _probability(metadata: JSONObject) -> Decimal | None:
    value = metadata.get("probability")
    if value in (None, ""):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def pipeline(raw: JSONObject) -> PipelineRecord:
    stages = []
    for stage in raw.get("stages") or ():
        metadata = stage.get("metadata") or {}
        stages.append(
            StageRecord(
                id=str(_require(stage, "id", "pipeline stage")),
                label=str(stage.get("label") or stage["id"]),
                display_order=int(stage.get("displayOrder") or 0),
                is_closed=str(metadata.get("isClosed", "false")).lower() == "true",
                probability=_probability(metadata),
                archived=bool(stage.get("archived", False)),
            )
        )
    return PipelineRecord(
        id=str(_require(raw, "id", "pipeline")),
        label=str(raw.get("label") or raw["id"]),
        display_order=int(raw.get("displayOrder") or 0),
        archived=bool(raw.get("archived", False)),
        stages=stages,
    )


def pipelines(body: JSONObject) -> list[PipelineRecord]:
    return [pipeline(raw) for raw in _require(body, "results", "pipeline list")]


def property_definition(body: JSONObject) -> PropertyDefinition:
    options = [
        PropertyOption(
            value=str(_require(option, "value", "property option")),
            label=str(option.get("label") or option["value"]),
            display_order=int(option.get("displayOrder") or 0),
            hidden=bool(option.get("hidden", False)),
        )
        for option in body.get("options") or ()
    ]
    return PropertyDefinition(
        name=str(_require(body, "name", "property definition")),
        label=str(body.get("label") or body["name"]),
        type=str(body.get("type") or "string"),
        options=options,
    )


def account_details(body: JSONObject) -> AccountDetails:
    return AccountDetails(
        portal_id=int(_require(body, "portalId", "account details")),
        time_zone=str(body.get("timeZone") or "UTC"),
        currency=str(body.get("companyCurrency") or "USD"),
        ui_domain=str(body.get("uiDomain") or "app.hubspot.com"),
    )


def association_sets(body: JSONObject) -> list[AssociationSet]:
    sets = []
    for result in _require(body, "results", "association answer"):
        source = result.get("from") or {}
        links = []
        for target in result.get("to") or ():
            types = target.get("associationTypes") or [{}]
            for assoc_type in types:
                type_id = assoc_type.get("typeId")
                links.append(
                    AssociatedId(
                        to_id=str(_require(target, "toObjectId", "association")),
                        type_id=int(type_id) if type_id is not None else None,
                        label=_str_or_none(assoc_type.get("label")),
                        category=_str_or_none(assoc_type.get("category")),
                    )
                )
        sets.append(AssociationSet(from_id=str(_require(source, "id", "association")), to=links))
    return sets
