"""A property change about a record HubSpot does not have creates nothing: no live MQL, no SLA
clock from nowhere. The record is created by reading it from HubSpot (the sandbox, over HTTP),
and a stored record HubSpot answers OBJECT_NOT_FOUND for is archived."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.orm import Session

from app import hubspot_client
from app.config import Settings
from app.crm.repository import ensure_portal
from app.evaluation.rules_store import activate_rules
from app.evaluation.service import evaluate_all
from app.models import Contact, RecordRefresh, SlaInstance
from app.sla.states import SlaState
from app.store.db import SessionFactory, session_scope
from app.webhooks.refresh import refresh_due_records
from app.webhooks.worker import process_pending
from integrations.hubspot.client import HubSpotClient
from sandbox.server import SandboxServer
from tests.fixtures.webhooks import ingest, property_change

RULES = """\
version: 1
rules:
  - id: mql-first-touch
    kind: response
    object: contact
    start: {entered_stage: [marketingqualifiedlead]}
    stop:
      engagement: {types: [call, email], by: anyone}
    goal: 4h
    time: calendar
"""
MISSING_ID = 987_654_321  # no sandbox contact has this id
MQL = "marketingqualifiedlead"


@pytest.fixture
def wired(
    sandbox: SandboxServer, settings: Settings, session_factory: SessionFactory, tmp_path: Path
) -> tuple[Settings, HubSpotClient]:
    rules = tmp_path / "sla.yaml"
    rules.write_text(RULES)
    with session_scope(session_factory) as session:
        activate_rules(session, rules, datetime.now(UTC))
        ensure_portal(session, sandbox.portal.portal_id)
    configured = settings.model_copy(
        update={
            "hubspot_access_token": SecretStr(sandbox.token),
            "hubspot_base_url": sandbox.hubspot_url,
        }
    )
    return configured, hubspot_client.from_settings(configured)


def mql_event(portal_id: int, object_id: int, ago: timedelta) -> dict[str, object]:
    at_ms = int((datetime.now(UTC) - ago).timestamp() * 1000)
    event = property_change("contact", object_id, at_ms, "lifecyclestage", MQL)
    return {**event, "portalId": portal_id}


def live_instances(session: Session, object_id: int) -> list[SlaInstance]:
    session.expire_all()
    rows = session.scalars(select(SlaInstance).where(SlaInstance.object_id == str(object_id)))
    return [row for row in rows if row.state in (SlaState.RUNNING, SlaState.WARNING)]


def read_queued(factory: SessionFactory, settings: Settings, client: HubSpotClient) -> None:
    # Past the coalescing window, as the worker's next runs would be.
    refresh_due_records(factory, client, settings, datetime.now(UTC) + timedelta(minutes=1))


def test_a_change_of_a_record_hubspot_does_not_have_creates_no_contact_and_no_clock(
    sandbox: SandboxServer,
    wired: tuple[Settings, HubSpotClient],
    session_factory: SessionFactory,
    session: Session,
) -> None:
    settings, client = wired
    ingest(session_factory, [mql_event(sandbox.portal.portal_id, MISSING_ID, timedelta(hours=5))])
    process_pending(session_factory)
    assert session.get(Contact, (sandbox.portal.portal_id, str(MISSING_ID))) is None
    assert live_instances(session, MISSING_ID) == []
    read_queued(session_factory, settings, client)
    session.expire_all()
    assert session.get(Contact, (sandbox.portal.portal_id, str(MISSING_ID))) is None
    assert session.scalars(select(RecordRefresh)).all() == []
    assert live_instances(session, MISSING_ID) == []


def test_a_change_of_a_record_hubspot_has_creates_it_from_the_read(
    sandbox: SandboxServer,
    wired: tuple[Settings, HubSpotClient],
    session_factory: SessionFactory,
    session: Session,
) -> None:
    settings, client = wired
    portal = sandbox.portal.portal_id
    existing = sandbox.portal.record_id("contacts", 0)
    ingest(session_factory, [mql_event(portal, existing, timedelta(seconds=-60))])
    process_pending(session_factory)
    read_queued(session_factory, settings, client)
    session.expire_all()
    row = session.get(Contact, (portal, str(existing)))
    assert row is not None and not row.archived
    assert row.synced_at is not None
    # The event is newer than anything the read reflects: its value wins.
    assert row.lifecycle_stage == MQL


def test_a_stored_record_hubspot_does_not_have_is_archived_and_its_clock_stops(
    sandbox: SandboxServer,
    wired: tuple[Settings, HubSpotClient],
    session_factory: SessionFactory,
    session: Session,
) -> None:
    settings, client = wired
    portal = sandbox.portal.portal_id
    # A row only events made (as they did before they waited for the read): never synced.
    with session_scope(session_factory) as setup:
        setup.add(
            Contact(
                portal_id=portal,
                id=str(MISSING_ID),
                archived=False,
                properties={"lifecyclestage": MQL},
                lifecycle_stage=MQL,
            )
        )
    ingest(session_factory, [mql_event(portal, MISSING_ID, timedelta(minutes=30))])
    process_pending(session_factory)
    with session_scope(session_factory) as evaluation:
        evaluate_all(evaluation, now=datetime.now(UTC))
    assert live_instances(session, MISSING_ID), "the stored MQL has a running clock"
    read_queued(session_factory, settings, client)
    session.expire_all()
    row = session.get(Contact, (portal, str(MISSING_ID)))
    assert row is not None and row.archived
    assert live_instances(session, MISSING_ID) == []
