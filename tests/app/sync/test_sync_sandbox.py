"""Full and incremental syncs against the HubSpot sandbox end equal to its ground truth."""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
import threading
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from app import hubspot_client
from app.config import Settings
from app.models import SyncRun
from app.reported_errors import REPORTED_ERRORS
from app.store.db import SessionFactory
from app.sync.service import SyncService
from integrations.hubspot.errors import HubSpotAuthError
from integrations.hubspot.retry import RetryPolicy
from tests.app.sync.activity import make_activity
from tests.app.sync.truth import store_differences
from tests.test_end_to_end import RULES as FIRST_TOUCH_RULES


def _service(
    settings: Settings, session_factory: SessionFactory, sandbox: Any, token: str | None = None
) -> SyncService:
    configured = settings.model_copy(
        update={
            "hubspot_access_token": SecretStr(token or sandbox.token),
            "hubspot_base_url": sandbox.hubspot_url,
        }
    )
    policy = RetryPolicy(base_delay=0.05, max_delay=1.0, max_attempts=10)
    client = hubspot_client.from_settings(configured, retry_policy=policy)
    return SyncService(configured, session_factory, client)


def _differences(session_factory: SessionFactory, sandbox: Any) -> list[str]:
    with session_factory() as session:
        return store_differences(session, sandbox.portal)


@pytest.mark.sandbox(contacts=400, limits=False, fault_rate=0.05)
def test_full_sync_then_activity_then_incremental_equals_the_portal(
    settings, session_factory, sandbox
) -> None:
    report = _service(settings, session_factory, sandbox).run(full=True)
    assert _differences(session_factory, sandbox) == []
    assert report.retries > 0  # the faults were there and were ridden out

    make_activity(sandbox.portal)
    assert _differences(session_factory, sandbox) != []  # the store is now behind

    incremental = _service(settings, session_factory, sandbox).run()
    assert _differences(session_factory, sandbox) == []
    # only what changed was read: far fewer records than the full sync
    assert incremental.counts["contacts"]["read"] < report.counts["contacts"]["read"] / 2
    with session_factory() as session:
        modes = [r.mode for r in session.scalars(select(SyncRun).order_by(SyncRun.id))]
        statuses = {r.status for r in session.scalars(select(SyncRun))}
    assert modes == ["full", "incremental"] and statuses == {"succeeded"}


@pytest.mark.sandbox(contacts=300, limits=True)
def test_a_paced_sync_is_never_rate_limited(sqlite_engine, sandbox) -> None:
    from app.store.db import create_session_factory

    factory = create_session_factory(sqlite_engine)
    settings = Settings(database_url=str(sqlite_engine.url), _env_file=None)  # type: ignore[call-arg]
    # the sandbox enforces the real limits (190 / 10 s, 5 searches / s) and answers 429 past them
    service = _service(settings, factory, sandbox)
    service.run(full=True)
    service.run()
    stats = sandbox.emulator.stats.snapshot()
    assert stats["total"] > 50
    assert stats["rateLimited"] == 0
    assert stats["byStatus"].get("429", 0) == 0


@pytest.mark.sandbox(contacts=50, limits=False)
def test_a_rejected_token_stops_the_run_with_one_sentence(settings, session_factory, sandbox):
    service = _service(settings, session_factory, sandbox, token="pat-na1-not-the-right-token")
    with pytest.raises(HubSpotAuthError) as caught:
        service.run(full=True)
    message = str(caught.value)
    assert isinstance(caught.value, REPORTED_ERRORS)  # said as one sentence, not a traceback
    assert "HUBSPOT_ACCESS_TOKEN" in message and "not-the-right" not in message
    assert message.count(".") <= 2 and "\n" not in message
    with session_factory() as session:
        run = session.scalars(select(SyncRun)).one()
    assert (run.status, run.error) == ("failed", message)


