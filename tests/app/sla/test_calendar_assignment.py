"""Whose calendar counts: the rule's, the owner's, the owner's team's, or the default."""

from __future__ import annotations

from datetime import UTC

from app.sla.calendar_book import CalendarBook
from app.sla.records import Directory
from app.sla.rules import evaluate_clock_rule
from app.sla.schema import ResponseRule
from tests.app.sla.scenario import contact, ny

RULES = """calendars:
  default:
    time_zone: America/New_York
    hours: {mon: ["09:00-17:00"], tue: ["09:00-17:00"], wed: ["09:00-17:00"],
            thu: ["09:00-17:00"], fri: ["09:00-17:00"]}
  emea:
    time_zone: Europe/Berlin
    hours: {mon: ["09:00-17:00"], tue: ["09:00-17:00"], wed: ["09:00-17:00"],
            thu: ["09:00-17:00"], fri: ["09:00-17:00"]}
  nights:
    time_zone: America/New_York
    hours: {mon: ["22:00-06:00"], tue: ["22:00-06:00"], wed: ["22:00-06:00"]}
assignments:
  teams: {"55": emea}
  owners: {"9": nights}
rules:
  - id: first-touch
    kind: response
    scope: [{property: team, in: ["55", "66"]}]
    start: {entered_stage: marketingqualifiedlead}
    stop: {lead_status_in: [CONNECTED]}
    goal: 2h
"""

DIRECTORY = Directory(owner_teams={"7": ("55",), "8": ("66",), "9": ("55",)})


def test_owner_then_team_then_default_and_a_rule_calendar_wins() -> None:
    from app.sla.loader import parse_rules

    rules = parse_rules(RULES)
    book = CalendarBook(rules, "UTC", DIRECTORY.owner_teams)
    rule = rules.rules[0]
    assert book.calendar_name(rule, "9") == "nights"  # owner's own calendar
    assert book.calendar_name(rule, "7") == "emea"  # the team's
    assert book.calendar_name(rule, "8") == "default"  # a team without one
    assert book.calendar_name(rule, None) == "default"
    pinned = rule.model_copy(update={"calendar": "default"})
    assert book.calendar_name(pinned, "9") == "default"


def test_the_clock_runs_on_the_owners_calendar_and_team_scopes_apply() -> None:
    from app.sla.loader import parse_rules

    rules = parse_rules(RULES)
    rule = rules.rules[0]
    assert isinstance(rule, ResponseRule)
    book = CalendarBook(rules, "UTC", DIRECTORY.owner_teams)
    stages = [("lead", ny("2026-11-24 08:00")), ("marketingqualifiedlead", ny("2026-11-24 08:00"))]
    # 08:00 New York is 14:00 in Berlin: the EMEA team's rep has until 16:00 Berlin.
    (emea,) = evaluate_clock_rule(
        rule, contact(stages=stages, owner="7"), DIRECTORY, book, ny("2026-11-24 09:00")
    )
    assert emea.due_at == ny("2026-11-24 10:00").astimezone(UTC)
    # The night-shift owner's clock starts at 22:00 New York.
    (night,) = evaluate_clock_rule(
        rule, contact(stages=stages, owner="9"), DIRECTORY, book, ny("2026-11-24 09:00")
    )
    assert night.due_at == ny("2026-11-25 00:00").astimezone(UTC)
    # An owner outside teams 55/66 is out of scope.
    assert (
        evaluate_clock_rule(
            rule, contact(stages=stages, owner="1"), DIRECTORY, book, ny("2026-11-24 09:00")
        )
        == []
    )
