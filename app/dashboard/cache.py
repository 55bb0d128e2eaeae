"""A small memo for the reports that cost seconds on a large store (time to first touch, quota
progress): a result is reused only while the store's marker (the newest SLA event, the newest
stage transition, the rules in force) is the one it was computed on, and for the same minute.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

T = TypeVar("T")


class ReportCache:
    def __init__(self, size: int = 64) -> None:
        self._items: OrderedDict[Hashable, tuple[Hashable, Any]] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def get(self, key: Hashable, marker: Hashable, compute: Callable[[], T]) -> T:
        with self._lock:
            found = self._items.get(key)
            if found is not None and found[0] == marker:
                self._items.move_to_end(key)
                value: T = found[1]
                return value
        value = compute()  # outside the lock: two requests may compute once each, harmlessly
        with self._lock:
            self._items[key] = (marker, value)
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return value
