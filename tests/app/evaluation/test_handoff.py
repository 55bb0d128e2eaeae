"""The hand-off of changed records to the SLA engine: queued with the change, evaluated right
after, retried until applied, and exact when evaluators run at once."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, delete, func, select, update

from app.config import Settings
from app.evaluation import handoff
from app.evaluation.jobs import sla_jobs
from app.evaluation.rules_store import activate_rules
from app.evaluation.service import evaluate_all
from app.models import SlaEvent, SlaHandoffStats, SlaInstance, SlaReevaluation, SlaRuleSet
from app.scheduler import JobContext
from app.store.db import SessionFactory, session_scope
from app.webhooks.worker import process_round
from tests.fixtures.crm import PORTAL, add_contact, add_mql, seed_portal, utc
from tests.fixtures.rules import rules_file
from tests.fixtures.webhooks import event, ingest

FIRST_TOUCH = """  - id: first-touch
    kind: response
    start: {entered_stage: marketingqualifiedlead}
    stop: {engagement: {types: [call]}}
    goal: 4h
"""
MQL_AT = utc("2026-11-24 15:00")
NOW = utc("2026-11-24 15:30")


def seed(factory: SessionFactory, tmp_path: Path, ids: list[str]) -> None:
    """A portal with the rules in force and contacts that became MQLs (no clock stored yet)."""
    with session_scope(factory) as session:
        seed_portal(session)
        for contact_id in ids:
            add_mql(session, contact_id, MQL_AT)
        activate_rules(session, rules_file(tmp_path, FIRST_TOUCH), MQL_AT)


def queue_changed(factory: SessionFactory, ids: list[str]) -> dict[tuple[int, str], list[str]]:
    """What a feed does in the transaction that stores a change: queue the records."""
    with session_scope(factory) as session:
        return handoff.enqueue(session, {(PORTAL, "contact"): ids}, NOW)


def clocks(factory: SessionFactory) -> list[tuple[str, int, str]]:
    with factory() as session:
        rows = session.execute(
            select(SlaInstance.object_id, SlaInstance.cycle, SlaInstance.state).order_by(
                SlaInstance.object_id, SlaInstance.cycle
            )
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


def queued(factory: SessionFactory) -> list[tuple[str, int, str | None]]:
    with factory() as session:
        rows = session.execute(
            select(
                SlaReevaluation.object_id, SlaReevaluation.attempts, SlaReevaluation.last_error
            ).order_by(SlaReevaluation.object_id)
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


def failures(factory: SessionFactory) -> int:
    with factory() as session:
        return int(session.scalar(select(func.coalesce(func.sum(SlaHandoffStats.failures), 0))))


def test_a_handed_off_record_is_evaluated_and_leaves_the_queue(
    session_factory: SessionFactory, tmp_path: Path
) -> None:
    seed(session_factory, tmp_path, ["1", "2"])
    waiting = queue_changed(session_factory, ["1", "2"])
    assert [row[0] for row in queued(session_factory)] == ["1", "2"]

    result = handoff.hand_off(session_factory, waiting, NOW)

    assert (result.evaluated, result.failed) == (2, 0)
    assert clocks(session_factory) == [("1", 1, "running"), ("2", 1, "running")]
    assert queued(session_factory) == []


def test_nothing_is_queued_while_no_rules_are_in_force(session_factory: SessionFactory) -> None:
    with session_scope(session_factory) as session:
        seed_portal(session)
    assert queue_changed(session_factory, ["1"]) == {}
    assert queued(session_factory) == []


def test_a_crash_between_the_change_and_its_evaluation_loses_nothing(
    session_factory: SessionFactory, tmp_path: Path
) -> None:
    """The change and its queue row commit together; the process dies before the hand-off;
    the drain job evaluates the record once the hand-off's grace has passed."""
    seed(session_factory, tmp_path, ["1"])
    queue_changed(session_factory, ["1"])  # committed, and no hand-off follows

    assert handoff.drain(session_factory, NOW).evaluated == 0  # its own hand-off may be running
    result = handoff.drain(session_factory, NOW + handoff.HANDOFF_GRACE)

    assert (result.evaluated, result.failed) == (1, 0)
    assert clocks(session_factory) == [("1", 1, "running")]
    assert queued(session_factory) == []


def break_stored_rules(factory: SessionFactory) -> None:
    """A rule set in force that cannot be read back (as after a bad manual edit of the store)."""
    with session_scope(factory) as session:
        session.add(
            SlaRuleSet(
                fingerprint="f" * 64, source="broken.yaml", text="rules: [", activated_at=NOW
            )
        )


