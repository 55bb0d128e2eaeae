"""The rules file as a RevOps admin writes it: valid files load, mistakes name file and line."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from app.sla.durations import Goal, parse_goal
from app.sla.loader import RulesFileError, parse_rules
from app.sla.schema import CadenceRule, QuotaRule, RateRule, ResponseRule, StageAgeRule

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = ROOT / "sla.example.yaml"


def problems_of(text: str) -> list[str]:
    with pytest.raises(RulesFileError) as caught:
        parse_rules(text, "sla.yaml")
    return [str(p) for p in caught.value.problems]


def test_the_annotated_example_loads_with_every_kind() -> None:
    rules = parse_rules(EXAMPLE.read_text(), str(EXAMPLE))
    kinds = {type(rule) for rule in rules.rules}
    assert kinds == {ResponseRule, CadenceRule, StageAgeRule, QuotaRule, RateRule}
    first = rules.rule("mql-first-touch")
    assert isinstance(first, ResponseRule)
    assert first.goal_value == Goal(days=0, seconds=4 * 3600)
    assert rules.assignments.teams == {"4411": "emea"}
    weekly = rules.calendars["default"].weekly()
    assert len(weekly[0]) == 2 and 5 not in weekly


def test_a_bad_goal_names_file_line_field_and_what_was_expected() -> None:
    text = """rules:
  - id: first-touch
    kind: response
    start: {entered_stage: marketingqualifiedlead}
    stop: {lead_status_in: [CONNECTED]}
    goal: 4 hours
"""
    assert problems_of(text) == [
        "sla.yaml, line 6: rules[0].goal: expected a duration like 4h, 30m, 1h30m or 2d, "
        "got '4 hours'"
    ]


def test_every_problem_is_listed_with_its_own_line() -> None:
    text = """calendars:
  default:
    time_zone: Mars/Olympus
    hours: {mon: ["9-17"]}
rules:
  - id: a
    kind: responce
  - id: b
    kind: quota
    counts: {property: lifecyclestage, equals: marketingqualifiedlead}
    target: 10
    perod: week
  - id: c
    kind: response
    start: {entered_stage: marketingqualifiedlead}
    goal: 4h
"""
    found = problems_of(text)
    assert any(
        p.startswith("sla.yaml, line 3: calendars.default.time_zone: expected an IANA")
        for p in found
    )
    assert any(
        p.startswith("sla.yaml, line 4: calendars.default.hours: expected a range like")
        for p in found
    )
    assert (
        "sla.yaml, line 7: rules[0].kind: expected one of cadence, quota, rate, response, "
        "stage_age, got 'responce'" in found
    )
    assert any(
        p.startswith("sla.yaml, line 12: rules[1].perod: is not a known field") for p in found
    )
    assert "sla.yaml, line 13: rules[2].stop: is required but missing" in found


def test_references_to_unknown_calendars_and_repeated_ids_are_caught() -> None:
    text = """calendars:
  default: {}
assignments:
  teams: {"12": emea}
rules:
  - id: a
    kind: quota
    counts: {property: lifecyclestage, equals: lead}
    target: 5
  - id: a
    kind: quota
    counts: {property: lifecyclestage, equals: lead}
    target: 5
    calendar: apac
"""
    found = problems_of(text)
    assert "sla.yaml, line 4: assignments.teams.12: expected one of the calendars: default" in found
    assert "sla.yaml, line 10: rules[1].id: expected a unique id, 'a' is repeated" in found
    assert "sla.yaml, line 14: rules[1].calendar: expected one of the calendars: default" in found


def test_condition_needs_exactly_one_operator_and_unknown_holiday_country_fails() -> None:
    text = """calendars:
  default:
    holidays: {country: XX}
rules:
  - id: a
    kind: quota
    counts: {property: lifecyclestage}
    target: 5
