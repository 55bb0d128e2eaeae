"""Rate limits and injected faults, decided before a request reaches its route."""

from __future__ import annotations

import asyncio
import math
import random
import threading
import time
from collections import deque
from typing import TYPE_CHECKING

from fastapi import Request, Response
from fastapi.responses import HTMLResponse, JSONResponse

from sandbox.hubspot.errors import error_body

if TYPE_CHECKING:
    from sandbox.hubspot.state import HubSpotEmulator

TEN_SECONDS = 10.0
ONE_SECOND = 1.0
DAY = 86_400.0


class RollingWindow:
    """Counts admitted requests in the last `seconds` (a true rolling window)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.stamps: deque[float] = deque()

    def prune(self, now: float) -> None:
        while self.stamps and self.stamps[0] <= now - self.seconds:
            self.stamps.popleft()

    def used(self, now: float) -> int:
        self.prune(now)
        return len(self.stamps)

    def retry_after(self, now: float) -> float:
        return self.stamps[0] + self.seconds - now if self.stamps else 0.0


class DailyCount:
    """Requests since the day began (a counter, not a million timestamps)."""

    def __init__(self) -> None:
        self.day_started = time.monotonic()
        self.count = 0

    def used(self, now: float) -> int:
        if now - self.day_started >= DAY:
            self.day_started, self.count = now, 0
        return self.count

    def retry_after(self, now: float) -> float:
        return self.day_started + DAY - now


class Guard:
    def __init__(self, emulator: HubSpotEmulator) -> None:
        self.emulator = emulator
        self.lock = threading.Lock()
        self.rolling = RollingWindow(TEN_SECONDS)
        self.search = RollingWindow(ONE_SECOND)
        self.daily = DailyCount()
        self.fault_rng = random.Random(emulator.settings.faults.seed)
        self.fault_seed = emulator.settings.faults.seed

    def reset(self) -> None:
        with self.lock:
            self.rolling.stamps.clear()
            self.search.stamps.clear()
            self.daily = DailyCount()

    async def admit(self, request: Request) -> tuple[Response | None, dict[str, str]]:
        """(a refusal or None, the rate-limit headers to put on the answer)."""
        refusal, headers = self._limit(request.url.path.endswith("/search"))
        if refusal is None:
            refusal = await self._fault()
        return refusal, headers

    def _limit(self, is_search: bool) -> tuple[Response | None, dict[str, str]]:
        limits = self.emulator.settings.limits
        now = time.monotonic()
        with self.lock:
            used = self.rolling.used(now)
            used_search = self.search.used(now)
            used_daily = self.daily.used(now)
            refusal = None
            if limits.enabled and used >= limits.per_ten_seconds:
                refusal = self._too_many("TEN_SECONDLY_ROLLING", self.rolling.retry_after(now))
            elif limits.enabled and is_search and used_search >= limits.search_per_second:
                refusal = self._too_many("SECONDLY", self.search.retry_after(now))
            elif limits.enabled and used_daily >= limits.daily:
                refusal = self._too_many("DAILY", self.daily.retry_after(now))
            else:
                self.rolling.stamps.append(now)
                self.daily.count += 1
                if is_search:
                    self.search.stamps.append(now)
                used, used_daily = used + 1, used_daily + 1
        headers = {
            "X-HubSpot-RateLimit-Daily": str(limits.daily),
            "X-HubSpot-RateLimit-Daily-Remaining": str(max(0, limits.daily - used_daily)),
            "X-HubSpot-RateLimit-Interval-Milliseconds": str(int(TEN_SECONDS * 1000)),
            "X-HubSpot-RateLimit-Max": str(limits.per_ten_seconds),
            "X-HubSpot-RateLimit-Remaining": str(max(0, limits.per_ten_seconds - used)),
            "X-HubSpot-RateLimit-Secondly": str(limits.per_ten_seconds // 10),
            "X-HubSpot-RateLimit-Secondly-Remaining": str(
                max(0, limits.per_ten_seconds // 10 - self._last_second(now))
            ),
        }
        return refusal, headers

    def _last_second(self, now: float) -> int:
        return sum(1 for stamp in reversed(self.rolling.stamps) if stamp > now - ONE_SECOND)

    def _too_many(self, policy: str, wait: float) -> Response:
        with self.emulator.stats.lock:
            self.emulator.stats.rate_limited += 1
        body = error_body(
            f"You have reached your {policy.lower()} limit.",
            "RATE_LIMITS",
            errorType="RATE_LIMIT",
            policyName=policy,
        )
        return JSONResponse(
            body, status_code=429, headers={"Retry-After": str(max(1, math.ceil(wait)))}
        )

    async def _fault(self) -> Response | None:
        faults = self.emulator.settings.faults
        if faults.seed != self.fault_seed:  # switched at run time: restart the sequence
            self.fault_rng, self.fault_seed = random.Random(faults.seed), faults.seed
        with self.lock:
            error_roll, slow_roll = self.fault_rng.random(), self.fault_rng.random()
            status = self.fault_rng.choice((502, 503, 504))
        if slow_roll < faults.slow_rate:
            await asyncio.sleep(faults.slow_seconds)
        if error_roll >= faults.error_rate:
            return None
        with self.emulator.stats.lock:
            self.emulator.stats.faults += 1
        if status == 503:
            body = error_body("Service Unavailable", "SERVICE_UNAVAILABLE")
            return JSONResponse(body, status_code=503, headers={"Retry-After": "1"})
        title = "502 Bad Gateway" if status == 502 else "504 Gateway Time-out"
        return HTMLResponse(f"<html><body><h1>{title}</h1></body></html>", status_code=status)
