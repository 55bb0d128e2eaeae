"""contact.privacyDeletion erases the contact's personal data from every table of the store."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from app.models import (
    Association,
    Base,
    Contact,
    Engagement,
    ErasedRecord,
    WebhookDeadLetter,
)
from app.store.db import SessionFactory, session_scope
from app.webhooks.worker import process_pending
from tests.fixtures.crm import add_engagement, add_link
from tests.fixtures.sla import add_sla_event, add_sla_instance
from tests.fixtures.webhooks import PORTAL, event, ingest, property_change, seed_read

T0 = 1_764_000_000_000
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
ERASED_ID = 9876543
EMAIL = "zoe.erasable@example.com"
KEPT_ID = 1234567


def run_worker(factory: SessionFactory) -> None:
    process_pending(factory, clock=lambda: NOW)


def rows_mentioning(engine: Engine, needle: str) -> dict[str, list[str]]:
    """Every row of every table whose text shows `needle`."""
    found: dict[str, list[str]] = {}
    with engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            for row in connection.execute(select(table)):
                text = " ".join(str(value) for value in row)
                if needle in text:
                    found.setdefault(table.name, []).append(text)
    return found


def seed_contact_everywhere(
    factory: SessionFactory, contact_id: int, email: str, call_id: str
) -> None:
    seed_read(factory, "contact", [contact_id])
    ingest(
        factory,
        [
            property_change("contact", contact_id, T0, "email", email),
            property_change("contact", contact_id, T0 + 1, "firstname", "Zoë"),
            property_change("contact", contact_id, T0 + 2, "lifecyclestage", "lead"),
            property_change("contact", contact_id, T0 + 3, "hubspot_owner_id", "101"),
            event(
                "deal.associationChange",
                555,
                T0 + 4,
                fromObjectId=555,
                toObjectId=contact_id,
                associationType="DEAL_TO_CONTACT",
                associationRemoved=False,
            ),
        ],
    )
    run_worker(factory)
    with session_scope(factory) as session:
        add_engagement(session, call_id, archived=False, properties={}, portal_id=PORTAL)
        add_link(session, "call", call_id, "contact", str(contact_id), portal_id=PORTAL)
        instance = add_sla_instance(
            session, str(contact_id), state="breached", started_at=NOW, portal_id=PORTAL
        )
        add_sla_event(session, instance, "breached", occurred_at=NOW, details={"email": email})
        session.add(
            WebhookDeadLetter(
                received_at=NOW,
                raw=f'{{"objectId": {contact_id}, "propertyValue": "{email}", "bad": true}}',
                reason="occurredAt is missing or not a non-negative integer",
            )
        )


def test_privacy_deletion_leaves_no_trace_of_the_contact_but_its_id_tombstone(
    session_factory: SessionFactory, engine: Engine, session: Session
) -> None:
    seed_contact_everywhere(session_factory, ERASED_ID, EMAIL, "call-a")
    seed_contact_everywhere(session_factory, KEPT_ID, "kept@example.com", "call-b")
    assert {
        "contacts",
        "webhook_events",
        "webhook_dead_letters",
        "property_clocks",
        "sla_events",
    } <= set(rows_mentioning(engine, EMAIL))

    ingest(session_factory, [event("contact.privacyDeletion", ERASED_ID, T0 + 100)])
    run_worker(session_factory)

    assert rows_mentioning(engine, EMAIL) == {}
    assert set(rows_mentioning(engine, str(ERASED_ID))) == {"erased_records"}
    # The other contact is untouched.
    kept = session.get(Contact, (PORTAL, str(KEPT_ID)))
    assert kept is not None and kept.email == "kept@example.com"
    assert "kept@example.com" in str(rows_mentioning(engine, "kept@example.com")["webhook_events"])
    # The rep's call stays (it is the rep's activity); only its link to the contact goes.
    assert sorted(session.scalars(select(Engagement.id))) == ["call-a", "call-b"]
    links = session.execute(select(Association.from_id, Association.to_id)).all()
    assert [tuple(link) for link in links] == [("call-b", str(KEPT_ID))]


def test_a_late_or_retried_event_does_not_bring_an_erased_contact_back(
    session_factory: SessionFactory, engine: Engine, session: Session
) -> None:
    ingest(session_factory, [event("contact.privacyDeletion", ERASED_ID, T0 + 100)])
    run_worker(session_factory)
    # HubSpot retries an older change, and a newer one arrives after the erasure.
    ingest(
        session_factory,
        [
            property_change("contact", ERASED_ID, T0, "email", EMAIL),
            property_change("contact", ERASED_ID, T0 + 500, "firstname", "Zoë"),
        ],
    )
    run_worker(session_factory)
    assert rows_mentioning(engine, EMAIL) == {}
    assert rows_mentioning(engine, "Zoë") == {}
    assert session.get(ErasedRecord, (PORTAL, "contact", str(ERASED_ID))) is not None
