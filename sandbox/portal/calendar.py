"""The reps' working hours in the portal's time zone: by default 9:00-18:00, Monday to Friday.

The demo may put the portal in another time zone and working week (see app/demo/workweek.py),
so that its reps are at work whenever it runs; every working-time sum goes through here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property
from zoneinfo import ZoneInfo

from sandbox.portal.timeline import to_ms

MONDAY_TO_FRIDAY = (0, 1, 2, 3, 4)


@dataclass(frozen=True)
class WorkingHours:
    """One opening span a day, on `days` (Python weekday numbers, Monday = 0)."""

    time_zone: str = "America/New_York"
    days: tuple[int, ...] = MONDAY_TO_FRIDAY
    open_hour: int = 9
    close_hour: int = 18

    def __post_init__(self) -> None:
        if not self.days or not set(self.days) <= set(range(7)):
            raise ValueError(f"working days must be weekday numbers 0-6; got {self.days}")
        if not 0 <= self.open_hour < self.close_hour <= 23:
            raise ValueError(f"opening {self.open_hour}h is not before closing {self.close_hour}h")

    @cached_property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    def _local(self, epoch_ms: int) -> datetime:
        return datetime.fromtimestamp(epoch_ms / 1000, tz=self.zone)

    def _opening(self, local: datetime) -> datetime:
        return local.replace(hour=self.open_hour, minute=0, second=0, microsecond=0)

    def _closing(self, local: datetime) -> datetime:
        return local.replace(hour=self.close_hour, minute=0, second=0, microsecond=0)

    def is_business_time(self, epoch_ms: int) -> bool:
        local = self._local(epoch_ms)
        return local.weekday() in self.days and self.open_hour <= local.hour < self.close_hour

    def add_business_minutes(self, epoch_ms: int, minutes: int) -> int:
        """The moment `minutes` of working time after `epoch_ms` (skipping nights and days off)."""
        local = self._local(epoch_ms)
        remaining = timedelta(minutes=minutes)
        for _ in range(3700):  # bounded: at most ~10 years of days
            opening, closing = self._opening(local), self._closing(local)
            if local.weekday() not in self.days or local >= closing:
                local = opening + timedelta(days=1)
                continue
            local = max(local, opening)
            if local + remaining < closing:
                return to_ms(local + remaining)
            remaining -= closing - local
            local = opening + timedelta(days=1)
        return to_ms(local)

    def last_business_minute_before(self, epoch_ms: int) -> int:
        """The latest working minute at or before `epoch_ms`."""
        local = self._local(epoch_ms)
        for _ in range(10):
            closing = self._closing(local)
            working_day = local.weekday() in self.days
            if working_day and self.open_hour <= local.hour < self.close_hour:
                return to_ms(local)
            if working_day and local >= closing:
                return to_ms(closing - timedelta(minutes=1))
            local = closing - timedelta(days=1, minutes=1)
        return to_ms(local)


def is_business_time(epoch_ms: int, zone: ZoneInfo) -> bool:
    """Monday-to-Friday, 9:00-18:00 in `zone` (the default working hours)."""
    return WorkingHours(str(zone)).is_business_time(epoch_ms)
