"""Directions filter calls and emails only: HubSpot gives meetings, notes and tasks none."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from typer.testing import CliRunner

from app.cli import cli
from app.sla.calendar_book import CalendarBook
from app.sla.loader import parse_rules
from app.sla.records import Touch
from app.sla.rules import evaluate_clock_rule
from app.sla.schema import ResponseRule
from tests.app.sla.scenario import DIRECTORY, contact, ny

EXAMPLE = Path(__file__).resolve().parents[3] / "sla.example.yaml"


def _first_touch(touch: Touch) -> tuple[str, datetime | None]:
    """The example's mql-first-touch (types call, email, meeting; directions OUTBOUND, EMAIL)
    on an inbound MQL at 10:00 with one touch by its owner."""
    rules = parse_rules(EXAMPLE.read_text(), str(EXAMPLE))
    rule = rules.rule("mql-first-touch")
    assert isinstance(rule, ResponseRule)
    lead = contact(
        stages=[
            ("lead", ny("2026-11-24 08:00")),
            ("marketingqualifiedlead", ny("2026-11-24 10:00")),
        ],
        touches=[touch],
        hs_analytics_source="ORGANIC_SEARCH",
    )
    book = CalendarBook(rules, "UTC", DIRECTORY.owner_teams)
    (cycle,) = evaluate_clock_rule(rule, lead, DIRECTORY, book, ny("2026-11-24 16:00"))
    return cycle.state, cycle.stopped_at


def test_a_meeting_stops_the_examples_first_touch_clock() -> None:
    met_at = ny("2026-11-24 11:00")
    assert _first_touch(Touch("meeting", met_at, "7", None)) == ("met", met_at)
    assert _first_touch(Touch("call", met_at, "7", "OUTBOUND")) == ("met", met_at)
    # the directions still apply to what has one: an inbound call is not a first touch
    assert _first_touch(Touch("call", ny("2026-11-24 11:00"), "7", "INBOUND")) == ("breached", None)


def test_rules_check_warns_about_a_direction_filter_that_can_never_match(tmp_path: Path) -> None:
    text = EXAMPLE.read_text().replace(
        "types: [call, email, meeting]\n        directions: [OUTBOUND, EMAIL]",
        "types: [email, meeting]\n        directions: [OUTBOUND]",
    )
    path = tmp_path / "sla.yaml"
    path.write_text(text)
    result = CliRunner().invoke(cli, ["rules", "check", str(path)], env={"COLUMNS": "300"})
    assert result.exit_code == 0, result.output
    assert (
        f"warning: {path}, line 58: rules[0].stop.engagement.directions: no email can match: "
        "emails are EMAIL, FORWARDED_EMAIL or INCOMING_EMAIL, and directions lists only OUTBOUND"
    ) in result.output
