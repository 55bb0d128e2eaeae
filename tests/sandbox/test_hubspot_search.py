"""Search semantics against the ground truth: OR groups, BETWEEN, descending sorts, presence."""

from __future__ import annotations

import httpx
import pytest


def _search(sandbox, body: dict) -> httpx.Response:
    return httpx.post(
        f"{sandbox.hubspot_url}/crm/v3/objects/contacts/search",
        json=body,
        headers={"Authorization": f"Bearer {sandbox.token}"},
    )


def _all_ids(sandbox, body: dict) -> tuple[int, list[int]]:
    ids: list[int] = []
    after = "0"
    while after is not None:
        answer = _search(sandbox, {**body, "limit": 200, "after": after}).json()
        ids += [int(r["id"]) for r in answer["results"]]
        after = answer.get("paging", {}).get("next", {}).get("after")
    return answer["total"], ids


def _active(sandbox):
    return [t for t in sandbox.portal.truth("contacts") if not t.archived]


def test_filter_groups_are_ored(sandbox):
    body = {
        "filterGroups": [
            {
                "filters": [
                    {"propertyName": "lifecyclestage", "operator": "EQ", "value": "customer"}
                ]
            },
            {"filters": [{"propertyName": "hs_object_id", "operator": "LT", "value": "20"}]},
        ]
    }
    total, ids = _all_ids(sandbox, body)
    wanted = {
        t.id for t in _active(sandbox)
        if t.properties.get("lifecyclestage") == "customer" or t.id < 20
    }  # fmt: skip
    assert total == len(wanted)
    assert ids == sorted(wanted)


def test_between_on_create_date_sorted_descending(sandbox):
    active = _active(sandbox)
    created = sorted(t.created_ms for t in active)
    low, high = created[len(created) // 4], created[len(created) // 2]
    body = {
        "filterGroups": [{"filters": [{"propertyName": "createdate", "operator": "BETWEEN",
                                       "value": str(low), "highValue": str(high)}]}],
        "sorts": [{"propertyName": "createdate", "direction": "DESCENDING"}],
    }  # fmt: skip
    total, ids = _all_ids(sandbox, body)
    wanted = sorted((t for t in active if low <= t.created_ms <= high), key=lambda t: -t.created_ms)
    assert total == len(wanted)
    assert ids == [t.id for t in wanted]


def test_records_without_an_owner(sandbox):
    body = {"filterGroups": [{"filters": [
        {"propertyName": "hubspot_owner_id", "operator": "NOT_HAS_PROPERTY"}
    ]}]}  # fmt: skip
    total, ids = _all_ids(sandbox, body)
    wanted = {t.id for t in _active(sandbox) if not t.properties.get("hubspot_owner_id")}
    assert total == len(wanted) and set(ids) == wanted


def _one_filter(name: str, operator: str) -> dict:
    return {
        "filterGroups": [{"filters": [{"propertyName": name, "operator": operator, "value": "a"}]}]
    }


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (_one_filter("nope", "EQ"), "does not exist"),
        (_one_filter("email", "LIKE"), "Unknown filter operator"),
        ({"sorts": [{"propertyName": "createdate"}, {"propertyName": "email"}]}, "one sort"),
        ({"filterGroups": [{"filters": []}] * 6}, "filterGroups"),
    ],
)
def test_bad_searches_get_hubspots_400(sandbox, body, fragment):
    answer = _search(sandbox, body)
    assert answer.status_code == 400
    assert answer.json()["category"] == "VALIDATION_ERROR"
    assert fragment in answer.json()["message"]


def test_list_can_carry_associations(sandbox):
    contact = next(t for t in _active(sandbox) if t.associations["deals"])
    answer = httpx.get(
        f"{sandbox.hubspot_url}/crm/v3/objects/contacts/{contact.id}",
        params={"associations": "deals"},
        headers={"Authorization": f"Bearer {sandbox.token}"},
    ).json()
    linked = [int(a["id"]) for a in answer["associations"]["deals"]["results"]]
    assert linked == contact.associations["deals"]
