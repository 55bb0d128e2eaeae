"""Client-side pacing: stay under HubSpot's limits instead of discovering them through 429s.

HubSpot counts requests in a rolling 10-second window per portal (190 for a Professional
private app) and, on top, search requests per second (5). `RequestPacer.acquire()` blocks the
calling thread until one more request fits in both windows, then records it. A small margin is
added to each window because HubSpot sees a request when it arrives, not when we sent it, and
two requests sent exactly one window apart can arrive a few milliseconds closer together.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Protocol


class Clock(Protocol):
    def monotonic(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class SlidingWindow:
    """At most `capacity` events in any `seconds`-long interval. Not thread-safe on its own."""

    def __init__(self, capacity: int, seconds: float) -> None:
        if capacity < 1 or seconds <= 0:
            raise ValueError("a window needs a positive capacity and length")
        self.capacity = capacity
        self.seconds = seconds
        self._events: deque[float] = deque()

    def wait_needed(self, now: float) -> float:
        """Seconds until one more event fits (0 when it fits now)."""
        while self._events and self._events[0] <= now - self.seconds:
            self._events.popleft()
        if len(self._events) < self.capacity:
            return 0.0
        return self._events[0] + self.seconds - now

    def record(self, now: float) -> None:
        self._events.append(now)


class RequestPacer:
    """Thread-safe pacing for one portal: the rolling general window plus the search window."""

    def __init__(
        self,
        requests_per_10s: int,
        search_per_second: int,
        *,
        clock: Clock | None = None,
        margin_seconds: float = 0.05,
    ) -> None:
        self._clock = clock or SystemClock()
        self._general = SlidingWindow(requests_per_10s, 10.0 + margin_seconds)
        self._search = SlidingWindow(search_per_second, 1.0 + margin_seconds)
        self._lock = threading.Lock()
        self._blocked_until = 0.0
        self.waited_seconds = 0.0

    def acquire(self, *, search: bool = False) -> float:
        """Block until a request may go out, count it, and return how long we waited."""
        waited = 0.0
        while True:
            with self._lock:
                now = self._clock.monotonic()
                wait = max(self._blocked_until - now, self._general.wait_needed(now))
                if search:
                    wait = max(wait, self._search.wait_needed(now))
                if wait <= 0:
                    self._general.record(now)
                    if search:
                        self._search.record(now)
                    self.waited_seconds += waited
                    return waited
            self._clock.sleep(wait)
            waited += wait

    def hold(self, seconds: float) -> None:
        """Let no request out for `seconds` (HubSpot said Retry-After)."""
        with self._lock:
            until = self._clock.monotonic() + seconds
            self._blocked_until = max(self._blocked_until, until)
