"""Turning local wall-clock readings into UTC instants, deterministically across DST changes.

Instants are handled as integer microseconds since the Unix epoch (UTC): exact, and much
cheaper to add and compare than aware datetimes in the calendar's inner loops.

The rule for a local wall time `t` on a date: it resolves to the FIRST instant at which the
local clock reads `t` or later.
- A time that happens once resolves to that instant.
- An ambiguous time (the repeated hour when clocks go back) resolves to its first occurrence.
- A nonexistent time (skipped when clocks go forward) resolves to the instant of the jump,
  i.e. the moment the clock leaps past it.
This mapping never goes backwards as `t` grows, so a range never gets a negative length.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ONE_MICROSECOND = timedelta(microseconds=1)


def to_micros(at: datetime) -> int:
    """Microseconds since the epoch of an aware datetime; a naive one is refused."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{at.isoformat()} has no time zone; pass an aware datetime")
    return (at - EPOCH) // ONE_MICROSECOND


def from_micros(micros: int) -> datetime:
    """The aware UTC datetime of an instant in microseconds since the epoch."""
    return EPOCH + timedelta(0, 0, micros)  # positional: measurably faster in hot loops


def duration_micros(duration: timedelta) -> int:
    return duration // ONE_MICROSECOND


def resolve_wall_time(day: date, wall: time, zone: ZoneInfo, *, next_day: bool = False) -> int:
    """The first instant (µs since epoch) at which the clock in `zone` reads `wall` on `day`
    (on the day after `day` when `next_day`), or later."""
    if next_day:
        day = day + timedelta(days=1)
    naive = datetime.combine(day, wall.replace(tzinfo=None, fold=0))
    first = naive.replace(tzinfo=zone, fold=0)
    if first.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == naive:
        return to_micros(first)  # exists; fold=0 is the first occurrence if it is ambiguous
    return _gap_end(naive, zone)


def _gap_end(naive: datetime, zone: ZoneInfo) -> int:
    """The instant the clock jumps over the nonexistent local time `naive`.

    PEP 495: in a gap, fold=0 applies the offset from before the jump and fold=1 the offset
    from after it; the jump lies between those two readings. Bisect for it (gaps are rare and
    results are cached by the caller, so the ~35 steps cost nothing in practice).
    """
    a = to_micros(naive.replace(tzinfo=zone, fold=0))
    b = to_micros(naive.replace(tzinfo=zone, fold=1))
    low, high = min(a, b), max(a, b)
    offset_before = from_micros(low).astimezone(zone).utcoffset()
    # Invariant: the offset at `low` is the old one, the offset at `high` the new one.
    while high - low > 1:
        middle = (low + high) // 2
        if from_micros(middle).astimezone(zone).utcoffset() == offset_before:
            low = middle
        else:
            high = middle
    return high
