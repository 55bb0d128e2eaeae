"""Records land in the store with the right typed columns, merges, transitions and links —
on SQLite and PostgreSQL (the `session` fixture runs once per backend)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.crm import repository
from app.crm.apply import apply_associations, apply_records
from app.models import Association, Contact, Deal, Engagement, Transition
from app.store.db import SessionFactory
from app.webhooks.worker import process_pending
from integrations.hubspot.records import AssociatedId, AssociationSet, CrmRecord, PropertyChange
from tests.fixtures.webhooks import ingest, property_change, seed_read

PORTAL = 4242
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def _contact(record_id: str, modified: datetime, **props: str | None) -> CrmRecord:
    properties: dict[str, str | None] = {
        "lastmodifieddate": modified.isoformat().replace("+00:00", "Z"),
        "createdate": "2026-01-01T00:00:00.000Z",
        **props,
    }
    return CrmRecord("contacts", record_id, properties)


def _transitions(
    session: Session, object_id: str, prop: str
) -> list[tuple[str | None, datetime, datetime | None]]:
    rows = session.scalars(
        select(Transition)
        .where(Transition.object_id == object_id, Transition.property == prop)
        .order_by(Transition.entered_at)
    )
    return [(t.value, t.entered_at, t.exited_at) for t in rows]


def test_contact_columns_come_from_properties(session: Session) -> None:
    repository.ensure_portal(session, PORTAL)
    record = _contact(
        "101",
        NOW,
        email="ada@example.com",
        lifecyclestage="marketingqualifiedlead",
        hubspot_owner_id="77",
        hubspot_owner_assigneddate="1767225600000",  # epoch ms
        hs_lead_status="NEW",
        hs_analytics_source="ORGANIC_SEARCH",
    )
    apply_records(session, PORTAL, [record], synced_at=NOW)
    session.commit()

    row = session.get(Contact, (PORTAL, "101"))
    assert row is not None
    assert row.email == "ada@example.com"
    assert row.lifecycle_stage == "marketingqualifiedlead"
    assert row.owner_id == "77"
    assert row.owner_assigned_at == datetime(2026, 1, 1, tzinfo=UTC)
    assert row.lead_status == "NEW"
    assert row.lead_source == "ORGANIC_SEARCH"
    assert row.modified_at == NOW
    assert row.properties["email"] == "ada@example.com"
    assert row.archived is False


def test_unset_properties_are_not_stored_and_a_cleared_one_goes(session: Session) -> None:
    repository.ensure_portal(session, PORTAL)
    # HubSpot's null is an unset property
    first = _contact(
        "7", NOW - timedelta(hours=1), hs_lead_status="NEW", hs_v2_date_entered_customer=None
    )
    apply_records(session, PORTAL, [first], synced_at=NOW)
    session.commit()
    row = session.get(Contact, (PORTAL, "7"))
    assert row is not None
    assert "hs_v2_date_entered_customer" not in row.properties
    assert row.properties["hs_lead_status"] == "NEW"

    cleared = _contact("7", NOW, hs_lead_status=None)
    apply_records(session, PORTAL, [cleared], synced_at=NOW)
    session.commit()
    session.expire_all()
    row = session.get(Contact, (PORTAL, "7"))
    assert row is not None
    assert "hs_lead_status" not in row.properties
    assert row.lead_status is None


def test_an_older_copy_never_overwrites_a_newer_row(session: Session) -> None:
    repository.ensure_portal(session, PORTAL)
    apply_records(session, PORTAL, [_contact("5", NOW, lifecyclestage="customer")], synced_at=NOW)
    older = _contact("5", NOW - timedelta(hours=1), lifecyclestage="lead")
    apply_records(session, PORTAL, [older], synced_at=NOW)
    session.commit()
    row = session.get(Contact, (PORTAL, "5"))
    assert row is not None and row.lifecycle_stage == "customer"


def test_merged_ids_end_archived_and_point_at_the_survivor(session: Session) -> None:
    repository.ensure_portal(session, PORTAL)
    apply_records(session, PORTAL, [_contact("2", NOW - timedelta(days=1))], synced_at=NOW)
    survivor = _contact("1", NOW, hs_merged_object_ids="2;3")
    apply_records(session, PORTAL, [survivor], synced_at=NOW)
    # the survivor read again later must not clear the merge marks
    apply_records(session, PORTAL, [_contact("2", NOW - timedelta(days=1))], synced_at=NOW)
    session.commit()
    for merged_id in ("2", "3"):
        row = session.get(Contact, (PORTAL, merged_id))
        assert row is not None
        assert (row.archived, row.merged_into_id) == (True, "1")
    survivor_row = session.get(Contact, (PORTAL, "1"))
    assert survivor_row is not None and survivor_row.merged_into_id is None


def test_history_becomes_a_timeline_and_replaces_the_old_one(session: Session) -> None:
    repository.ensure_portal(session, PORTAL)
    t0, t1, t2 = (NOW - timedelta(days=d) for d in (3, 2, 1))
    history = {
        # newest first, as HubSpot lists it; the stage moved back from opportunity to lead
        "lifecyclestage": [
            PropertyChange("lead", t2),
            PropertyChange("opportunity", t1),
            PropertyChange("lead", t0),
        ],
        "hs_lead_status": [],
    }
    record = CrmRecord(
        "contacts",
        "9",
        {"lastmodifieddate": NOW.isoformat(), "lifecyclestage": "lead"},
        history=history,
    )
    apply_records(session, PORTAL, [record], synced_at=NOW)
    apply_records(session, PORTAL, [record], synced_at=NOW)  # idempotent
    session.commit()
    assert _transitions(session, "9", "lifecyclestage") == [
        ("lead", t0, t1),
        ("opportunity", t1, t2),
        ("lead", t2, None),
    ]


def test_stage_dates_fill_a_missing_history(session: Session) -> None:
    repository.ensure_portal(session, PORTAL)
    entered_lead = datetime(2026, 1, 5, tzinfo=UTC)
    entered_mql = datetime(2026, 1, 9, tzinfo=UTC)
    record = CrmRecord(
        "contacts",
        "11",
        {
            "lastmodifieddate": NOW.isoformat(),
            "lifecyclestage": "marketingqualifiedlead",
            "hs_v2_date_entered_lead": "2026-01-05T00:00:00Z",
            "hs_lifecyclestage_marketingqualifiedlead_date": "2026-01-09T00:00:00.000Z",
        },
        history={"lifecyclestage": []},
    )
    apply_records(session, PORTAL, [record], synced_at=NOW)
    session.commit()
    assert _transitions(session, "11", "lifecyclestage") == [
        ("lead", entered_lead, entered_mql),
        ("marketingqualifiedlead", entered_mql, None),
    ]
    sources = set(session.scalars(select(Transition.source).where(Transition.object_id == "11")))
    assert sources == {"date_property"}


def test_deals_and_engagements_with_their_links(session: Session) -> None:
    repository.ensure_portal(session, PORTAL)
    deal = CrmRecord(
        "deals",
        "500",
        {
            "hs_lastmodifieddate": NOW.isoformat(),
            "dealname": "Big one",
            "pipeline": "default",
            "dealstage": "appointmentscheduled",
            "amount": "1234.5",
            "closedate": "2026-04-01T00:00:00Z",
        },
    )
    call = CrmRecord(
        "calls",
        "900",
        {
            "hs_lastmodifieddate": NOW.isoformat(),
            "hs_timestamp": "2026-03-01T09:30:00.000Z",
            "hubspot_owner_id": "77",
            "hs_call_direction": "OUTBOUND",
            "hs_call_status": "COMPLETED",
        },
    )
    apply_records(session, PORTAL, [deal], synced_at=NOW)
    apply_records(session, PORTAL, [call], synced_at=NOW)
    links = [AssociationSet("900", [AssociatedId("101", 194, None, "HUBSPOT_DEFINED")])]
    apply_associations(session, PORTAL, "calls", "contacts", ["900"], links)
    # read again with the contact link removed: the stale link goes
    apply_associations(session, PORTAL, "calls", "contacts", ["900"], [])
    apply_associations(
        session,
        PORTAL,
        "calls",
        "deals",
        ["900"],
        [AssociationSet("900", [AssociatedId("500", 206, None, None)])],
    )
    session.commit()

    deal_row = session.get(Deal, (PORTAL, "500"))
    assert deal_row is not None
    assert (deal_row.name, deal_row.deal_stage, deal_row.amount) == (
        "Big one",
        "appointmentscheduled",
        Decimal("1234.50"),
    )
    call_row = session.get(Engagement, (PORTAL, "900"))
    assert call_row is not None
    assert (call_row.type, call_row.direction, call_row.status, call_row.owner_id) == (
        "call",
        "OUTBOUND",
        "COMPLETED",
        "77",
    )
    assert call_row.occurred_at == datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    links_now = session.execute(
        select(Association.from_type, Association.to_type, Association.to_id)
    ).all()
    assert [tuple(r) for r in links_now] == [("engagement", "deal", "500")]


def test_webhook_changes_slot_into_the_timeline_in_any_order(
    session_factory: SessionFactory, session: Session
) -> None:
    """Each change is delivered and applied before the next arrives (the worker's real path),
    so a later value is stored before an earlier one and a redelivery comes after both."""
    seed_read(session_factory, "contact", [7])
    t1, t2, t3 = (NOW + timedelta(minutes=m) for m in (1, 2, 3))

    def change(value: str, at: datetime) -> dict[str, object]:
        return property_change("contact", 7, int(at.timestamp() * 1000), "lifecyclestage", value)

    middle = change("opportunity", t2)
    for batch in (
        [change("lead", t1)],
        [change("customer", t3)],
        [middle],
        [{**middle, "attemptNumber": 1}],  # HubSpot's retry of a delivery
    ):
        ingest(session_factory, batch)
        process_pending(session_factory, now_fn=lambda: NOW)
    assert _transitions(session, "7", "lifecyclestage") == [
        ("lead", t1, t2),
        ("opportunity", t2, t3),
        ("customer", t3, None),
    ]
