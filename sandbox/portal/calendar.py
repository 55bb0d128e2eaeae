"""Business hours in the portal's time zone: reps work 9:00-18:00, Monday to Friday."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sandbox.portal.timeline import to_ms

OPEN_HOUR = 9
CLOSE_HOUR = 18


def is_business_time(epoch_ms: int, zone: ZoneInfo) -> bool:
    local = datetime.fromtimestamp(epoch_ms / 1000, tz=zone)
    return local.weekday() < 5 and OPEN_HOUR <= local.hour < CLOSE_HOUR


def add_business_minutes(epoch_ms: int, minutes: int, zone: ZoneInfo) -> int:
    """The moment `minutes` of working time after `epoch_ms` (skipping nights and weekends)."""
    local = datetime.fromtimestamp(epoch_ms / 1000, tz=zone)
    remaining = timedelta(minutes=minutes)
    for _ in range(3700):  # bounded: at most ~10 years of days
        opening = local.replace(hour=OPEN_HOUR, minute=0, second=0, microsecond=0)
        closing = local.replace(hour=CLOSE_HOUR, minute=0, second=0, microsecond=0)
        if local.weekday() >= 5 or local >= closing:
            local = opening + timedelta(days=1)
            continue
        local = max(local, opening)
        if local + remaining < closing:
            return to_ms(local + remaining)
        remaining -= closing - local
        local = opening + timedelta(days=1)
    return to_ms(local)


def last_business_minute_before(epoch_ms: int, zone: ZoneInfo) -> int:
    """The latest working minute at or before `epoch_ms`."""
    local = datetime.fromtimestamp(epoch_ms / 1000, tz=zone)
    for _ in range(10):
        closing = local.replace(hour=CLOSE_HOUR, minute=0, second=0, microsecond=0)
        if local.weekday() < 5 and OPEN_HOUR <= local.hour < CLOSE_HOUR:
            return to_ms(local)
        if local.weekday() < 5 and local >= closing:
            return to_ms(closing - timedelta(minutes=1))
        local = closing - timedelta(days=1, minutes=1)
    return to_ms(local)
