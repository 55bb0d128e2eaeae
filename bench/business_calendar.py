"""Business-calendar arithmetic speed: microseconds per call, median of repeated runs.

Prints a table. The SLA engine's budget is 200,000 records evaluated in 20 s in total, so one
`add` or `elapsed` must stay in the low microseconds.
"""

from __future__ import annotations

import random
import statistics
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from time import perf_counter

from app.sla.calendar import BusinessCalendar, Calendar, CalendarTime

CALLS = 20_000
REPEATS = 5


def office() -> BusinessCalendar:
    hours = [(time(9), time(12)), (time(13), time(18))]
    return BusinessCalendar(
        "America/New_York", dict.fromkeys(range(5), hours), holiday_country="US"
    )


def starts(count: int) -> list[datetime]:
    rng = random.Random(7)
    base = datetime(2025, 1, 1, tzinfo=UTC)
    return [base + timedelta(seconds=rng.randrange(2 * 365 * 86_400)) for _ in range(count)]


def median_micros(work: Callable[[], None]) -> float:
    runs = []
    for _ in range(REPEATS):
        began = perf_counter()
        work()
        runs.append((perf_counter() - began) / CALLS * 1e6)
    return statistics.median(runs)


def measure(name: str, calendar: Calendar, duration: timedelta) -> list[tuple[str, float]]:
    instants = starts(CALLS)
    ends = [calendar.add(start, duration) for start in instants]  # warms the day cache
    pairs = list(zip(instants, ends, strict=True))
    return [
        (
            f"{name}: add {duration}",
            median_micros(lambda: [calendar.add(s, duration) for s in instants] and None),
        ),
        (
            f"{name}: elapsed over {duration}",
            median_micros(lambda: [calendar.elapsed(s, e) for s, e in pairs] and None),
        ),
        (
            f"{name}: is_counting",
            median_micros(lambda: [calendar.is_counting(s) for s in instants] and None),
        ),
        (
            f"{name}: next_counting",
            median_micros(lambda: [calendar.next_counting(s) for s in instants] and None),
        ),
    ]


def main() -> None:
    rows: list[tuple[str, float]] = []
    rows += measure("business", office(), timedelta(hours=4))
    rows += measure("business", office(), timedelta(hours=80))
    rows += measure("business", office(), timedelta(hours=8 * 60))
    rows += measure("24/7", CalendarTime(), timedelta(hours=4))
    width = max(len(name) for name, _ in rows)
    print(f"{'operation':<{width}}  µs/call (median of {REPEATS} x {CALLS:,})")
    for name, micros in rows:
        print(f"{name:<{width}}  {micros:8.2f}")


if __name__ == "__main__":
    main()
