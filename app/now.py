"""The now-provider: code that must be testable at any moment is handed one instead of reading
the system time itself."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Now = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)
