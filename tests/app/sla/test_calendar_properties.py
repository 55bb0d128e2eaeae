"""Properties of business-time arithmetic, over random calendars, instants and durations.

Instants are drawn both anywhere in 2024-2027 and close to the DST changes of the zones used,
so every property is exercised across spring-forward and fall-back nights.
"""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from app.sla.calendar import (
    MAX_ADD_DAYS,
    BusinessCalendar,
    Calendar,
    CalendarTime,
    DeadlineTooFarError,
)

ZONES = ["America/New_York", "Europe/Berlin", "Australia/Lord_Howe", "Asia/Kolkata", "UTC"]
# Spring and fall changes of 2025/2026 for the zones above (local dates, close enough to aim at).
DST_DAYS = [
    datetime(2025, 3, 9, tzinfo=UTC),
    datetime(2025, 11, 2, tzinfo=UTC),
    datetime(2026, 3, 8, tzinfo=UTC),
    datetime(2026, 11, 1, tzinfo=UTC),
    datetime(2025, 3, 30, tzinfo=UTC),
    datetime(2025, 10, 26, tzinfo=UTC),
    datetime(2026, 3, 29, tzinfo=UTC),
    datetime(2026, 10, 25, tzinfo=UTC),
    datetime(2025, 4, 6, tzinfo=UTC),
    datetime(2025, 10, 5, tzinfo=UTC),
]
ONE_US = timedelta(microseconds=1)

# Wall times on a 15-minute grid, plus times right at and around 02:00-03:00 where DST
# changes happen, plus arbitrary ones.
wall_times = st.one_of(
    st.builds(time, st.integers(0, 23), st.sampled_from([0, 15, 30, 45])),
    st.builds(time, st.integers(1, 3), st.integers(0, 59)),
    st.times(),
)
ranges_of_a_day = st.lists(st.tuples(wall_times, wall_times), min_size=0, max_size=3)


@st.composite
def business_calendars(draw: st.DrawFn) -> BusinessCalendar:
    weekly = {day: draw(ranges_of_a_day) for day in range(7)}
    assume(any(weekly.values()))
    explicit = draw(st.lists(st.dates(date(2024, 1, 1), date(2027, 12, 31)), max_size=30))
    country = draw(st.sampled_from([None, "US", "DE"]))
    return BusinessCalendar(
        draw(st.sampled_from(ZONES)), weekly, holidays=explicit, holiday_country=country
    )


any_calendars: st.SearchStrategy[Calendar] = st.one_of(
    business_calendars(), st.builds(CalendarTime, st.sampled_from(ZONES))
)
anywhere = st.datetimes(datetime(2024, 1, 1), datetime(2027, 12, 31), timezones=st.just(UTC))
near_dst = st.builds(
    lambda day, offset: day + timedelta(microseconds=offset),
    st.sampled_from(DST_DAYS),
    st.integers(-3 * 86_400_000_000, 3 * 86_400_000_000),
)
instants = st.one_of(anywhere, near_dst)
# Gaps between instants of one example: up to 40 days keeps a walk over the days cheap.
gaps = st.integers(0, 40 * 86_400_000_000).map(lambda us: timedelta(microseconds=us))
durations = st.one_of(
    st.integers(0, 40 * 60).map(lambda minutes: timedelta(minutes=minutes)),
    st.integers(0, 20 * 86_400_000_000).map(lambda us: timedelta(microseconds=us)),
)

# Open one microsecond on Mondays and Fridays: a minute of working time is about 575,000
# years away. Found by the property below (it used to walk to the year 10000).
MICROSECOND_WINDOWS = BusinessCalendar(
    "America/New_York",
    {day: [(time(4), time(4, 0, 0, 1))] for day in (0, 4)},
)
EARLY_2025 = datetime(2025, 1, 6, 3, tzinfo=UTC)


def _add_unless_too_far(
    calendar: Calendar, start: datetime, duration: timedelta
) -> datetime | None:
    """`calendar.add`, or None when it refuses a deadline too far away, which it may only do
    when the calendar truly has less than `duration` of working time within the bound."""
    try:
        return calendar.add(start, duration)
    except DeadlineTooFarError:
        assert calendar.elapsed(start, start + timedelta(days=MAX_ADD_DAYS - 1)) < duration
        return None


@pytest.mark.timeout(30)
def test_a_deadline_centuries_away_is_refused_quickly_with_a_reason() -> None:
    with pytest.raises(DeadlineTooFarError) as refused:
        MICROSECOND_WINDOWS.add(EARLY_2025, timedelta(minutes=1))
    assert str(refused.value) == (
        "the calendar in America/New_York has less than 0:01:00 of working time in the "
        "3660 days after 2025-01-06T03:00:00+00:00: its working hours are too short for this goal"
    )


def test_a_deadline_years_away_within_the_bound_is_still_computed() -> None:
    # Two microseconds a week; 100 of them take 50 weeks.
    due = MICROSECOND_WINDOWS.add(EARLY_2025, timedelta(microseconds=100))
    assert due == datetime(2025, 12, 19, 9, 0, 0, 1, tzinfo=UTC)
    assert MICROSECOND_WINDOWS.elapsed(EARLY_2025, due) == timedelta(microseconds=100)


