"""Business calendars: which instants count toward an SLA goal, and time arithmetic over them.

What counts (the definitions every caller and test relies on):

- Working time is a set of UTC instants. Each local date contributes its weekday's ranges;
  a range `start`-`end` covers the REAL time between the instants the local clock first
  reads `start` and `end` (see `app.sla.wall_clock` for ambiguous and nonexistent times).
  So 09:00-17:00 is 8 real hours every day, and 22:00-06:00 is 7 or 9 real hours on the
  night the clocks change.
- A range whose end is at or before its start crosses midnight into the next day
  (22:00-06:00; 00:00-00:00 is a whole day). Overlapping or touching ranges merge.
- A holiday removes the ranges that START on that local date, including the part of an
  overnight range that runs into the next day. A range that started the evening before the
  holiday and runs into it still counts: it belongs to the day it started on.
- A business day is a local date that has working time after holidays are applied.

Arithmetic:
- `elapsed(a, b)` is the working time inside [a, b); 0 when b <= a.
- `add(a, d)` is the EARLIEST instant r >= a with elapsed(a, r) == d. So add(a, 0) == a, and
  for d > 0 the microsecond just before r is working time: r lies inside a working range or
  at its exact end (a 17:00 deadline, never the next morning's 09:00). A deadline more
  than MAX_ADD_DAYS dates after the start raises DeadlineTooFarError (a ValueError).
All datetimes in must be aware (naive ones raise ValueError); all datetimes out are UTC.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import NamedTuple, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays as holidays_package

from app.sla.wall_clock import (
    duration_micros,
    from_micros,
    resolve_wall_time,
    to_micros,
)

WeeklyHours = Mapping[int, Sequence[tuple[time, time]]]
Interval = tuple[int, int]  # [start, end) in microseconds since the epoch

# A calendar with no working time for this long is broken (e.g. every date listed as a
# holiday); searching further would only hang the caller.
MAX_IDLE_DAYS = 3 * 366
# `add` looks for a deadline at most this many local dates after the start's date. A calendar
# can have working time every week and still need centuries to make up a goal (a range of a few
# microseconds, or one minute a week against a goal of hundreds of hours); such a deadline is a
# misconfiguration to report, not a date to compute (it would walk past the year 9999).
MAX_ADD_DAYS = 10 * 366
_DAY_CACHE_SIZE = 16_384
_MICROS_PER_DAY = 86_400_000_000
# Spans shorter than this are measured by one walk over the merged ranges; longer ones add up
# cached per-date totals. `add` walks this many dates before it skips whole dates.
_WALK_SPAN = 2 * _MICROS_PER_DAY
_FIRST_WALK_DAYS = 3
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
# A window holds the merged working ranges of the dates around a start (the date before, for
# overnight ranges, through this many dates after), so most `add` and `elapsed` calls are two
# binary searches instead of a walk (see `_Window`).
_WINDOW_DAYS = 21
_WINDOW_CACHE_SIZE = 4_096
_TARGET_CACHE_SIZE = 65_536
# A date counts as steady (one UTC offset all day) when its offset reads the same at every
# sample this far apart and the date lasts 24 hours; then a wall time on it is its midnight
# plus the time of day. Zones change offset at most a few times a year, never twice in an hour.
_STEADY_SAMPLE = 900_000_000


class DeadlineTooFarError(ValueError):
    """`add` would end more than MAX_ADD_DAYS dates after its start: the calendar has too
    little working time for the duration asked."""

    def __init__(self, time_zone: str, start: datetime, duration: timedelta) -> None:
        self.time_zone, self.start, self.duration = time_zone, start, duration
        super().__init__(
            f"the calendar in {time_zone} has less than {duration} of working time in the "
            f"{MAX_ADD_DAYS} days after {start.isoformat()}: its working hours are too short "
            "for this goal"
        )


class Calendar(Protocol):
    """What the SLA engine needs from any calendar."""

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The earliest instant at which `duration` of counted time has passed after `start`;
        DeadlineTooFarError when that is more than MAX_ADD_DAYS dates away."""
        ...

    def elapsed(self, start: datetime, end: datetime) -> timedelta:
        """Counted time in [start, end); zero if end <= start."""
        ...

    def is_counting(self, at: datetime) -> bool: ...

    def next_counting(self, at: datetime) -> datetime:
        """`at` itself if it is counted, else the start of the next counted range."""
        ...

    def working_days_after(
        self, start: datetime, days: int, *, end_of_day: bool = False
    ) -> datetime:
        """The instant D business days after `start` (see BusinessCalendar for the rule)."""
        ...


