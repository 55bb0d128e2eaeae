"""The calendar's fast paths (cached windows of ranges, steady dates) agree with the reference
walks over the days, over random calendars, instants and durations (DST nights included)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from app.sla.calendar import BusinessCalendar, DeadlineTooFarError
from app.sla.wall_clock import to_micros
from tests.app.sla.test_calendar_properties import (
    business_calendars,
    durations,
    gaps,
    instants,
)

UTC_AT = datetime.fromisoformat


@given(business_calendars(), instants, durations)
def test_add_agrees_with_the_walk(
    calendar: BusinessCalendar, start: datetime, duration: timedelta
) -> None:
    micros, amount = to_micros(start), duration // timedelta(microseconds=1)
    if amount == 0:
        return
    try:
        walked = calendar._add_by_walking(micros, amount)
    except DeadlineTooFarError:
        with pytest.raises(DeadlineTooFarError):
            calendar.add(start, duration)
        return
    fast = calendar._add_in_window(micros, amount)
    assert fast is None or fast == walked
    assert to_micros(calendar.add(start, duration)) == walked


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


@example(
    calendar=BusinessCalendar("UTC", {day: [(time(9), time(17))] for day in range(5)}),
    start=datetime(2026, 1, 9, 15, tzinfo=UTC),
    days=1,
    end_of_day=False,
)
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


OFFICE_HOURS = [(time(9), time(12)), (time(13), time(18))]


def test_an_office_calendar_across_the_spring_change_gives_hand_computed_answers() -> None:
    calendar = BusinessCalendar("America/New_York", dict.fromkeys(range(5), OFFICE_HOURS))
    friday_1655 = UTC_AT("2026-03-06T21:55:00+00:00")  # EST
    # 1h05 on Friday, then Monday 09:00-11:55 EDT: the clocks went forward on Sunday.
    assert calendar.add(friday_1655, timedelta(hours=4)) == UTC_AT("2026-03-09T15:55:00+00:00")
    # 1h05 on Friday, 5 x 8h, then Monday 16th 09:00-12:00 and 13:00-17:55 EDT.
    assert calendar.elapsed(friday_1655, friday_1655 + timedelta(days=10)) == timedelta(hours=49)


def test_business_days_on_a_23_hour_date_keep_the_local_wall_time() -> None:
    calendar = BusinessCalendar("America/New_York", dict.fromkeys(range(7), OFFICE_HOURS))
    # Sunday 8 March 2026 lasts 23 hours; the wall time is kept, not the UTC distance.
    saturday_noon = UTC_AT("2026-03-07T17:00:00+00:00")  # 12:00 EST
    assert calendar.working_days_after(saturday_noon, 1) == UTC_AT("2026-03-08T16:00:00+00:00")
    assert calendar.working_days_after(saturday_noon, 2) == UTC_AT("2026-03-09T16:00:00+00:00")
    # 02:30 does not exist on that Sunday: the answer is the instant the clock jumps (03:00 EDT).
    saturday_0230 = UTC_AT("2026-03-07T07:30:00+00:00")
    assert calendar.working_days_after(saturday_0230, 1) == UTC_AT("2026-03-08T07:00:00+00:00")
    # Monday is a plain 24-hour date again.
    assert calendar.working_days_after(saturday_0230, 2) == UTC_AT("2026-03-09T06:30:00+00:00")


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
    try:
        due = calendar.add(due, remainder)
    except DeadlineTooFarError:
        with pytest.raises(DeadlineTooFarError):
            calendar.goal_deadline(start, days, remainder, share)
        return
    warning = None
    if share:
        span = calendar.elapsed(start, due) if days else remainder
        warning = calendar.add(start, span * share)
    assert calendar.goal_deadline(start, days, remainder, share) == (due, warning)
