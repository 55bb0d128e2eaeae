"""Cadence (K touches in D business days) and stage age, checked against a wall calendar."""

from __future__ import annotations

from datetime import UTC

from app.sla.calendar_book import CalendarBook
from app.sla.records import Directory, Record, StageInfo
from app.sla.rules import evaluate_clock_rule
from tests.app.sla.scenario import call, contact, evaluate, history, ny, rules_with

SIX_TOUCHES = """  - id: six-touches
    kind: cadence
    start: {owner_assigned: true}
    touches: {count: 3, within: 2d}
    counts: {types: [call, email], by: owner}
    stop: {lead_status_in: [CONNECTED]}
"""


def owned_lead(**kwargs: object) -> Record:
    record = contact(stages=[("lead", ny("2026-11-23 10:00"))], **kwargs)  # type: ignore[arg-type]
    record.history = {**record.history, "hubspot_owner_id": history(("7", ny("2026-11-23 10:00")))}
    return record


def test_cadence_is_met_at_the_kth_touch_within_d_business_days() -> None:
    rules = rules_with(SIX_TOUCHES)
    touches = [
        call(ny("2026-11-23 11:00")),
        call(ny("2026-11-24 11:00")),
        call(ny("2026-11-25 09:30")),
    ]
    (cycle,) = evaluate(rules, owned_lead(touches=touches), ny("2026-11-26 12:00"))
    # Monday 10:00 + 2 business days = Wednesday 10:00; the third call came at 09:30.
    assert cycle.due_at == ny("2026-11-25 10:00").astimezone(UTC)
    assert cycle.state == "met" and cycle.stopped_at == ny("2026-11-25 09:30").astimezone(UTC)
    assert cycle.details == {"touches": 3, "needed": 3}


def test_cadence_with_too_few_touches_breaches_and_a_connection_ends_it() -> None:
    rules = rules_with(SIX_TOUCHES)
    two = [call(ny("2026-11-23 11:00")), call(ny("2026-11-24 11:00"))]
    (cycle,) = evaluate(rules, owned_lead(touches=two), ny("2026-11-25 10:30"))
    assert cycle.state == "breached" and cycle.details["touches"] == 2
    connected = owned_lead(
        touches=two[:1],
        lead_status=[("NEW", ny("2026-11-23 10:00")), ("CONNECTED", ny("2026-11-23 15:00"))],
    )
    (cycle,) = evaluate(rules, connected, ny("2026-11-25 10:30"))
    assert cycle.state == "met"


def test_cadence_touches_by_another_rep_do_not_count() -> None:
    rules = rules_with(SIX_TOUCHES)
    touches = [call(ny("2026-11-23 11:00"), owner="8")] * 3
    (cycle,) = evaluate(rules, owned_lead(touches=touches), ny("2026-11-24 10:00"))
    assert cycle.state == "running" and cycle.details["touches"] == 0


STAGE_AGE = """  - id: deal-age
    kind: stage_age
    object: deal
    stages: open
    max: 3d
    time: calendar
"""

DEALS = Directory(
    deal_stages={
        "appointment": StageInfo("default", 0, False, False),
        "contract": StageInfo("default", 1, False, False),
        "won": StageInfo("default", 2, True, True),
    }
)


def deal(*stages: tuple[str, object]) -> Record:
    steps = history(*stages)  # type: ignore[arg-type]
    return Record(
        object_type="deal",
        id="d1",
        created_at=steps[0].entered,
        owner_id="7",
        values={"dealstage": steps[-1].value, "pipeline": "default"},
        history={"dealstage": steps},
    )


def test_each_stint_in_an_open_stage_is_a_cycle_and_closed_stages_are_not_watched() -> None:
    rules = rules_with(STAGE_AGE)
    record = deal(
        ("appointment", ny("2026-11-02 10:00")),
        ("contract", ny("2026-11-04 10:00")),
        ("won", ny("2026-11-10 10:00")),
    )
    book = CalendarBook(rules, "UTC", {})
    first, second = evaluate_clock_rule(rules.rules[0], record, DEALS, book, ny("2026-11-20 10:00"))  # type: ignore[arg-type]
    assert (first.state, first.details) == ("met", {"stage": "appointment"})
    assert second.state == "met_late"
    assert second.breached_at == ny("2026-11-07 10:00").astimezone(UTC)


def test_a_deal_still_sitting_in_a_stage_breaches_on_time() -> None:
    rules = rules_with(STAGE_AGE)
    record = deal(("appointment", ny("2026-11-02 10:00")))
    book = CalendarBook(rules, "UTC", {})
    (cycle,) = evaluate_clock_rule(rules.rules[0], record, DEALS, book, ny("2026-11-04 17:00"))  # type: ignore[arg-type]
    assert cycle.state == "warning"
    assert cycle.next_due_at == ny("2026-11-05 10:00").astimezone(UTC)
