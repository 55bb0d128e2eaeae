"""Goal durations as the rules file writes them: `4h`, `90m`, `1h30m`, `2d`, `10d`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache

_PART = re.compile(r"(\d+)\s*(d|h|m|s)")
_WHOLE = re.compile(r"^\s*(?:\d+\s*[dhms]\s*)+$")
_UNIT_SECONDS = {"h": 3600, "m": 60, "s": 1}


@dataclass(frozen=True, slots=True)
class Goal:
    """A goal as days plus a remainder. Days stay separate because in business time a day is
    "the next business day at the same hour", not 24 hours of working time."""

    days: int
    seconds: int

    @property
    def remainder(self) -> timedelta:
        return timedelta(seconds=self.seconds)

    @property
    def text(self) -> str:
        return str(self)

    def as_calendar_time(self) -> timedelta:
        return timedelta(days=self.days, seconds=self.seconds)

    def __str__(self) -> str:
        parts = []
        if self.days:
            parts.append(f"{self.days}d")
        hours, rest = divmod(self.seconds, 3600)
        minutes, seconds = divmod(rest, 60)
        for amount, unit in ((hours, "h"), (minutes, "m"), (seconds, "s")):
            if amount:
                parts.append(f"{amount}{unit}")
        return "".join(parts) or "0s"


def parse_goal(text: str) -> Goal:
    """`1d4h` -> Goal(days=1, seconds=14400). Raises ValueError with what was expected."""
    if not _WHOLE.match(text):
        raise ValueError(f"expected a duration like 4h, 30m, 1h30m or 2d, got {text!r}")
    days = 0
    seconds = 0
    for amount, unit in _PART.findall(text):
        if unit == "d":
            days += int(amount)
        else:
            seconds += int(amount) * _UNIT_SECONDS[unit]
    if days == 0 and seconds == 0:
        raise ValueError(f"expected a duration longer than zero, got {text!r}")
    return Goal(days=days, seconds=seconds)


@lru_cache(maxsize=256)
def parse_goal_cached(text: str) -> Goal:
    """parse_goal for the engine's inner loop (rule goals are few and never change)."""
    return parse_goal(text)
