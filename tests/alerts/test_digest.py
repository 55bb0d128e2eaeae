"""The morning digest, pure: when a rep's day starts (their calendar: weekends, holidays,
zones) and what the DM lists."""

from __future__ import annotations

from datetime import date

from alerts.digest import DigestSettings, DueLead, render_morning_digest, working_day
from app.sla.calendar import BusinessCalendar
from app.sla.calendar_book import build_calendar
from app.sla.schema import CalendarSpec
from tests.fixtures.crm import utc

BERLIN = build_calendar(
    CalendarSpec.model_validate(
        {
            "time_zone": "Europe/Berlin",
            "hours": {d: ["08:30-17:30"] for d in ("mon", "tue", "wed", "thu", "fri")},
            "holidays": {"country": "DE"},
        }
    ),
    "UTC",
)


def test_the_day_starts_at_the_reps_first_working_minute() -> None:
    assert isinstance(BERLIN, BusinessCalendar)
    # Monday 2026-12-07, 08:30 in Berlin is 07:30 UTC.
    assert working_day(BERLIN, utc("2026-12-07 07:29")) is None
    day = working_day(BERLIN, utc("2026-12-07 07:30"))

    assert day is not None
    assert (day.day, day.starts_at, day.ends_at) == (
        date(2026, 12, 7),
        utc("2026-12-07 07:30"),
        utc("2026-12-07 23:00"),
    )
    assert day.period == "2026-12-07"


def test_a_late_start_of_the_service_still_finds_the_same_day() -> None:
    day = working_day(BERLIN, utc("2026-12-07 21:00"))
    assert day is not None and day.starts_at == utc("2026-12-07 07:30")


def test_weekends_and_holidays_have_no_digest() -> None:
    assert working_day(BERLIN, utc("2026-12-05 10:00")) is None  # Saturday
    assert working_day(BERLIN, utc("2026-12-25 10:00")) is None  # Christmas Day


def test_the_digest_lists_leads_soonest_first_in_the_reps_time() -> None:
    day = working_day(BERLIN, utc("2026-12-07 07:30"))
    assert day is not None
    leads = [
        DueLead(
            "MQL first touch", "contact 2", "https://app.hubspot.com/c/2", utc("2026-12-07 15:00")
        ),
        DueLead("MQL first touch", "contact 1", None, utc("2026-12-07 07:00"), overdue=True),
    ]

    message = render_morning_digest("Ada Lovelace", day, leads, "Europe/Berlin")

    assert message.text.splitlines() == [
        ":sunrise: Good morning Ada Lovelace: 2 records will breach today (Mon 07 Dec) "
        "unless worked",
        "• contact 1: MQL first touch, due 08:00",
        "• contact 2: MQL first touch, due 16:00",
    ]
    body = message.blocks[1]["text"]["text"]
    assert body.splitlines() == [
        "• contact 1: MQL first touch, was due 08:00",
        "• <https://app.hubspot.com/c/2|contact 2>: MQL first touch, due by 16:00",
    ]


def test_a_long_list_is_cut_and_counted() -> None:
    day = working_day(BERLIN, utc("2026-12-07 07:30"))
    assert day is not None
    leads = [DueLead("R", f"contact {n}", None, utc("2026-12-07 15:00")) for n in range(25)]

    body = render_morning_digest("Ada", day, leads, "Europe/Berlin").blocks[1]["text"]["text"]

    assert body.count("\n• ") == 20
    assert body.endswith("• and 5 more")


def test_the_digest_covers_every_rule_unless_some_are_named() -> None:
    assert DigestSettings().covers("anything")
    assert DigestSettings(frozenset({"first-touch"})).covers("first-touch")
    assert not DigestSettings(frozenset({"first-touch"})).covers("six-touches")
