"""Evaluation on the real store: instances and events as alerts and reports will read them."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.evaluation.due import process_due
from app.evaluation.rules_store import activate_rules
from app.evaluation.service import evaluate_all, evaluate_records
from app.models import SlaEvent, SlaInstance
from tests.fixtures.crm import PORTAL, add_contact, add_mql, add_touch, seed_portal, utc
from tests.fixtures.rules import rules_file

FIRST_TOUCH = """  - id: first-touch
    kind: response
    start: {entered_stage: marketingqualifiedlead}
    stop: {engagement: {types: [call]}}
    goal: GOAL
"""


def instances(session: Session) -> list[SlaInstance]:
    session.expire_all()  # the engine writes with Core; read what is stored now
    return list(
        session.scalars(select(SlaInstance).order_by(SlaInstance.object_id, SlaInstance.cycle))
    )


def events(session: Session) -> list[tuple[str, str, str]]:
    rows = session.execute(
        select(SlaEvent.object_id, SlaEvent.type, SlaEvent.occurred_at).order_by(SlaEvent.id)
    )
    return [(object_id, kind, at.isoformat()) for object_id, kind, at in rows]


def test_full_evaluation_writes_instances_and_events_once(session: Session, tmp_path: Path) -> None:
    seed_portal(session)
    # Tue 2026-11-24, New York = UTC-5. MQL at 10:00 local = 15:00 UTC.
    add_mql(session, "1", utc("2026-11-24 15:00"))
    add_mql(session, "2", utc("2026-11-24 15:00"))
    add_touch(session, "e1", "1", utc("2026-11-24 16:00"))
    activate_rules(
        session, rules_file(tmp_path, FIRST_TOUCH.replace("GOAL", "4h")), utc("2026-11-24 15:30")
    )
    now = utc("2026-11-24 18:30")
    report = evaluate_all(session, now=now)
    assert report.records == 2 and report.created == 2
    met, running = instances(session)
    assert (met.object_id, met.state, met.stopped_at) == ("1", "met", utc("2026-11-24 16:00"))
    assert (running.state, running.due_at, running.next_due_at) == (
        "warning",
        utc("2026-11-24 19:00"),
        utc("2026-11-24 19:00"),
    )
    assert running.warning_at == utc("2026-11-24 18:00") and running.owner_id == "7"
    assert events(session) == [
        ("1", "met", "2026-11-24T16:00:00+00:00"),
        ("2", "warning", "2026-11-24T18:00:00+00:00"),
    ]
    # Evaluating again changes nothing and logs nothing twice.
    again = evaluate_all(session, now=now)
    assert (again.created, again.updated, again.events) == (0, 0, 0)
    assert len(events(session)) == 2


def test_due_clock_job_logs_the_breach_at_its_deadline(session: Session, tmp_path: Path) -> None:
    seed_portal(session)
    add_mql(session, "2", utc("2026-11-24 15:00"))
    activate_rules(
        session, rules_file(tmp_path, FIRST_TOUCH.replace("GOAL", "4h")), utc("2026-11-24 15:00")
    )
    evaluate_all(session, now=utc("2026-11-24 15:01"))
    assert process_due(session, utc("2026-11-24 17:59:59")) == 0
    assert process_due(session, utc("2026-11-24 18:00:01")) == 1
    assert process_due(session, utc("2026-11-24 19:00:00")) == 1
    (clock,) = instances(session)
    assert (clock.state, clock.breached_at, clock.next_due_at) == (
        "breached",
        utc("2026-11-24 19:00"),
        None,
    )
    assert [e[1:] for e in events(session)] == [
        ("warning", "2026-11-24T18:00:00+00:00"),
        ("breached", "2026-11-24T19:00:00+00:00"),
    ]
    # A full evaluation afterwards agrees and adds nothing.
    assert evaluate_all(session, now=utc("2026-11-24 19:00:02")).events == 0


def test_incremental_evaluation_of_a_new_touch_meets_the_clock(
    session: Session, tmp_path: Path
) -> None:
    seed_portal(session)
    add_mql(session, "2", utc("2026-11-24 15:00"))
    activate_rules(
        session, rules_file(tmp_path, FIRST_TOUCH.replace("GOAL", "4h")), utc("2026-11-24 15:00")
    )
    evaluate_all(session, now=utc("2026-11-24 15:01"))
    add_touch(session, "e9", "2", utc("2026-11-24 15:30"))
    report = evaluate_records(session, PORTAL, "contact", ["2"], utc("2026-11-24 15:31"))
    assert (report.records, report.updated, report.events) == (1, 1, 1)
    (clock,) = instances(session)
    assert (clock.state, clock.next_due_at) == ("met", None)


def test_a_changed_rule_recalculates_running_clocks_and_finished_ones_keep_their_goal(
    session: Session, tmp_path: Path
) -> None:
    seed_portal(session)
    add_mql(session, "1", utc("2026-11-24 15:00"))
    add_mql(session, "2", utc("2026-11-24 15:00"))
    add_touch(session, "e1", "1", utc("2026-11-24 16:00"))
    activate_rules(
        session, rules_file(tmp_path, FIRST_TOUCH.replace("GOAL", "4h")), utc("2026-11-24 15:00")
    )
    evaluate_all(session, now=utc("2026-11-24 16:30"))
    met_before, running_before = ((row.goal, row.rule_fingerprint) for row in instances(session))
    # Mid-clock, the agreement tightens to 2 hours.
    _, changed = activate_rules(
        session,
        rules_file(tmp_path, FIRST_TOUCH.replace("GOAL", "2h"), "v2.yaml"),
        utc("2026-11-24 16:31"),
    )
    assert changed
    evaluate_all(session, now=utc("2026-11-24 16:32"))
    met_after, running_after = instances(session)
    assert (met_after.goal, met_after.rule_fingerprint) == met_before == ("4h", met_before[1])
    assert running_after.goal == "2h" and running_after.rule_fingerprint != running_before[1]
    assert running_after.due_at == utc("2026-11-24 17:00")
    assert running_after.state == "warning"  # 75 % of 2h used at 16:30


def test_archived_record_cancels_its_running_clock(session: Session, tmp_path: Path) -> None:
    from app.models import Contact

    seed_portal(session)
    add_mql(session, "2", utc("2026-11-24 15:00"))
    activate_rules(
        session, rules_file(tmp_path, FIRST_TOUCH.replace("GOAL", "4h")), utc("2026-11-24 15:00")
    )
    evaluate_all(session, now=utc("2026-11-24 15:01"))
    session.get(Contact, (PORTAL, "2")).archived = True  # type: ignore[union-attr]
    session.flush()
    evaluate_records(session, PORTAL, "contacts", ["2"], utc("2026-11-24 15:05"))
    (clock,) = instances(session)
    assert (clock.state, clock.next_due_at, clock.stopped_at) == (
        "cancelled",
        None,
        utc("2026-11-24 15:05"),
    )
    assert events(session)[-1][1] == "cancelled"


def test_nothing_happens_without_rules(session: Session) -> None:
    seed_portal(session)
    add_contact(session, "2", [("marketingqualifiedlead", utc("2026-11-24 15:00"))])
    assert evaluate_all(session, now=utc("2026-11-24 16:00")).records == 0
    assert process_due(session, utc("2026-11-24 16:00")) == 0
