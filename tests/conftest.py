"""Shared fixtures: real, migrated databases (SQLite always, PostgreSQL when
TEST_POSTGRES_URL is set), emptied after every test."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from hypothesis import is_hypothesis_test
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from app.config import Settings
from app.models import Base
from app.store import migrate
from app.store.db import SessionFactory, create_db_engine, create_session_factory
from tests import hypothesis_profiles

HYPOTHESIS_PROFILE = hypothesis_profiles.load()
pytest_plugins = ["tests.fixtures.sandbox"]

POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL")
BACKENDS = ["sqlite", "postgresql"]
NO_POSTGRES = "TEST_POSTGRES_URL is not set: PostgreSQL tests skipped"


def pytest_report_header() -> list[str]:
    profile = f"hypothesis profile: {HYPOTHESIS_PROFILE} (HYPOTHESIS_PROFILE=random explores)"
    if POSTGRES_URL:
        url = make_url(POSTGRES_URL).render_as_string()
        return [f"databases: sqlite, postgresql ({url})", profile]
    return [f"databases: sqlite only ({NO_POSTGRES})", profile]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every Hypothesis test carries the `property` marker (`make test-random` selects them)."""
    for item in items:
        if is_hypothesis_test(getattr(item, "obj", None)):
            item.add_marker(pytest.mark.property)


class PostgresDatabases:
    """Creates throw-away databases beside TEST_POSTGRES_URL's and drops them at the end."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = make_url(admin_url)
        self.admin = create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        self.created: list[str] = []

    def create(self) -> str:
        name = f"slaguard_test_{uuid.uuid4().hex[:12]}"
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        self.created.append(name)
        return self.admin_url.set(database=name).render_as_string(hide_password=False)

    def drop_all(self) -> None:
        with self.admin.connect() as conn:
            for name in self.created:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self.admin.dispose()


@pytest.fixture(scope="session")
def postgres_databases() -> Iterator[PostgresDatabases]:
    if not POSTGRES_URL:
        pytest.skip(NO_POSTGRES)
    databases = PostgresDatabases(POSTGRES_URL)
    yield databases
    databases.drop_all()


@pytest.fixture
def fresh_database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> str:
    """An empty (unmigrated) database on the backend named by `request.param`."""
    backend = getattr(request, "param", "sqlite")
    if backend == "postgresql":
        databases: PostgresDatabases = request.getfixturevalue("postgres_databases")
        return databases.create()
    path = tmp_path_factory.mktemp("db") / "slaguard.db"
    return f"sqlite:///{path}"


@pytest.fixture(scope="session")
def _migrated_sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('store') / 'slaguard.db'}"
    migrate.upgrade(url)
    return url


@pytest.fixture(scope="session")
def _migrated_postgres_url(postgres_databases: PostgresDatabases) -> str:
    url = postgres_databases.create()
    migrate.upgrade(url)
    return url


def _emptied_after(url: str) -> Iterator[str]:
    """Yields `url`; empties its tables afterwards, whoever wrote to them (this process or a
    subprocess the test started), so the next test starts on an empty store."""
    yield url
    engine = create_db_engine(url)
    try:
        _empty_tables(engine)
    finally:
        engine.dispose()


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A migrated database, once per backend; emptied after the test."""
    if request.param == "postgresql":
        url: str = request.getfixturevalue("_migrated_postgres_url")
    else:
        url = request.getfixturevalue("_migrated_sqlite_url")
    yield from _emptied_after(url)


@pytest.fixture
def sqlite_url(_migrated_sqlite_url: str) -> Iterator[str]:
    """The migrated SQLite database alone, for tests that need no second backend; emptied
    after the test."""
    yield from _emptied_after(_migrated_sqlite_url)


def _empty_tables(engine: Engine) -> None:
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for name in tables:
                conn.execute(text(f"DELETE FROM {name}"))


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = create_db_engine(database_url)
    try:
        yield engine
    finally:
        _empty_tables(engine)
        engine.dispose()


@pytest.fixture
def sqlite_engine(sqlite_url: str) -> Iterator[Engine]:
    engine = create_db_engine(sqlite_url)
    try:
        yield engine
    finally:
        _empty_tables(engine)
        engine.dispose()


@pytest.fixture
def session_factory(engine: Engine) -> SessionFactory:
    return create_session_factory(engine)


@pytest.fixture
def session(session_factory: SessionFactory) -> Iterator[Session]:
    with session_factory() as session:
        yield session


@pytest.fixture
def settings(database_url: str, tmp_path: os.PathLike[str]) -> Settings:
    return Settings(database_url=database_url, _env_file=None)  # type: ignore[call-arg]