def _check_aware(at: datetime) -> int:
    return to_micros(at)


def _check_duration(duration: timedelta) -> int:
    micros = duration_micros(duration)
    if micros < 0:
        raise ValueError(f"a duration to add cannot be negative (got {duration})")
    return micros


def _check_days(days: int) -> None:
    if days < 0:
        raise ValueError(f"a number of business days cannot be negative (got {days})")


def _load_zone(time_zone: str) -> ZoneInfo:
    try:
        return ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {time_zone!r} (expected an IANA name such as Europe/Berlin)"
        ) from None


class CalendarTime:
    """Every instant counts (24/7). `time_zone` only matters for `working_days_after`."""

    def __init__(self, time_zone: str = "UTC") -> None:
        self.time_zone = time_zone
        self.zone = _load_zone(time_zone)

    def __repr__(self) -> str:
        return f"CalendarTime({self.time_zone!r})"

    def add(self, start: datetime, duration: timedelta) -> datetime:
        return from_micros(_check_aware(start) + _check_duration(duration))

    def elapsed(self, start: datetime, end: datetime) -> timedelta:
        return timedelta(microseconds=max(0, _check_aware(end) - _check_aware(start)))

    def is_counting(self, at: datetime) -> bool:
        _check_aware(at)
        return True

    def next_counting(self, at: datetime) -> datetime:
        return from_micros(_check_aware(at))

    def working_days_after(
        self, start: datetime, days: int, *, end_of_day: bool = False
    ) -> datetime:
        """Every day is a business day: the same local wall time `days` days later (or the
        midnight ending that day when `end_of_day`)."""
        _check_days(days)
        start_micros = _check_aware(start)
        local = start.astimezone(self.zone)
        target = local.date() + timedelta(days=days)
        if end_of_day:
            return from_micros(resolve_wall_time(target, time(0), self.zone, next_day=True))
        if days == 0:
            return from_micros(start_micros)
        return from_micros(resolve_wall_time(target, local.time(), self.zone))


class _Day(NamedTuple):
    midnight: int  # the instant the local date begins
    intervals: tuple[Interval, ...]  # ranges starting on this date, sorted and merged


class _Window(NamedTuple):
    """The merged working ranges of the dates `first - 1` to `first + _WINDOW_DAYS`, with the
    working time before each, for instants on the date `first` or later.

    Ranges of earlier dates end before `first` begins, so they cannot change the working time
    between two instants from `first` on. Ranges of later dates start at or after `cover`, so
    the working time up to any instant at or before `cover` is exact; past it, callers walk.
    """

    starts: tuple[int, ...]
    ends: tuple[int, ...]
    before: tuple[int, ...]  # working time before each range, from the window's start
    through: tuple[int, ...]  # working time up to each range's end
    cover: int


