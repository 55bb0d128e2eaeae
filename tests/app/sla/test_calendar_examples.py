"""Worked examples of business calendars: the cases a RevOps admin would check by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from app.sla.calendar import MAX_IDLE_DAYS, BusinessCalendar, CalendarTime

NEW_YORK = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")
WEEKDAYS = range(5)


def office(zone: str = "America/New_York", hours: tuple[int, int] = (9, 17), **kwargs):  # type: ignore[no-untyped-def]
    ranges = [(time(hours[0]), time(hours[1]))]
    return BusinessCalendar(zone, dict.fromkeys(WEEKDAYS, ranges), **kwargs)


def ny(*args: int) -> datetime:
    return datetime(*args, tzinfo=NEW_YORK)  # type: ignore[misc]


def berlin(*args: int) -> datetime:
    return datetime(*args, tzinfo=BERLIN)  # type: ignore[misc]


# -- the lead: MQL on Friday at 17:55 with a 4-business-hour goal --------------------


def test_friday_evening_lead_is_due_monday_morning() -> None:
    # Friday 2026-08-28 17:55; a 9-18 office counts 5 minutes on Friday, 3h55 on Monday.
    due = office(hours=(9, 18)).add(ny(2026, 8, 28, 17, 55), timedelta(hours=4))
    assert due == ny(2026, 8, 31, 12, 55)
    assert due.tzinfo == UTC


def test_friday_evening_lead_after_closing_starts_counting_monday() -> None:
    # On a 9-17 office 17:55 is after hours: all four hours are Monday's.
    assert office().add(ny(2026, 8, 28, 17, 55), timedelta(hours=4)) == ny(2026, 8, 31, 13, 0)


def test_labor_day_moves_the_deadline_to_tuesday() -> None:
    calendar = office(hours=(9, 18), holiday_country="US")
    friday = ny(2026, 9, 4, 17, 55)  # Monday 2026-09-07 is Labor Day
    assert calendar.add(friday, timedelta(hours=4)) == ny(2026, 9, 8, 12, 55)
    assert calendar.elapsed(friday, ny(2026, 9, 8, 12, 55)) == timedelta(hours=4)
    assert calendar.is_holiday(date(2026, 9, 7))
    assert not calendar.is_business_day(date(2026, 9, 7))


def test_explicit_holiday_dates_are_skipped() -> None:
    calendar = office(holidays=[date(2026, 8, 31)])
    assert calendar.add(ny(2026, 8, 28, 16), timedelta(hours=2)) == ny(2026, 9, 1, 10)


def test_subdivision_holidays_apply_only_to_their_region() -> None:
    bavaria = office("Europe/Berlin", holiday_country="DE", holiday_subdivision="BY")
    berlin_city = office("Europe/Berlin", holiday_country="DE", holiday_subdivision="BE")
    epiphany = date(2026, 1, 6)  # a public holiday in Bavaria, a working day in Berlin
    assert bavaria.is_holiday(epiphany)
    assert not berlin_city.is_holiday(epiphany)


# -- deadlines land inside working time ----------------------------------------------------


def test_a_goal_that_fills_the_day_is_due_at_closing_time_not_next_morning() -> None:
    assert office().add(ny(2026, 8, 28, 16), timedelta(hours=1)) == ny(2026, 8, 28, 17)


def test_zero_goal_is_due_at_the_start_even_after_hours() -> None:
    saturday = ny(2026, 8, 29, 12)
    assert office().add(saturday, timedelta(0)) == saturday
    assert office().next_counting(saturday) == ny(2026, 8, 31, 9)


def test_several_ranges_per_day_skip_the_lunch_break() -> None:
    split = BusinessCalendar(
        "America/New_York", {day: [(time(13), time(17)), (time(9), time(12))] for day in WEEKDAYS}
    )
    start = ny(2026, 8, 27, 11)
    assert split.add(start, timedelta(hours=4)) == ny(2026, 8, 27, 16)
    assert not split.is_counting(ny(2026, 8, 27, 12, 30))
    assert split.elapsed(ny(2026, 8, 27, 0), ny(2026, 8, 28, 0)) == timedelta(hours=7)


def test_overlapping_ranges_are_counted_once() -> None:
    calendar = BusinessCalendar("UTC", {0: [(time(9), time(13)), (time(11), time(17))]})
    monday = datetime(2026, 8, 31, tzinfo=UTC)
    assert calendar.elapsed(monday, monday + timedelta(days=1)) == timedelta(hours=8)


# -- ranges that cross midnight ---------------------------------------------------------------


def night_shift(**kwargs):  # type: ignore[no-untyped-def]
    return BusinessCalendar(
        "Europe/Berlin", {day: [(time(22), time(6))] for day in WEEKDAYS}, **kwargs
    )


def test_overnight_range_counts_into_the_next_morning() -> None:
    calendar = night_shift()
    # Friday 22:00 to Saturday 06:00 belongs to Friday; nothing starts on the weekend.
    assert calendar.add(berlin(2026, 9, 4, 21), timedelta(hours=7)) == berlin(2026, 9, 5, 5)
    assert calendar.is_counting(berlin(2026, 9, 5, 5, 59))
    assert not calendar.is_counting(berlin(2026, 9, 5, 6))
    assert calendar.add(berlin(2026, 9, 5, 5), timedelta(hours=2)) == berlin(2026, 9, 7, 23)


def test_holiday_removes_the_night_that_starts_on_it_but_not_the_one_ending_on_it() -> None:
    wednesday = date(2026, 9, 9)
    calendar = night_shift(holidays=[wednesday])
    assert calendar.is_counting(berlin(2026, 9, 9, 3))  # Tuesday night, into the holiday
    assert not calendar.is_counting(berlin(2026, 9, 9, 23))  # the holiday's own night
    assert not calendar.is_counting(berlin(2026, 9, 10, 3))
    week = calendar.elapsed(berlin(2026, 9, 7), berlin(2026, 9, 14))
    assert week == timedelta(hours=4 * 8)


def test_range_with_equal_ends_is_a_full_day() -> None:
    calendar = BusinessCalendar("UTC", {2: [(time(0), time(0))]})
    wednesday = datetime(2026, 9, 9, tzinfo=UTC)
    assert calendar.elapsed(wednesday - timedelta(days=1), wednesday + timedelta(days=2)) == (
        timedelta(days=1)
    )


# -- daylight-saving changes ---------------------------------------------------------------


def test_office_hours_are_eight_real_hours_in_dst_weeks() -> None:
    calendar = office()
    for monday in (ny(2026, 3, 9), ny(2026, 11, 2)):  # the weeks after spring and fall changes
        assert calendar.elapsed(monday - timedelta(days=1), monday + timedelta(days=6)) == (
            timedelta(hours=40)
        )


@pytest.mark.parametrize(
    ("night", "real_hours"),
    [
        (date(2026, 3, 28), 7),  # Berlin springs forward at 02:00 on 2026-03-29
        (date(2026, 10, 24), 9),  # and falls back at 03:00 on 2026-10-25
        (date(2026, 6, 6), 8),
    ],
)
def test_overnight_range_counts_real_time_across_a_dst_change(night: date, real_hours: int) -> None:
    calendar = BusinessCalendar("Europe/Berlin", {day: [(time(22), time(6))] for day in range(7)})
    evening = datetime.combine(night, time(12), BERLIN)
    assert calendar.elapsed(evening, evening + timedelta(days=1)) == timedelta(hours=real_hours)
    due = calendar.add(datetime.combine(night, time(22), BERLIN), timedelta(hours=real_hours))
    assert due == datetime.combine(night + timedelta(days=1), time(6), BERLIN)


def test_boundary_in_the_skipped_hour_starts_when_the_clock_jumps() -> None:
    # New York skips 02:00-03:00 on 2026-03-08: a 02:30 start begins at 03:00 EDT.
    calendar = BusinessCalendar("America/New_York", {6: [(time(2, 30), time(4))]})
    sunday = ny(2026, 3, 8)
    assert calendar.next_counting(sunday) == ny(2026, 3, 8, 3)
    assert calendar.elapsed(sunday, sunday + timedelta(days=1)) == timedelta(hours=1)


def test_range_inside_the_skipped_hour_is_empty_that_day() -> None:
    calendar = BusinessCalendar("America/New_York", {6: [(time(2, 10), time(2, 50))]})
    assert not calendar.is_business_day(date(2026, 3, 8))
    assert calendar.is_business_day(date(2026, 3, 15))
    assert calendar.elapsed(ny(2026, 3, 8), ny(2026, 3, 9)) == timedelta(0)


def test_boundary_in_the_repeated_hour_uses_its_first_occurrence() -> None:
    # Berlin repeats 02:00-03:00 on 2026-10-25: 02:30 CEST (00:30 UTC) to 03:30 CET (02:30 UTC).
    calendar = BusinessCalendar("Europe/Berlin", {6: [(time(2, 30), time(3, 30))]})
    assert calendar.next_counting(berlin(2026, 10, 25)) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    assert calendar.elapsed(berlin(2026, 10, 25), berlin(2026, 10, 26)) == timedelta(hours=2)


# -- business days -------------------------------------------------------------------------


def test_business_days_keep_the_time_of_day_and_skip_weekends_and_holidays() -> None:
    calendar = office(holiday_country="US")
    friday = ny(2026, 9, 4, 15)
    assert calendar.working_days_after(friday, 0) == friday
    assert calendar.working_days_after(friday, 1) == ny(2026, 9, 8, 15)  # Labor Day skipped
    assert calendar.working_days_after(ny(2026, 9, 5, 11), 1) == ny(2026, 9, 8, 11)
    assert calendar.working_days_after(friday, 10) == ny(2026, 9, 21, 15)


def test_business_days_to_the_end_of_the_day() -> None:
    calendar = office()
    assert calendar.working_days_after(ny(2026, 9, 4, 15), 1, end_of_day=True) == ny(2026, 9, 8)
    assert calendar.working_days_after(ny(2026, 9, 4, 15), 0, end_of_day=True) == ny(2026, 9, 5)


def test_calendar_time_counts_everything() -> None:
    clock = CalendarTime("America/New_York")
    start = ny(2026, 3, 7, 12)
    # 30 real hours, not 30 wall hours: the clocks jump forward on the way.
    assert clock.add(start, timedelta(hours=30)) == ny(2026, 3, 8, 19)
    assert clock.elapsed(start, ny(2026, 3, 8, 12)) == timedelta(hours=23)  # spring forward
    assert clock.working_days_after(start, 1) == ny(2026, 3, 8, 12)


# -- bad input ---------------------------------------------------------------------------


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="no time zone"):
        office().add(datetime(2026, 9, 4, 12), timedelta(hours=1))
    with pytest.raises(ValueError, match="no time zone"):
        CalendarTime().elapsed(datetime(2026, 9, 4, 12), ny(2026, 9, 4, 13))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"time_zone": "Mars/Olympus", "weekly": {0: [(time(9), time(17))]}}, "unknown time zone"),
        ({"time_zone": "UTC", "weekly": {}}, "at least one working range"),
        ({"time_zone": "UTC", "weekly": {7: [(time(9), time(17))]}}, "weekday 7"),
        ({"time_zone": "UTC", "weekly": {0: [(time(9),)]}}, "not two times"),
        (
            {"time_zone": "UTC", "weekly": {0: [(time(9, tzinfo=UTC), time(17))]}},
            "has a time zone",
        ),
        (
            {"time_zone": "UTC", "weekly": {0: [(time(9), time(17))]}, "holiday_country": "XX"},
            "unknown holiday calendar",
        ),
        (
            {
                "time_zone": "UTC",
                "weekly": {0: [(time(9), time(17))]},
                "holiday_country": "US",
                "holiday_subdivision": "ZZ",
            },
            "unknown holiday calendar",
        ),
        (
            {"time_zone": "UTC", "weekly": {0: [(time(9), time(17))]}, "holidays": ["2026-01-01"]},
            "is not a date",
        ),
    ],
)
def test_bad_calendars_are_refused_with_a_reason(kwargs: dict, message: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(ValueError, match=message):
        BusinessCalendar(**kwargs)


def test_negative_durations_and_days_are_refused() -> None:
    with pytest.raises(ValueError, match="cannot be negative"):
        office().add(ny(2026, 9, 4, 12), timedelta(hours=-1))
    with pytest.raises(ValueError, match="cannot be negative"):
        office().working_days_after(ny(2026, 9, 4, 12), -1)


def test_a_calendar_without_working_time_fails_instead_of_hanging() -> None:
    start = date(2026, 1, 1)
    every_day = [start + timedelta(days=n) for n in range(MAX_IDLE_DAYS + 10)]
    calendar = office(holidays=every_day)
    with pytest.raises(ValueError, match="no working time"):
        calendar.add(ny(2026, 1, 1, 12), timedelta(hours=1))
    assert calendar.elapsed(ny(2026, 1, 1), ny(2026, 2, 1)) == timedelta(0)
