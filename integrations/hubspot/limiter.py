"""Client-side pacing: stay under HubSpot's limits instead of discovering them through 429s.

HubSpot counts requests in a rolling 10-second window per portal (190 for a Professional
private app) and, on top, search requests per second (5). `RequestPacer.acquire()` blocks the
calling thread until one more request fits in both windows and takes a slot; `release()` hands
it back when the answer has arrived.

A request counts in our window from the moment it is sent until its answer is back plus the
window length. HubSpot sees a request somewhere in between, so however late a request
arrives (a busy thread, a slow connection), two requests HubSpot sees can never be closer than
our own accounting allows. A small extra margin covers clock granularity.
"""

from __future__ import annotations

import hashlib
import itertools
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Protocol

# How long to look again when every slot is held by a request still in flight.
IN_FLIGHT_POLL_SECONDS = 0.02


class TimeSource(Protocol):
    """What the pacer reads the time from and waits on (tests pass one that sleeps instantly)."""

    def monotonic(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemTime:
    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class SlidingWindow:
    """At most `capacity` requests in any `seconds`-long interval, a request counting from
    its start until `seconds` after its end. Not thread-safe on its own."""

    def __init__(self, capacity: int, seconds: float) -> None:
        if capacity < 1 or seconds <= 0:
            raise ValueError("a window needs a positive capacity and length")
        self.capacity = capacity
        self.seconds = seconds
        self._in_flight: set[int] = set()
        # when each finished request ended, oldest first (finish times come from one
        # monotonic clock under the pacer's lock, so appending keeps the order)
        self._ended: deque[float] = deque()

    def wait_needed(self, now: float) -> float:
        """Seconds until one more request fits (0 when it fits now)."""
        ended = self._ended
        horizon = now - self.seconds
        while ended and ended[0] <= horizon:
            ended.popleft()
        if len(self._in_flight) + len(ended) < self.capacity:
            return 0.0
        if not ended:  # every slot is held by a request still in flight
            return IN_FLIGHT_POLL_SECONDS
        return ended[0] + self.seconds - now

    def take(self, slot: int) -> None:
        self._in_flight.add(slot)

    def finish(self, slot: int, now: float) -> None:
        if slot in self._in_flight:
            self._in_flight.remove(slot)
            self._ended.append(now)


@dataclass(frozen=True)
class Slot:
    id: int
    search: bool
    waited: float


class RequestPacer:
    """Thread-safe pacing for one portal: the rolling general window plus the search window."""

    def __init__(
        self,
        requests_per_10s: int,
        search_per_second: int,
        *,
        time_source: TimeSource | None = None,
        margin_seconds: float = 0.05,
    ) -> None:
        self._time = time_source or SystemTime()
        self._general = SlidingWindow(requests_per_10s, 10.0 + margin_seconds)
        self._search = SlidingWindow(search_per_second, 1.0 + margin_seconds)
        self._lock = threading.Lock()
        self._ids = itertools.count()
        self._blocked_until = 0.0
        self.waited_seconds = 0.0

    def acquire(self, *, search: bool = False) -> Slot:
        """Block until a request may go out and take a slot for it; `release` it after."""
        waited = 0.0
        while True:
            with self._lock:
                now = self._time.monotonic()
                wait = max(self._blocked_until - now, self._general.wait_needed(now))
                if search:
                    wait = max(wait, self._search.wait_needed(now))
                if wait <= 0:
                    slot = Slot(next(self._ids), search, waited)
                    self._general.take(slot.id)
                    if search:
                        self._search.take(slot.id)
                    self.waited_seconds += waited
                    return slot
            self._time.sleep(wait)
            waited += wait

    def release(self, slot: Slot) -> None:
        """The answer to `slot`'s request has arrived (or the request failed)."""
        with self._lock:
            now = self._time.monotonic()
            self._general.finish(slot.id, now)
            if slot.search:
                self._search.finish(slot.id, now)

    def hold(self, seconds: float) -> None:
        """Let no request out for `seconds` (HubSpot said Retry-After)."""
        with self._lock:
            until = self._time.monotonic() + seconds
            self._blocked_until = max(self._blocked_until, until)


_shared: dict[tuple[str, int, int], RequestPacer] = {}
_shared_lock = threading.Lock()


def shared_pacer(
    access_token: str, base_url: str, requests_per_10s: int, search_per_second: int
) -> RequestPacer:
    """The one pacer of this process for a portal (keyed by the API root and a hash of the
    token). HubSpot counts a portal's requests together, whichever client sends them: the
    scheduled sync, the webhook worker's re-reads, the write-back and the demo's first sync
    must share one window, or together they pass the limit each of them keeps."""
    digest = hashlib.sha256(access_token.encode()).hexdigest()
    portal_key = f"{base_url.rstrip('/')}|{digest}"
    key = (portal_key, requests_per_10s, search_per_second)
    with _shared_lock:
        pacer = _shared.get(key)
        if pacer is None:
            pacer = _shared[key] = RequestPacer(requests_per_10s, search_per_second)
        return pacer
