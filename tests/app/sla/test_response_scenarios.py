"""Response clocks as a sales manager would check them by hand on a calendar."""

from __future__ import annotations

from datetime import UTC

from tests.app.sla.scenario import call, contact, evaluate, ny, rules_with

FIRST_TOUCH = """  - id: mql-first-touch
    kind: response
    start: {entered_stage: marketingqualifiedlead}
    stop:
      engagement: {types: [call, email]}
      stage_advanced: true
    pause: {lead_status_in: [BAD_TIMING]}
    cancel: {lead_status_in: [UNQUALIFIED]}
    goal: 4h
    warning_at: 0.75
"""


def test_friday_1755_mql_with_4_business_hours_is_due_monday_1255() -> None:
    rules = rules_with(FIRST_TOUCH)
    lead = contact(
        stages=[
            ("lead", ny("2026-11-20 10:00")),
            ("marketingqualifiedlead", ny("2026-11-20 17:55")),
        ]
    )
    # 5 minutes on Friday, the weekend does not count, 3h55m on Monday (Nov 23).
    (cycle,) = evaluate(rules, lead, now=ny("2026-11-23 09:30"))
    assert cycle.state == "running"
    assert cycle.due_at == ny("2026-11-23 12:55").astimezone(UTC)
    assert cycle.warning_at == ny("2026-11-23 11:55").astimezone(UTC)
    assert cycle.next_due_at == cycle.warning_at
    (late,) = evaluate(rules, lead, now=ny("2026-11-23 13:00"))
    assert late.state == "breached"
    assert [e for e, _ in late.events] == ["warning", "breached"]
    assert late.breached_at == ny("2026-11-23 12:55").astimezone(UTC)


def test_a_holiday_monday_moves_the_deadline_to_tuesday() -> None:
    rules = rules_with(FIRST_TOUCH)
    # Friday 2026-01-16 17:55; Monday 2026-01-19 is Martin Luther King Jr. Day (US holiday).
    lead = contact(
        stages=[
            ("lead", ny("2026-01-16 09:00")),
            ("marketingqualifiedlead", ny("2026-01-16 17:55")),
        ]
    )
    (cycle,) = evaluate(rules, lead, now=ny("2026-01-19 15:00"))
    assert cycle.state == "running"
    assert cycle.due_at == ny("2026-01-20 12:55").astimezone(UTC)


def test_a_first_call_in_time_is_met_and_a_late_one_met_late() -> None:
    rules = rules_with(FIRST_TOUCH)
    stages = [("lead", ny("2026-11-24 08:00")), ("marketingqualifiedlead", ny("2026-11-24 10:00"))]
    (met,) = evaluate(
        rules,
        contact(stages=stages, touches=[call(ny("2026-11-24 11:00"))]),
        ny("2026-11-25 10:00"),
    )
    assert met.state == "met" and [e for e, _ in met.events] == ["met"]
    late_call = call(ny("2026-11-24 15:00"))
    (late,) = evaluate(rules, contact(stages=stages, touches=[late_call]), ny("2026-11-25 10:00"))
    assert late.state == "met_late"
    # An ended cycle reports its breach and outcome; warnings only matter while it runs.
    assert [e for e, _ in late.events] == ["breached", "met_late"]


def test_a_touch_by_someone_else_does_not_stop_the_owners_clock() -> None:
    rules = rules_with(FIRST_TOUCH)
    stages = [("lead", ny("2026-11-24 08:00")), ("marketingqualifiedlead", ny("2026-11-24 10:00"))]
    record = contact(stages=stages, touches=[call(ny("2026-11-24 11:00"), owner="99")])
    (cycle,) = evaluate(rules, record, ny("2026-11-24 12:00"))
    assert cycle.state == "running"


