"""When to try a failed webhook delivery again: immediately, 5 s, 5 min, 30 min, 2 h, 5 h,
10 h, 10 h (Svix's schedule, about a day and a half in all), with jitter so that endpoints
failing together do not get their retries together, and never sooner than `Retry-After`."""

from __future__ import annotations

import random

SCHEDULE_SECONDS: tuple[float, ...] = (0, 5, 300, 1800, 7200, 18000, 36000, 36000)
JITTER = 0.2
# A Retry-After beyond this is treated as this: an endpoint cannot park a message for weeks.
MAX_RETRY_AFTER = 36000.0


def next_attempt_delay(
    attempts_made: int, retry_after: float | None = None, rng: random.Random | None = None
) -> float | None:
    """Seconds to wait after `attempts_made` failed attempts, or None when the schedule is
    used up (the delivery becomes a dead letter)."""
    if attempts_made < 1 or attempts_made > len(SCHEDULE_SECONDS):
        return None
    wait = SCHEDULE_SECONDS[attempts_made - 1]
    if wait:
        spread = (rng or random.Random()).uniform(-JITTER, JITTER)
        wait = wait * (1 + spread)
    if retry_after is not None:
        wait = max(wait, min(retry_after, MAX_RETRY_AFTER))
    return wait
