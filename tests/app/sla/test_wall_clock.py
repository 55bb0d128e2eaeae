"""Local wall times to exact UTC instants: integer microseconds, the first occurrence of an
ambiguous time, and the exact instant the clocks jump over a nonexistent one."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

import pytest

from app.sla.calendar import BusinessCalendar, CalendarTime
from app.sla.wall_clock import from_micros, resolve_wall_time, to_micros

NEW_YORK = ZoneInfo("America/New_York")
LORD_HOWE = ZoneInfo("Australia/Lord_Howe")  # moves by 30 minutes
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


class NoOffset(tzinfo):
    def utcoffset(self, dt: datetime | None) -> timedelta | None:
        return None


def test_a_datetime_whose_zone_gives_no_offset_is_refused_like_a_naive_one() -> None:
    for unaware in (datetime(2026, 1, 1), datetime(2026, 1, 1, tzinfo=NoOffset())):
        with pytest.raises(ValueError, match="has no time zone"):
            CalendarTime().elapsed(EPOCH, unaware)


def test_centuries_are_measured_and_added_to_the_microsecond() -> None:
    # Past 2**53 microseconds (year 2255) a float would drop the last microsecond.
    far = datetime(2300, 1, 1, 0, 0, 0, 1, tzinfo=UTC)
    clock = CalendarTime()
    assert clock.elapsed(EPOCH, far) == far - EPOCH
    span = timedelta(days=120_000, microseconds=1)
    assert clock.add(EPOCH, span) - EPOCH == span
    assert from_micros(to_micros(far)) == far


@pytest.mark.parametrize(
    ("zone", "day", "wall", "jump"),
    [
        # New York jumps from 02:00 EST to 03:00 EDT, at 07:00 UTC.
        (NEW_YORK, date(2026, 3, 8), time(2, 0), "2026-03-08T07:00:00+00:00"),
        (NEW_YORK, date(2026, 3, 8), time(2, 30), "2026-03-08T07:00:00+00:00"),
        (NEW_YORK, date(2026, 3, 8), time(2, 59, 59, 999_999), "2026-03-08T07:00:00+00:00"),
        # Lord Howe jumps from 02:00 +10:30 to 02:30 +11:00, at 15:30 UTC the day before.
        (LORD_HOWE, date(2026, 10, 4), time(2, 15), "2026-10-03T15:30:00+00:00"),
        (LORD_HOWE, date(2026, 10, 4), time(2, 0, 0, 1), "2026-10-03T15:30:00+00:00"),
    ],
)
def test_a_nonexistent_wall_time_is_the_exact_instant_of_the_jump(
    zone: ZoneInfo, day: date, wall: time, jump: str
) -> None:
    assert resolve_wall_time(day, wall, zone) == to_micros(utc(jump))


def test_working_hours_starting_in_the_skipped_hour_start_exactly_at_the_jump() -> None:
    calendar = BusinessCalendar("America/New_York", {6: [(time(2, 30), time(9))]})
    sunday = utc("2026-03-08T05:00:00+00:00")  # midnight EST
    assert calendar.next_counting(sunday) == utc("2026-03-08T07:00:00+00:00")
    assert not calendar.is_counting(utc("2026-03-08T06:59:59.999999+00:00"))
    # 03:00 to 09:00 EDT: six hours, to the microsecond.
    assert calendar.elapsed(sunday, sunday + timedelta(days=1)) == timedelta(hours=6)


@pytest.mark.parametrize("fold", [0, 1])
def test_an_ambiguous_wall_time_is_its_first_occurrence(fold: int) -> None:
    # 01:30 happens twice on 1 November 2026: first at EDT (05:30 UTC), then at EST.
    resolved = resolve_wall_time(date(2026, 11, 1), time(1, 30, fold=fold), NEW_YORK)
    assert resolved == to_micros(utc("2026-11-01T05:30:00+00:00"))


def test_a_wall_time_carrying_a_zone_is_still_read_on_the_local_clock() -> None:
    day = date(2026, 6, 1)
    assert resolve_wall_time(day, time(9, tzinfo=UTC), NEW_YORK) == to_micros(
        utc("2026-06-01T13:00:00+00:00")
    )


def test_business_days_from_the_second_pass_of_an_ambiguous_hour_keep_the_wall_time() -> None:
    clock = CalendarTime("America/New_York")
    second_0130 = utc("2026-11-01T06:30:00+00:00")  # 01:30 EST, after the clocks went back
    assert clock.working_days_after(second_0130, 1) == utc("2026-11-02T06:30:00+00:00")
    # Back to the same ambiguous date: its first 01:30 (EDT).
    assert clock.working_days_after(utc("2026-10-31T05:30:00+00:00"), 1) == utc(
        "2026-11-01T05:30:00+00:00"
    )
