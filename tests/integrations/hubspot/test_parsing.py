"""Raw JSON into typed records: the parts the sandbox does not exercise on its own."""

from __future__ import annotations

import pytest

from integrations.hubspot import parsing
from integrations.hubspot.errors import HubSpotResponseError


def _call(associations: object) -> dict[str, object]:
    return {
        "id": "501",
        "properties": {"hs_timestamp": "2026-03-02T14:05:00.000Z"},
        "archived": False,
        "associations": associations,
    }


def test_inline_links_take_hubspot_defined_type_ids_and_keep_labels_otherwise() -> None:
    raw = _call(
        {
            "contacts": {
                "results": [
                    {"id": "7", "type": "call_to_contact"},
                    {"id": "7", "type": "Decision maker"},  # the same link, labelled too
                    {"id": "9", "type": "Decision maker"},
                ]
            }
        }
    )
    record = parsing.crm_record("calls", raw, ("contacts", "deals"))
    assert record.associations is not None
    contacts = record.associations["contacts"]
    assert contacts.complete
    assert [(a.to_id, a.type_id, a.label) for a in contacts.to] == [
        ("7", 194, None),
        ("9", None, "Decision maker"),
    ]
    # a type asked for but left out of the answer means no links of that type
    deals = record.associations["deals"]
    assert deals.to == [] and deals.complete


def test_paged_inline_links_are_marked_incomplete() -> None:
    raw = _call(
        {
            "contacts": {
                "results": [{"id": "7", "type": "call_to_contact"}],
                "paging": {"next": {"after": "MTAw", "link": "https://api.hubapi.com/..."}},
            }
        }
    )
    record = parsing.crm_record("calls", raw, ("contacts",))
    assert record.associations is not None
    assert record.associations["contacts"].complete is False


def test_links_are_none_when_not_asked_for() -> None:
    record = parsing.crm_record("calls", _call({"contacts": {"results": []}}))
    assert record.associations is None


def test_a_raw_page_gives_cursor_total_and_last_id_before_its_records_are_built() -> None:
    body = {
        "results": [_call(None), {**_call(None), "id": 502}],  # ids may come as numbers
        "paging": {"next": {"after": "502"}},
        "total": 2,
    }
    raw = parsing.raw_crm_page("calls", body)
    assert (raw.next_after, raw.total, raw.size, raw.last_id) == ("502", 2, 2, "502")
    page = parsing.crm_page_of(raw)
    assert [r.id for r in page.results] == ["501", "502"]
    assert page.next_after == "502" and page.total == 2


def test_a_raw_page_refuses_answers_it_cannot_page_through() -> None:
    with pytest.raises(HubSpotResponseError, match="'results'"):
        parsing.raw_crm_page("calls", {"paging": {}})
    with pytest.raises(HubSpotResponseError, match="not a list"):
        parsing.raw_crm_page("calls", {"results": {"id": "1"}})
    # the last record's id is the next search window's cursor: without it, no page
    with pytest.raises(HubSpotResponseError, match="'id'"):
        parsing.raw_crm_page("calls", {"results": [{"properties": {}}]})
    empty = parsing.raw_crm_page("calls", {"results": []})
    assert (empty.size, empty.last_id, empty.next_after) == (0, None, None)
