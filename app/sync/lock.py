"""One sync per portal at a time, across processes: the scheduler's leader-lock mechanism
(app.leader) keyed per portal.

- PostgreSQL: a session-level advisory lock ("SLSY", portal) on a dedicated connection whose
  application name carries the holder's pid and host.
- SQLite: an exclusive `flock` on `<database>.sync-<portal>.lock` beside the database file,
  stamped with the holder's pid, host and start.
- In-memory SQLite: a lock of this process (nobody else can open that store).

The lock also tells exactly which `running` sync runs are orphans: every run takes the lock
before it writes its row and finishes the row before it lets go, so whoever holds a portal's
lock knows that no live process is running that portal's other `running` rows.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

from sqlalchemy.engine import make_url

from app.errors import SlaguardError
from app.leader import FileLock, LockHolder, PostgresAdvisoryLock, this_process

log = logging.getLogger(__name__)

# pg_try_advisory_lock(int4, int4): "SLSY" and the portal (the leader uses "SLAG").
SYNC_LOCK_CLASS_ID = 0x534C5359
# Seconds between two tries while waiting for another process's sync to end.
WAIT_POLL_SECONDS = 1.0


class SyncLock(Protocol):
    def acquire(self) -> bool:
        """True when taken, False when someone else holds it; raises when it cannot ask."""
        ...

    def holder(self) -> LockHolder | None: ...

    def release(self) -> None: ...


class SyncInProgressError(SlaguardError):
    """Another process (or thread) is syncing this portal."""

    def __init__(self, portal_id: int, holder: LockHolder | None, waited: float | None) -> None:
        who = str(holder) if holder is not None else "another process"
        # for logs: the situation without advice meant for the command line
        self.situation = f"another sync of portal {portal_id} is running ({who})"
        if waited is None:
            message = (
                f"Another sync of portal {portal_id} is running ({who}); "
                "run again with --wait to start when it ends."
            )
        else:
            message = (
                f"Another sync of portal {portal_id} was still running after {waited:.0f} s "
                f"of waiting ({who}); try again later or wait longer with --wait-timeout."
            )
        super().__init__(message)
        self.portal_id = portal_id
        self.holder = holder


def sync_lock_for(database_url: str, portal_id: int) -> SyncLock:
    url = make_url(database_url)
    if url.get_backend_name() == "postgresql":
        pid, host = this_process()
        return PostgresAdvisoryLock(
            database_url,
            class_id=SYNC_LOCK_CLASS_ID,
            # objid is an unsigned 32-bit oid: portal ids are far below 2^31
            object_id=portal_id % 2**31,
            application_name=f"slaguard-sync {pid}@{host}",
            description=f"PostgreSQL advisory lock for the sync of portal {portal_id}",
        )
    database = url.database or ""
    if database in ("", ":memory:") or database.startswith("file::memory:"):
        return ProcessLock(portal_id)
    path = Path(database).expanduser().resolve()
    return FileLock(path.with_name(f"{path.name}.sync-{portal_id}.lock"))


_process_locks: dict[int, threading.Lock] = {}
_process_locks_guard = threading.Lock()


class ProcessLock:
    """For a store only this process can open."""

    def __init__(self, portal_id: int) -> None:
        with _process_locks_guard:
            self._lock = _process_locks.setdefault(portal_id, threading.Lock())
        self._held = False

    def acquire(self) -> bool:
        self._held = self._held or self._lock.acquire(blocking=False)
        return self._held

    def holder(self) -> LockHolder | None:
        pid, host = this_process()
        return LockHolder(pid=pid, host=host, since=None)

    def release(self) -> None:
        if self._held:
            self._held = False
            self._lock.release()


@contextmanager
def portal_sync_lock(
    database_url: str,
    portal_id: int,
    *,
    wait_seconds: float | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[None]:
    """Hold the portal's sync lock for the block. Without `wait_seconds`, a held lock raises
    SyncInProgressError at once; with it, the lock is tried every second until it is free or
    `wait_seconds` have passed."""
    lock = sync_lock_for(database_url, portal_id)
    try:
        _take(lock, portal_id, wait_seconds, sleep)
        yield
    finally:
        lock.release()


def _take(
    lock: SyncLock, portal_id: int, wait_seconds: float | None, sleep: Callable[[float], None]
) -> None:
    started = time.monotonic()
    announced = False
    while not _acquire(lock, portal_id):
        holder = lock.holder()
        waited = time.monotonic() - started
        if wait_seconds is None or waited >= wait_seconds:
            raise SyncInProgressError(portal_id, holder, wait_seconds)
        if not announced:
            log.info(
                "waiting up to %.0f s for the sync of portal %s held by %s",
                wait_seconds,
                portal_id,
                holder or "another process",
            )
            announced = True
        sleep(min(WAIT_POLL_SECONDS, wait_seconds - waited))


def _acquire(lock: SyncLock, portal_id: int) -> bool:
    try:
        return lock.acquire()
    except OSError as exc:  # the lock file beside the database cannot be opened
        raise SlaguardError(
            f"Cannot take the sync lock of portal {portal_id}: {exc.filename}: {exc.strerror}."
        ) from None