@pytest.mark.sandbox(contacts=300, limits=False)
def test_incremental_runs_read_archived_lists_only_when_live_counts_differ(
    settings, session_factory, sandbox
) -> None:
    from sandbox.portal.writer import PortalWriter

    _service(settings, session_factory, sandbox).run(full=True)
    live = [t.id for t in sandbox.portal.truth("contacts") if not t.archived]
    writer = PortalWriter(sandbox.portal)
    writer.update("contacts", live[0], {"hs_lead_status": "IN_PROGRESS"})

    sandbox.emulator.stats.clear()
    quiet = _service(settings, session_factory, sandbox).run()
    assert _differences(session_factory, sandbox) == []
    routes = sandbox.emulator.stats.snapshot()["byRoute"]
    # an unchanged type costs two searches: the probe (newest change and live count) and one
    # page of the window, which re-reads the overlap kept for search-index lag
    assert routes["POST /crm/v3/objects/deals/search"] == 2
    assert routes.get("GET /crm/v3/objects/deals", 0) == 0
    skipped = {name: c.get("archived_list_read") for name, c in quiet.counts.items()}
    assert skipped["contacts"] == 0 and skipped["deals"] == 0 and skipped["calls"] == 0

    # an archive without any other change: the live counts now differ for contacts only
    writer.archive("contacts", live[1])
    writer.archive("calls", next(t.id for t in sandbox.portal.truth("calls") if not t.archived))
    after = _service(settings, session_factory, sandbox).run()
    assert after.counts["contacts"]["archived_list_read"] == 1
    assert after.counts["calls"]["archived_list_read"] == 1
    assert after.counts["deals"]["archived_list_read"] == 0
    assert _differences(session_factory, sandbox) == []

    # a day after the last read of the deals' archived list it is read whatever the counts say
    from app.models import SyncCheckpoint

    with session_factory() as session:
        row = session.get(SyncCheckpoint, (sandbox.portal.portal_id, "deals"))
        assert row is not None and set(row.state) == {"archived_read_ms", "links_read_ms"}
        row.state = {
            **row.state,
            "archived_read_ms": row.state["archived_read_ms"] - 25 * 3_600_000,
        }
        session.commit()
    aged = _service(settings, session_factory, sandbox).run()
    assert aged.counts["deals"]["archived_list_read"] == 1
    assert aged.counts["contacts"]["archived_list_read"] == 0
    assert _differences(session_factory, sandbox) == []


@pytest.mark.sandbox(contacts=300, limits=False)
def test_links_added_without_a_change_arrive_with_the_daily_links_pass(
    settings, session_factory, sandbox
) -> None:
    from app.models import Association, SyncCheckpoint
    from sandbox.portal.writer import PortalWriter

    def deal_links(deal_id: int) -> set[str]:
        with session_factory() as session:
            rows = session.scalars(
                select(Association.to_id).where(
                    Association.from_type == "deal", Association.from_id == str(deal_id)
                )
            )
            return set(rows)

    _service(settings, session_factory, sandbox).run(full=True)
    deal = next(t.id for t in sandbox.portal.truth("deals") if not t.archived)
    linked = deal_links(deal)
    contact = next(
        t.id for t in sandbox.portal.truth("contacts") if not t.archived and str(t.id) not in linked
    )
    # an association alone: neither record's modification time moves (as in HubSpot)
    PortalWriter(sandbox.portal).associate("deals", deal, "contacts", contact)

    # the full sync's links are fresh: an incremental run's windows do not see the link
    quiet = _service(settings, session_factory, sandbox).run()
    assert str(contact) not in deal_links(deal)
    assert "links_reread" not in quiet.counts["deals"]

    # a day after the links were last read, an incremental run re-reads every live deal's
    with session_factory() as session:
        row = session.get(SyncCheckpoint, (sandbox.portal.portal_id, "deals"))
        assert row is not None
        row.state = {**row.state, "links_read_ms": row.state["links_read_ms"] - 25 * 3_600_000}
        session.commit()
    sandbox.emulator.stats.clear()
    aged = _service(settings, session_factory, sandbox).run()
    live_deals = [t for t in sandbox.portal.truth("deals") if not t.archived]
    assert aged.counts["deals"]["links_reread"] == len(live_deals)
    assert str(contact) in deal_links(deal)
    assert _differences(session_factory, sandbox) == []
    routes = sandbox.emulator.stats.snapshot()["byRoute"]
    # one request per 1,000 records and linked type
    assert routes["POST /crm/v4/associations/deals/contacts/batch/read"] == 1
    with session_factory() as session:
        row = session.get(SyncCheckpoint, (sandbox.portal.portal_id, "deals"))
        assert row is not None and "phase" not in row.state
        assert row.state["links_read_ms"] > row.state["archived_read_ms"] - 60_000

    # and it is not due again the next run
    again = _service(settings, session_factory, sandbox).run()
    assert "links_reread" not in again.counts["deals"]