def test_a_failed_hand_off_stays_queued_is_counted_and_is_retried_until_applied(
    session_factory: SessionFactory, tmp_path: Path
) -> None:
    seed(session_factory, tmp_path, ["1", "2"])
    break_stored_rules(session_factory)
    waiting = queue_changed(session_factory, ["1", "2"])

    result = handoff.hand_off(session_factory, waiting, NOW)

    assert (result.evaluated, result.failed) == (0, 2)
    assert clocks(session_factory) == []
    rows = queued(session_factory)
    assert [(object_id, attempts) for object_id, attempts, _ in rows] == [("1", 1), ("2", 1)]
    assert all(error and error.startswith("RulesFileError: broken.yaml") for *_, error in rows)
    assert failures(session_factory) == 2
    # Retried, still failing: counted again, backing off.
    later = NOW + timedelta(minutes=1)
    assert handoff.drain(session_factory, later).failed == 2
    assert [row[1] for row in queued(session_factory)] == [2, 2]
    # The rules are put right: the next retry applies them and empties the queue.
    path = rules_file(tmp_path, FIRST_TOUCH.replace("4h", "5h"), "fixed.yaml")
    with session_scope(session_factory) as session:
        activate_rules(session, path, later)
    result = handoff.drain(session_factory, later + handoff.RETRY_MAX)
    assert (result.evaluated, result.failed) == (2, 0)
    assert clocks(session_factory) == [("1", 1, "running"), ("2", 1, "running")]
    assert queued(session_factory) == []
    assert failures(session_factory) == 4  # the total does not go down


def test_a_full_evaluation_covers_what_is_queued(
    session_factory: SessionFactory, tmp_path: Path
) -> None:
    seed(session_factory, tmp_path, ["1"])
    queue_changed(session_factory, ["1"])
    with session_scope(session_factory) as session:
        before = handoff.covered(session)
        session.commit()
        evaluate_all(session, now=NOW, after_batch=session.commit)
        handoff.clear_covered(session, before)
    assert clocks(session_factory) == [("1", 1, "running")]
    assert queued(session_factory) == []


def test_a_change_queued_while_the_record_is_evaluated_stays_queued(
    session_factory: SessionFactory, tmp_path: Path
) -> None:
    """A full pass that read the queue before a newer change of the record leaves its row."""
    seed(session_factory, tmp_path, ["1"])
    queue_changed(session_factory, ["1"])
    with session_scope(session_factory) as session:
        before = handoff.covered(session)
    queue_changed(session_factory, ["1"])  # changed again after the pass began
    with session_scope(session_factory) as session:
        handoff.clear_covered(session, before)
    assert [row[0] for row in queued(session_factory)] == ["1"]


# -- two writers at once ------------------------------------------------------------------


def hold_write_lock(engine: Engine, seconds: float) -> Callable[[], None]:
    """Another connection takes SQLite's write lock (as the webhook endpoint or a sync page
    does while it writes) and keeps it for `seconds`; returns a join for the holder."""
    taken = threading.Event()

    def hold() -> None:
        with engine.connect() as connection:
            raw = connection.connection.dbapi_connection
            assert raw is not None
            raw.execute("BEGIN IMMEDIATE")
            raw.execute("UPDATE portals SET time_zone = time_zone")
            taken.set()
            time.sleep(seconds)
            raw.commit()

    holder = threading.Thread(target=hold)
    holder.start()
    assert taken.wait(10)
    return lambda: holder.join(10)


