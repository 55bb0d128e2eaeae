from __future__ import annotations

import typer

from app.cli.common import console, settings_from_env
from app.store import migrate
from app.store.db import check_connection, create_db_engine

app = typer.Typer(help="Manage the store's schema.", no_args_is_help=True)


@app.command()
def upgrade(revision: str = typer.Argument("head", help="Target revision.")) -> None:
    """Bring the database in DATABASE_URL to the latest schema (PostgreSQL needs this)."""
    settings = settings_from_env()
    engine = create_db_engine(settings.database_url)
    check_connection(engine)
    before = migrate.current_revision(engine) or "empty"
    engine.dispose()
    migrate.upgrade(settings.database_url, revision)
    console.print(
        f"{settings.safe_database_url}: schema {before} -> {revision}"
        if before != revision
        else f"{settings.safe_database_url}: already at {revision}",
        highlight=False,
    )


@app.command()
def downgrade(revision: str = typer.Argument(..., help="Target revision, e.g. base.")) -> None:
    """Take the schema back to REVISION (drops what later revisions created)."""
    settings = settings_from_env()
    check_connection(create_db_engine(settings.database_url))
    migrate.downgrade(settings.database_url, revision)
    console.print(f"{settings.safe_database_url}: schema -> {revision}", highlight=False)


@app.command()
def current() -> None:
    """Print the schema revision of the database and the latest one this version knows."""
    settings = settings_from_env()
    engine = create_db_engine(settings.database_url)
    check_connection(engine)
    console.print(
        f"current: {migrate.current_revision(engine) or 'empty'}  head: {migrate.head_revision()}",
        highlight=False,
    )