def test_a_paused_lead_stops_the_clock_while_bad_timing() -> None:
    rules = rules_with(FIRST_TOUCH)
    stages = [("lead", ny("2026-11-24 08:00")), ("marketingqualifiedlead", ny("2026-11-24 10:00"))]
    paused = contact(
        stages=stages,
        lead_status=[("NEW", ny("2026-11-24 08:00")), ("BAD_TIMING", ny("2026-11-24 11:00"))],
    )
    (cycle,) = evaluate(rules, paused, ny("2026-11-25 16:00"))
    assert cycle.paused and cycle.state == "running"
    assert cycle.due_at is None and cycle.next_due_at is None
    # Resumed Wednesday 09:00 after one hour used: three hours left -> 12:00.
    resumed = contact(
        stages=stages,
        lead_status=[
            ("NEW", ny("2026-11-24 08:00")),
            ("BAD_TIMING", ny("2026-11-24 11:00")),
            ("OPEN", ny("2026-11-25 09:00")),
        ],
    )
    (cycle,) = evaluate(rules, resumed, ny("2026-11-25 10:00"))
    assert not cycle.paused
    assert cycle.due_at == ny("2026-11-25 12:00").astimezone(UTC)


def test_a_re_entered_mql_starts_a_second_cycle() -> None:
    rules = rules_with(FIRST_TOUCH)
    stages = [
        ("lead", ny("2026-11-16 08:00")),
        ("marketingqualifiedlead", ny("2026-11-16 10:00")),
        ("lead", ny("2026-11-16 11:00")),
        ("marketingqualifiedlead", ny("2026-11-24 10:00")),
    ]
    first, second = evaluate(rules, contact(stages=stages), ny("2026-11-24 11:00"))
    # The first cycle was still running when the lead became MQL again: it is superseded.
    assert (first.cycle, first.state) == (1, "cancelled")
    assert first.stopped_at == ny("2026-11-24 10:00").astimezone(UTC)
    assert [e for e, _ in first.events] == ["breached", "cancelled"]
    assert (second.cycle, second.state) == (2, "running")


def test_advancing_the_stage_meets_and_disqualifying_cancels() -> None:
    rules = rules_with(FIRST_TOUCH)
    advanced = contact(
        stages=[
            ("lead", ny("2026-11-24 08:00")),
            ("marketingqualifiedlead", ny("2026-11-24 10:00")),
            ("salesqualifiedlead", ny("2026-11-24 10:30")),
        ]
    )
    (cycle,) = evaluate(rules, advanced, ny("2026-11-24 12:00"))
    assert cycle.state == "met"
    disqualified = contact(
        stages=[
            ("lead", ny("2026-11-24 08:00")),
            ("marketingqualifiedlead", ny("2026-11-24 10:00")),
        ],
        lead_status=[("NEW", ny("2026-11-24 08:00")), ("UNQUALIFIED", ny("2026-11-24 10:10"))],
    )
    (cycle,) = evaluate(rules, disqualified, ny("2026-11-24 12:00"))
    assert cycle.state == "cancelled" and cycle.next_due_at is None


def test_scope_filters_on_any_property() -> None:
    rules = rules_with(
        FIRST_TOUCH.replace(
            "    kind: response\n",
            "    kind: response\n"
            "    scope: [{property: hs_analytics_source, in: [ORGANIC_SEARCH]}]\n",
        )
    )
    stages = [("lead", ny("2026-11-24 08:00")), ("marketingqualifiedlead", ny("2026-11-24 10:00"))]
    assert (
        evaluate(
            rules, contact(stages=stages, hs_analytics_source="OFFLINE"), ny("2026-11-24 12:00")
        )
        == []
    )
    assert (
        len(
            evaluate(
                rules,
                contact(stages=stages, hs_analytics_source="ORGANIC_SEARCH"),
                ny("2026-11-24 12:00"),
            )
        )
        == 1
    )


def test_calendar_time_counts_the_weekend() -> None:
    rules = rules_with(FIRST_TOUCH.replace("goal: 4h", "goal: 4h\n    time: calendar"))
    lead = contact(
        stages=[
            ("lead", ny("2026-11-20 10:00")),
            ("marketingqualifiedlead", ny("2026-11-20 17:55")),
        ]
    )
    (cycle,) = evaluate(rules, lead, now=ny("2026-11-21 09:00"))
    assert cycle.state == "breached"
    assert cycle.due_at == ny("2026-11-20 21:55").astimezone(UTC)
