"""Overlap waiting on HubSpot with writing to the store.

`prefetch` runs a page generator in a background thread a few pages ahead; the engine then
prepares each page (change detection, history and association reads) and commits it on the
calling thread, strictly in order, so checkpoints advance page by page. The queue is
bounded: memory stays flat however large the portal is.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TypeVar

T = TypeVar("T")

_DONE = object()


class _Failure:
    def __init__(self, error: BaseException) -> None:
        self.error = error


@contextmanager
def prefetch(source: Iterator[T], depth: int) -> Iterator[Iterator[T]]:
    """Iterate `source` in a background thread, at most `depth` items ahead."""
    items: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                items.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in source:
                if not put(item):
                    return
        except BaseException as exc:  # handed to the consumer, which re-raises it
            put(_Failure(exc))
            return
        put(_DONE)

    thread = threading.Thread(target=produce, name="sync-prefetch", daemon=True)
    thread.start()

    def consume() -> Iterator[T]:
        while True:
            item = items.get()
            if item is _DONE:
                return
            if isinstance(item, _Failure):
                raise item.error
            yield item  # type: ignore[misc]

    try:
        yield consume()
    finally:
        stop.set()
        thread.join(timeout=30)
