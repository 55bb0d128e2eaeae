"""A writer's own SQLite connection that leaves copying the write-ahead log to a thread.

SQLite copies the write-ahead log into the database file (and fsyncs it) inside whichever
commit makes the log cross 1,000 pages. A writer that commits often — the webhook endpoint's
group commits, the sync's page commits — would wait on that copy again and again. With
`DedicatedConnection` the writer commits on one connection that never checkpoints, and a
`WalCheckpointer` thread copies the log next to the writes (PASSIVE: it neither waits for nor
blocks writers or readers). Commits stay exactly as durable (WAL, synchronous=NORMAL); only
the copying moves. On other databases the connection is an ordinary one and no thread runs.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator

from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session

from app.store.db import SessionFactory

log = logging.getLogger(__name__)

# How often the checkpointer copies the log, and SQLite's own threshold, restored when the
# dedicated connection goes back to the pool.
CHECKPOINT_INTERVAL_S = 0.25
SQLITE_AUTOCHECKPOINT = 1000


def pragma(connection: Connection, statement: str) -> None:
    """A PRAGMA straight through the driver: no transaction of SQLAlchemy's begins or ends."""
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(f"PRAGMA {statement}")
        cursor.fetchall()
    finally:
        cursor.close()


class WalCheckpointer:
    """PRAGMA wal_checkpoint(PASSIVE) every `interval` seconds from its own thread and
    connection, and once more when stopped."""

    def __init__(self, engine: Engine, name: str, interval: float = CHECKPOINT_INTERVAL_S) -> None:
        self._engine = engine
        self._name = name
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"{name}-wal", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        with self._engine.connect() as connection:
            while True:
                stopping = self._stop.wait(self._interval)
                try:
                    pragma(connection, "wal_checkpoint(PASSIVE)")
                except Exception as exc:  # other connections still checkpoint past 1,000 pages
                    log.warning("%s: WAL checkpoint failed: %s", self._name, type(exc).__name__)
                if stopping:
                    return


class DedicatedConnection:
    """One writer's connection, kept until `close`; on SQLite it does not checkpoint and a
    `WalCheckpointer` runs beside it meanwhile."""

    def __init__(
        self,
        session_factory: SessionFactory,
        name: str,
        checkpoint_interval: float = CHECKPOINT_INTERVAL_S,
    ) -> None:
        self._engine: Engine = session_factory.kw["bind"]
        self._name = name
        self._interval = checkpoint_interval
        self._connection: Connection | None = None
        self._checkpointer: WalCheckpointer | None = None

    def session(self) -> Session:
        """A session on the connection (the caller commits or rolls back)."""
        if self._connection is None:
            connection = self._engine.connect()
            if self._engine.dialect.name == "sqlite":
                pragma(connection, "wal_autocheckpoint=0")
                if self._checkpointer is None:
                    self._checkpointer = WalCheckpointer(self._engine, self._name, self._interval)
            self._connection = connection
        return Session(bind=self._connection, expire_on_commit=False)

    @contextlib.contextmanager
    def unit(self) -> Iterator[Session]:
        """A unit of work on the connection: committed when the block ends; rolled back, and
        the connection dropped, when it raises."""
        session = self.session()
        try:
            yield session
            session.commit()
        except BaseException:
            with contextlib.suppress(Exception):
                session.rollback()
            self.discard()
            raise
        finally:
            session.close()

    def discard(self) -> None:
        """After a failure: the connection is dropped (not pooled in an unknown state)."""
        if self._connection is not None:
            with contextlib.suppress(Exception):
                self._connection.invalidate()
                self._connection.close()
            self._connection = None

    def close(self) -> None:
        if self._connection is not None:
            connection, self._connection = self._connection, None
            with contextlib.suppress(Exception):
                if self._engine.dialect.name == "sqlite":
                    pragma(connection, f"wal_autocheckpoint={SQLITE_AUTOCHECKPOINT}")
            connection.close()
        if self._checkpointer is not None:
            self._checkpointer.stop()
            self._checkpointer = None