class BusinessCalendar:
    """Weekly working hours in a time zone, minus holidays (see the module docstring)."""

    def __init__(
        self,
        time_zone: str,
        weekly: WeeklyHours,
        holidays: Iterable[date] = (),
        holiday_country: str | None = None,
        holiday_subdivision: str | None = None,
    ) -> None:
        self.time_zone = time_zone
        self.zone = _load_zone(time_zone)
        self.weekly = _check_weekly(weekly)
        self.explicit_holidays = _check_dates(holidays)
        self.holiday_country = holiday_country
        self.holiday_subdivision = holiday_subdivision
        self._country_holidays = _country_holidays(holiday_country, holiday_subdivision)
        # Per-instance cache (a method-level lru_cache would keep every calendar alive).
        self._day = lru_cache(maxsize=_DAY_CACHE_SIZE)(self._compute_day)
        self._owned = lru_cache(maxsize=_DAY_CACHE_SIZE)(self._compute_owned)
        self._window = lru_cache(maxsize=_WINDOW_CACHE_SIZE)(self._compute_window)
        self._steady = lru_cache(maxsize=_DAY_CACHE_SIZE)(self._compute_steady)
        self._targets: dict[tuple[int, int], int] = {}

    def __repr__(self) -> str:
        return (
            f"BusinessCalendar({self.time_zone!r}, holiday_country={self.holiday_country!r}, "
            f"holiday_subdivision={self.holiday_subdivision!r})"
        )

    # -- the Calendar interface ----------------------------------------------------------

    def add(self, start: datetime, duration: timedelta) -> datetime:
        return from_micros(self._add(_check_aware(start), _check_duration(duration)))

    def elapsed(self, start: datetime, end: datetime) -> timedelta:
        return timedelta(microseconds=self._elapsed(_check_aware(start), _check_aware(end)))

    def _add(self, start: int, amount: int) -> int:
        if amount == 0:
            return start
        due = self._add_in_window(start, amount)
        return due if due is not None else self._add_by_walking(start, amount)

    def _elapsed(self, start: int, end: int) -> int:
        if end <= start:
            return 0
        total = self._elapsed_in_window(start, end)
        return total if total is not None else self._elapsed_by_walking(start, end)

    def is_counting(self, at: datetime) -> bool:
        micros = _check_aware(at)
        today = self._date_of(micros)
        # Only today's ranges and yesterday's overnight ones can cover `at`.
        for day in (today - 1, today):
            for range_start, range_end in self._day(day).intervals:
                if range_start <= micros < range_end:
                    return True
        return False

    def next_counting(self, at: datetime) -> datetime:
        micros = _check_aware(at)
        # Day by day, not through `_merged`: ranges that meet day after day (00:00-24:00 every
        # day) merge into one that never ends, so `_merged` would never yield it. Ranges of an
        # earlier date start before those of a later one, so the first range found that ends
        # after `at` starts first.
        ordinal = self._date_of(micros) - 1  # yesterday's overnight ranges may cover `at`
        idle = 0
        while True:
            intervals = self._day(ordinal).intervals
            idle = 0 if intervals else self._note_idle_day(idle, micros)
            for range_start, range_end in intervals:
                if range_end > micros:
                    return from_micros(max(range_start, micros))
            ordinal += 1

    # -- more than the Calendar interface ---------------------------------------------------

    def working_days_after(
        self, start: datetime, days: int, *, end_of_day: bool = False
    ) -> datetime:
        """The instant `days` business days after `start`.

        Business days strictly after the local date of `start` are counted (the start's own
        date need not be one); the result is on the `days`-th of them, at the start's local
        wall time (resolved like a range boundary), so Friday 15:00 + 1 is Monday 15:00 and
        Saturday 11:00 + 1 is Monday 11:00. With `end_of_day`, the result is the local midnight
        that ENDS that business day instead ("by the end of business day D"). `days == 0` is
        `start` itself (or the midnight ending its date with `end_of_day`).
        """
        _check_days(days)
        start_micros = _check_aware(start)
        return from_micros(self._days_after(start, start_micros, days, end_of_day))

    def goal_deadline(
        self, start: datetime, days: int, remainder: timedelta, share: float | None
    ) -> tuple[datetime, datetime | None]:
        """The deadline of a goal of `days` business days plus `remainder` of working time
        from `start`, and the instant `share` of the way there in working time (None without
        a share): exactly what `working_days_after`, `add` and `elapsed` give, computed in
        one go (the engine asks this for every clock cycle)."""
        _check_days(days)
        start_micros = _check_aware(start)
        extra = _check_duration(remainder)
        if days:
            due = self._add(self._days_after(start, start_micros, days, False), extra)
        else:
            due = self._add(start_micros, extra)
        if not share:
            return from_micros(due), None
        span = self._elapsed(start_micros, due) if days else extra
        part = _check_duration(timedelta(microseconds=span) * share)
        return from_micros(due), from_micros(self._add(start_micros, part))

    def _days_after(self, start: datetime, start_micros: int, days: int, end_of_day: bool) -> int:
        local = start.astimezone(self.zone)
        target = self._business_date_after(local.toordinal(), days, start_micros)
        if end_of_day:
            return self._day(target + 1).midnight
        if days == 0:
            return start_micros
        if self._steady(target):
            wall = ((local.hour * 60 + local.minute) * 60 + local.second) * 1_000_000
            return self._day(target).midnight + wall + local.microsecond
        return resolve_wall_time(date.fromordinal(target), local.time(), self.zone)

    def periods(self, start: datetime, end: datetime) -> Iterator[tuple[datetime, datetime]]:
        """The working ranges inside [start, end), clipped to it, in order, in UTC."""
        start_micros, end_micros = _check_aware(start), _check_aware(end)
        if end_micros <= start_micros:
            return
        for range_start, range_end in self._merged(start_micros, until=end_micros):
            if range_start >= end_micros:
                return
            yield (
                from_micros(max(range_start, start_micros)),
                from_micros(min(range_end, end_micros)),
            )

    def is_holiday(self, day: date) -> bool:
        if day in self.explicit_holidays:
            return True
        return self._country_holidays is not None and day in self._country_holidays

    def is_business_day(self, day: date) -> bool:
        return bool(self._day(day.toordinal()).intervals)

    # -- internals -------------------------------------------------------------------------

    # -- the fast paths: cached windows of ranges, searched ------------------------------

    def _add_in_window(self, start: int, amount: int) -> int | None:
        """`add` by two binary searches in the window of the start's date; None when the
        result lies beyond the window."""
        window = self._window(self._date_of(start))
        starts, ends, before, through = window.starts, window.ends, window.before, window.through
        index = bisect_right(ends, start)  # the first range that ends after `start`
        if index == len(ends):
            return None
        target = before[index] + max(0, start - starts[index]) + amount
        found = bisect_left(through, target, index)  # the first range ending at or after it
        if found == len(through):
            return None
        due = starts[found] + (target - before[found])
        return due if due <= window.cover else None

    def _elapsed_in_window(self, start: int, end: int) -> int | None:
        window = self._window(self._date_of(start))
        if end > window.cover:
            return None
        return _worked_before(window, end) - _worked_before(window, start)

    def _walk_business_days(self, ordinal: int, days: int, start: int) -> int:
        """The ordinal of the `days`-th business date after the date `ordinal`, day by day
        (`start`, in UTC microseconds, names the search in the error of a calendar with no
        working day)."""
        target, counted, idle = ordinal, 0, 0
        while counted < days:
            target += 1
            if self._day(target).intervals:
                counted, idle = counted + 1, 0
            else:
                idle = self._note_idle_day(idle, start)
        return target

    def _business_date_after(self, ordinal: int, days: int, start: int) -> int:
        """The ordinal of the `days`-th business date after the date `ordinal`."""
        key = (ordinal, days)
        target = self._targets.get(key)
        if target is not None:
            return target
        target = self._walk_business_days(ordinal, days, start)
        if len(self._targets) >= _TARGET_CACHE_SIZE:
            self._targets.clear()
        self._targets[key] = target
        return target

    def _compute_window(self, first: int) -> _Window:
        merged = list(
            _merge_sorted(
                [
                    interval
                    for ordinal in range(first - 1, first + _WINDOW_DAYS + 1)
                    for interval in self._day(ordinal).intervals
                ]
            )
        )
        before, through, total = [], [], 0
        for range_start, range_end in merged:
            before.append(total)
            total += range_end - range_start
            through.append(total)
        return _Window(
            starts=tuple(start for start, _ in merged),
            ends=tuple(end for _, end in merged),
            before=tuple(before),
            through=tuple(through),
            cover=self._day(first + _WINDOW_DAYS + 1).midnight,
        )

    # -- the reference walks (beyond a window, and what the fast paths are tested against) --

    def _add_by_walking(self, start_micros: int, amount: int) -> int:
        # A walk over the first few dates (most goals end there), then whole dates by their
        # cached totals, then a walk over the date where the goal runs out.
        first = self._date_of(start_micros)
        limit = self._day(first + _FIRST_WALK_DAYS).midnight
        due, remaining = self._consume(start_micros, amount, limit, first)
        ordinal = first + _FIRST_WALK_DAYS - 1  # the last date walked
        idle = 0
        while due is None:
            ordinal += 1
            if ordinal - first > MAX_ADD_DAYS:
                raise DeadlineTooFarError(
                    self.time_zone, from_micros(start_micros), timedelta(microseconds=amount)
                )
            owned = self._owned(ordinal)
            if remaining <= owned:
                day_start, day_end = self._day(ordinal).midnight, self._day(ordinal + 1).midnight
                due, remaining = self._consume(day_start, remaining, day_end, ordinal)
            else:
                remaining -= owned
                idle = self._note_idle_day(idle, start_micros) if owned == 0 else 0
        return due

    def _elapsed_by_walking(self, start_micros: int, end_micros: int) -> int:
        if end_micros - start_micros < _WALK_SPAN:
            return self._measure(start_micros, end_micros)
        first, last = self._date_of(start_micros), self._date_of(end_micros)
        # Partial first and last dates, and the cached totals of the whole dates between.
        total = self._measure(start_micros, self._day(first + 1).midnight, first)
        total += sum(map(self._owned, range(first + 1, last)))
        total += self._measure(self._day(last).midnight, end_micros, last)
        return total

    def _working_days_after_by_walking(
        self, start: datetime, days: int, *, end_of_day: bool = False
    ) -> datetime:
        start_micros = _check_aware(start)
        local = start.astimezone(self.zone)
        target = self._walk_business_days(local.date().toordinal(), days, start_micros)
        target_date = date.fromordinal(target)
        if end_of_day:
            return from_micros(resolve_wall_time(target_date, time(0), self.zone, next_day=True))
        if days == 0:
            return from_micros(start_micros)
        return from_micros(resolve_wall_time(target_date, local.time(), self.zone))

    # -- internals -------------------------------------------------------------------------

    def _compute_day(self, ordinal: int) -> _Day:
        day = date.fromordinal(ordinal)
        midnight = resolve_wall_time(day, time(0), self.zone)
        if self.is_holiday(day):
            return _Day(midnight, ())
        ranges = []
        for start, end in self.weekly[day.weekday()]:
            begin = resolve_wall_time(day, start, self.zone)
            finish = resolve_wall_time(day, end, self.zone, next_day=end <= start)
            if finish > begin:  # a range inside a DST gap can collapse to nothing
                ranges.append((begin, finish))
        return _Day(midnight, tuple(_merge_sorted(sorted(ranges))))

    def _compute_steady(self, ordinal: int) -> bool:
        """Whether the date has one UTC offset all day (see `_STEADY_SAMPLE`)."""
        midnight, next_midnight = self._day(ordinal).midnight, self._day(ordinal + 1).midnight
        if next_midnight - midnight != _MICROS_PER_DAY:
            return False
        offsets = {
            from_micros(at).astimezone(self.zone).utcoffset()
            for at in range(midnight, next_midnight, _STEADY_SAMPLE)
        }
        offsets.add(from_micros(next_midnight - 1).astimezone(self.zone).utcoffset())
        return len(offsets) == 1

    def _compute_owned(self, ordinal: int) -> int:
        """Working time between this date's midnight and the next: the date's own ranges and
        the tail of the previous night's, counted once where they overlap."""
        day_start, day_end = self._day(ordinal).midnight, self._day(ordinal + 1).midnight
        return self._measure(day_start, day_end, ordinal)

    def _measure(self, start: int, end: int, start_date: int | None = None) -> int:
        """Working time in [start, end), by walking the merged intervals."""
        total = 0
        for range_start, range_end in self._merged(start, end, start_date):
            if range_start >= end:
                break
            total += min(range_end, end) - max(range_start, start)
        return total

    def _consume(
        self, start: int, amount: int, limit: int, start_date: int | None = None
    ) -> tuple[int | None, int]:
        """Walk working time from `start` up to `limit`: the earliest instant by which `amount`
        of it has passed, or None and what is still left when `limit` comes first."""
        for range_start, range_end in self._merged(start, limit, start_date):
            if range_start >= limit:
                break
            begin = max(range_start, start)
            available = min(range_end, limit) - begin
            if amount <= available:
                return begin + amount, 0
            amount -= available
        return None, amount

    def _date_of(self, micros: int) -> int:
        """The ordinal of the local date an instant falls on: the last date whose midnight
        (resolved like any wall time) is at or before it. Offsets stay within a day of UTC,
        so at most three cached lookups; much cheaper than a zoneinfo conversion."""
        ordinal = micros // _MICROS_PER_DAY + _EPOCH_ORDINAL + 1
        while self._day(ordinal).midnight > micros:
            ordinal -= 1
        return ordinal

    def _merged(
        self, start: int, until: int | None = None, start_date: int | None = None
    ) -> Iterator[Interval]:
        """Disjoint working intervals ending after `start`, in order, merged across days.

        Endless unless `until` is given; then it stops at the first date beginning at or
        after `until` (nothing of that date or later can start before it). `start_date` is
        the ordinal of `start`'s date when the caller already knows it.
        """
        if start_date is None:
            start_date = self._date_of(start)
        # Yesterday's overnight ranges may still be running at `start`.
        ordinal = start_date - 1
        current: Interval | None = None
        idle = 0
        while True:
            day = self._day(ordinal)
            if until is not None and day.midnight >= until:
                break
            if not day.intervals:
                idle = self._note_idle_day(idle, start)
            for range_start, range_end in day.intervals:
                idle = 0
                if range_end <= start:
                    continue
                if current is None:
                    current = (range_start, range_end)
                elif range_start <= current[1]:
                    current = (current[0], max(current[1], range_end))
                else:
                    yield current
                    current = (range_start, range_end)
            ordinal += 1
        if current is not None:
            yield current

    def _note_idle_day(self, idle: int, start: int) -> int:
        idle += 1
        if idle > MAX_IDLE_DAYS:
            raise ValueError(
                f"the calendar in {self.time_zone} has no working time in the "
                f"{MAX_IDLE_DAYS} days after {from_micros(start).isoformat()}"
            )
        return idle