@pytest.mark.sandbox(contacts=200, limits=False)
def test_a_call_linked_later_meets_the_clock_through_the_links_pass(
    settings, session_factory, sandbox, tmp_path
) -> None:
    from datetime import UTC, datetime, timedelta

    from app.evaluation.rules_store import activate_rules
    from app.evaluation.service import evaluate_all
    from app.models import SlaInstance, SyncCheckpoint
    from app.store.db import session_scope
    from sandbox.portal.writer import PortalWriter

    def clock() -> SlaInstance:
        with session_factory() as session:
            return session.scalars(
                select(SlaInstance).where(SlaInstance.object_id == str(lead.id))
            ).one()

    _service(settings, session_factory, sandbox).run(full=True)
    rules = tmp_path / "sla.yaml"
    rules.write_text(FIRST_TOUCH_RULES)  # stopped by the owner's call, email or meeting
    now = datetime.now(UTC)
    with session_scope(session_factory) as session:
        activate_rules(session, rules, now)
    with session_scope(session_factory) as session:
        evaluate_all(session, now=now, after_batch=session.commit)

    writer = PortalWriter(sandbox.portal)
    owner = next(o for o in sandbox.portal.owners if not o.archived)
    lead = writer.create("contacts", {"email": "ada@example-buyer.com", "lifecyclestage": "lead"})
    writer.update("contacts", lead.id, {"lifecyclestage": "marketingqualifiedlead"})
    writer.update("contacts", lead.id, {"hubspot_owner_id": owner.id})
    # the rep logs a call, linked to the lead only afterwards (a link alone moves no record)
    call_at_ms = sandbox.portal.now_ms()
    call = writer.create(
        "calls",
        {
            "hs_timestamp": (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=call_at_ms))
            .isoformat()
            .replace("+00:00", "Z"),
            "hubspot_owner_id": owner.id,
            "hs_call_direction": "OUTBOUND",
        },
        at_ms=call_at_ms,
    )
    _service(settings, session_factory, sandbox).run()
    assert clock().state == "running"
    writer.associate("calls", call.id, "contacts", lead.id)

    with session_factory() as session:
        row = session.get(SyncCheckpoint, (sandbox.portal.portal_id, "calls"))
        assert row is not None
        row.state = {**row.state, "links_read_ms": row.state["links_read_ms"] - 25 * 3_600_000}
        session.commit()
    report = _service(settings, session_factory, sandbox).run()
    assert report.counts["calls"]["links_reread"] > 0
    met = clock()
    assert met.state == "met"
    assert met.stopped_at == datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=call_at_ms)


