"""The full evaluation in worker processes (app/evaluation/parallel.py) writes exactly the rows
the in-process pass writes, on both backends: from empty, and again later (updates, new
cycles' events). On SQLite the workers interleave their batch transactions, so new instances'
ids are taken by one worker between another's batches: every event must still point at its
own instance."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select, text

from app.evaluation.parallel import EvaluationError, evaluate_all_parallel
from app.evaluation.rules_store import activate_rules
from app.evaluation.service import evaluate_all
from app.evaluation.writes import EvaluationReport
from app.models import SlaEvent, SlaInstance
from app.store.db import create_db_engine, create_session_factory
from tests.app.evaluation.test_cli import slaguard
from tests.fixtures.crm import add_contact, add_deal, add_touch, seed_portal, utc
from tests.fixtures.rules import rules_file

RULES = """  - id: first-touch
    kind: response
    start: {entered_stage: marketingqualifiedlead}
    stop: {engagement: {types: [call]}}
    goal: 4h
    warning_at: 0.5
  - id: lead-age
    kind: stage_age
    object: contact
    stages: [lead]
    max: 2d
  - id: deal-age
    kind: stage_age
    object: deal
    stages: [appointment, contract]
    max: 3d
"""
CONTACTS = 23
DEALS = 9
FIRST = utc("2026-11-24 15:00")
LATER = utc("2026-11-27 15:00")


def _seed(engine: Engine, tmp_path: Path) -> None:
    _seed_records(engine)
    factory = create_session_factory(engine)
    with factory() as session:
        activate_rules(session, rules_file(tmp_path, RULES), utc("2026-11-23 12:00"))
        session.commit()


def _seed_records(engine: Engine) -> None:
    factory = create_session_factory(engine)
    with factory() as session:
        seed_portal(session)
        for n in range(CONTACTS):
            stages = [("lead", utc("2026-11-16 13:00"))]
            if n % 3:
                stages.append(("marketingqualifiedlead", utc(f"2026-11-{20 + n % 5} 15:00")))
            add_contact(session, f"c{n:03d}", stages)
            if n % 4 == 1:
                add_touch(session, f"e{n}", f"c{n:03d}", utc("2026-11-24 17:00"))
            if n % 4 == 2:
                add_touch(session, f"f{n}", f"c{n:03d}", utc("2026-11-26 16:00"))  # after FIRST
        for n in range(DEALS):
            stages = [("appointment", utc("2026-11-17 14:00"))]
            if n % 2:
                stages.append(("contract", utc(f"2026-11-{19 + n % 4} 14:00")))
            add_deal(session, f"d{n:03d}", stages)
        session.commit()


INSTANCE_KEY = ("portal_id", "rule_id", "object_type", "object_id", "cycle")


def _rows(engine: Engine) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Every instance (all columns but the id) and every event (all columns but its id, with
    its instance named by the instance's key), sorted."""
    instance_columns = [c for c in SlaInstance.__table__.columns if c.name != "id"]
    event_columns = [c for c in SlaEvent.__table__.columns if c.name not in ("id", "instance_id")]
    key_columns = [SlaInstance.__table__.c[name] for name in INSTANCE_KEY]
    factory = create_session_factory(engine)
    with factory() as session:
        instances = [tuple(row) for row in session.execute(select(*instance_columns))]
        events = [
            tuple(row)
            for row in session.execute(
                select(*key_columns, *event_columns).join(
                    SlaInstance, SlaInstance.id == SlaEvent.instance_id
                )
            )
        ]
        orphans = session.scalar(
            select(SlaEvent.id).where(~SlaEvent.instance_id.in_(select(SlaInstance.id)))
        )
    assert orphans is None
    return sorted(instances, key=repr), sorted(events, key=repr)


def _events_name_their_instances(engine: Engine) -> None:
    factory = create_session_factory(engine)
    with factory() as session:
        pairs = session.execute(
            select(
                SlaEvent.rule_id,
                SlaEvent.object_id,
                SlaEvent.cycle,
                SlaInstance.rule_id,
                SlaInstance.object_id,
                SlaInstance.cycle,
            ).join(SlaInstance, SlaInstance.id == SlaEvent.instance_id)
        ).all()
    assert pairs
    for row in pairs:
        assert tuple(row[:3]) == tuple(row[3:])


def _in_process(engine: Engine, now: datetime) -> EvaluationReport:
    factory = create_session_factory(engine)
    with factory() as session:
        report = evaluate_all(session, now=now, batch_size=4, after_batch=session.commit)
        session.commit()
    return report


