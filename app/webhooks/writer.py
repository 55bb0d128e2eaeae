"""The endpoint's writer: one thread commits every received batch, group-committing the batches
that arrive while it writes.

The endpoint verifies and parses on the event loop, hands the parsed batch here and awaits the
commit; only then does it answer. So the durability contract is unchanged (every event is
committed before its 2xx), but with ten requests in flight one transaction (and one commit)
serves all that queued during the previous one, and no request takes a trip through the thread
pool. A group that fails is retried batch by batch, so a batch that cannot be stored fails
alone.

The thread starts with the first batch and ends after a few idle seconds, so an application
(and each test's) needs no start or stop of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections import deque
from dataclasses import dataclass
from datetime import datetime

from app.db import SessionFactory, session_scope
from app.webhooks.ingest import IngestResult, ParsedBatch, store_batch, write_lock

IDLE_EXIT_S = 5.0
# A group is one transaction; beyond this many events the rest waits for the next one, so a
# burst of large batches does not hold SQLite's write lock for long.
MAX_GROUP_EVENTS = 1000


@dataclass
class _Pending:
    batch: ParsedBatch
    received_at: datetime
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[IngestResult]

    @property
    def size(self) -> int:
        return len(self.batch.events) + len(self.batch.dead_letters)

    def resolve(self, result: IngestResult | None, error: BaseException | None = None) -> None:
        with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits for the answer
            self.loop.call_soon_threadsafe(_settle, self.future, result, error)


def _settle(
    future: asyncio.Future[IngestResult], result: IngestResult | None, error: BaseException | None
) -> None:
    if future.done():
        return  # the request was cancelled (client gone); the batch is stored all the same
    if error is not None:
        future.set_exception(error)
    else:
        assert result is not None
        future.set_result(result)


class IngestWriter:
    """Commits parsed batches for the event loop, several per transaction when they queue."""

    def __init__(self, session_factory: SessionFactory, *, idle_exit_s: float = IDLE_EXIT_S):
        self._session_factory = session_factory
        self._idle_exit_s = idle_exit_s
        self._queue: deque[_Pending] = deque()
        self._lock = threading.Lock()
        self._wakeup = threading.Condition(self._lock)
        self._running = False

    async def store(self, batch: ParsedBatch, received_at: datetime) -> IngestResult:
        """Returns once the batch is committed; raises what storing it raised."""
        loop = asyncio.get_running_loop()
        pending = _Pending(batch, received_at, loop, loop.create_future())
        with self._lock:
            self._queue.append(pending)
            if self._running:
                self._wakeup.notify()
            else:
                self._running = True
                threading.Thread(
                    target=self._run, name="webhook-ingest-writer", daemon=True
                ).start()
        return await pending.future

    def _run(self) -> None:
        while True:
            with self._lock:
                if not self._queue:
                    self._wakeup.wait(self._idle_exit_s)
                    if not self._queue:
                        self._running = False  # a batch queued from now on starts a thread
                        return
                group = [self._queue.popleft()]
                events = group[0].size
                while self._queue and events + self._queue[0].size <= MAX_GROUP_EVENTS:
                    events += self._queue[0].size
                    group.append(self._queue.popleft())
            self._write(group)

    def _write(self, group: list[_Pending]) -> None:
        try:
            factory = self._session_factory
            with write_lock(factory), session_scope(factory) as session:
                results = [store_batch(session, p.batch, p.received_at) for p in group]
        except Exception as exc:
            if len(group) > 1:
                for pending in group:  # each batch alone: only the one that fails fails
                    self._write([pending])
                return
            group[0].resolve(None, exc)  # the endpoint raises it: a 500, logged there
            return
        for pending, result in zip(group, results, strict=True):
            pending.resolve(result)
