"""Raw JSON into typed records: the parts the sandbox does not exercise on its own."""

from __future__ import annotations

from integrations.hubspot import parsing


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