@pytest.mark.sandbox(contacts=300, limits=False)
def test_a_links_pass_cut_short_resumes_after_its_last_committed_batch(
    settings, session_factory, sandbox
) -> None:
    from app.models import Association, SyncCheckpoint
    from sandbox.portal.writer import PortalWriter

    _service(settings, session_factory, sandbox).run(full=True)
    ids = sorted(str(t.id) for t in sandbox.portal.truth("deals") if not t.archived)
    middle, last = ids[len(ids) // 2], ids[-1]
    contact = next(t.id for t in sandbox.portal.truth("contacts") if not t.archived)
    PortalWriter(sandbox.portal).associate("deals", int(last), "contacts", contact)
    # the checkpoint a pass leaves once the batch ending at `middle` is committed
    with session_factory() as session:
        row = session.get(SyncCheckpoint, (sandbox.portal.portal_id, "deals"))
        assert row is not None
        started = row.state["links_read_ms"] + 1
        row.state = {
            **row.state,
            "mode": "incremental",
            "phase": "links",
            "after": middle,
            "links_from_ms": started,
        }
        session.commit()

    resumed = _service(settings, session_factory, sandbox).run()
    assert resumed.counts["deals"]["links_reread"] == len([i for i in ids if i > middle])
    with session_factory() as session:
        to_ids = session.scalars(
            select(Association.to_id).where(
                Association.from_type == "deal", Association.from_id == last
            )
        )
        assert str(contact) in set(to_ids)
        row = session.get(SyncCheckpoint, (sandbox.portal.portal_id, "deals"))
        assert row is not None and "phase" not in row.state
        assert row.state["links_read_ms"] == started  # when the pass began, not ended
    assert _differences(session_factory, sandbox) == []


@pytest.mark.sandbox(contacts=300, limits=False)
def test_a_full_sync_takes_links_inline_from_list_pages(settings, session_factory, sandbox):
    _service(settings, session_factory, sandbox).run(full=True)
    assert _differences(session_factory, sandbox) == []
    routes = sandbox.emulator.stats.snapshot()["byRoute"]
    assert not [r for r in routes if r.startswith("POST /crm/v4/associations/")], routes

    # a search page brings no links: a changed call's are read through associations v4
    from sandbox.portal.writer import PortalWriter

    call = next(t.id for t in sandbox.portal.truth("calls") if not t.archived)
    status = sandbox.portal.get("calls", call).properties.get("hs_call_status")
    new_status = "NO_ANSWER" if status == "COMPLETED" else "COMPLETED"
    PortalWriter(sandbox.portal).update("calls", call, {"hs_call_status": new_status})
    report = _service(settings, session_factory, sandbox).run()
    assert report.counts["calls"]["changed"] == 1
    assert _differences(session_factory, sandbox) == []
    routes = sandbox.emulator.stats.snapshot()["byRoute"]
    assert routes.get("POST /crm/v4/associations/calls/contacts/batch/read", 0) >= 1


@pytest.mark.sandbox(contacts=300, limits=False)
def test_a_first_full_sync_takes_history_from_list_pages_and_a_later_one_reads_none(
    settings, session_factory, sandbox
) -> None:
    first = _service(settings, session_factory, sandbox).run(full=True)
    assert _differences(session_factory, sandbox) == []
    routes = sandbox.emulator.stats.snapshot()["byRoute"]
    assert not [r for r in routes if r.endswith("/batch/read") and "/v3/" in r], routes
    contacts = first.counts["contacts"]
    assert contacts["history_read"] == contacts["read"] > 0

    sandbox.emulator.stats.clear()
    again = _service(settings, session_factory, sandbox).run(full=True)
    assert _differences(session_factory, sandbox) == []
    assert again.counts["contacts"]["history_read"] == 0  # nothing changed in between
    routes = sandbox.emulator.stats.snapshot()["byRoute"]
    # the store was not empty: list pages of 100, without history (50 a page with it)
    pages = routes["GET /crm/v3/objects/contacts"]
    assert pages <= again.counts["contacts"]["read"] // 100 + 2, pages


@pytest.mark.sandbox(contacts=300, limits=False)
def test_on_sqlite_a_sync_leaves_its_data_in_the_database_file_and_no_thread_behind(
    sqlite_engine, sandbox, tmp_path
) -> None:
    from app.store.db import create_session_factory

    factory = create_session_factory(sqlite_engine)
    settings = Settings(database_url=str(sqlite_engine.url), _env_file=None)  # type: ignore[call-arg]
    _service(settings, factory, sandbox).run(full=True)
    assert _differences(factory, sandbox) == []
    # The write-ahead log was copied into the database file by the time the run ended: the
    # file alone (as a copy without its -wal would have it) holds every synced record.
    alone = tmp_path / "copy.db"
    shutil.copyfile(sqlite_engine.url.database, alone)
    with contextlib.closing(sqlite3.connect(alone)) as copy:
        in_file = copy.execute("SELECT count(*) FROM contacts").fetchone()[0]
    with sqlite_engine.connect() as connection:
        assert in_file == connection.exec_driver_sql("SELECT count(*) FROM contacts").scalar_one()
        assert in_file > 0
        # Connections back in the pool copy the log themselves again, as SQLite does.
        assert connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one() == 1000
    assert not [t for t in threading.enumerate() if t.name == "sync-wal"]
