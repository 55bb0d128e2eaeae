"""The calendar's fast paths (cached windows of ranges, steady dates) agree with the reference
walks over the days, over random calendars, instants and durations (DST nights included)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from hypothesis import given
from hypothesis import strategies as st

from app.sla.calendar import BusinessCalendar
from app.sla.wall_clock import to_micros
from tests.app.sla.test_calendar_properties import (
    business_calendars,
    durations,
    examples,
    gaps,
    instants,
)


@examples
@given(business_calendars(), instants, durations)
def test_add_agrees_with_the_walk(
    calendar: BusinessCalendar, start: datetime, duration: timedelta
) -> None:
    micros, amount = to_micros(start), duration // timedelta(microseconds=1)
    if amount == 0:
        return
    walked = calendar._add_by_walking(micros, amount)
    fast = calendar._add_in_window(micros, amount)
    assert fast is None or fast == walked
    assert to_micros(calendar.add(start, duration)) == walked


@examples
@given(business_calendars(), instants, gaps)
def test_elapsed_agrees_with_the_walk(
    calendar: BusinessCalendar, start: datetime, gap: timedelta
) -> None:
    a, b = to_micros(start), to_micros(start + gap)
    if b <= a:
        return
    walked = calendar._elapsed_by_walking(a, b)
    fast = calendar._elapsed_in_window(a, b)
    assert fast is None or fast == walked
    assert calendar.elapsed(start, start + gap) == timedelta(microseconds=walked)


@examples
@given(business_calendars(), instants, st.integers(0, 25), st.booleans())
def test_business_days_agree_with_the_walk(
    calendar: BusinessCalendar, start: datetime, days: int, end_of_day: bool
) -> None:
    assert calendar.working_days_after(
        start, days, end_of_day=end_of_day
    ) == calendar._working_days_after_by_walking(start, days, end_of_day=end_of_day)
    # Asked again (now from the cache of target dates), the answer is the same.
    assert calendar.working_days_after(
        start, days, end_of_day=end_of_day
    ) == calendar._working_days_after_by_walking(start, days, end_of_day=end_of_day)


def test_the_fast_paths_are_taken_for_an_office_calendar() -> None:
    """Guards the speed-up itself: a 4-hour goal and a 10-day span stay inside a window."""
    hours = [(time(9), time(12)), (time(13), time(18))]
    calendar = BusinessCalendar("America/New_York", dict.fromkeys(range(5), hours))
    start = to_micros(datetime.fromisoformat("2026-03-06T21:55:00+00:00"))  # Fri 16:55
    assert calendar._add_in_window(start, 4 * 3_600_000_000) == to_micros(
        datetime.fromisoformat("2026-03-09T15:55:00+00:00")  # Mon 11:55 EDT (after DST)
    )
    end = start + 10 * 86_400_000_000
    assert calendar._elapsed_in_window(start, end) == calendar._elapsed_by_walking(start, end)
    assert calendar._compute_steady(date(2026, 3, 9).toordinal())
    assert not calendar._compute_steady(date(2026, 3, 8).toordinal())  # 23 hours long


@examples
@given(
    business_calendars(),
    instants,
    st.integers(0, 12),
    st.integers(0, 10 * 3600).map(lambda seconds: timedelta(seconds=seconds)),
    st.one_of(st.none(), st.floats(0.05, 0.95)),
)
def test_a_goal_deadline_is_what_the_clock_methods_give(
    calendar: BusinessCalendar,
    start: datetime,
    days: int,
    remainder: timedelta,
    share: float | None,
) -> None:
    due = calendar.working_days_after(start, days) if days else start
    due = calendar.add(due, remainder)
    warning = None
    if share:
        span = calendar.elapsed(start, due) if days else remainder
        warning = calendar.add(start, span * share)
    assert calendar.goal_deadline(start, days, remainder, share) == (due, warning)
