"""Ctrl-C during the demo's set-up, stopping at a safe point.

Python's own SIGINT handling raises KeyboardInterrupt wherever the main thread happens to be:
in the middle of a store write it leaves the SQLite write lock held, so recording the failed
sync run then fails with "database is locked"; inside a weakref or `__del__` callback
(SQLAlchemy has several) it is printed and ignored, and the demo would carry on. So the first
Ctrl-C is only recorded, and the set-up stops at the next safe point: between steps, after each
committed page of the first sync and after each committed batch of the evaluation. A second
Ctrl-C interrupts at once.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from app.sync.progress import SyncProgress


class StopRequest:
    def __init__(self) -> None:
        self._event = threading.Event()

    @property
    def requested(self) -> bool:
        return self._event.is_set()

    def handle(self, signum: int, frame: FrameType | None) -> None:
        if self._event.is_set():
            raise KeyboardInterrupt
        self._event.set()

    def check(self) -> None:
        """Raises KeyboardInterrupt if Ctrl-C was pressed: call it where stopping is safe."""
        if self._event.is_set():
            raise KeyboardInterrupt

    @contextmanager
    def installed(self) -> Iterator[StopRequest]:
        previous = signal.signal(signal.SIGINT, self.handle)
        try:
            yield self
        finally:
            signal.signal(signal.SIGINT, previous)


class InterruptibleProgress:
    """A SyncProgress that stops the sync at the next page once Ctrl-C was pressed."""

    def __init__(self, inner: SyncProgress, stop: StopRequest) -> None:
        self._inner = inner
        self._stop = stop

    def begin(self, object_type: str, total: int | None) -> None:
        self._stop.check()
        self._inner.begin(object_type, total)

    def advance(self, object_type: str, records: int) -> None:
        # Called once a page is committed: stopping here leaves nothing half-written.
        self._inner.advance(object_type, records)
        self._stop.check()

    def end(self, object_type: str) -> None:
        self._inner.end(object_type)
