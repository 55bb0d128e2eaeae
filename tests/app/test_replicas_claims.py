"""Several workers apply one backlog of webhook events on PostgreSQL: each event once, and
each record's events in their time order, whichever worker takes which."""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from app.models import Contact, WebhookEvent
from app.store import migrate
from app.store.db import create_db_engine, create_session_factory
from app.webhooks import claims
from app.webhooks.worker import process_pending
from tests.fixtures.store import PostgresDatabases
from tests.fixtures.webhooks import PORTAL, ingest, property_change, seed_read

pytestmark = pytest.mark.postgres
T0 = 1_764_000_000_000

# Every time an event is marked applied, a row here with the next number of one sequence:
# the order in which the rounds applied events, as the database saw it.
APPLY_LOG = """
CREATE SEQUENCE apply_seq;
CREATE TABLE apply_log (event_id bigint NOT NULL, seq bigint NOT NULL);
CREATE FUNCTION log_apply() RETURNS trigger AS $$
BEGIN
  INSERT INTO apply_log VALUES (NEW.id, nextval('apply_seq'));
  RETURN NEW;
END $$ LANGUAGE plpgsql;
CREATE TRIGGER log_apply AFTER UPDATE OF processed_at ON webhook_events FOR EACH ROW
  WHEN (OLD.processed_at IS NULL AND NEW.processed_at IS NOT NULL) EXECUTE FUNCTION log_apply();
"""


@pytest.fixture
def pg_engine(postgres_databases: PostgresDatabases) -> Iterator[Engine]:
    url = postgres_databases.create()
    migrate.upgrade(url)
    engine = create_db_engine(url)
    with engine.begin() as connection:
        connection.exec_driver_sql(APPLY_LOG)
    yield engine
    engine.dispose()


def test_a_round_skips_a_record_whose_older_event_another_round_holds(pg_engine: Engine) -> None:
    factory = create_session_factory(pg_engine)
    ingest(
        factory,
        [
            property_change("contact", 1, T0, "hs_lead_status", "OPEN"),
            property_change("contact", 2, T0 + 1, "hs_lead_status", "OPEN"),
            property_change("contact", 1, T0 + 2, "hs_lead_status", "CONNECTED"),
            property_change("contact", 3, T0 + 3, "hs_lead_status", "OPEN"),
        ],
    )
    with Session(pg_engine) as first, Session(pg_engine) as second:
        mine = claims.claim_pending(first, 2)  # contact 1's first event and contact 2's
        theirs = claims.claim_pending(second, 10)
        assert [(e.object_id, e.occurred_at) for e in mine] == [
            ("1", mine[0].occurred_at),
            ("2", mine[1].occurred_at),
        ]
        # Contact 1's later event is held by the second round but not applicable by it.
        assert [e.object_id for e in theirs] == ["3"]
        first.rollback()  # the first round dies: its claim ends with its transaction
        second.rollback()
        # The next round holds all of contact 1's events, and applies them in time order.
        again = claims.claim_pending(second, 10)
        assert [e.object_id for e in again] == ["1", "2", "1", "3"]


def test_three_workers_apply_a_backlog_once_each_in_time_order_per_record(
    pg_engine: Engine,
) -> None:
    factory = create_session_factory(pg_engine)
    contacts = list(range(1, 9))
    seed_read(factory, "contact", contacts)
    statuses = ["OPEN", "IN_PROGRESS", "ATTEMPTED_TO_CONTACT", "CONNECTED", "BAD_TIMING"]
    events = [
        property_change("contact", contacts[n % 8], T0 + n, "hs_lead_status", statuses[n % 5])
        for n in range(600)
    ]
    for start in range(0, len(events), 50):
        ingest(factory, events[start : start + 50])

    def work() -> None:
        own = create_session_factory(pg_engine)
        while process_pending(own, batch_size=20, quiet_batch_size=20, max_rounds=5):
            pass

    workers = [threading.Thread(target=work) for _ in range(3)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join(timeout=120)

    with Session(pg_engine) as session:
        log = session.execute(text("SELECT event_id, seq FROM apply_log")).all()
        rows = session.scalars(select(WebhookEvent)).all()
        applied_order: dict[str, list[tuple[object, int]]] = defaultdict(list)
        seq = dict(log)
        assert len(log) == len(seq) == 600  # every event applied, none twice
        for row in sorted(rows, key=lambda r: seq[r.id]):
            applied_order[row.object_id].append((row.occurred_at, row.id))
        for object_id, order in applied_order.items():
            assert order == sorted(order), f"contact {object_id} applied out of order"
        final = {
            c.id: c.properties.get("hs_lead_status")
            for c in session.scalars(select(Contact).where(Contact.portal_id == PORTAL))
        }
    last = {str(contacts[n % 8]): statuses[n % 5] for n in range(600)}
    assert final == last
