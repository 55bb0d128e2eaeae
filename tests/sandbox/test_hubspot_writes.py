"""The sandbox's write endpoints answer like HubSpot: tasks with associations, batch updates,
property groups and definitions, 403 MISSING_SCOPES, and writes in the webhook stream."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from sandbox.hubspot.custom_schema import write_state
from sandbox.portal.writer import Change
from sandbox.server import SandboxServer

pytestmark = pytest.mark.sandbox(contacts=50)


def _client(sandbox: SandboxServer) -> httpx.Client:
    return httpx.Client(
        base_url=sandbox.hubspot_url, headers={"Authorization": f"Bearer {sandbox.token}"}
    )


def _group_and_property(http: httpx.Client) -> None:
    group = {"name": "slaguard", "label": "slaguard"}
    assert http.post("/crm/v3/properties/contacts/groups", json=group).status_code == 201
    prop = {
        "name": "slaguard_sla_state",
        "label": "SLA state",
        "type": "enumeration",
        "fieldType": "select",
        "groupName": "slaguard",
        "options": [{"label": v, "value": v} for v in ("running", "breached")],
    }
    assert http.post("/crm/v3/properties/contacts", json=prop).status_code == 201


def test_a_task_is_created_assigned_and_associated_with_the_contact(
    sandbox: SandboxServer,
) -> None:
    contact = next(iter(sandbox.portal.truth("contacts")))
    owner = sandbox.portal.owners[0].id
    body = {
        "properties": {
            "hs_timestamp": "2026-12-07T09:00:00.000Z",
            "hs_task_subject": "Call back",
            "hubspot_owner_id": owner,
        },
        "associations": [
            {
                "to": {"id": str(contact.id)},
                "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 204}],
            }
        ],
    }
    with _client(sandbox) as http:
        created = http.post("/crm/v3/objects/tasks", json=body)
        assert created.status_code == 201
        task = created.json()
        assert task["properties"]["hs_task_status"] == "NOT_STARTED"
        assert task["properties"]["hubspot_owner_id"] == owner
        done = http.patch(
            f"/crm/v3/objects/tasks/{task['id']}",
            json={"properties": {"hs_task_status": "COMPLETED"}},
        )
        assert done.status_code == 200
    linked = sandbox.portal.associated_ids("contacts", contact.id, "tasks")
    assert int(task["id"]) in linked
    stored = sandbox.portal.get("tasks", int(task["id"]))
    assert stored is not None and stored.properties["hs_task_status"] == "COMPLETED"


def test_a_task_without_a_due_time_or_with_a_bad_owner_is_refused(sandbox: SandboxServer) -> None:
    with _client(sandbox) as http:
        no_time = http.post("/crm/v3/objects/tasks", json={"properties": {"hs_task_subject": "x"}})
        bad_owner = http.post(
            "/crm/v3/objects/tasks",
            json={"properties": {"hs_timestamp": "1", "hubspot_owner_id": "999999"}},
        )
    assert no_time.status_code == 400 and no_time.json()["category"] == "VALIDATION_ERROR"
    assert bad_owner.status_code == 400


def test_batch_update_writes_custom_properties_and_announces_them(sandbox: SandboxServer) -> None:
    seen: list[Change] = []
    sandbox.emulator.writer.listeners.append(seen.extend)
    ids = [r.id for r in list(sandbox.portal.truth("contacts"))[:3]]
    inputs = [{"id": str(i), "properties": {"slaguard_sla_state": "breached"}} for i in ids]
    with _client(sandbox) as http:
        _group_and_property(http)
        answer = http.post("/crm/v3/objects/contacts/batch/update", json={"inputs": inputs})
        listed = http.get("/crm/v3/properties/contacts").json()["results"]
        groups = http.get("/crm/v3/properties/contacts/groups").json()["results"]
    assert answer.status_code == 200
    assert {r["properties"]["slaguard_sla_state"] for r in answer.json()["results"]} == {"breached"}
    assert "slaguard_sla_state" in {p["name"] for p in listed}
    assert [g["name"] for g in groups] == ["slaguard"]
    events = [c for c in seen if c.property_name == "slaguard_sla_state"]
    assert sorted(c.object_id for c in events) == sorted(ids)
    assert {c.change_source for c in events} == {"INTEGRATION"}


@pytest.mark.parametrize(
    ("inputs", "status", "fragment"),
    [
        ([{"id": str(n), "properties": {}} for n in range(1, 102)], 400, "between 1 and 100"),
        ([{"id": "1", "properties": {"no_such_property": "x"}}], 400, "does not exist"),
        ([{"id": "1", "properties": {"slaguard_sla_state": "sideways"}}], 400, "allowed options"),
    ],
)
def test_batch_update_refuses_what_hubspot_refuses(
    sandbox: SandboxServer, inputs: list[dict[str, Any]], status: int, fragment: str
) -> None:
    first = next(iter(sandbox.portal.truth("contacts"))).id
    for item in inputs:
        if item["id"] == "1":
            item["id"] = str(first)
    with _client(sandbox) as http:
        _group_and_property(http)
        answer = http.post("/crm/v3/objects/contacts/batch/update", json={"inputs": inputs})
    assert answer.status_code == status
    assert fragment in answer.json()["message"]


def test_a_missing_scope_is_answered_403_missing_scopes(sandbox: SandboxServer) -> None:
    write_state(sandbox.emulator).scopes.discard("crm.objects.deals.write")
    deal = next(iter(sandbox.portal.truth("deals"))).id
    inputs = [{"id": str(deal), "properties": {"dealname": "x"}}]
    with _client(sandbox) as http:
        answer = http.post("/crm/v3/objects/deals/batch/update", json={"inputs": inputs})
    body = answer.json()
    assert answer.status_code == 403
    assert body["category"] == "MISSING_SCOPES"
    assert body["errors"][0]["context"]["requiredGranularScopes"] == ["crm.objects.deals.write"]


def test_writes_count_against_the_rate_limit(sandbox: SandboxServer) -> None:
    sandbox.emulator.settings.limits.per_ten_seconds = 3
    sandbox.emulator.guard.reset()
    contact = next(r for r in sandbox.portal.truth("contacts") if not r.archived).id
    inputs = [{"id": str(contact), "properties": {"firstname": "Ada"}}]
    with _client(sandbox) as http:
        answers = [
            http.post("/crm/v3/objects/contacts/batch/update", json={"inputs": inputs})
            for _ in range(4)
        ]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert answers[-1].json()["policyName"] == "TEN_SECONDLY_ROLLING"
