from __future__ import annotations

import pytest
from sqlalchemy import inspect

from app.models import Base
from app.store import migrate
from app.store.db import create_db_engine

BACKENDS = ["sqlite", "postgresql"]


def _tables(url: str) -> set[str]:
    engine = create_db_engine(url)
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


@pytest.mark.parametrize("fresh_database_url", BACKENDS, indirect=True)
def test_upgrade_downgrade_upgrade_round_trip(fresh_database_url: str) -> None:
    expected = {table.name for table in Base.metadata.sorted_tables}

    migrate.upgrade(fresh_database_url)
    assert _tables(fresh_database_url) == expected

    migrate.downgrade(fresh_database_url, "base")
    assert _tables(fresh_database_url) == set()

    migrate.upgrade(fresh_database_url)
    assert _tables(fresh_database_url) == expected
    engine = create_db_engine(fresh_database_url)
    try:
        assert migrate.is_up_to_date(engine)
    finally:
        engine.dispose()


@pytest.mark.parametrize("fresh_database_url", BACKENDS, indirect=True)
def test_models_match_migrations(fresh_database_url: str) -> None:
    """Autogenerate finds nothing to do: the models and the revisions agree."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    migrate.upgrade(fresh_database_url)
    engine = create_db_engine(fresh_database_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            diff = compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()
    assert diff == []
