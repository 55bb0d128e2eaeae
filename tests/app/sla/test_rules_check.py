"""`slaguard rules check` as a RevOps admin meets it: every mistake at once, with hints, and
the same verdict wherever the rules file is loaded (the command, `evaluate`, the service)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli import cli
from app.evaluation.rules_store import activate_rules, rules_in_force
from app.sla.loader import RulesFileError, parse_rules
from app.store.db import create_db_engine, create_session_factory, session_scope

RESPONSE = """  - id: first-touch
    kind: response
    start: {entered_stage: marketingqualifiedlead}
    stop: {lead_status_in: [CONNECTED]}
    goal: 4h
"""


def problems_of(text: str) -> list[str]:
    with pytest.raises(RulesFileError) as caught:
        parse_rules(text, "sla.yaml")
    return [str(p) for p in caught.value.problems]


def check(tmp_path: Path, text: str, *args: str) -> tuple[int, str]:
    path = tmp_path / "sla.yaml"
    path.write_text(text)
    result = CliRunner().invoke(cli, ["rules", "check", str(path), *args], env={"COLUMNS": "200"})
    return result.exit_code, result.output


def test_a_misspelt_key_is_named_with_a_suggestion_beside_the_missing_one() -> None:
    text = """rules:
  - id: a
    kidn: response
    start: {entered_stage: marketingqualifiedlead}
"""
    found = problems_of(text)
    assert "sla.yaml, line 3: rules[0].kidn: is not a known field; did you mean kind?" in found
    assert any(p.startswith("sla.yaml, line 2: rules[0].kind: is required") for p in found)
    text = RESPONSE.replace("goal: 4h", "goall: 4h").replace("stop:", "stpo:")
    found = problems_of("rules:\n" + text)
    assert "sla.yaml, line 6: rules[0].goall: is not a known field; did you mean goal?" in found
    assert "sla.yaml, line 5: rules[0].stpo: is not a known field; did you mean stop?" in found
    assert "sla.yaml, line 2: rules[0].goal: is required but missing" in found


def test_every_kind_of_error_is_reported_in_one_pass() -> None:
    text = """calendars:
  default: {}
  emea: {holidays: {country: XX}}
assignments:
  teams: {"12": apac}
rules:
  - id: a
    kind: response
    start: {entered_stage: marketingqualifiedlead}
    stop: {lead_status_in: [CONNECTED]}
    goal: 4 hours
  - id: b
    kind: quota
    counts: {property: lifecyclestage, equals: lead}
    target: 5
  - id: b
    kind: quota
    counts: {property: lifecyclestage, equals: lead}
    target: 5
    calendar: nights
