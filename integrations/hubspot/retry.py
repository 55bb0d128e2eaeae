"""When to retry a HubSpot request and how long to wait first.

429, 5xx, timeouts and connection errors are worth another try; any other 4xx never is (the
same request will fail the same way). The wait is capped exponential backoff with jitter, and
never shorter than the `Retry-After` HubSpot asked for.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from integrations.hubspot.errors import (
    HubSpotError,
    HubSpotRateLimited,
    HubSpotServerError,
    HubSpotUnavailable,
)


@dataclass
class RetryPolicy:
    max_attempts: int = 6
    base_delay: float = 0.5
    max_delay: float = 30.0
    rng: random.Random = field(default_factory=random.Random)

    def is_retryable(self, error: HubSpotError) -> bool:
        return isinstance(error, HubSpotRateLimited | HubSpotServerError | HubSpotUnavailable)

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number `attempt` (0 for the first retry).

        "Equal jitter": half the capped exponential step is fixed, half is random, so
        concurrent clients spread out but none retries immediately.
        """
        step = min(self.max_delay, self.base_delay * (2**attempt))
        wait = step / 2 + self.rng.uniform(0, step / 2)
        if retry_after is not None:
            wait = max(wait, retry_after)
        return float(wait)
