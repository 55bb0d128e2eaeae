"""Deterministic hashing and the per-type timeline of base records.

Why the timeline is monotone: a base record's created AND modified times never decrease with
its index. Listing by id, searching by modified time, and searching by created time then all
walk the same index order, and a time bound turns into an index bound by binary search, so the
emulator never has to sort or hold a million records to answer a search.
"""

from __future__ import annotations

import bisect
import functools
import math
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

MASK64 = (1 << 64) - 1
T = TypeVar("T")


def mix64(value: int) -> int:
    """SplitMix64 finaliser: a cheap, well-spread hash of a 64-bit integer."""
    value = (value + 0x9E3779B97F4A7C15) & MASK64
    value = ((value ^ (value >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    value = ((value ^ (value >> 27)) * 0x94D049BB133111EB) & MASK64
    return value ^ (value >> 31)


@functools.cache
def salt(text: str) -> int:
    return zlib.crc32(text.encode())


def record_hash(seed: int, object_type: str, index: int, purpose: str = "") -> int:
    return mix64((seed * 1_000_003 + salt(object_type)) * 0x100000001B3 + index * 7 + salt(purpose))


def unit(seed: int, object_type: str, index: int, purpose: str) -> float:
    """A uniform number in [0, 1) fixed by (seed, type, index, purpose)."""
    return record_hash(seed, object_type, index, purpose) / float(1 << 64)


class Draws:
    """A cheap deterministic random stream for deriving one record.

    Seeded once from the record's hash, then a 64-bit LCG (Knuth's MMIX constants) whose high
    bits are used: random.Random costs ~15 us to seed and a page derives hundreds of records.
    """

    __slots__ = ("state",)

    def __init__(self, seed: int) -> None:
        self.state = mix64(seed)

    def next64(self) -> int:
        self.state = (self.state * 6364136223846793005 + 1442695040888963407) & MASK64
        return self.state

    def random(self) -> float:
        return (self.next64() >> 11) / 9007199254740992.0

    def randrange(self, start: int, stop: int | None = None) -> int:
        low, high = (0, start) if stop is None else (start, stop)
        return low + (self.next64() >> 24) % (high - low)

    def choice(self, options: Sequence[T]) -> T:
        return options[(self.next64() >> 24) % len(options)]

    def expovariate(self, rate: float) -> float:
        return -math.log(1.0 - self.random()) / rate


@functools.lru_cache(maxsize=4096)
def _day_prefix(day: int) -> str:
    return datetime.fromtimestamp(day * 86_400, tz=UTC).strftime("%Y-%m-%dT")


def iso_ms(epoch_ms: int) -> str:
    """HubSpot's timestamp format: ISO-8601, milliseconds, Z."""
    day, in_day = divmod(epoch_ms, 86_400_000)
    seconds, millis = divmod(in_day, 1000)
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    return f"{_day_prefix(day)}{hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}Z"


def to_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


@dataclass(frozen=True)
class SameTimestampBlock:
    """Base indices [start, stop) that all share one modified time (a bulk update)."""

    start: int
    stop: int


@dataclass(frozen=True)
class Timeline:
    """Created and modified times of the `count` base records of one object type."""

    seed: int
    object_type: str
    count: int
    start_ms: int
    end_ms: int
    block: SameTimestampBlock | None = None

    @functools.cached_property
    def step_ms(self) -> int:
        return max(1, (self.end_ms - self.start_ms) // max(1, self.count))

    def created(self, index: int) -> int:
        step = self.step_ms
        jitter = record_hash(self.seed, self.object_type, index, "created") % step
        return self.start_ms + index * step + jitter

    def _modified_from_created(self, created: int) -> int:
        # 0.7 * created + 0.3 * end: never earlier than created, never later than the end,
        # and non-decreasing in the index because created is.
        return created + (self.end_ms - created) * 3 // 10

    def modified(self, index: int, created: int | None = None) -> int:
        """`created` may be passed when known, to save recomputing it."""
        block = self.block
        if block is not None and block.start <= index < block.stop:
            return self._modified_from_created(self.created(block.stop - 1))
        return self._modified_from_created(self.created(index) if created is None else created)

    def first_modified_at_or_after(self, epoch_ms: int) -> int:
        return bisect.bisect_left(range(self.count), epoch_ms, key=self.modified)

    def first_modified_after(self, epoch_ms: int) -> int:
        return bisect.bisect_right(range(self.count), epoch_ms, key=self.modified)

    def first_created_at_or_after(self, epoch_ms: int) -> int:
        return bisect.bisect_left(range(self.count), epoch_ms, key=self.created)

    def first_created_after(self, epoch_ms: int) -> int:
        return bisect.bisect_right(range(self.count), epoch_ms, key=self.created)
