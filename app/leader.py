"""Leader election for the scheduler: only the process holding the lock runs jobs.

- PostgreSQL: a session-level `pg_try_advisory_lock` held on a dedicated, direct connection
  (not the pool, and not through PgBouncer's transaction pooling, where a session lock would
  land on a random server session). Each check confirms in `pg_locks` that THIS session still
  holds it; a dropped connection means leadership is lost until the lock is won again. The
  server releases the lock the moment the holder's session ends, so a crashed leader is
  replaced at the next check of a follower.
- SQLite: an exclusive, non-blocking `flock` on a file next to the database. SQLite is a file
  on one host, so every process that can open the store can see the lock file; the kernel
  drops the lock when its holder exits or crashes, so there is no lease to expire, no clock
  to trust and no schema to add (a lease row would need all three). Lock files on network
  filesystems are not reliable, but neither is SQLite there.
- In-memory SQLite lives in one process: that process is always the leader.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import IO, Protocol

from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

try:  # POSIX only; without it a SQLite store runs one scheduler per process, always leader.
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

# pg_try_advisory_lock(int4, int4): "SLAG" and 1. The two-key form shows up in pg_locks as
# classid/objid with objsubid = 2, which is how `_still_held` finds it.
LOCK_CLASS_ID = 0x534C4147
LOCK_OBJECT_ID = 1
APPLICATION_NAME = "slaguard-scheduler-leader"


class LeaderLock(Protocol):
    description: str

    def hold(self) -> bool:
        """Try to win the lock, or confirm it is still held. Never raises."""
        ...

    def release(self) -> None: ...


def leader_lock_for(database_url: str) -> LeaderLock:
    url = make_url(database_url)
    if url.get_backend_name() == "postgresql":
        return PostgresAdvisoryLock(database_url)
    database = url.database or ""
    if database in ("", ":memory:") or database.startswith("file::memory:"):
        return ProcessLocalLock()
    path = Path(database).expanduser().resolve()
    return FileLock(path.with_name(path.name + ".scheduler.lock"))


class ProcessLocalLock:
    description = "in-process (in-memory SQLite has one process)"

    def hold(self) -> bool:
        return True

    def release(self) -> None:
        return None


class FileLock:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.description = f"file lock {path}"
        self._file: IO[bytes] | None = None

    def hold(self) -> bool:
        if fcntl is None:  # pragma: no cover - Windows
            return True
        if self._file is not None:
            return True  # flock is held until we close the file or the process dies
        try:
            handle = self.path.open("a+b")
        except OSError as exc:
            log.warning("cannot open the scheduler lock file %s: %s", self.path, exc.strerror)
            return False
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()  # another process (or scheduler) leads
            return False
        self._file = handle
        return True

    def release(self) -> None:
        if self._file is not None:
            self._file.close()  # closing the descriptor releases the flock
            self._file = None


class PostgresAdvisoryLock:
    def __init__(self, database_url: str) -> None:
        self.description = "PostgreSQL advisory lock"
        # A private engine without a pool: the lock lives and dies with one real session.
        self._engine = create_engine(
            database_url,
            poolclass=NullPool,
            isolation_level="AUTOCOMMIT",
            connect_args={"application_name": APPLICATION_NAME, "connect_timeout": 5},
        )
        self._connection: Connection | None = None

    def hold(self) -> bool:
        try:
            if self._connection is not None:
                if self._still_held(self._connection):
                    return True
                log.warning("the scheduler's advisory lock was lost; stepping down")
                self._close()
            return self._acquire()
        except SQLAlchemyError as exc:
            # Messages from the driver name the host, never the password; keep the first line.
            reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
            log.warning("scheduler leader check failed (%s): %s", type(exc).__name__, reason)
            self._close()
            return False

    def release(self) -> None:
        self._close()
        self._engine.dispose()

    def _acquire(self) -> bool:
        connection = self._engine.connect()
        won = connection.execute(
            text("SELECT pg_try_advisory_lock(:class_id, :object_id)"),
            {"class_id": LOCK_CLASS_ID, "object_id": LOCK_OBJECT_ID},
        ).scalar_one()
        if won:
            self._connection = connection
            return True
        connection.close()
        return False

    @staticmethod
    def _still_held(connection: Connection) -> bool:
        held = connection.execute(
            text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
                " AND pid = pg_backend_pid() AND database = (SELECT oid FROM pg_database"
                " WHERE datname = current_database())"
                " AND classid = :class_id AND objid = :object_id AND objsubid = 2"
            ),
            {"class_id": LOCK_CLASS_ID, "object_id": LOCK_OBJECT_ID},
        ).scalar_one()
        return bool(held)

    def _close(self) -> None:
        if self._connection is None:
            return
        connection, self._connection = self._connection, None
        try:
            connection.close()  # ending the session releases the advisory lock
        except SQLAlchemyError:
            connection.invalidate()
