"""The HubSpot writer against the sandbox over real HTTP: tasks, batched property updates,
group and property set-up, the shared pacer, and 403 MISSING_SCOPES as its own error."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from integrations.hubspot.client import HubSpotClient
from integrations.hubspot.writes import (
    HubSpotMissingScopes,
    HubSpotWriter,
    PropertySpec,
    TaskSpec,
)
from sandbox.hubspot.custom_schema import write_state
from sandbox.server import SandboxServer

STATE = PropertySpec(
    "slaguard_sla_state", "SLA state", "enumeration", "select", options=("running", "breached")
)


def _writer(sandbox: SandboxServer) -> HubSpotWriter:
    return HubSpotWriter.for_portal(sandbox.token, sandbox.hubspot_url)


def _live_contacts(sandbox: SandboxServer, count: int) -> list[int]:
    return [r.id for r in sandbox.portal.truth("contacts") if not r.archived][:count]


def test_the_writer_shares_the_readers_pacing_window(sandbox: SandboxServer) -> None:
    reader = HubSpotClient.for_portal(sandbox.token, sandbox.hubspot_url)
    assert _writer(sandbox).pacer is reader.pacer


@pytest.mark.sandbox(contacts=30)
def test_a_task_is_created_for_the_owner_and_completed(sandbox: SandboxServer) -> None:
    contact = _live_contacts(sandbox, 1)[0]
    owner = sandbox.portal.owners[0].id
    due = datetime(2026, 12, 7, 9, 30, tzinfo=UTC)
    writer = _writer(sandbox)
    task_id = writer.create_task(TaskSpec("Call", "body", owner, due, "contacts", str(contact)))
    task = sandbox.portal.get("tasks", int(task_id))
    assert task is not None
    assert task.properties["hubspot_owner_id"] == owner
    assert task.properties["hs_timestamp"] == "2026-12-07T09:30:00.000Z"
    assert int(task_id) in sandbox.portal.associated_ids("contacts", contact, "tasks")
    writer.complete_task(task_id)
    done = sandbox.portal.get("tasks", int(task_id))
    assert done is not None and done.properties["hs_task_status"] == "COMPLETED"


@pytest.mark.sandbox(contacts=260)
def test_properties_go_out_100_records_per_request_after_setup(sandbox: SandboxServer) -> None:
    writer = _writer(sandbox)
    assert writer.ensure_group("contacts", "slaguard", "slaguard") is True
    assert writer.ensure_group("contacts", "slaguard", "slaguard") is False
    assert writer.missing_properties("contacts", [STATE]) == ["slaguard_sla_state"]
    writer.create_property("contacts", "slaguard", STATE)
    assert writer.missing_properties("contacts", [STATE]) == []
    ids = _live_contacts(sandbox, 250)
    outcome = writer.batch_update(
        "contacts", {str(i): {"slaguard_sla_state": "breached"} for i in ids}
    )
    assert outcome.requests == 3
    assert sorted(outcome.updated) == sorted(str(i) for i in ids)
    stats = sandbox.emulator.stats.snapshot()["byRoute"]
    assert isinstance(stats, dict)
    assert stats["POST /crm/v3/objects/contacts/batch/update"] == 3
    for record_id in ids:
        record = sandbox.portal.get("contacts", record_id)
        assert record is not None and record.properties["slaguard_sla_state"] == "breached"


@pytest.mark.sandbox(contacts=20)
def test_a_missing_scope_raises_once_naming_the_scope(sandbox: SandboxServer) -> None:
    write_state(sandbox.emulator).scopes.discard("crm.objects.contacts.write")
    contact = _live_contacts(sandbox, 1)[0]
    before = sandbox.emulator.stats.snapshot()["total"]
    with pytest.raises(HubSpotMissingScopes) as raised:
        _writer(sandbox).batch_update("contacts", {str(contact): {"firstname": "x"}})
    assert raised.value.scopes == ("crm.objects.contacts.write",)
    assert "crm.objects.contacts.write" in str(raised.value)
    assert sandbox.emulator.stats.snapshot()["total"] == before + 1  # no retry loop
