"""The weekly scorecard, pure: when it is due (in its own time zone, across DST) and what it
says for both teams."""

from __future__ import annotations

from datetime import time, timedelta

from alerts.scorecard import (
    CATCH_UP,
    QuotaLine,
    RateLine,
    RepLine,
    ResponseLine,
    Scorecard,
    ScorecardSchedule,
    render_scorecard,
)
from tests.fixtures.crm import utc

MONDAY_9_BERLIN = ScorecardSchedule("revops", 0, time(9, 0), "Europe/Berlin")


def test_the_latest_due_time_is_the_configured_weekday_and_local_time() -> None:
    # Wednesday 2026-12-09 12:00 UTC: the last Monday 09:00 in Berlin (UTC+1) is 08:00 UTC.
    assert MONDAY_9_BERLIN.latest_due(utc("2026-12-09 12:00")) == utc("2026-12-07 08:00")


def test_on_the_day_before_the_time_the_previous_week_is_the_latest() -> None:
    assert MONDAY_9_BERLIN.latest_due(utc("2026-12-07 07:59")) == utc("2026-11-30 08:00")
    assert MONDAY_9_BERLIN.latest_due(utc("2026-12-07 08:00")) == utc("2026-12-07 08:00")


def test_the_local_time_holds_across_a_daylight_saving_change() -> None:
    # Berlin moves to UTC+2 on Sunday 2026-03-29: Monday 09:00 is then 07:00 UTC.
    assert MONDAY_9_BERLIN.latest_due(utc("2026-03-30 07:00")) == utc("2026-03-30 07:00")
    assert MONDAY_9_BERLIN.latest_due(utc("2026-03-30 06:59")) == utc("2026-03-23 08:00")


def test_a_missed_time_is_caught_up_within_a_day_and_then_left() -> None:
    due = utc("2026-12-07 08:00")
    assert MONDAY_9_BERLIN.due_now(due + CATCH_UP - timedelta(minutes=1)) == due
    assert MONDAY_9_BERLIN.due_now(due + CATCH_UP) is None


def test_the_period_is_the_iso_week_in_the_schedules_zone() -> None:
    # Sunday 23:30 in Los Angeles is already Monday in UTC: the week is still the Sunday's.
    sunday_late = ScorecardSchedule("revops", 6, time(23, 30), "America/Los_Angeles")
    due = sunday_late.latest_due(utc("2026-12-07 08:00"))
    assert due == utc("2026-12-07 07:30")
    assert sunday_late.period(due) == "2026-W49"
    assert MONDAY_9_BERLIN.period(utc("2026-12-07 08:00")) == "2026-W50"


CARD = Scorecard(
    since=utc("2026-11-30 08:00"),
    until=utc("2026-12-07 08:00"),
    time_zone="Europe/Berlin",
    quotas=[
        QuotaLine("Monthly MQLs", 57, 120, "at_risk", utc("2026-12-06 23:00"), 50, 23.4),
    ],
    rates=[RateLine("MQL acceptance", 0.4375, 32, True), RateLine("Trial rate", None, 3, None)],
    responses=[
        ResponseLine(
            "MQL first touch",
            on_time=18,
            late=6,
            compliance=0.75,
            reps=(RepLine("Ada Lovelace", 10, 1.25, 3.5), RepLine("Alan Turing", 14, 5.0, 20.0)),
        )
    ],
)


def test_the_scorecard_gives_marketings_and_sales_figures_in_blocks_and_fallback_text() -> None:
    message = render_scorecard(CARD)

    assert message.text.splitlines()[0] == ("Weekly SLA scorecard, 7 days to Mon 07 Dec 2026 09:00")
    assert "Monthly MQLs: 57 of 120 (at risk); pacing line 23.4 by Mon 07 Dec, " in message.text
    assert "50 delivered by then" in message.text
    assert "MQL acceptance: 44 % of 32 ✓" in message.text
    assert "Trial rate: not enough records yet (3)" in message.text
    assert "MQL first touch: 75 % on time (18 of 24)" in message.text
    assert "Ada Lovelace: median 1.2 h business (3.5 h wall), 10 touched" in message.text
    header, marketing, _, sales = message.blocks
    assert header["type"] == "header"
    assert marketing["text"]["text"].startswith(":mega: *Marketing*\n*Monthly MQLs*")
    assert "*MQL first touch*" in sales["text"]["text"]


def test_a_portal_with_no_rules_of_a_kind_says_so_rather_than_leaving_a_gap() -> None:
    empty = Scorecard(CARD.since, CARD.until, CARD.time_zone)

    text = render_scorecard(empty).text

    assert "No quota or rate rules." in text
    assert "No response rules." in text


def test_a_huge_team_is_cut_to_what_slack_accepts_in_a_section() -> None:
    reps = tuple(RepLine(f"Rep {n:03d} " + "x" * 80, 1, 1.0, 1.0) for n in range(200))
    card = Scorecard(
        CARD.since, CARD.until, CARD.time_zone, responses=[ResponseLine("R", 1, 0, 1.0, reps)]
    )

    sales = render_scorecard(card).blocks[3]["text"]["text"]

    assert len(sales) <= 3000
    assert "and 180 more reps" in render_scorecard(card).text
