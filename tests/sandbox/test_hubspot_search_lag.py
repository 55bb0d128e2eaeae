"""Search is eventually consistent, as in HubSpot: a fresh change is not searchable at once."""

from __future__ import annotations

import httpx
import pytest

pytestmark = pytest.mark.sandbox(search_lag_seconds=3600)


def _search_one(sandbox, record_id: int) -> list[dict]:
    body = {
        "filterGroups": [{"filters": [
            {"propertyName": "hs_object_id", "operator": "EQ", "value": str(record_id)}
        ]}],
        "properties": ["hs_lead_status"],
    }  # fmt: skip
    answer = httpx.post(
        f"{sandbox.hubspot_url}/crm/v3/objects/contacts/search",
        json=body,
        headers={"Authorization": f"Bearer {sandbox.token}"},
    )
    return answer.json()["results"]


def test_search_answers_with_the_version_before_a_fresh_change(sandbox):
    contact = next(t for t in sandbox.portal.truth("contacts") if not t.archived)
    before = contact.properties.get("hs_lead_status")
    new_status = "BAD_TIMING" if before != "BAD_TIMING" else "OPEN"
    sandbox.emulator.writer.update("contacts", contact.id, {"hs_lead_status": new_status})
    [found] = _search_one(sandbox, contact.id)
    assert found["properties"]["hs_lead_status"] == before
    listed = sandbox.portal.get("contacts", contact.id)
    assert listed.properties["hs_lead_status"] == new_status


def test_a_new_record_is_listed_before_it_is_searchable(sandbox):
    created = sandbox.emulator.writer.create("contacts", {"email": "fresh@example-buyer.com"})
    assert _search_one(sandbox, created.id) == []
    read = httpx.get(
        f"{sandbox.hubspot_url}/crm/v3/objects/contacts/{created.id}",
        headers={"Authorization": f"Bearer {sandbox.token}"},
    )
    assert read.status_code == 200
