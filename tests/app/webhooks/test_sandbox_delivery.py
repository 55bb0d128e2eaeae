"""End to end with the sandbox as the peer: its HubSpot emulator changes records and delivers
signed webhooks (batches of at most 100, retried) to a real slaguard server on loopback; the
worker applies them and re-reads what they name from the emulator; the store ends equal to the
sandbox's ground truth."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.orm import Session

from app import hubspot_client
from app.config import Settings
from app.main import create_app
from app.models import Association, Contact, Deal, RecordRefresh, Transition, WebhookEvent
from app.store.db import SessionFactory
from app.webhooks.refresh import refresh_due_records
from app.webhooks.worker import process_pending
from sandbox.server import SandboxServer
from tests.fixtures.live_server import serving


@pytest.fixture
def wired(sandbox: SandboxServer, settings: Settings) -> Iterator[tuple[SandboxServer, Settings]]:
    configured = settings.model_copy(
        update={
            "hubspot_base_url": sandbox.hubspot_url,
            "hubspot_access_token": SecretStr(sandbox.token),
            "hubspot_client_secret": SecretStr(sandbox.client_secret),
        }
    )
    with serving(create_app(configured, start_scheduler=False)) as url:
        sandbox.emulator.set_webhook_target(f"{url}/webhooks/hubspot")
        yield sandbox, configured


def apply_everything(factory: SessionFactory, settings: Settings) -> None:
    process_pending(factory)
    client = hubspot_client.from_settings(settings)
    # Past the coalescing window: every queued record is due.
    refresh_due_records(factory, client, settings, datetime.now(UTC) + timedelta(seconds=10))


@pytest.mark.sandbox(contacts=60, limits=False)
def test_sandbox_webhooks_bring_the_store_to_the_ground_truth(
    wired: tuple[SandboxServer, Settings], session_factory: SessionFactory, session: Session
) -> None:
    sandbox, settings = wired
    writer, portal = sandbox.emulator.writer, sandbox.portal
    owner = str(portal.owners[0].id)
    lead = writer.create(
        "contacts",
        {"email": "new.lead@example.com", "lifecyclestage": "lead", "firstname": "Nia"},
    )
    writer.update("contacts", lead.id, {"lifecyclestage": "marketingqualifiedlead"})
    writer.update("contacts", lead.id, {"hubspot_owner_id": owner})
    survivor = writer.create("contacts", {"email": "keep@example.com", "lifecyclestage": "lead"})
    loser = writer.create("contacts", {"email": "dup@example.com", "lifecyclestage": "lead"})
    writer.merge("contacts", survivor.id, loser.id)
    deal = writer.create("deals", {"dealname": "Big one", "dealstage": "appointmentscheduled"})
    writer.associate("deals", deal.id, "contacts", lead.id)
    doomed = writer.create("deals", {"dealname": "Lost cause", "dealstage": "qualifiedtobuy"})
    writer.archive("deals", doomed.id)

    sender = sandbox.emulator.webhooks
    assert sender is not None
    sent = sender.flush()
    assert sent > 0 and sender.dead_events == 0
    assert all(d.status == 200 for d in sender.deliveries)
    assert len(session.scalars(select(WebhookEvent)).all()) == sent

    apply_everything(session_factory, settings)

    session.expire_all()
    pid = portal.portal_id
    stored_lead = session.get(Contact, (pid, str(lead.id)))
    truth = portal.get("contacts", lead.id)
    assert stored_lead is not None and truth is not None
    assert (
        stored_lead.lifecycle_stage
        == truth.properties["lifecyclestage"]
        == "marketingqualifiedlead"
    )
    assert stored_lead.owner_id == owner
    assert stored_lead.email == "new.lead@example.com"
    assert stored_lead.synced_at is not None  # read whole from the emulator, not only events
    stages = session.scalars(
        select(Transition.value)
        .where(Transition.object_id == str(lead.id), Transition.property == "lifecyclestage")
        .order_by(Transition.entered_at)
    ).all()
    assert stages == ["lead", "marketingqualifiedlead"]

    stored_loser = session.get(Contact, (pid, str(loser.id)))
    assert stored_loser is not None
    assert (stored_loser.archived, stored_loser.merged_into_id) == (True, str(survivor.id))

    stored_doomed = session.get(Deal, (pid, str(doomed.id)))
    assert stored_doomed is not None and stored_doomed.archived is True
    stored_deal = session.get(Deal, (pid, str(deal.id)))
    assert stored_deal is not None and stored_deal.deal_stage == "appointmentscheduled"
    links = session.execute(
        select(Association.from_id, Association.to_id).where(Association.from_type == "deal")
    ).all()
    assert (str(deal.id), str(lead.id)) in [tuple(link) for link in links]
    assert session.scalars(select(RecordRefresh)).all() == []


@pytest.mark.sandbox(contacts=60, limits=False)
def test_a_large_burst_arrives_in_batches_of_100_and_is_stored_once(
    wired: tuple[SandboxServer, Settings], session: Session
) -> None:
    sandbox, _ = wired
    writer = sandbox.emulator.writer
    contact_ids = [
        writer.create("contacts", {"email": f"burst{i}@example.com"}).id for i in range(150)
    ]
    for contact_id in contact_ids:
        writer.update("contacts", contact_id, {"hs_lead_status": "NEW"})
    sender = sandbox.emulator.webhooks
    assert sender is not None
    sent = sender.flush()
    assert sent == 300
    assert [d.events for d in sender.deliveries] == [100, 100, 100]
    assert len(session.scalars(select(WebhookEvent)).all()) == 300
