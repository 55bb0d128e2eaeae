"""The endpoint's writer: one thread commits every received batch, group-committing the batches
that arrive while it writes.

The endpoint verifies and parses on the event loop, hands the parsed batch here and awaits the
commit; only then does it answer. So the durability contract is unchanged (every event is
committed before its 2xx), but with ten requests in flight one transaction (and one commit)
serves all that queued during the previous one, and no request takes a trip through the thread
pool. A group that fails is retried batch by batch, so a batch that cannot be stored fails
alone.

The thread starts with the first batch and ends after a few idle seconds, so an application
(and each test's) needs no start or stop of its own. While it runs it keeps one connection,
and on SQLite a second thread copies the write-ahead log into the database file, so that no
request waits on that copy and its fsync (`app.store.sqlite_wal.DedicatedConnection`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections import deque
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import OperationalError

from app.store.db import SessionFactory
from app.store.sqlite_wal import DedicatedConnection
from app.webhooks.ingest import IngestResult, ParsedBatch, store_batch, write_lock

log = logging.getLogger(__name__)

THREAD_NAME = "webhook-writer"
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
        self._thread: threading.Thread | None = None

    @property
    def thread(self) -> threading.Thread | None:
        """The thread writing now; None once it ended, idle (the next batch starts another)."""
        return self._thread

    async def store(self, batch: ParsedBatch, received_at: datetime) -> IngestResult:
        """Returns once the batch is committed; raises what storing it raised."""
        loop = asyncio.get_running_loop()
        pending = _Pending(batch, received_at, loop, loop.create_future())
        with self._lock:
            self._queue.append(pending)
            if self._thread is not None and self._thread.is_alive():
                self._wakeup.notify()
            else:
                self._thread = threading.Thread(target=self._run, name=THREAD_NAME, daemon=True)
                self._thread.start()
        return await pending.future

    def _run(self) -> None:
        connection = DedicatedConnection(self._session_factory, THREAD_NAME)
        try:
            while True:
                with self._lock:
                    if not self._queue:
                        self._wakeup.wait(self._idle_exit_s)
                        if not self._queue:
                            # Still under the lock: a batch queued from now on sees this
                            # thread as ending and starts another.
                            self._thread = None
                            return
                    group = [self._queue.popleft()]
                    events = group[0].size
                    while self._queue and events + self._queue[0].size <= MAX_GROUP_EVENTS:
                        events += self._queue[0].size
                        group.append(self._queue.popleft())
                self._write(connection, group)
        finally:
            connection.close()

    def _write(self, connection: DedicatedConnection, group: list[_Pending]) -> None:
        try:
            with write_lock(self._session_factory), connection.session() as session:
                results = [store_batch(session, p.batch, p.received_at) for p in group]
                session.commit()
        except Exception as exc:
            connection.discard()  # whatever went wrong, the next group starts afresh
            if len(group) > 1 and not isinstance(exc, OperationalError):
                for pending in group:  # each batch alone: only the one that fails fails
                    self._write(connection, [pending])
                return
            # One batch, or the store itself failing (locked past the busy timeout, gone):
            # retrying batch by batch would only make every request wait that long again.
            for pending in group:
                pending.resolve(None, exc)  # the endpoint raises it: a 500, logged there
            return
        for pending, result in zip(group, results, strict=True):
            pending.resolve(result)
