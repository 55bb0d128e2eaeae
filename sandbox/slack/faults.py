"""Seeded fault injection: some API calls fail with 500/503 or answer slowly.

The draws come from one seeded generator in call order, so a test that makes the same calls with
the same seed meets the same faults. A failed call has no effect: Slack's 5xx answers for these
methods come before the work is done in the cases we reproduce.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from enum import Enum


class Fault(Enum):
    INTERNAL_ERROR = "internal_error"  # HTTP 500
    SERVICE_UNAVAILABLE = "service_unavailable"  # HTTP 503
    SLOW = "slow"  # a normal answer after a delay


FAULT_STATUS: dict[Fault, int] = {Fault.INTERNAL_ERROR: 500, Fault.SERVICE_UNAVAILABLE: 503}

_KINDS = (Fault.INTERNAL_ERROR, Fault.SERVICE_UNAVAILABLE, Fault.SLOW)


@dataclass
class FaultInjector:
    rate: float
    seed: int
    slow_seconds: float = 2.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.rate <= 1.0:
            raise ValueError(f"fault_rate must be between 0 and 1, got {self.rate}")
        self._random = random.Random(f"slack-faults-{self.seed}")

    def draw(self) -> Fault | None:
        """The fault for the next call, or None. Two draws per call, always, so the sequence
        for a seed does not depend on the rate."""
        roll = self._random.random()
        kind = self._random.choice(_KINDS)
        return kind if roll < self.rate else None