@example(calendar=MICROSECOND_WINDOWS, start=EARLY_2025, duration=timedelta(minutes=1))
@given(any_calendars, instants, durations)
def test_measuring_an_added_duration_back_gives_the_duration(
    calendar: Calendar, start: datetime, duration: timedelta
) -> None:
    due = _add_unless_too_far(calendar, start, duration)
    if due is not None:
        assert calendar.elapsed(start, due) == duration


@given(any_calendars, instants, durations)
def test_a_deadline_is_the_earliest_instant_and_lands_in_working_time(
    calendar: Calendar, start: datetime, duration: timedelta
) -> None:
    due = _add_unless_too_far(calendar, start, duration)
    if due is None:
        return
    assert due.tzinfo == UTC
    assert due >= start
    if duration == timedelta(0):
        assert due == start
        return
    # The microsecond before the deadline is worked: it is inside a range or at its very end.
    assert calendar.is_counting(due - ONE_US)
    assert calendar.elapsed(start, due - ONE_US) < duration


@given(any_calendars, instants, gaps, gaps)
def test_elapsed_is_additive(
    calendar: Calendar, a: datetime, gap1: timedelta, gap2: timedelta
) -> None:
    b = a + gap1
    c = b + gap2
    assert calendar.elapsed(a, b) + calendar.elapsed(b, c) == calendar.elapsed(a, c)


@given(any_calendars, instants, gaps)
def test_elapsed_never_exceeds_real_time_and_is_zero_backwards(
    calendar: Calendar, a: datetime, gap: timedelta
) -> None:
    b = a + gap
    assert timedelta(0) <= calendar.elapsed(a, b) <= b - a
    assert calendar.elapsed(b, a) == timedelta(0)


@given(business_calendars(), instants, gaps)
def test_working_periods_add_up_to_the_elapsed_time(
    calendar: BusinessCalendar, a: datetime, gap: timedelta
) -> None:
    periods = list(calendar.periods(a, a + gap))
    assert sum((end - start for start, end in periods), timedelta(0)) == calendar.elapsed(
        a, a + gap
    )
    for (_, end), (start, _) in itertools.pairwise(periods):
        assert end < start  # disjoint, ordered, and merged where they touch
    for start, end in periods:
        assert a <= start < end <= a + gap
        assert calendar.is_counting(start) and calendar.is_counting(end - ONE_US)


@given(any_calendars, instants, durations, durations)
def test_add_is_monotonic(
    calendar: Calendar, start: datetime, d1: timedelta, d2: timedelta
) -> None:
    d1, d2 = sorted([d1, d2])
    late = _add_unless_too_far(calendar, start, d2)
    assume(late is not None)
    early = calendar.add(start, d1)
    assert early <= late
    # Adding in two steps lands where adding at once does.
    assert calendar.add(early, d2 - d1) == late


@given(any_calendars, instants)
def test_next_counting_is_the_first_worked_instant(calendar: Calendar, at: datetime) -> None:
    following = calendar.next_counting(at)
    assert following >= at
    assert calendar.is_counting(following)
    assert calendar.elapsed(at, following) == timedelta(0)
    assert (following == at) == calendar.is_counting(at)


@given(any_calendars, instants)
def test_is_counting_agrees_with_elapsed(calendar: Calendar, at: datetime) -> None:
    counted = calendar.elapsed(at, at + ONE_US)
    assert calendar.is_counting(at) == (counted == ONE_US)


@given(any_calendars, instants, st.integers(0, 15), st.booleans())
def test_business_days_move_forward(
    calendar: Calendar, start: datetime, days: int, end_of_day: bool
) -> None:
    result = calendar.working_days_after(start, days, end_of_day=end_of_day)
    assert result.tzinfo == UTC
    assert result >= start
    assert calendar.working_days_after(start, days + 1, end_of_day=end_of_day) > result


@given(business_calendars(), instants, st.integers(1, 15))
def test_business_days_end_after_exactly_that_many_business_days(
    calendar: BusinessCalendar, start: datetime, days: int
) -> None:
    end = calendar.working_days_after(start, days, end_of_day=True)
    first = start.astimezone(calendar.zone).date() + timedelta(days=1)
    last = (end - ONE_US).astimezone(calendar.zone).date()
    assert calendar.is_business_day(last)
    counted = sum(
        calendar.is_business_day(first + timedelta(days=n)) for n in range((last - first).days + 1)
    )
    assert counted == days


def _wall_clock_oracle(calendar: BusinessCalendar, at: datetime) -> bool:
    """Is `at` worked, judged from the local wall calendar alone (valid away from DST changes)."""
    local = at.astimezone(calendar.zone)
    today, now = local.date(), local.time().replace(tzinfo=None)
    yesterday = today - timedelta(days=1)
    for start, end in calendar.weekly[today.weekday()]:
        if calendar.is_holiday(today):
            break
        if (start <= now < end) if end > start else now >= start:
            return True
    if calendar.is_holiday(yesterday):
        return False
    return any(end <= start and now < end for start, end in calendar.weekly[yesterday.weekday()])


@given(business_calendars(), instants)
def test_working_time_matches_the_local_wall_clock(
    calendar: BusinessCalendar, at: datetime
) -> None:
    zone: ZoneInfo = calendar.zone
    offsets = {(at + timedelta(hours=h)).astimezone(zone).utcoffset() for h in range(-26, 27)}
    assume(len(offsets) == 1)  # no DST change nearby: the wall calendar alone decides
    assert calendar.is_counting(at) == _wall_clock_oracle(calendar, at)
