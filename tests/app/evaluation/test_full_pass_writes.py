"""How a full pass writes on SQLite: new instances are numbered from the run of ids SQLite
gave them (not read back), and their events must point at them even when another writer
inserted instances between two batches."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, select, text

from app.evaluation.context import build_context
from app.evaluation.repository import IdRange
from app.evaluation.rules_store import activate_rules, rules_in_force
from app.evaluation.service import EvaluationReport, evaluate_all, evaluate_selection
from app.models import SlaEvent, SlaInstance
from app.store.db import create_session_factory
from tests.fixtures.crm import PORTAL, add_contact, add_touch, seed_portal, utc
from tests.fixtures.rules import rules_file

RULES = """  - id: first-touch
    kind: response
    start: {entered_stage: marketingqualifiedlead}
    stop: {engagement: {types: [call]}}
    goal: 4h
  - id: lead-age
    kind: stage_age
    object: contact
    stages: [lead]
    max: 2d
"""


def _seed(engine: Engine, tmp_path: Path, contacts: int) -> None:
    factory = create_session_factory(engine)
    with factory() as session:
        seed_portal(session)
        for n in range(contacts):
            add_contact(
                session,
                f"{n:03d}",
                [
                    ("lead", utc("2026-11-16 13:00")),
                    ("marketingqualifiedlead", utc("2026-11-23 15:00")),
                ],
            )
            if n % 2:
                add_touch(session, f"e{n}", f"{n:03d}", utc("2026-11-23 17:00"))  # 12:00 in NY
        activate_rules(session, rules_file(tmp_path, RULES), utc("2026-11-23 12:00"))
        session.commit()


def _events_match_their_instances(engine: Engine) -> list[tuple[str, str, int, str]]:
    """Every event with the rule, record and cycle of the instance its id names."""
    factory = create_session_factory(engine)
    with factory() as session:
        rows = session.execute(
            select(
                SlaEvent.rule_id,
                SlaEvent.object_id,
                SlaEvent.cycle,
                SlaEvent.type,
                SlaInstance.rule_id,
                SlaInstance.object_id,
                SlaInstance.cycle,
            ).join(SlaInstance, SlaInstance.id == SlaEvent.instance_id)
        ).all()
        assert (
            session.scalar(
                select(SlaEvent.id).where(~SlaEvent.instance_id.in_(select(SlaInstance.id)))
            )
            is None
        )
    for rule, object_id, cycle, _, instance_rule, instance_object, instance_cycle in rows:
        assert (rule, object_id, cycle) == (instance_rule, instance_object, instance_cycle)
    return sorted((r[0], r[1], r[2], r[3]) for r in rows)


def _types(written: list[tuple[str, str, int, str]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for *_, kind in written:
        counts[kind] = counts.get(kind, 0) + 1
    return counts


def test_events_point_at_their_instances_when_another_writer_takes_ids_between_batches(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    _seed(sqlite_engine, tmp_path, 9)
    factory = create_session_factory(sqlite_engine)
    taken = []

    def commit_then_let_another_writer_in() -> None:
        session.commit()
        # Another connection inserts an instance between two batches.
        with sqlite_engine.begin() as other:
            other.execute(
                text(
                    "INSERT INTO sla_instances (portal_id, rule_id, kind, object_type, "
                    "object_id, cycle, state, paused, started_at, rule_fingerprint, metrics, "
                    "updated_at) VALUES (:p, 'other', 'quota', 'period', :key, 1, 'met', 0, "
                    "'2026-11-01 00:00:00.000000', 'x', '{}', '2026-11-01 00:00:00.000000')"
                ),
                {"p": PORTAL, "key": f"2026-{len(taken):02d}"},
            )
        taken.append(1)

    with factory() as session:
        report = evaluate_all(
            session,
            now=utc("2026-11-24 15:00"),
            batch_size=2,
            after_batch=commit_then_let_another_writer_in,
        )
        session.commit()
    assert len(taken) == 5  # batches of 2 over 9 contacts
    assert report.created == 18  # a first touch and a lead stint per contact
    written = _events_match_their_instances(sqlite_engine)
    # Touched contacts met their first touch; the others were warned and breached it; every
    # lead stint lasted a week (more than 2 business days) and ended late.
    assert written.count(("first-touch", "001", 1, "met")) == 1
    assert written.count(("first-touch", "000", 1, "breached")) == 1
    assert _types(written) == {"met": 4, "warning": 5, "breached": 5, "met_late": 9}
    assert len(written) == report.events


def test_one_transaction_and_batch_commits_write_the_same_rows(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    _seed(sqlite_engine, tmp_path, 7)
    factory = create_session_factory(sqlite_engine)
    with factory() as session:
        evaluate_all(session, now=utc("2026-11-24 15:00"), batch_size=3)
        session.commit()
    once = _events_match_their_instances(sqlite_engine)
    with sqlite_engine.begin() as connection:
        connection.execute(text("DELETE FROM sla_events"))
        connection.execute(text("DELETE FROM sla_instances"))
    with factory() as session:
        evaluate_all(session, now=utc("2026-11-24 15:00"), batch_size=3, after_batch=session.commit)
        session.commit()
    assert _events_match_their_instances(sqlite_engine) == once
    assert _types(once) == {"met": 3, "warning": 4, "breached": 4, "met_late": 7}


def test_batches_of_another_evaluation_interleaved_write_what_one_pass_writes(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    """What two workers of the parallel pass do (app/evaluation/parallel.py), made
    deterministic: between two batches of this pass, another connection evaluates and commits
    a batch of other records (its new instances take ids in between). The rows end as one
    pass writes them, and every event points at its own instance."""
    _seed(sqlite_engine, tmp_path, 12)
    factory = create_session_factory(sqlite_engine)
    now = utc("2026-11-24 15:00")
    with factory() as session:
        evaluate_all(session, now=now, batch_size=3)
        session.commit()
    once = _events_match_their_instances(sqlite_engine)
    with sqlite_engine.begin() as connection:
        connection.execute(text("DELETE FROM sla_events"))
        connection.execute(text("DELETE FROM sla_instances"))

    # The other worker takes the ranges from the end: 009-011, then 006-008 (this pass's
    # third and fourth batches, which then find their instances written and change nothing).
    others = [IdRange("009", "011"), IdRange("006", "008")]
    other_reports: list[EvaluationReport] = []

    def commit_then_the_other_worker_writes_a_batch() -> None:
        session.commit()
        if not others:
            return
        with factory() as other:
            rules = rules_in_force(other)
            assert rules is not None
            context = build_context(other, PORTAL, rules)
            other_reports.append(evaluate_selection(other, context, "contact", others.pop(0), now))
            other.commit()

    with factory() as session:
        report = evaluate_all(
            session, now=now, batch_size=3, after_batch=commit_then_the_other_worker_writes_a_batch
        )
        session.commit()
    assert [r.created for r in other_reports] == [6, 6]  # 3 contacts x 2 rules each
    assert report.created == 12  # the first two batches only
    assert _events_match_their_instances(sqlite_engine) == once
    with factory() as session:
        ids = list(session.scalars(select(SlaInstance.object_id).order_by(SlaInstance.id)))
    # The id runs did interleave: 000-002, then 009-011, then 003-005, then 006-008.
    assert [ids[n] for n in (0, 6, 12, 18)] == ["000", "009", "003", "006"]