def _empty_sla_tables(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM sla_events"))
        connection.execute(text("DELETE FROM sla_instances"))


def _counts(report: EvaluationReport) -> tuple[int, int, int, int]:
    return report.records, report.created, report.updated, report.events


def test_two_workers_write_the_rows_one_process_writes(database_url: str, tmp_path: Path) -> None:
    engine = create_db_engine(database_url)
    try:
        _seed(engine, tmp_path)
        alone_first = _in_process(engine, FIRST)
        after_first = _rows(engine)
        alone_later = _in_process(engine, LATER)
        after_later = _rows(engine)
        assert alone_first.created > 0 and alone_later.updated > 0 and alone_later.events > 0
        _empty_sla_tables(engine)

        progressed: list[int] = []
        first = evaluate_all_parallel(
            database_url, now=FIRST, workers=2, batch_size=4, progress=progressed.append
        )
        assert _counts(first) == _counts(alone_first)
        assert sum(progressed) == CONTACTS + DEALS
        assert len(progressed) == 6 + 3  # batches of 4 over 23 contacts and 9 deals
        assert _rows(engine) == after_first
        _events_name_their_instances(engine)

        later = evaluate_all_parallel(database_url, now=LATER, workers=2, batch_size=4)
        assert _counts(later) == _counts(alone_later)
        assert _rows(engine) == after_later
        _events_name_their_instances(engine)
    finally:
        engine.dispose()


def test_a_workers_error_fails_the_run_with_one_sentence(sqlite_url: str, tmp_path: Path) -> None:
    engine = create_db_engine(sqlite_url)
    try:
        _seed(engine, tmp_path)
        with engine.begin() as connection:  # the workers cannot log events
            connection.execute(text("ALTER TABLE sla_events RENAME TO sla_events_away"))
        try:
            with pytest.raises(EvaluationError) as failed:
                evaluate_all_parallel(sqlite_url, now=FIRST, workers=2, batch_size=4)
        finally:
            with engine.begin() as connection:
                connection.execute(text("ALTER TABLE sla_events_away RENAME TO sla_events"))
        message = str(failed.value)
        assert "\n" not in message
        assert "failed: OperationalError: no such table: sla_events" in message
        assert message.startswith("Evaluating the ")
    finally:
        engine.dispose()


def test_an_in_memory_store_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 2 workers"):
        evaluate_all_parallel("sqlite://", now=FIRST, workers=1)
    with pytest.raises(Exception, match="in-memory SQLite store"):
        evaluate_all_parallel("sqlite://", now=FIRST, workers=2)


def _states(engine: Engine) -> list[tuple[Any, ...]]:
    factory = create_session_factory(engine)
    with factory() as session:
        rows = session.execute(
            select(SlaInstance.rule_id, SlaInstance.object_id, SlaInstance.cycle, SlaInstance.state)
        )
        return sorted(tuple(row) for row in rows)


def test_cli_evaluate_with_two_workers_and_a_failing_worker(tmp_path: Path) -> None:
    rules_file(tmp_path, RULES)
    first = slaguard(tmp_path, "evaluate")  # migrates the new SQLite store
    assert first.returncode == 0, first.stderr
    engine = create_db_engine(f"sqlite:///{tmp_path / 'store.db'}")
    try:
        _seed_records(engine)
        parallel = slaguard(tmp_path, "evaluate", "--workers", "2")
        assert parallel.returncode == 0, parallel.stderr
        assert f"{CONTACTS + DEALS} records evaluated" in parallel.stdout
        written = _states(engine)
        assert written
        _empty_sla_tables(engine)
        alone = slaguard(tmp_path, "evaluate", "--workers", "1")
        assert alone.returncode == 0, alone.stderr
        # The CLI evaluates at the wall clock's now: the runs' times differ, not their states.
        assert _states(engine) == written
        assert alone.stdout.split(";", 1)[1] == parallel.stdout.split(";", 1)[1]

        _empty_sla_tables(engine)  # every instance's events are to be logged again, and
        with engine.begin() as connection:  # the workers cannot log them
            connection.execute(text("ALTER TABLE sla_events RENAME TO sla_events_away"))
        failed = slaguard(tmp_path, "evaluate", "--workers", "2")
        assert failed.returncode == 1
        assert "no such table: sla_events" in failed.stderr
        assert "Traceback" not in failed.stderr
    finally:
        engine.dispose()