def _worked_before(window: _Window, at: int) -> int:
    """Working time in the window before the instant `at` (counted from the window's start)."""
    index = bisect_right(window.ends, at)
    if index == len(window.ends):
        return window.through[-1] if window.through else 0
    return window.before[index] + max(0, at - window.starts[index])


def _merge_sorted(ranges: list[Interval]) -> Iterator[Interval]:
    current: Interval | None = None
    for start, end in ranges:
        if current is not None and start <= current[1]:
            current = (current[0], max(current[1], end))
            continue
        if current is not None:
            yield current
        current = (start, end)
    if current is not None:
        yield current


def _check_weekly(weekly: WeeklyHours) -> tuple[tuple[tuple[time, time], ...], ...]:
    days: list[tuple[tuple[time, time], ...]] = [() for _ in range(7)]
    for weekday, ranges in weekly.items():
        if not isinstance(weekday, int) or not 0 <= weekday <= 6:
            raise ValueError(f"weekday {weekday!r} is not 0 (Monday) to 6 (Sunday)")
        checked = []
        for pair in ranges:
            if len(pair) != 2 or not all(isinstance(t, time) for t in pair):
                raise ValueError(f"working range {pair!r} on weekday {weekday} is not two times")
            if any(t.tzinfo is not None for t in pair):
                raise ValueError(
                    f"working range {pair!r} on weekday {weekday} has a time zone; "
                    "ranges are local wall times in the calendar's zone"
                )
            checked.append((pair[0], pair[1]))
        days[weekday] = tuple(checked)
    if not any(days):
        raise ValueError("a business calendar needs at least one working range in the week")
    return tuple(days)


def _check_dates(dates: Iterable[date]) -> frozenset[date]:
    checked = set()
    for day in dates:
        if isinstance(day, datetime) or not isinstance(day, date):
            raise ValueError(f"holiday {day!r} is not a date")
        checked.add(day)
    return frozenset(checked)


def _country_holidays(
    country: str | None, subdivision: str | None
) -> holidays_package.HolidayBase | None:
    if country is None:
        if subdivision is not None:
            raise ValueError("a holiday subdivision needs a holiday country")
        return None
    return _shared_country_holidays(country, subdivision)


@lru_cache(maxsize=64)
def _shared_country_holidays(country: str, subdivision: str | None) -> holidays_package.HolidayBase:
    """One table per country/subdivision for the whole process: the package computes each
    year's holidays on first use, and calendars are rebuilt for every evaluation."""
    try:
        return holidays_package.country_holidays(country, subdiv=subdivision)
    except NotImplementedError as exc:
        raise ValueError(f"unknown holiday calendar: {exc}") from None
