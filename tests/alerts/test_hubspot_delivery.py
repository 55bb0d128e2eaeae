"""Write-back through the outbox against the sandbox HubSpot, on both databases: a breach makes
exactly one task for the record's owner, associated and due at once; meeting the SLA late
completes it; a replayed evaluation or delivery creates nothing new; a missing scope is a dead
letter with a health reason and leaves Slack alone."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from alerts.delivery import DeliveryJob, HubSpotContent, HubSpotItem, Outcome
from alerts.hubspot_delivery import (
    HubSpotPropertiesDeliverer,
    HubSpotTaskDeliverer,
    task_marker,
)
from alerts.hubspot_tasks import RESERVATION, StoredTaskLedger
from alerts.model import TargetKind
from alerts.outbox import leases
from alerts.outbox.config import alerts_in_force
from alerts.outbox.preview import preview
from alerts.outbox.status import outbox_status, replay
from alerts.outbox.worker import Worker
from app.admin.health import Verdict, alerts_health
from app.models import AlertDelivery, HubSpotTask, SlaEvent
from app.store.db import SessionFactory, session_scope
from integrations.hubspot.writes import HubSpotWriter, TaskSpec, hubspot_time
from sandbox.hubspot.custom_schema import write_state
from sandbox.server import SandboxServer
from tests.alerts.outbox.helpers import MQL_AT, evaluate, put_rules_in_force
from tests.fixtures.crm import add_contact, add_owner, add_touch, seed_portal, utc

pytestmark = pytest.mark.sandbox(contacts=40)

ALERTS = """alerts:
  routes:
    - name: hubspot
      match: {rules: [first-touch], events: [breached, met_late, cancelled]}
      receivers: [hubspot_task, hubspot_properties]