def test_a_hand_off_waits_for_another_sqlite_writer_instead_of_failing_at_once(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    """It used to read inside a deferred transaction and fail with `database is locked` the
    moment it tried to write while another connection held the lock (no busy timeout)."""
    factory = SessionFactory(bind=sqlite_engine, expire_on_commit=False)
    seed(factory, tmp_path, ["1", "2", "3"])
    waiting = queue_changed(factory, ["1", "2", "3"])
    # Another connection writes (holds the lock) for a second while the hand-off runs.
    release = hold_write_lock(sqlite_engine, 1.0)
    started = time.monotonic()
    result = handoff.hand_off(factory, waiting, NOW)
    waited = time.monotonic() - started
    release()

    assert (result.evaluated, result.failed) == (3, 0), result.errors
    assert waited >= 0.5  # it waited for the lock rather than giving up
    assert [row[0] for row in clocks(factory)] == ["1", "2", "3"]
    assert queued(factory) == [] and failures(factory) == 0


def test_a_full_pass_batch_waits_for_another_sqlite_writer(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    factory = SessionFactory(bind=sqlite_engine, expire_on_commit=False)
    seed(factory, tmp_path, ["1", "2"])
    release = hold_write_lock(sqlite_engine, 0.5)
    with session_scope(factory) as session:
        report = evaluate_all(session, now=NOW, after_batch=session.commit)
    release()
    assert report.created == 2
    assert len(clocks(factory)) == 2


def run_together(jobs: list[Callable[[], object]]) -> list[BaseException]:
    """Start every job at the same instant on its own thread; returns what they raised."""
    barrier = threading.Barrier(len(jobs))
    errors: list[BaseException] = []

    def run(job: Callable[[], object]) -> None:
        barrier.wait(10)
        try:
            job()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return errors


@pytest.fixture
def many_contacts(session_factory: SessionFactory, tmp_path: Path) -> Iterator[list[str]]:
    ids = [str(n) for n in range(1, 201)]
    seed(session_factory, tmp_path, ids)
    yield ids


def test_evaluators_of_the_same_records_at_once_leave_one_clock_each(
    session_factory: SessionFactory, many_contacts: list[str]
) -> None:
    """Two hand-offs and a full pass (the start-up sweep) of the same records at the same
    instant: none fails (no unique violation on the instance key), one clock per record,
    one event per state change."""
    results: list[handoff.HandoffResult] = []

    def hand_off() -> None:
        waiting = queue_changed(session_factory, many_contacts)
        results.append(handoff.hand_off(session_factory, waiting, NOW))

    def sweep() -> None:
        with session_scope(session_factory) as session:
            evaluate_all(session, now=NOW, after_batch=session.commit)

    errors = run_together([hand_off, hand_off, sweep])

    assert errors == []
    assert [(r.evaluated, r.failed) for r in results] == [(200, 0), (200, 0)], [
        r.errors for r in results
    ]
    stored = clocks(session_factory)
    assert len(stored) == len(many_contacts)
    assert {cycle for _, cycle, _ in stored} == {1}
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(SlaEvent)) == 0  # none due yet
    assert queued(session_factory) == []


def test_a_second_full_pass_after_concurrent_evaluators_changes_nothing(
    session_factory: SessionFactory, many_contacts: list[str]
) -> None:
    def hand_off() -> None:
        waiting = queue_changed(session_factory, many_contacts)
        handoff.hand_off(session_factory, waiting, NOW)

    def sweep() -> None:
        with session_scope(session_factory) as session:
            evaluate_all(session, now=NOW, after_batch=session.commit)

    assert run_together([hand_off, sweep, hand_off, sweep]) == []
    with session_scope(session_factory) as session:
        again = evaluate_all(session, now=NOW)
    assert (again.created, again.updated, again.events) == (0, 0, 0)


def test_two_full_passes_at_once_both_succeed_and_leave_one_instance_per_key(
    session_factory: SessionFactory, many_contacts: list[str]
) -> None:
    """Full passes do not exclude each other (and a hand-off's counter does not see them), so
    both read no clock and both insert it: the loser used to fail with a unique violation (or
    a deadlock on PostgreSQL). Repeated from an empty table, as one race can go either way."""

    def sweep() -> None:
        with session_scope(session_factory) as session:
            evaluate_all(session, now=NOW, after_batch=session.commit)

    for _ in range(5):
        with session_scope(session_factory) as session:
            session.execute(delete(SlaEvent))
            session.execute(delete(SlaInstance))

        assert run_together([sweep, sweep]) == []

        stored = clocks(session_factory)
        assert [(object_id, cycle) for object_id, cycle, _ in stored] == [
            (object_id, 1) for object_id in sorted(many_contacts)
        ]
        with session_scope(session_factory) as session:
            again = evaluate_all(session, now=NOW)
        assert (again.created, again.updated, again.events) == (0, 0, 0)


def test_a_webhook_round_queues_its_records_in_its_own_transaction(
    session_factory: SessionFactory, tmp_path: Path
) -> None:
    """The worker applies a property change and commits; killed before the hand-off, the
    record is still queued, and the drain job starts its clock."""
    seed(session_factory, tmp_path, [])
    with session_scope(session_factory) as session:
        add_contact(session, "9", [("lead", utc("2026-11-24 13:00"))])
    mql = int(MQL_AT.timestamp() * 1000)
    change = event(
        "contact.propertyChange",
        9,
        mql,
        portal_id=PORTAL,
        propertyName="lifecyclestage",
        propertyValue="marketingqualifiedlead",
    )
    ingest(session_factory, [change])
    with session_scope(session_factory) as session:
        result = process_round(session, NOW)  # committed; no hand-off follows

    assert result.applied == 1 and result.queued == {(PORTAL, "contact"): ["9"]}
    assert clocks(session_factory) == []
    assert [row[0] for row in queued(session_factory)] == ["9"]
    assert handoff.drain(session_factory, NOW + handoff.HANDOFF_GRACE).evaluated == 1
    assert clocks(session_factory) == [("9", 1, "running")]
    assert queued(session_factory) == []


def test_the_reevaluate_job_fails_while_records_fail_and_empties_the_queue_once_they_pass(
    session_factory: SessionFactory, tmp_path: Path, settings: Settings
) -> None:
    seed(session_factory, tmp_path, ["1"])
    break_stored_rules(session_factory)
    queue_changed(session_factory, ["1"])  # left behind, as by a crash
    context = JobContext(settings, session_factory, logging.getLogger("test"))
    (job,) = [job for job in sla_jobs(settings) if job.id == "sla-reevaluate"]

    with pytest.raises(RuntimeError, match="1 queued record"):
        job.func(context)  # the scheduler counts and logs it; health shows the streak
    assert [row[1] for row in queued(session_factory)] == [1]

    with session_scope(session_factory) as session:
        activate_rules(session, rules_file(tmp_path, FIRST_TOUCH, "fixed.yaml"), NOW)
    with session_scope(session_factory) as session:  # its retry is due now
        session.execute(update(SlaReevaluation).values(next_attempt_at=NOW))
    job.func(context)
    assert queued(session_factory) == []
    assert [row[:2] for row in clocks(session_factory)] == [("1", 1)]