"""
    assert problems_of(text) == [
        "sla.yaml, line 3: calendars.emea.holidays.country: expected a country code the "
        "holidays package knows, got 'XX'",
        "sla.yaml, line 5: assignments.teams.12: expected one of the calendars: default, emea",
        "sla.yaml, line 11: rules[0].goal: expected a duration like 4h, 30m, 1h30m or 2d, "
        "got '4 hours'",
        "sla.yaml, line 16: rules[2].id: expected a unique id, 'b' is repeated",
        "sla.yaml, line 20: rules[2].calendar: expected one of the calendars: default, emea",
    ]


def test_a_repeated_key_is_an_error_naming_both_lines() -> None:
    text = "rules:\n" + RESPONSE + "    warning_at: 0.5\n    goal: 8h\n"
    assert problems_of(text) == [
        "sla.yaml, line 8: rules[0].goal: is given twice (lines 6 and 8); keep one"
    ]


@pytest.mark.parametrize("text", ["", "# nothing yet\n", "version: 1\nrules: []\n"])
def test_a_file_without_rules_fails_unless_allowed(tmp_path: Path, text: str) -> None:
    code, output = check(tmp_path, text)
    assert code == 1
    assert "has no rules" in output and "--allow-empty" in output
    code, output = check(tmp_path, text, "--allow-empty")
    assert code == 0, output
    assert "no rules" in output


def test_the_shipped_example_checks_clean(tmp_path: Path) -> None:
    example = Path(__file__).resolve().parents[3] / "sla.example.yaml"
    code, output = check(tmp_path, example.read_text())
    assert code == 0, output
    assert "warning" not in output


def test_a_direction_filter_that_can_never_match_is_a_warning(tmp_path: Path) -> None:
    text = "rules:\n" + RESPONSE.replace(
        "stop: {lead_status_in: [CONNECTED]}",
        "stop: {engagement: {types: [call, meeting], directions: [EMAIL]}}",
    )
    code, output = check(tmp_path, text)
    assert code == 0, output
    assert (
        "warning: sla.yaml, line 5: rules[0].stop.engagement.directions: no call can match: "
        "calls are INBOUND or OUTBOUND, and directions lists only EMAIL"
        in output.replace(str(tmp_path) + "/", "")
    )
    text = "rules:\n" + RESPONSE.replace(
        "stop: {lead_status_in: [CONNECTED]}",
        "stop: {engagement: {types: [call], directions: [EMAIL, INCOMING_EMAIL]}}",
    )
    code, output = check(tmp_path, text)
    assert "and directions lists only EMAIL, INCOMING_EMAIL\n" in output
    text = "rules:\n" + RESPONSE.replace(
        "stop: {lead_status_in: [CONNECTED]}",
        "stop: {engagement: {types: [meeting], directions: [outbound]}}",
    )
    code, output = check(tmp_path, text)
    assert code == 0, output
    assert "outbound is not a direction HubSpot uses" in output
    assert "has no effect: meetings have no direction" in output


def test_a_goal_a_calendar_cannot_make_up_in_ten_years_is_a_warning(tmp_path: Path) -> None:
    # One minute on Mondays: 1,000 hours of it take over a thousand years.
    text = (
        "calendars:\n  monday-minute:\n    hours: {mon: ['09:00-09:01']}\n"
        "  default: {}\nrules:\n" + RESPONSE.replace("goal: 4h", "goal: 1000h")
    )
    code, output = check(tmp_path, text)
    assert code == 0, output
    assert (
        "warning: sla.yaml, line 10: rules[0].goal: 1000h is more working time than calendar "
        "monday-minute has in 3660 days (1 min a week): its deadlines would be refused"
        in output.replace(str(tmp_path) + "/", "")
    )
    assert "calendar default" not in output  # 40 hours a week make up 1000h in 25 weeks


CADENCE = """  - id: follow-up
    kind: cadence
    start: {entered_stage: marketingqualifiedlead}
    touches: {count: 3, within: GOAL}
"""
STAGE_AGE = """  - id: stuck-deal
    kind: stage_age
    object: deal
    max: GOAL
