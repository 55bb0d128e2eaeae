"""The worker applies stored events to the store: in time order per record, whatever order
they arrived in, once however often they arrived."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from app.crm.repository import ensure_portal
from app.models import Contact, Deal, PropertyVersion, RecordRefresh, Transition, WebhookEvent
from app.store.db import SessionFactory, session_scope
from app.webhooks import worker
from app.webhooks.ingest import IngestActivity
from app.webhooks.worker import process_pending
from tests.fixtures.webhooks import PORTAL, event, ingest, property_change, seed_read

T0 = 1_764_000_000_000
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def at(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def deliver_and_process(factory: SessionFactory, *batches: list[dict[str, object]]) -> None:
    """Each batch is delivered, then the worker runs: later batches arrive after earlier ones
    were applied, which is what makes out-of-order delivery observable."""
    for batch in batches:
        ingest(factory, batch)
        process_pending(factory, now_fn=lambda: NOW)


def contact(session: Session, contact_id: str) -> Contact | None:
    session.expire_all()
    return session.get(Contact, (PORTAL, contact_id))


def test_a_property_change_updates_the_record_and_its_typed_column(
    session_factory: SessionFactory, session: Session
) -> None:
    seed_read(session_factory, "contact", [11])
    deliver_and_process(
        session_factory,
        [property_change("contact", 11, T0, "lifecyclestage", "marketingqualifiedlead")],
    )
    row = contact(session, "11")
    assert row is not None
    assert row.properties == {"lifecyclestage": "marketingqualifiedlead"}
    assert row.lifecycle_stage == "marketingqualifiedlead"
    assert session.scalars(select(RecordRefresh.object_id)).all() == []  # read already
    assert all(e.processed_at is not None for e in session.scalars(select(WebhookEvent)))


def test_a_change_of_a_record_never_read_waits_in_its_clock_for_the_read(
    session_factory: SessionFactory, session: Session
) -> None:
    """HubSpot may not have the record (deleted meanwhile, or never there): only its read
    creates it, and applies the change if it is newer than what the read reflects."""
    deliver_and_process(
        session_factory,
        [property_change("contact", 11, T0, "lifecyclestage", "marketingqualifiedlead")],
    )
    assert contact(session, "11") is None
    assert session.scalars(select(RecordRefresh.object_id)).all() == ["11"]
    clock = session.get(PropertyVersion, (PORTAL, "contact", "11", "lifecyclestage"))
    assert clock is not None and clock.value == "marketingqualifiedlead"
    assert all(e.processed_at is not None for e in session.scalars(select(WebhookEvent)))


def test_an_older_change_arriving_late_never_overwrites_a_newer_one(
    session_factory: SessionFactory, session: Session
) -> None:
    seed_read(session_factory, "contact", [11])
    newer = property_change("contact", 11, T0 + 5000, "hubspot_owner_id", "202")
    older = property_change("contact", 11, T0, "hubspot_owner_id", "101")
    deliver_and_process(session_factory, [newer], [older])
    row = contact(session, "11")
    assert row is not None and row.owner_id == "202"


def test_a_duplicated_change_is_applied_once(
    session_factory: SessionFactory, session: Session
) -> None:
    seed_read(session_factory, "deal", [7])
    change = property_change("deal", 7, T0, "dealstage", "contractsent")
    deliver_and_process(session_factory, [change, change], [{**change, "attemptNumber": 3}])
    assert len(session.scalars(select(WebhookEvent)).all()) == 1
    transitions = session.scalars(select(Transition)).all()
    assert [(t.property, t.value) for t in transitions] == [("dealstage", "contractsent")]
    deal = session.get(Deal, (PORTAL, "7"))
    assert deal is not None and deal.deal_stage == "contractsent"


def test_a_record_read_from_hubspot_after_the_change_is_not_overwritten(
    session_factory: SessionFactory, session: Session
) -> None:
    with session_scope(session_factory) as setup:
        ensure_portal(setup, PORTAL)
        setup.add(
            Contact(
                portal_id=PORTAL,
                id="11",
                archived=False,
                properties={"lifecyclestage": "salesqualifiedlead"},
                lifecycle_stage="salesqualifiedlead",
                modified_at=at(T0 + 60_000),
            )
        )
    deliver_and_process(
        session_factory, [property_change("contact", 11, T0, "lifecyclestage", "lead")]
    )
    row = contact(session, "11")
    assert row is not None and row.lifecycle_stage == "salesqualifiedlead"


def test_lifecycle_and_owner_changes_become_a_linked_timeline_in_any_order(
    session_factory: SessionFactory, session: Session
) -> None:
    seed_read(session_factory, "contact", [11])
    stages = [
        property_change("contact", 11, T0, "lifecyclestage", "lead"),
        property_change("contact", 11, T0 + 1000, "lifecyclestage", "marketingqualifiedlead"),
        property_change("contact", 11, T0 + 2000, "lifecyclestage", "salesqualifiedlead"),
    ]
    owner = property_change("contact", 11, T0 + 1500, "hubspot_owner_id", "101")
    deliver_and_process(session_factory, [stages[2]], [stages[0], owner], [stages[1]])
    rows = session.scalars(
        select(Transition).order_by(Transition.property, Transition.entered_at)
    ).all()
    assert [(t.property, t.value, t.entered_at, t.exited_at, t.source) for t in rows] == [
        ("hubspot_owner_id", "101", at(T0 + 1500), None, "webhook"),
        ("lifecyclestage", "lead", at(T0), at(T0 + 1000), "webhook"),
        ("lifecyclestage", "marketingqualifiedlead", at(T0 + 1000), at(T0 + 2000), "webhook"),
        ("lifecyclestage", "salesqualifiedlead", at(T0 + 2000), None, "webhook"),
    ]
    row = contact(session, "11")
    assert row is not None and row.lifecycle_stage == "salesqualifiedlead"


def test_deletion_archives_and_a_later_restore_wins_whatever_the_arrival_order(
    session_factory: SessionFactory, session: Session
) -> None:
    deletion = event("deal.deletion", 7, T0)
    restore = event("deal.restore", 7, T0 + 1000)
    deliver_and_process(session_factory, [restore], [deletion])
    deal = session.get(Deal, (PORTAL, "7"))
    assert deal is not None and deal.archived is False
    deliver_and_process(session_factory, [event("deal.deletion", 7, T0 + 2000)])
    session.expire_all()
    deal = session.get(Deal, (PORTAL, "7"))
    assert deal is not None and deal.archived is True


def test_a_merge_archives_the_merged_records_and_points_them_at_the_survivor(
    session_factory: SessionFactory, session: Session
) -> None:
    merge = event("contact.merge", 11, T0, primaryObjectId=11, mergedObjectIds=[12, 13])
    deliver_and_process(session_factory, [merge])
    merged = {c.id: c for c in session.scalars(select(Contact))}
    assert {i: (c.archived, c.merged_into_id) for i, c in merged.items()} == {
        "12": (True, "11"),
        "13": (True, "11"),
    }
    # The survivor is read again from HubSpot (its properties changed with the merge).
    assert "11" in session.scalars(select(RecordRefresh.object_id)).all()


def test_creation_restore_and_association_events_coalesce_into_one_read_per_record(
    session_factory: SessionFactory, session: Session
) -> None:
    events = [
        event("contact.creation", 11, T0),
        *[property_change("contact", 11, T0 + i, f"prop{i}", "x") for i in range(1, 20)],
        event(
            "contact.associationChange",
            11,
            T0 + 30,
            fromObjectId=11,
            toObjectId=7,
            associationType="CONTACT_TO_DEAL",
            associationRemoved=False,
        ),
        event("deal.creation", 7, T0 + 40),
    ]
    deliver_and_process(session_factory, events[:10], events[10:])
    queued = session.execute(
        select(RecordRefresh.object_type, RecordRefresh.object_id).order_by(
            RecordRefresh.object_type
        )
    ).all()
    assert [tuple(q) for q in queued] == [("contact", "11"), ("deal", "7")]
    due = session.scalars(select(RecordRefresh.due_at)).all()
    assert all(NOW < d <= NOW + timedelta(seconds=5) for d in due)


def test_events_of_objects_slaguard_does_not_store_are_kept_and_marked_processed(
    session_factory: SessionFactory, session: Session
) -> None:
    deliver_and_process(
        session_factory,
        [event("company.propertyChange", 5, T0, propertyName="name", propertyValue="ACME")],
    )
    stored = session.scalars(select(WebhookEvent)).all()
    assert len(stored) == 1 and stored[0].processed_at == NOW
    assert session.scalars(select(Contact)).all() == []


def backlog(factory: SessionFactory, count: int) -> None:
    """`count` property changes of distinct contacts, stored and not yet applied."""
    for start in range(0, count, 100):
        ingest(
            factory,
            [
                property_change("contact", i, T0 + i, "firstname", f"name-{i}")
                for i in range(start, min(count, start + 100))
            ],
        )


def pending_count(session: Session) -> int:
    session.expire_all()
    return len(
        session.scalars(select(WebhookEvent.id).where(WebhookEvent.processed_at.is_(None))).all()
    )


def one_round(factory: SessionFactory, activity: IngestActivity) -> int:
    return process_pending(factory, now_fn=lambda: NOW, activity=activity, max_rounds=1)


def test_while_the_endpoint_is_busy_the_worker_goes_on_in_short_rounds(
    session_factory: SessionFactory, session: Session
) -> None:
    backlog(session_factory, 250)
    activity = IngestActivity()
    with activity.request():  # a HubSpot request is in flight throughout
        first = one_round(session_factory, activity)
        # A short round: the write lock is not held for the whole backlog.
        assert 0 < first < 250
        # It rests between rounds, but it does not stop: every round shrinks the backlog.
        left = 250 - first
        while left:
            handled = one_round(session_factory, activity)
            assert 0 < handled <= left
            left -= handled
    assert pending_count(session) == 0
    assert session.get(PropertyVersion, (PORTAL, "contact", "249", "firstname")) is not None


def test_once_the_endpoint_is_quiet_a_backlog_is_applied_in_larger_rounds(
    session_factory: SessionFactory, session: Session
) -> None:
    """What was left behind under load is applied in fewer, larger rounds once it stops."""
    backlog(session_factory, 1200)
    busy = IngestActivity()
    with busy.request():
        under_load = one_round(session_factory, busy)
    quiet = IngestActivity()
    sizes, left = [], 1200 - under_load
    while left:
        handled = one_round(session_factory, quiet)
        assert 0 < handled <= left
        sizes.append(handled)
        left -= handled
    assert sizes[0] > under_load  # a quiet round takes more than a round under load
    rounds = len(sizes)
    assert rounds < -(-(1200 - under_load) // under_load)  # fewer than at the busy pace
    assert pending_count(session) == 0
    assert session.get(PropertyVersion, (PORTAL, "contact", "1199", "firstname")) is not None


def store_contents(session: Session) -> dict[str, list[tuple[object, ...]]]:
    """Every row the worker writes, as stored (ids that count up per database left out)."""
    queries = {
        "contacts": "SELECT * FROM contacts ORDER BY portal_id, id",
        "deals": "SELECT * FROM deals ORDER BY portal_id, id",
        "property_clocks": "SELECT * FROM property_clocks ORDER BY 1, 2, 3, 4",
        "transitions": (
            "SELECT portal_id, object_type, object_id, property, value, entered_at, exited_at,"
            " source, source_id FROM transitions ORDER BY 1, 2, 3, 4, 6, 5"
        ),
        "record_refresh_queue": "SELECT * FROM record_refresh_queue ORDER BY 1, 2, 3",
        "webhook_events": (
            "SELECT dedupe_key, processed_at, attempts, error FROM webhook_events ORDER BY 1"
        ),
    }
    return {
        name: [tuple(row) for row in session.execute(text(query))]
        for name, query in queries.items()
    }


def test_bulk_rounds_store_what_applying_each_event_through_the_orm_stores(
    session_factory: SessionFactory, session: Session
) -> None:
    """Property changes are written in bulk through the driver (`app.store.bulk`), converting
    the values themselves; a round applied one event at a time goes through the ORM and
    SQLAlchemy's own type processing. The store must end exactly the same either way."""
    owners = ["101", "202", None, "303"]
    stages = ["subscriber", "lead", "marketingqualifiedlead", "customer"]
    stream = [
        *[
            property_change("contact", i % 7, T0 + 1000 * i, "lifecyclestage", stages[i % 4])
            for i in range(40)
        ],
        *[
            property_change("contact", i % 5, T0 + 500 * i, "hubspot_owner_id", owners[i % 4])
            for i in range(30)
        ],
        *[property_change("deal", i % 3, T0 + 700 * i, "amount", f"{i}.5") for i in range(12)],
        *[property_change("deal", i % 3, T0 + 900 * i, "dealstage", f"s{i % 4}") for i in range(9)],
        property_change("contact", 3, T0 - 5000, "firstname", "Zoë"),  # older than the rest
        property_change("contact", 20, T0, "firstname", "Ada"),  # a record never read
    ]
    batches = [stream[start : start + 23] for start in range(0, len(stream), 23)]

    def run(bulk: bool) -> dict[str, list[tuple[object, ...]]]:
        with session_scope(session_factory) as setup:
            ensure_portal(setup, PORTAL)
        seed_read(session_factory, "contact", list(range(7)))
        seed_read(session_factory, "deal", list(range(3)))
        for batch in batches:
            ingest(session_factory, batch)
            with session_scope(session_factory) as applying:
                result = worker.process_round(applying, NOW, 100, bulk=bulk)
            assert result.applied == len(batch)
        session.expire_all()
        contents = store_contents(session)
        session.rollback()
        with session_scope(session_factory) as cleanup:
            for table in contents:
                cleanup.execute(text(f"DELETE FROM {table}"))
        return contents

    in_bulk = run(bulk=True)
    one_by_one = run(bulk=False)
    assert in_bulk["contacts"] and in_bulk["transitions"] and in_bulk["record_refresh_queue"]
    assert in_bulk == one_by_one
