"""Where business-time arithmetic stops: negative durations, a zero count of business days at
an ambiguous wall time, a calendar closed for years, a deadline too far away."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from app.sla.calendar import (
    MAX_ADD_DAYS,
    MAX_IDLE_DAYS,
    BusinessCalendar,
    CalendarTime,
    DeadlineTooFarError,
)

OFFICE = {day: [(time(9), time(17))] for day in range(7)}
SUNDAY_EVENING = datetime(2026, 1, 4, 18, tzinfo=UTC)
# 01:30 happens twice in New York on 1 November 2026; this is the second time (EST).
SECOND_0130 = datetime(2026, 11, 1, 6, 30, tzinfo=UTC)


@pytest.mark.parametrize("clock", [CalendarTime(), BusinessCalendar("UTC", OFFICE)])
def test_a_negative_duration_is_refused_and_zero_adds_nothing(
    clock: CalendarTime | BusinessCalendar,
) -> None:
    with pytest.raises(ValueError, match="a duration to add cannot be negative"):
        clock.add(SUNDAY_EVENING, timedelta(microseconds=-1))
    assert clock.add(SUNDAY_EVENING, timedelta(0)) == SUNDAY_EVENING


def test_a_goal_with_a_negative_remainder_is_refused() -> None:
    calendar = BusinessCalendar("UTC", OFFICE)
    with pytest.raises(ValueError, match="cannot be negative"):
        calendar.goal_deadline(SUNDAY_EVENING, 1, timedelta(microseconds=-1), None)


@pytest.mark.parametrize(
    "clock",
    [CalendarTime("America/New_York"), BusinessCalendar("America/New_York", OFFICE)],
)
def test_zero_business_days_from_an_ambiguous_wall_time_is_that_very_instant(
    clock: CalendarTime | BusinessCalendar,
) -> None:
    # Resolving the wall time 01:30 again would give its first occurrence, an hour earlier.
    assert clock.working_days_after(SECOND_0130, 0) == SECOND_0130


def closed_for(days: int) -> BusinessCalendar:
    """Open every day 09:00-17:00 UTC, except `days` holidays from Monday 5 January 2026."""
    first = date(2026, 1, 5)
    return BusinessCalendar(
        "UTC", OFFICE, holidays=[first + timedelta(days=n) for n in range(days)]
    )


def test_a_closure_of_three_years_is_bridged() -> None:
    calendar = closed_for(MAX_IDLE_DAYS)
    reopens = datetime(2029, 1, 7, 9, tzinfo=UTC)  # the first date after the closure
    assert calendar.next_counting(SUNDAY_EVENING) == reopens
    assert calendar.working_days_after(SUNDAY_EVENING, 1) == reopens + timedelta(hours=9)
    assert calendar.add(SUNDAY_EVENING, timedelta(hours=1)) == reopens + timedelta(hours=1)
    span = list(calendar.periods(SUNDAY_EVENING, reopens + timedelta(hours=2)))
    assert span == [(reopens, reopens + timedelta(hours=2))]


def test_a_closure_of_more_than_three_years_is_refused_with_a_reason() -> None:
    calendar = closed_for(MAX_IDLE_DAYS + 1)
    reason = f"the calendar in UTC has no working time in the {MAX_IDLE_DAYS} days after"
    with pytest.raises(ValueError, match=reason):
        calendar.next_counting(SUNDAY_EVENING)
    with pytest.raises(ValueError, match=reason):
        calendar.working_days_after(SUNDAY_EVENING, 1)
    with pytest.raises(ValueError, match=reason):
        list(calendar.periods(SUNDAY_EVENING, SUNDAY_EVENING + timedelta(days=MAX_IDLE_DAYS + 9)))
    with pytest.raises(ValueError, match=reason):
        closed_for(MAX_IDLE_DAYS + 3).add(SUNDAY_EVENING, timedelta(hours=1))


def test_a_deadline_on_the_last_date_within_the_bound_is_computed_and_a_later_one_refused() -> None:
    # One minute on Mondays. From a Tuesday, the Mondays are 6, 13, ... days later; the 523rd
    # is exactly MAX_ADD_DAYS (3660 = 6 + 522 * 7) dates later.
    calendar = BusinessCalendar("UTC", {0: [(time(9), time(9, 1))]})
    tuesday = datetime(2026, 1, 6, 10, tzinfo=UTC)
    last = calendar.add(tuesday, timedelta(minutes=523))
    assert last == datetime(2026, 1, 6, 9, 1, tzinfo=UTC) + timedelta(days=MAX_ADD_DAYS)
    with pytest.raises(DeadlineTooFarError, match="less than 8:44:00 of working time"):
        calendar.add(tuesday, timedelta(minutes=524))


def test_periods_before_a_long_closure_end_where_asked() -> None:
    calendar = closed_for(MAX_IDLE_DAYS + 10)
    friday = datetime(2026, 1, 2, 9, tzinfo=UTC)
    assert list(calendar.periods(friday, SUNDAY_EVENING)) == [
        (friday + timedelta(days=n), friday + timedelta(days=n, hours=8)) for n in range(3)
    ]


def test_a_period_list_ending_where_a_range_starts_leaves_that_range_out() -> None:
    lunch = BusinessCalendar("UTC", {0: [(time(9), time(12)), (time(13), time(17))]})
    monday = datetime(2026, 1, 5, tzinfo=UTC)
    assert list(lunch.periods(monday + timedelta(hours=9), monday + timedelta(hours=13))) == [
        (monday + timedelta(hours=9), monday + timedelta(hours=12))
    ]


@pytest.mark.parametrize("clock", [CalendarTime("UTC"), BusinessCalendar("UTC", OFFICE)])
def test_by_the_end_of_a_business_day_is_the_midnight_that_ends_it(
    clock: CalendarTime | BusinessCalendar,
) -> None:
    assert clock.working_days_after(SUNDAY_EVENING, 1, end_of_day=True) == datetime(
        2026, 1, 6, tzinfo=UTC
    )
    assert clock.working_days_after(SUNDAY_EVENING, 0, end_of_day=True) == datetime(
        2026, 1, 5, tzinfo=UTC
    )


def test_a_deadline_weeks_away_counts_every_working_day_on_the_way() -> None:
    weekdays = BusinessCalendar("UTC", {day: [(time(9), time(17))] for day in range(5)})
    monday = datetime(2026, 1, 5, 9, tzinfo=UTC)
    # 40 hours a week: 200 hours end on the fifth Friday at closing time.
    assert weekdays.add(monday, timedelta(hours=200)) == datetime(2026, 2, 6, 17, tzinfo=UTC)
    assert weekdays.add(monday, timedelta(hours=203)) == datetime(2026, 2, 9, 12, tzinfo=UTC)
    assert weekdays.goal_deadline(monday, 25, timedelta(hours=3), 0.5) == (
        datetime(2026, 2, 9, 12, tzinfo=UTC),
        datetime(2026, 1, 21, 14, 30, tzinfo=UTC),  # half of 203 hours: 2 weeks and 21h30
    )


def test_business_days_on_a_calendar_closed_for_years_are_refused_with_a_reason() -> None:
    calendar = closed_for(MAX_IDLE_DAYS + 1)
    with pytest.raises(ValueError, match=f"no working time in the {MAX_IDLE_DAYS} days after"):
        calendar.goal_deadline(SUNDAY_EVENING, 1, timedelta(hours=1), None)


def test_three_weeks_of_working_time_are_measured_to_the_hour() -> None:
    calendar = BusinessCalendar("UTC", OFFICE)
    monday = datetime(2026, 1, 5, 9, tzinfo=UTC)
    # 22 whole days of 8 hours, then 09:00-12:00 on the 23rd.
    assert calendar.elapsed(monday, datetime(2026, 1, 27, 12, tzinfo=UTC)) == timedelta(hours=179)
    assert calendar.elapsed(monday, datetime(2026, 1, 26, 12, tzinfo=UTC)) == timedelta(hours=171)


def test_from_inside_a_three_year_closure_the_reopening_is_found() -> None:
    calendar = closed_for(MAX_IDLE_DAYS)  # from Monday 5 January 2026, the day before
    inside = datetime(2026, 1, 6, 12, tzinfo=UTC)
    assert calendar.next_counting(inside) == datetime(2029, 1, 7, 9, tzinfo=UTC)
    assert calendar.elapsed(inside, inside + timedelta(days=10)) == timedelta(0)


def test_business_days_resume_after_a_three_year_closure() -> None:
    first = date(2026, 1, 6)  # the closure starts after one business day, Monday 5th
    calendar = BusinessCalendar(
        "UTC", OFFICE, holidays=[first + timedelta(days=n) for n in range(MAX_IDLE_DAYS)]
    )
    assert calendar.working_days_after(SUNDAY_EVENING, 2) == datetime(2029, 1, 8, 18, tzinfo=UTC)


def test_a_calendar_names_its_zone_and_holidays() -> None:
    assert repr(CalendarTime("Europe/Berlin")) == "CalendarTime('Europe/Berlin')"
    calendar = BusinessCalendar(
        "Europe/Berlin", OFFICE, holiday_country="DE", holiday_subdivision="BY"
    )
    assert repr(calendar) == (
        "BusinessCalendar('Europe/Berlin', holiday_country='DE', holiday_subdivision='BY')"
    )


def test_the_end_of_a_range_is_not_working_time() -> None:
    weekdays = BusinessCalendar("UTC", {day: [(time(9), time(17))] for day in range(5)})
    closing = datetime(2026, 1, 5, 17, tzinfo=UTC)
    assert not weekdays.is_counting(closing)
    assert weekdays.next_counting(closing) == datetime(2026, 1, 6, 9, tzinfo=UTC)


def test_touching_ranges_are_one_period_also_across_midnight() -> None:
    calendar = BusinessCalendar(
        "UTC",
        {
            0: [(time(9), time(12)), (time(12), time(17)), (time(22), time(0))],
            1: [(time(0), time(6))],
        },
    )
    monday = datetime(2026, 1, 5, tzinfo=UTC)
    assert list(calendar.periods(monday, monday + timedelta(days=2))) == [
        (monday + timedelta(hours=9), monday + timedelta(hours=17)),
        (monday + timedelta(hours=22), monday + timedelta(hours=30)),
    ]


def test_working_time_up_to_a_long_closure_is_measured_across_it() -> None:
    closure = [date(2026, 1, 8) + timedelta(days=n) for n in range(24)]
    calendar = BusinessCalendar("UTC", OFFICE, holidays=closure)  # open Jan 5, 6, 7 only
    monday = datetime(2026, 1, 5, 9, tzinfo=UTC)
    assert calendar.elapsed(monday, datetime(2026, 1, 20, 12, tzinfo=UTC)) == timedelta(hours=24)


def test_a_malformed_calendar_is_refused_with_what_is_wrong() -> None:
    with pytest.raises(ValueError) as zoned:
        BusinessCalendar("UTC", {0: [(time(9, tzinfo=UTC), time(17))]})
    assert str(zoned.value).endswith(
        "has a time zone; ranges are local wall times in the calendar's zone"
    )
    with pytest.raises(ValueError) as empty:
        BusinessCalendar("UTC", {0: []})
    assert str(empty.value) == "a business calendar needs at least one working range in the week"
    with pytest.raises(ValueError) as subdivision:
        BusinessCalendar("UTC", OFFICE, holiday_subdivision="BY")
    assert str(subdivision.value) == "a holiday subdivision needs a holiday country"
