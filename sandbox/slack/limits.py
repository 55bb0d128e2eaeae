"""Slack's rate limits: per-channel posting, a workspace-wide posting ceiling, and method tiers.

Slack documents `chat.postMessage` as about one message per second per channel with short
bursts tolerated, and a workspace-wide limit of several hundred per minute; other methods sit in
tiers counted per minute per app and workspace. Past a limit Slack answers HTTP 429 with
`{"ok": false, "error": "ratelimited"}` and a `Retry-After` header in whole seconds.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class SlackRateLimits:
    channel_per_second: float = 1.0
    channel_burst: int = 4
    workspace_per_minute: int = 600
    # Calls per minute by method (Slack's tiers: 2 = 20+, 3 = 50+, 4 = 100+; auth.test is
    # "special" and generous). A method not listed is not limited.
    method_per_minute: dict[str, int] = field(
        default_factory=lambda: {
            "chat.update": 50,
            "conversations.open": 50,
            "conversations.history": 50,
            "conversations.replies": 50,
            "conversations.list": 20,
            "users.lookupByEmail": 50,
            "users.info": 100,
            "auth.test": 600,
        }
    )


class TokenBucket:
    """Holds up to `capacity` calls and refills `rate` calls per second."""

    def __init__(self, capacity: float, rate: float, now: float) -> None:
        self.capacity = capacity
        self.rate = rate
        self.tokens = capacity
        self.updated = now

    def _refill(self, now: float) -> None:
        elapsed = max(0.0, now - self.updated)
        self.tokens = min(self.capacity, self.tokens + elapsed * self.rate)
        self.updated = now

    def wait_needed(self, now: float) -> float:
        """Seconds until one call is allowed; 0 when it is allowed now."""
        self._refill(now)
        if self.tokens >= 1.0:
            return 0.0
        return (1.0 - self.tokens) / self.rate

    def take(self) -> None:
        self.tokens -= 1.0


def retry_after_seconds(wait: float) -> int:
    # Slack sends whole seconds and slack_sdk parses the header with int(): round up, never 0.
    return max(1, math.ceil(wait))


class SlackRateLimiter:
    """Decides, call by call, whether the workspace would answer 429 and for how long."""

    def __init__(self, limits: SlackRateLimits, clock: Callable[[], float]) -> None:
        self.limits = limits
        self._clock = clock
        self._channel_buckets: dict[str, TokenBucket] = {}
        self._method_buckets: dict[str, TokenBucket] = {}
        self._workspace_posts = TokenBucket(
            limits.workspace_per_minute, limits.workspace_per_minute / 60.0, clock()
        )

    def method_wait(self, method: str) -> int | None:
        """Retry-After seconds when `method` is over its tier, else None (and the call counts)."""
        per_minute = self.limits.method_per_minute.get(method)
        if per_minute is None:
            return None
        now = self._clock()
        bucket = self._method_buckets.get(method)
        if bucket is None:
            bucket = TokenBucket(per_minute, per_minute / 60.0, now)
            self._method_buckets[method] = bucket
        return self._take_or_wait([bucket], now)

    def post_wait(self, channel_id: str) -> int | None:
        """Retry-After seconds when posting to `channel_id` now is over a limit, else None."""
        now = self._clock()
        bucket = self._channel_buckets.get(channel_id)
        if bucket is None:
            bucket = TokenBucket(self.limits.channel_burst, self.limits.channel_per_second, now)
            self._channel_buckets[channel_id] = bucket
        return self._take_or_wait([bucket, self._workspace_posts], now)

    @staticmethod
    def _take_or_wait(buckets: list[TokenBucket], now: float) -> int | None:
        # A refused call costs nothing, so a client that honours Retry-After gets through.
        wait = max(bucket.wait_needed(now) for bucket in buckets)
        if wait > 0:
            return retry_after_seconds(wait)
        for bucket in buckets:
            bucket.take()
        return None
