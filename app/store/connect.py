"""Opening the store the way every command and the service do."""

from __future__ import annotations

import logging

from sqlalchemy import Engine

from app.config import Settings
from app.errors import DatabaseError
from app.store import migrate
from app.store.db import check_connection, create_db_engine

log = logging.getLogger(__name__)


def open_store(settings: Settings, *, upgrade_sqlite: bool = True) -> Engine:
    """An engine on a reachable store at the head revision.

    SQLite is brought to the head revision on the spot (it is a file the service owns).
    PostgreSQL is shared infrastructure: it is upgraded only by `slaguard db upgrade`, and
    here an out-of-date schema is an error that says so.
    """
    engine = create_db_engine(settings.database_url)
    check_connection(engine)
    if migrate.is_up_to_date(engine):
        return engine
    if settings.is_sqlite and upgrade_sqlite:
        log.info("bringing %s to schema %s", settings.safe_database_url, migrate.head_revision())
        migrate.upgrade(settings.database_url)
        return engine
    current = migrate.current_revision(engine) or "empty"
    engine.dispose()
    raise DatabaseError(
        f"The database at {settings.safe_database_url} is at schema {current}, not "
        f"{migrate.head_revision()}; run `slaguard db upgrade` first."
    )
