"""Pacing Slack calls before they are made, so Slack's rate limits are met rather than hit.

Slack allows `chat.postMessage` about one message a second per channel with short bursts, a
workspace-wide ceiling of several hundred a minute, and other methods a number per minute by
tier; past a limit it answers 429, and it may disable an app that keeps calling. The pacer
keeps each limit as a generic cell rate (a token bucket kept as the time its next call is
due): asking for a slot reserves the earliest moment every limit involved allows, and says how
long to wait for it. It reads only the clock it is given, so tests move time by hand.

One pacer counts the calls of one process; the defaults stay below Slack's published limits
so a second worker on the same workspace still rarely meets a 429 (which is retried anyway).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field


def _default_method_limits() -> dict[str, int]:
    # Tier 3 methods (50+ a minute), kept a little under.
    return {
        "chat.update": 45,
        "conversations.open": 45,
        "conversations.history": 45,
        "conversations.replies": 45,
    }


@dataclass(frozen=True, slots=True)
class PacingLimits:
    channel_per_second: float = 1.0
    channel_burst: int = 3
    workspace_per_minute: int = 500
    workspace_burst: int = 250
    method_per_minute: Mapping[str, int] = field(default_factory=_default_method_limits)
    method_burst: int = 10

    def __post_init__(self) -> None:
        positive = {
            "channel_per_second": self.channel_per_second,
            "channel_burst": self.channel_burst,
            "workspace_per_minute": self.workspace_per_minute,
            "workspace_burst": self.workspace_burst,
            "method_burst": self.method_burst,
            **{f"method_per_minute[{name}]": n for name, n in self.method_per_minute.items()},
        }
        for name, value in positive.items():
            if value <= 0:
                raise ValueError(f"{name} must be positive, got {value}")


class _Cell:
    """One limit: `rate` calls a second, `burst` of them at once after a quiet spell."""

    def __init__(self, rate: float, burst: int) -> None:
        self.interval = 1.0 / rate
        self.tolerance = (burst - 1) * self.interval
        self.due: float | None = None  # when the next call would go if calls came steadily

    def earliest(self, now: float) -> float:
        return now if self.due is None else max(now, self.due - self.tolerance)

    def take(self, at: float) -> None:
        self.due = (at if self.due is None else max(self.due, at)) + self.interval


class SlackPacer:
    def __init__(
        self, limits: PacingLimits | None = None, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limits = limits or PacingLimits()
        self._clock = clock
        self._lock = threading.Lock()
        self._workspace = _Cell(
            self.limits.workspace_per_minute / 60.0, self.limits.workspace_burst
        )
        self._channels: dict[str, _Cell] = {}
        self._methods: dict[str, _Cell] = {}

    def post_delay(self, channel: str) -> float:
        """Reserves a slot to post to `channel`; seconds to wait before posting (0: now)."""
        with self._lock:
            cell = self._channels.get(channel)
            if cell is None:
                cell = _Cell(self.limits.channel_per_second, self.limits.channel_burst)
                self._channels[channel] = cell
            return self._reserve((cell, self._workspace))

    def call_delay(self, method: str) -> float:
        """Reserves a slot for another Web API method; 0 for methods without a listed limit."""
        per_minute = self.limits.method_per_minute.get(method)
        if per_minute is None:
            return 0.0
        with self._lock:
            cell = self._methods.get(method)
            if cell is None:
                cell = _Cell(per_minute / 60.0, self.limits.method_burst)
                self._methods[method] = cell
            return self._reserve((cell,))

    def _reserve(self, cells: tuple[_Cell, ...]) -> float:
        # Every limit's slot is taken at the moment the call will really go, so calls held
        # back by one limit do not bunch up under another when they are released.
        now = self._clock()
        at = max(cell.earliest(now) for cell in cells)
        for cell in cells:
            cell.take(at)
        return at - now
