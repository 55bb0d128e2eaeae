"""The whole chain, with the sandbox as HubSpot and a real slaguard service on loopback:

sandbox portal → full sync → rules in force → a lead becomes an MQL with an owner in the
sandbox → its signed webhooks reach the running service → the service's own scheduler applies
them → an SLA clock runs with the right due time → the owner logs a call in the sandbox → the
contact's webhook and the next incremental sync (HubSpot sends no webhooks for calls) → the
clock is `met` at the call's time.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.orm import Session

from app import hubspot_client
from app.config import Settings
from app.evaluation.rules_store import activate_rules
from app.evaluation.service import evaluate_all
from app.main import create_app
from app.models import SlaInstance, SyncRun, WebhookEvent
from app.store.db import SessionFactory, session_scope
from app.sync.service import SyncService
from sandbox.server import SandboxServer
from tests.fixtures.live_server import serving
from tests.fixtures.waiting import wait_for

RULES = """\
version: 1
rules:
  - id: mql-first-touch
    kind: response
    object: contact
    start: {entered_stage: [marketingqualifiedlead]}
    stop:
      engagement: {types: [call, email, meeting], by: owner}
    goal: 4h
    time: calendar
    warning_at: 0.75
"""
GOAL = timedelta(hours=4)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def at_ms(value: int) -> datetime:
    return EPOCH + timedelta(milliseconds=value)


@pytest.fixture
def wired(
    sandbox: SandboxServer, settings: Settings, tmp_path: Path
) -> Iterator[tuple[SandboxServer, Settings]]:
    rules = tmp_path / "sla.yaml"
    rules.write_text(RULES)
    configured = settings.model_copy(
        update={
            "hubspot_base_url": sandbox.hubspot_url,
            "hubspot_access_token": SecretStr(sandbox.token),
            "hubspot_client_secret": SecretStr(sandbox.client_secret),
            "slaguard_rules": rules,
        }
    )
    yield sandbox, configured


def instance(factory: SessionFactory, contact_id: int) -> SlaInstance | None:
    with factory() as session:
        return session.scalars(
            select(SlaInstance).where(
                SlaInstance.rule_id == "mql-first-touch",
                SlaInstance.object_id == str(contact_id),
            )
        ).one_or_none()


def incremental_sync_done(factory: SessionFactory) -> bool:
    with factory() as session:
        return (
            session.scalars(
                select(SyncRun).where(SyncRun.mode == "incremental", SyncRun.status != "running")
            ).first()
            is not None
        )


def all_applied(factory: SessionFactory) -> bool:
    with factory() as session:
        events = session.scalars(select(WebhookEvent)).all()
        return bool(events) and all(e.processed_at is not None for e in events)


@pytest.mark.sandbox(contacts=300, limits=False)
def test_a_new_mql_gets_a_clock_that_the_owners_call_meets(
    wired: tuple[SandboxServer, Settings], session_factory: SessionFactory, session: Session
) -> None:
    sandbox, settings = wired
    client = hubspot_client.from_settings(settings)
    SyncService(settings, session_factory, client).run(full=True)
    now = datetime.now(UTC)
    with session_scope(session_factory) as s:
        activate_rules(s, settings.slaguard_rules, now)
    with session_scope(session_factory) as s:
        evaluate_all(s, now=now, after_batch=s.commit)

    with serving(create_app(settings)) as url:
        assert httpx.get(f"{url}/health").json()["status"] == "ok"
        # The scheduler's first incremental sync runs at start; let it finish so the one
        # below is the only sync in flight.
        wait_for(lambda: incremental_sync_done(session_factory), "the startup sync ended")
        sender = sandbox.emulator.set_webhook_target(f"{url}/webhooks/hubspot")
        assert sender is not None
        writer, portal = sandbox.emulator.writer, sandbox.portal
        owner = next(o for o in portal.owners if not o.archived)

        # Marketing qualifies a new lead and routes it to a rep, as HubSpot automation does.
        lead = writer.create(
            "contacts",
            {"email": "ada@example-buyer.com", "lifecyclestage": "lead", "firstname": "Ada"},
        )
        writer.update(
            "contacts", lead.id, {"lifecyclestage": "marketingqualifiedlead"}, "AUTOMATION"
        )
        writer.update("contacts", lead.id, {"hubspot_owner_id": owner.id}, "AUTOMATION")
        truth = portal.get("contacts", lead.id)
        assert truth is not None
        mql_at = at_ms(truth.history["lifecyclestage"][-1].timestamp_ms)
        assert sender.flush() >= 3
        assert {d.status for d in sender.deliveries} == {200}

        running = wait_for(lambda: instance(session_factory, lead.id), "the MQL's clock exists")
        assert isinstance(running, SlaInstance)
        assert running.state == "running"
        assert running.owner_id == owner.id
        assert running.started_at == mql_at
        assert running.due_at == mql_at + GOAL
        assert running.warning_at == mql_at + GOAL * 0.75
        wait_for(lambda: all_applied(session_factory), "every webhook event was applied")

        # The rep calls; HubSpot updates the contact (a webhook) and logs the call (no webhook).
        call_at_ms = portal.now_ms()
        writer.create(
            "calls",
            {
                "hs_timestamp": at_ms(call_at_ms).isoformat().replace("+00:00", "Z"),
                "hubspot_owner_id": owner.id,
                "hs_call_direction": "OUTBOUND",
                "hs_call_status": "COMPLETED",
            },
            links={"contacts": [lead.id]},
            source="CRM_UI",
            at_ms=call_at_ms,
        )
        writer.update(
            "contacts", lead.id, {"hs_lead_status": "ATTEMPTED_TO_CONTACT"}, at_ms=call_at_ms
        )
        assert sender.flush() >= 1
        SyncService(settings, session_factory, client).run()

        def met() -> SlaInstance | None:
            found = instance(session_factory, lead.id)
            return found if found is not None and found.state == "met" else None

        done = wait_for(met, "the call meets the clock")
        assert isinstance(done, SlaInstance)
        assert done.stopped_at == at_ms(call_at_ms)
        assert done.breached_at is None