"""
    found = problems_of(text)
    assert found == [  # both at once: the cross-checks run beside the schema's errors
        "sla.yaml, line 3: calendars.default.holidays.country: expected a country code the "
        "holidays package knows, got 'XX'",
        "sla.yaml, line 7: rules[0].counts: expected exactly one of equals, in, not_in, "
        "exists, stage beside property",
    ]
    text = text.replace("counts: {property: lifecyclestage}", "counts: {property: x, exists: true}")
    assert problems_of(text) == [
        "sla.yaml, line 3: calendars.default.holidays.country: expected a country code the "
        "holidays package knows, got 'XX'"
    ]


def test_broken_yaml_says_where() -> None:
    assert problems_of("rules:\n  - id: [\n")[0].startswith("sla.yaml, line 3: is not valid YAML")


@pytest.mark.parametrize(
    ("text", "days", "seconds", "shown"),
    [
        ("4h", 0, 4 * 3600, "4h"),
        ("90m", 0, 90 * 60, "1h30m"),
        ("1h30m", 0, 90 * 60, "1h30m"),
        ("2h 30m", 0, 150 * 60, "2h30m"),
        ("36h", 0, 36 * 3600, "36h"),  # hours never roll over into business days
        ("45s", 0, 45, "45s"),
        ("1s", 0, 1, "1s"),
        ("1m1s", 0, 61, "1m1s"),
        ("1d", 1, 0, "1d"),
        ("2d", 2, 0, "2d"),
        (" 10d ", 10, 0, "10d"),
        ("1d4h", 1, 4 * 3600, "1d4h"),
        ("1d 2d 30m 30m", 3, 3600, "3d1h"),  # a unit given twice adds up
        ("0d4h", 0, 4 * 3600, "4h"),
    ],
)
def test_a_goal_is_business_days_plus_working_time_shown_in_short_form(
    text: str, days: int, seconds: int, shown: str
) -> None:
    goal = parse_goal(text)
    assert (goal.days, goal.remainder) == (days, timedelta(seconds=seconds))
    assert goal.as_calendar_time() == timedelta(days=days, seconds=seconds)
    assert str(goal) == goal.text == shown


@pytest.mark.parametrize("text", ["0s", "0m", "0h", "0d", "0d0h0m0s", " 0h 0m "])
def test_a_goal_of_zero_is_refused(text: str) -> None:
    with pytest.raises(ValueError) as refused:
        parse_goal(text)
    assert str(refused.value) == f"expected a duration longer than zero, got {text!r}"


@pytest.mark.parametrize("text", ["", "4", "h", "4x", "4 hours", "-4h", "1.5h", "4h-", "4w"])
def test_a_goal_that_is_not_a_duration_is_refused_with_the_expected_form(text: str) -> None:
    with pytest.raises(ValueError) as refused:
        parse_goal(text)
    assert str(refused.value) == (f"expected a duration like 4h, 30m, 1h30m or 2d, got {text!r}")


def test_an_empty_goal_shows_as_zero_seconds() -> None:
    assert str(Goal(days=0, seconds=0)) == "0s"


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"}
    env.pop("SLAGUARD_RULES", None)
    return subprocess.run(
        [sys.executable, "-c", "from app.cli import main; main()", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )


def test_rules_check_command_summarizes_or_fails_with_lines(tmp_path: Path) -> None:
    ok = run_cli("rules", "check", str(EXAMPLE))
    assert ok.returncode == 0, ok.stderr
    assert "OK — 8 rules" in ok.stdout and "mql-first-touch" in ok.stdout
    bad = tmp_path / "sla.yaml"
    bad.write_text(
        "rules:\n  - id: x\n    kind: quota\n"
        "    counts: {property: a, exists: true}\n    target: -1\n"
    )
    failed = run_cli("rules", "check", str(bad))
    assert failed.returncode == 1
    assert (
        f"{bad}, line 5: rules[0].target: Input should be greater than or equal to 1"
        in failed.stderr
    )
