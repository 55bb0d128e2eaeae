"""Loop safety: slaguard's own write-back (slaguard_* properties, its own tasks) comes back as
webhooks and as modified records in the next sync, and moves no SLA clock. Against the sandbox:
a real full sync and evaluation, write-back, the sandbox's webhooks for it through ingest and the
worker, then a real incremental sync and evaluation; the SLA history is the same throughout."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import func, select

from alerts.delivery import HubSpotItem
from alerts.hubspot_delivery import record_properties
from alerts.hubspot_tasks import StoredTaskLedger
from app import hubspot_client
from app.cli.hubspot import ensure_schema
from app.config import Settings
from app.evaluation.rules_store import activate_rules
from app.evaluation.service import evaluate_all
from app.models import Engagement, SlaEvent, SlaInstance, WebhookEvent
from app.store.db import SessionFactory, session_scope
from app.webhooks.own_writes import is_own_write
from app.webhooks.worker import process_pending, process_round
from integrations.hubspot.writes import HubSpotWriter, TaskSpec
from sandbox.hubspot.webhooks import WebhookSender
from sandbox.portal.writer import Change
from sandbox.server import SandboxServer
from tests.fixtures.webhooks import ingest

# Tasks count as touches here, so a task of slaguard's own counted by mistake would stop a clock.
RULES = """\
version: 1
rules:
  - id: mql-first-touch
    kind: response
    object: contact
    start: {entered_stage: [marketingqualifiedlead]}
    stop:
      engagement: {types: [call, email, meeting, task], by: anyone}
    goal: 4h
    time: calendar
"""
RUNNING = ("running", "warning", "breached")


def _history(factory: SessionFactory) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    with factory() as session:
        events = session.execute(
            select(SlaEvent.instance_id, SlaEvent.type, SlaEvent.occurred_at).order_by(SlaEvent.id)
        ).all()
        instances = session.execute(
            select(SlaInstance.id, SlaInstance.state, SlaInstance.stopped_at).order_by(
                SlaInstance.id
            )
        ).all()
    return [tuple(e) for e in events], [tuple(i) for i in instances]


def _write_back(sandbox: SandboxServer, factory: SessionFactory, now: datetime) -> tuple[int, str]:
    """Properties on every record with an instance, and a task (due now) on a running one."""
    writer = HubSpotWriter.for_portal(sandbox.token, sandbox.hubspot_url)
    ensure_schema(writer, dry_run=False)
    with factory() as session:
        rows = session.scalars(select(SlaInstance).order_by(SlaInstance.id)).all()
    items = [
        HubSpotItem(
            0,
            "breached",
            r.id,
            r.portal_id,
            "contacts",
            r.object_id,
            r.owner_id,
            r.state,
            r.due_at,
            None,
            "SLA breached",
            "body",
        )
        for r in rows
    ]
    writer.batch_update("contacts", {i.object_id: record_properties(i) for i in items})
    target = next(i for i in items if i.state in RUNNING)
    ledger = StoredTaskLedger(factory)
    ledger.reserve(target, now, now)
    spec = TaskSpec("SLA breached", "body", target.owner_id, now, "contacts", target.object_id)
    task_id = writer.create_task(spec)
    ledger.opened(target.instance_id, task_id, now)
    return target.instance_id, task_id


@pytest.mark.sandbox(contacts=200, limits=False)
def test_own_writes_coming_back_as_webhooks_and_in_the_next_sync_change_no_sla_history(
    sandbox: SandboxServer, settings: Settings, session_factory: SessionFactory, tmp_path: Path
) -> None:
    rules = tmp_path / "sla.yaml"
    rules.write_text(RULES)
    now = datetime.now(UTC)
    with session_scope(session_factory) as session:
        activate_rules(session, rules, now)
    configured = settings.model_copy(
        update={
            "hubspot_access_token": SecretStr(sandbox.token),
            "hubspot_base_url": sandbox.hubspot_url,
        }
    )
    client = hubspot_client.from_settings(configured)
    from app.sync.service import SyncService

    SyncService(configured, session_factory, client).run(full=True)
    with session_scope(session_factory) as session:
        evaluate_all(session, now=now)
    before = _history(session_factory)
    assert before[0], "the sandbox portal gave the rule no SLA events to guard"

    sender = WebhookSender("http://127.0.0.1:9/unused", "secret", sandbox.portal.portal_id, 1)
    captured: list[dict[str, Any]] = []

    def capture(changes: list[Change]) -> None:
        captured.extend(e for c in changes if (e := sender.event_for(c)) is not None)

    sandbox.emulator.writer.listeners.append(capture)
    instance_id, task_id = _write_back(sandbox, session_factory, now)
    sender.stop()
    own = [e for e in captured if str(e.get("propertyName", "")).startswith("slaguard_")]
    assert len(own) >= len(before[1])  # every written record announced its new values

    ingest(session_factory, captured)
    with session_scope(session_factory) as session:
        result = process_round(session, now, batch_size=len(captured) + 10)
    # Every event handled, and not one record handed to the SLA engine because of them.
    assert (result.applied, result.failed) == (len(captured), 0)
    assert not result.queued
    process_pending(session_factory)
    with session_scope(session_factory) as session:
        unprocessed = select(func.count()).where(WebhookEvent.processed_at.is_(None))
        assert session.scalar(unprocessed.select_from(WebhookEvent)) == 0
        evaluate_all(session, now=now)
    assert _history(session_factory) == before

    SyncService(configured, session_factory, client).run()
    with session_scope(session_factory) as session:
        evaluate_all(session, now=now)
        # The sync did read slaguard's task; it simply is no touch.
        assert session.get(Engagement, (sandbox.portal.portal_id, task_id)) is not None
    assert _history(session_factory) == before
    with session_factory() as session:
        instance = session.get(SlaInstance, instance_id)
        assert instance is not None and instance.state in RUNNING


@pytest.mark.parametrize(
    ("subscription", "name", "own"),
    [
        ("contact.propertyChange", "slaguard_sla_state", True),
        ("deal.propertyChange", "slaguard_first_touch_due", True),
        ("contact.propertyChange", "lifecyclestage", False),
        ("contact.propertyChange", "slaguardian", False),
        ("contact.creation", None, False),
    ],
)
def test_only_property_changes_of_slaguard_properties_count_as_own_writes(
    subscription: str, name: str | None, own: bool
) -> None:
    event = WebhookEvent(subscription_type=subscription, property_name=name)
    assert is_own_write(event) is own