"""


def reach_warnings_of(tmp_path: Path, calendars: str, rules: str) -> list[str]:
    code, output = check(tmp_path, f"calendars:\n{calendars}rules:\n{rules}")
    assert code == 0, output
    text = output.replace(str(tmp_path) + "/", "")
    return [line for line in text.splitlines() if "more working time than" in line]


ONE_MINUTE_A_DAY = (
    "  default:\n    hours: {"
    + ", ".join(
        f"{day}: ['09:00-09:01']" for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    )
    + "}\n"
)


def test_a_goal_of_exactly_the_working_time_in_reach_is_no_warning(tmp_path: Path) -> None:
    # Seven minutes a week for 3660 days: 3660 minutes.
    assert reach_warnings_of(tmp_path, ONE_MINUTE_A_DAY, STAGE_AGE.replace("GOAL", "61h")) == []
    assert reach_warnings_of(tmp_path, ONE_MINUTE_A_DAY, STAGE_AGE.replace("GOAL", "3661m")) == [
        "warning: sla.yaml, line 8: rules[0].max: 61h1m is more working time than calendar "
        "default has in 3660 days (7 min a week): its deadlines would be refused"
    ]


def test_reach_is_checked_for_cadences_on_the_calendar_a_rule_names(tmp_path: Path) -> None:
    calendars = "  default:\n    hours: {mon: ['09:00-09:01']}\n  round-the-clock:\n" + (
        "    hours: {mon: ['00:00-24:00']}\n"
    )
    named = CADENCE.replace("GOAL", "600h") + "    calendar: round-the-clock\n"
    assert reach_warnings_of(tmp_path, calendars, named) == []
    every = CADENCE.replace("GOAL", "20000h")
    assert reach_warnings_of(tmp_path, calendars, every) == [
        "warning: sla.yaml, line 10: rules[0].touches.within: 20000h is more working time than "
        "calendar default has in 3660 days (1 min a week): its deadlines would be refused",
        "warning: sla.yaml, line 10: rules[0].touches.within: 20000h is more working time than "
        "calendar round-the-clock has in 3660 days (1440 min a week): its deadlines would be "
        "refused",
    ]


QUOTA = """  - id: monthly-mqls
    kind: quota
    counts: {property: lifecyclestage, equals: marketingqualifiedlead}
    period: month
    target: 120
"""


def test_reach_is_checked_for_rules_after_ones_without_a_goal(tmp_path: Path) -> None:
    calendars = "  default:\n    hours: {mon: ['09:00-09:01']}\n"
    rules = QUOTA + RESPONSE.replace("goal: 4h", "goal: 1000h")
    assert len(reach_warnings_of(tmp_path, calendars, rules)) == 1


def test_direction_warnings_name_the_filter_and_every_undirected_kind(tmp_path: Path) -> None:
    text = (
        "rules:\n"
        + CADENCE.replace("GOAL", "2d")
        + ("    counts: {types: [meeting, note], directions: [outbound]}\n")
    )
    code, output = check(tmp_path, text)
    assert code == 0, output
    lines = [
        line.replace(str(tmp_path) + "/", "")
        for line in output.splitlines()
        if line.startswith("warning:")
    ]
    assert lines == [
        "warning: sla.yaml, line 6: rules[0].counts.directions: outbound is not a direction "
        "HubSpot uses (calls: INBOUND, OUTBOUND; emails: EMAIL, INCOMING_EMAIL, "
        "FORWARDED_EMAIL); it matches nothing",
        "warning: sla.yaml, line 6: rules[0].counts.directions: has no effect: meetings and "
        "notes have no direction",
    ]


def test_goals_in_calendar_time_are_not_checked_for_reach(tmp_path: Path) -> None:
    rules = (
        STAGE_AGE.replace("GOAL", "1000h")
        + "    time: calendar\n"
        + CADENCE.replace("GOAL", "1000h")
    )
    calendars = "  default:\n    hours: {mon: ['09:00-09:01']}\n"
    assert [line.split(": ")[1] for line in reach_warnings_of(tmp_path, calendars, rules)] == [
        "sla.yaml, line 13"
    ]


def test_every_loader_applies_the_same_checks(tmp_path: Path, database_url: str) -> None:
    empty = tmp_path / "sla.yaml"
    empty.write_text("version: 1\nrules: []\n")
    engine = create_db_engine(database_url)
    factory = create_session_factory(engine)
    now = datetime(2026, 1, 5, tzinfo=UTC)
    try:
        with pytest.raises(RulesFileError, match="has no rules"), session_scope(factory) as s:
            activate_rules(s, empty, now)
        empty.write_text("rules:\n" + RESPONSE + "    goal: 8h\n")
        with pytest.raises(RulesFileError, match="given twice"), session_scope(factory) as s:
            activate_rules(s, empty, now)
        with session_scope(factory) as session:
            assert rules_in_force(session) is None  # nothing was put in force
    finally:
        engine.dispose()
