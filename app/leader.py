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

The same two mechanisms, keyed per portal, keep one sync per portal at a time (app/sync/lock.py);
`holder()` says who holds a lock this process could not take.
"""

from __future__ import annotations

import json
import logging
import os
import socket
from dataclasses import dataclass
from datetime import UTC, datetime
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
# classid/objid with objsubid = 2, which is how `_still_held` and `holder` find it.
LOCK_CLASS_ID = 0x534C4147
LOCK_OBJECT_ID = 1
APPLICATION_NAME = "slaguard-scheduler-leader"


@dataclass(frozen=True)
class LockHolder:
    """Who holds a lock, as far as the lock can tell (any field may be unknown)."""

    pid: int | None
    host: str | None
    since: datetime | None

    def __str__(self) -> str:
        who = f"process {self.pid}" if self.pid is not None else "a process"
        if self.host:
            who += f" on host {self.host}"
        if self.since is not None:
            who += f" since {self.since.astimezone(UTC).strftime('%Y-%m-%d %H:%M:%S UTC')}"
        return who


def this_process() -> tuple[int, str]:
    return os.getpid(), socket.gethostname()


_HELD_HERE = text(
    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
    " AND pid = pg_backend_pid() AND database = (SELECT oid FROM pg_database"
    " WHERE datname = current_database())"
    " AND classid = :class_id AND objid = :object_id AND objsubid = 2"
)
_HOLDER = text(
    "SELECT activity.application_name, activity.backend_start"
    " FROM pg_locks held JOIN pg_stat_activity activity ON activity.pid = held.pid"
    " WHERE held.locktype = 'advisory' AND held.granted AND held.database = (SELECT oid"
    " FROM pg_database WHERE datname = current_database())"
    " AND held.classid = :class_id AND held.objid = :object_id AND held.objsubid = 2"
)


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
        try:
            return self.acquire()
        except OSError as exc:
            log.warning("cannot open the scheduler lock file %s: %s", self.path, exc.strerror)
            return False

    def acquire(self) -> bool:
        """Take the lock if it is free (True), or say it is taken (False); OSError when the
        file cannot be opened."""
        if fcntl is None:  # pragma: no cover - Windows
            return True
        if self._file is not None:
            return True  # flock is held until we close the file or the process dies
        handle = self.path.open("a+b")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()  # another process (or scheduler) leads
            return False
        self._file = handle
        self._stamp(handle)
        return True

    def holder(self) -> LockHolder | None:
        """Who wrote the file last: the holder, when the lock is taken (None if unreadable,
        e.g. in the instant between its flock and its stamp)."""
        try:
            stamp = json.loads(self.path.read_text(encoding="utf-8"))
            return LockHolder(
                pid=int(stamp["pid"]),
                host=str(stamp["host"]),
                since=datetime.fromisoformat(stamp["since"]),
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None

    @staticmethod
    def _stamp(handle: IO[bytes]) -> None:
        pid, host = this_process()
        stamp = {"pid": pid, "host": host, "since": datetime.now(UTC).isoformat()}
        try:
            os.ftruncate(handle.fileno(), 0)
            os.write(handle.fileno(), json.dumps(stamp).encode())
        except OSError as exc:  # the lock holds without it; only the waiting side's message loses
            log.warning("cannot write who holds %s: %s", handle.name, exc.strerror)

    def release(self) -> None:
        if self._file is not None:
            self._file.close()  # closing the descriptor releases the flock
            self._file = None


class PostgresAdvisoryLock:
    def __init__(
        self,
        database_url: str,
        *,
        class_id: int = LOCK_CLASS_ID,
        object_id: int = LOCK_OBJECT_ID,
        application_name: str = APPLICATION_NAME,
        description: str = "PostgreSQL advisory lock",
    ) -> None:
        self.description = description
        self._key = {"class_id": class_id, "object_id": object_id}
        # A private engine without a pool: the lock lives and dies with one real session.
        self._engine = create_engine(
            database_url,
            poolclass=NullPool,
            isolation_level="AUTOCOMMIT",
            # PostgreSQL keeps 63 bytes of it
            connect_args={"application_name": application_name[:63], "connect_timeout": 5},
        )
        self._connection: Connection | None = None

    def hold(self) -> bool:
        try:
            if self._connection is not None:
                if self._still_held(self._connection):
                    return True
                log.warning("the scheduler's advisory lock was lost; stepping down")
                self._close()
            return self.acquire()
        except SQLAlchemyError as exc:
            # Messages from the driver name the host, never the password; keep the first line.
            reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
            log.warning("scheduler leader check failed (%s): %s", type(exc).__name__, reason)
            self._close()
            return False

    def release(self) -> None:
        self._close()
        self._engine.dispose()

    def acquire(self) -> bool:
        """Take the lock if it is free (True), or say it is taken (False), on a new session;
        raises SQLAlchemyError when the database cannot be asked."""
        if self._connection is not None:
            return True
        connection = self._engine.connect()
        try:
            won = connection.execute(
                text("SELECT pg_try_advisory_lock(:class_id, :object_id)"), self._key
            ).scalar_one()
        except BaseException:
            connection.close()
            raise
        if won:
            self._connection = connection
            return True
        connection.close()
        return False

    def holder(self) -> LockHolder | None:
        """The session holding the lock: the pid and host its application name carries (see
        app.sync.lock), since its connection opened (the lock is taken on a new one)."""
        with self._engine.connect() as connection:
            row = connection.execute(_HOLDER, self._key).first()
        if row is None:
            return None
        pid, host = _process_of(str(row[0] or ""))
        return LockHolder(pid=pid, host=host, since=row[1])

    def _still_held(self, connection: Connection) -> bool:
        held = connection.execute(_HELD_HERE, self._key).scalar_one()
        return bool(held)

    def _close(self) -> None:
        if self._connection is None:
            return
        connection, self._connection = self._connection, None
        try:
            connection.close()  # ending the session releases the advisory lock
        except SQLAlchemyError:
            connection.invalidate()


def _process_of(application_name: str) -> tuple[int | None, str | None]:
    """`slaguard-… PID@HOST` -> (PID, HOST); anything else names no process of ours."""
    _, _, who = application_name.partition(" ")
    pid, at, host = who.partition("@")
    if not at or not pid.isdigit():
        return None, None
    return int(pid), host or None
