"""Calendar periods (week, month, quarter) in a time zone, and rolling windows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True, slots=True)
class Period:
    key: str  # 2026-W48, 2026-11, 2026-Q4, rolling
    start: datetime  # UTC
    end: datetime  # UTC, exclusive


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC)


def period_containing(at: datetime, period: str, time_zone: str) -> Period:
    zone = ZoneInfo(time_zone)
    local = at.astimezone(zone).date()
    if period == "week":
        first = local - timedelta(days=local.weekday())
        following = first + timedelta(days=7)
        year, week, _ = first.isocalendar()
        key = f"{year}-W{week:02d}"
    elif period == "month":
        first = local.replace(day=1)
        following = (first + timedelta(days=32)).replace(day=1)
        key = f"{first.year}-{first.month:02d}"
    elif period == "quarter":
        quarter = (local.month - 1) // 3
        first = date(local.year, quarter * 3 + 1, 1)
        following = (first + timedelta(days=95)).replace(day=1)
        key = f"{first.year}-Q{quarter + 1}"
    else:
        raise ValueError(f"unknown period {period!r}")
    return Period(key, _midnight(first, zone), _midnight(following, zone))


def previous_period(current: Period, period: str, time_zone: str) -> Period:
    return period_containing(current.start - timedelta(microseconds=1), period, time_zone)


def rolling_window(now: datetime, length: timedelta) -> Period:
    return Period("rolling", now - length, now)
