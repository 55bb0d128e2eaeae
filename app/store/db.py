"""Engine and session factory. SQLite gets WAL, foreign keys and a busy timeout."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from app.errors import DatabaseError

SessionFactory = sessionmaker[Session]


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
    finally:
        cursor.close()


def create_db_engine(database_url: str, **kwargs: Any) -> Engine:
    """An engine for `database_url`; fails with one sentence if the store is unreachable."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            parent = Path(url.database).expanduser().resolve().parent
            if not parent.is_dir():
                raise DatabaseError(
                    f"DATABASE_URL points at {url.database}, but the folder {parent} "
                    "does not exist."
                )
        connect_args = kwargs.pop("connect_args", {})
        connect_args.setdefault("check_same_thread", False)
        connect_args.setdefault("timeout", 30)
        engine = create_engine(url, connect_args=connect_args, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def check_connection(engine: Engine) -> None:
    """Open one connection, turning the driver's error into a sentence without secrets."""
    safe_url = engine.url.render_as_string(hide_password=True)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else "unknown error"
        raise DatabaseError(f"Cannot connect to the database at {safe_url}: {reason}") from None
    except SQLAlchemyError as exc:
        raise DatabaseError(
            f"Cannot use the database at {safe_url}: {type(exc).__name__}"
        ) from None


def create_session_factory(engine: Engine) -> SessionFactory:
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def session_scope(factory: SessionFactory) -> Iterator[Session]:
    """A unit of work: commits when the block ends, rolls back when it raises."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def begin_write(session: Session) -> None:
    """Take SQLite's write lock now, before the reads a write depends on.

    The driver begins a transaction only at the first INSERT/UPDATE/DELETE, so reads before it
    run outside any transaction; inside one (a savepoint, or reads after a write elsewhere
    committed) SQLite cannot upgrade the read snapshot to a writer and answers `database is
    locked` at once, without the busy timeout. BEGIN IMMEDIATE waits for the lock (up to the
    busy timeout) and the reads that follow see the latest commit. Nothing on PostgreSQL,
    and nothing if this session's transaction already began (it wrote, or the caller began it).
    """
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        return
    dbapi_connection: Any = connection.connection.dbapi_connection
    if dbapi_connection.in_transaction:
        return
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("BEGIN IMMEDIATE")
    finally:
        cursor.close()


@contextmanager
def write_scope(factory: SessionFactory) -> Iterator[Session]:
    """`session_scope` for a unit of work that reads what it then writes: on SQLite it holds
    the write lock from its first statement (`begin_write`)."""
    with session_scope(factory) as session:
        begin_write(session)
        yield session