"""
NOW = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)


def _one_lead(factory: SessionFactory, tmp_path: Path, sandbox: SandboxServer) -> tuple[str, str]:
    """A store lead that is a live sandbox contact owned by a sandbox owner, breached."""
    contact = next(r for r in sandbox.portal.truth("contacts") if not r.archived)
    owner = next(o for o in sandbox.portal.owners if not o.archived).id
    with session_scope(factory) as session:
        seed_portal(session)
        add_owner(session, owner)
        stages = [("lead", utc("2020-01-06 18:00")), ("marketingqualifiedlead", MQL_AT)]
        add_contact(session, str(contact.id), stages, owner=owner)
        put_rules_in_force(session, tmp_path, ALERTS)
    with session_scope(factory) as session:
        evaluate(session)
    return str(contact.id), owner


def _worker(factory: SessionFactory, sandbox: SandboxServer) -> Worker:
    writer = HubSpotWriter.for_portal(sandbox.token, sandbox.hubspot_url)
    clock: Callable[[], datetime] = lambda: NOW  # noqa: E731
    deliverers = {
        TargetKind.HUBSPOT_TASK: HubSpotTaskDeliverer(writer, StoredTaskLedger(factory), clock),
        TargetKind.HUBSPOT_PROPERTIES: HubSpotPropertiesDeliverer(writer),
    }
    return Worker(factory, deliverers, clock=clock)  # type: ignore[arg-type]


def _tasks_of(sandbox: SandboxServer, contact: str) -> list[dict[str, str | None]]:
    """The tasks slaguard made on the contact (the sandbox's reps have their own)."""
    ids = sandbox.portal.associated_ids("contacts", int(contact), "tasks")
    found = [sandbox.portal.get("tasks", i) for i in ids]
    return [
        t.properties
        for t in found
        if t is not None and (t.properties.get("hs_task_subject") or "").startswith("SLA ")
    ]


def _setup_properties(sandbox: SandboxServer) -> None:
    from app.cli.hubspot import ensure_schema

    ensure_schema(HubSpotWriter.for_portal(sandbox.token, sandbox.hubspot_url), dry_run=False)


def test_a_breach_makes_one_task_for_the_owner_due_now_and_met_late_completes_it(
    session_factory: SessionFactory, tmp_path: Path, sandbox: SandboxServer
) -> None:
    _setup_properties(sandbox)
    contact, owner = _one_lead(session_factory, tmp_path, sandbox)
    work = _worker(session_factory, sandbox)

    report = work.deliver_due()
    assert report.outcomes == {"delivered": 2}
    tasks = _tasks_of(sandbox, contact)
    assert len(tasks) == 1
    assert tasks[0]["hubspot_owner_id"] == owner
    assert tasks[0]["hs_timestamp"] == hubspot_time(NOW)
    assert tasks[0]["hs_task_status"] == "NOT_STARTED"
    record = sandbox.portal.get("contacts", int(contact))
    assert record is not None and record.properties["slaguard_sla_state"] == "breached"

    # A replayed evaluation and a replayed delivery create nothing new.
    with session_scope(session_factory) as session:
        evaluate(session)
        session.execute(
            update(AlertDelivery).values(state="pending", next_attempt_at=utc("2020-01-08 00:00"))
        )
    work.deliver_due()
    assert len(_tasks_of(sandbox, contact)) == 1

    with session_scope(session_factory) as session:
        add_touch(session, "9001", contact, utc("2020-01-07 17:00"), owner=owner)
    with session_scope(session_factory) as session:
        evaluate(session, utc("2020-01-07 18:00"))
        kinds = set(session.scalars(select(SlaEvent.type)))
    assert {"breached", "met_late"} <= kinds
    work.deliver_due()
    tasks = _tasks_of(sandbox, contact)
    assert len(tasks) == 1 and tasks[0]["hs_task_status"] == "COMPLETED"
    record = sandbox.portal.get("contacts", int(contact))
    assert record is not None and record.properties["slaguard_sla_state"] == "met_late"
    assert record.properties["slaguard_first_touch_minutes"] == "360"
    with session_factory() as session:
        assert session.scalars(select(HubSpotTask.state)).all() == ["completed"]


def test_a_missing_scope_is_a_dead_letter_with_a_health_reason_not_a_slack_outage(
    session_factory: SessionFactory, tmp_path: Path, sandbox: SandboxServer
) -> None:
    write_state(sandbox.emulator).scopes.discard("crm.objects.contacts.write")
    contact, _ = _one_lead(session_factory, tmp_path, sandbox)
    before = sandbox.emulator.stats.snapshot()["total"]

    report = _worker(session_factory, sandbox).deliver_due()

    assert report.outcomes == {"dead": 2}
    assert _tasks_of(sandbox, contact) == []
    assert sandbox.emulator.stats.snapshot()["total"] == before + 2  # one try each, no loop
    assert leases.disabled_reason(session_factory, "slack") is None
    with session_factory() as session:
        status = outbox_status(session, NOW)
    verdict = Verdict()
    alerts_health(status, NOW, verdict)
    reason = " ".join(verdict.degraded)
    assert "hubspot_task" in reason and "crm.objects.contacts.write" in reason
    # Later deliveries of the kind are dead letters at once, without asking HubSpot again.
    with session_scope(session_factory) as session:
        session.execute(
            update(AlertDelivery).values(state="pending", next_attempt_at=utc("2020-01-08 00:00"))
        )
    assert _worker(session_factory, sandbox).deliver_due().outcomes == {"dead": 2}
    assert sandbox.emulator.stats.snapshot()["total"] == before + 2

    # The scope granted, a replay switches write-back (and only write-back) back on.
    write_state(sandbox.emulator).scopes.add("crm.objects.contacts.write")
    _setup_properties(sandbox)
    with session_scope(session_factory) as session:
        leases.disable_endpoint(session, "slack", "invalid_auth", NOW)
    with session_scope(session_factory) as session:
        assert replay(session, NOW, since=utc("2020-01-01 00:00")) == 2
    assert _worker(session_factory, sandbox).deliver_due().outcomes == {"delivered": 2}
    assert len(_tasks_of(sandbox, contact)) == 1
    assert leases.disabled_reason(session_factory, "slack") == "invalid_auth"


def test_slack_switched_off_does_not_stop_hubspot_write_back(
    session_factory: SessionFactory, tmp_path: Path, sandbox: SandboxServer
) -> None:
    _setup_properties(sandbox)
    contact, _ = _one_lead(session_factory, tmp_path, sandbox)
    with session_scope(session_factory) as session:
        leases.disable_endpoint(session, "slack", "invalid_auth", NOW)

    assert _worker(session_factory, sandbox).deliver_due().outcomes == {"delivered": 2}
    assert len(_tasks_of(sandbox, contact)) == 1


def test_preview_shows_the_task_and_the_properties_not_a_slack_message(
    session_factory: SessionFactory, tmp_path: Path, sandbox: SandboxServer
) -> None:
    contact, owner = _one_lead(session_factory, tmp_path, sandbox)
    with session_factory() as session:
        breach = session.scalars(select(SlaEvent.id).where(SlaEvent.type == "breached")).one()
        config = alerts_in_force(session)
        assert config is not None
        shown = {p.receiver: json.loads(p.body) for p in preview(session, breach, config, NOW)}
    assert shown["hubspot_task"]["task"]["owner"] == owner
    assert shown["hubspot_task"]["on"] == f"contacts {contact}"
    assert shown["hubspot_properties"]["contacts"][contact]["slaguard_sla_state"] == "breached"


@pytest.mark.parametrize("made_before", [True, False])
def test_after_an_attempt_killed_mid_way_the_retry_finds_its_task_or_makes_one(
    session_factory: SessionFactory, sandbox: SandboxServer, made_before: bool
) -> None:
    contact = next(r for r in sandbox.portal.truth("contacts") if not r.archived)
    owner = next(o for o in sandbox.portal.owners if not o.archived).id
    item = HubSpotItem(
        1,
        "breached",
        31,
        4242,
        "contacts",
        str(contact.id),
        owner,
        "breached",
        NOW,
        None,
        "SLA breached: first touch",
        "body",
    )
    writer = HubSpotWriter.for_portal(sandbox.token, sandbox.hubspot_url)
    ledger = StoredTaskLedger(session_factory)
    # The earlier attempt reserved, maybe created the task, and died before recording it.
    ledger.reserve(item, NOW, NOW - RESERVATION - timedelta(minutes=1))
    earlier = None
    if made_before:
        spec = TaskSpec(
            item.subject, f"body {task_marker(31)}", owner, NOW, "contacts", str(contact.id)
        )
        earlier = writer.create_task(spec)
    job = DeliveryJob(
        (1,), "k", TargetKind.HUBSPOT_TASK, "hubspot", 2, hubspot=HubSpotContent((item,))
    )

    result = HubSpotTaskDeliverer(writer, ledger, lambda: NOW).deliver(job)

    assert result.outcome is Outcome.DELIVERED, result.detail
    tasks = _tasks_of(sandbox, str(contact.id))
    assert len(tasks) == 1
    row = ledger.find(31)
    assert row is not None and row.state == "open"
    assert row.task_id == (earlier or tasks[0]["hs_object_id"])
