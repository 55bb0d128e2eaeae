from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from app.models import Contact, Portal
from app.store.db import create_db_engine


def test_sqlite_runs_with_wal_and_foreign_keys(sqlite_engine: Engine) -> None:
    with sqlite_engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_datetimes_round_trip_as_aware_utc(session: Session) -> None:
    paris = timezone(timedelta(hours=1))
    session.add(Portal(id=42, time_zone="Europe/Paris", currency="EUR", ui_domain="x"))
    session.flush()
    session.add(
        Contact(
            portal_id=42,
            id="1",
            properties={"email": "a@example.com", "nested": {"k": [1, 2]}},
            created_at=datetime(2026, 3, 1, 9, 30, tzinfo=paris),
        )
    )
    session.commit()
    session.expunge_all()
    contact = session.scalars(select(Contact)).one()
    assert contact.created_at == datetime(2026, 3, 1, 8, 30, tzinfo=UTC)
    assert contact.created_at is not None and contact.created_at.tzinfo is not None
    assert contact.properties["nested"] == {"k": [1, 2]}


def test_naive_datetime_is_refused(session: Session) -> None:
    session.add(Portal(id=1, updated_at=datetime(2026, 1, 1)))
    with pytest.raises(Exception, match="naive datetime"):
        session.commit()


def test_foreign_keys_are_enforced(session: Session) -> None:
    session.add(Contact(portal_id=999, id="1"))
    with pytest.raises(Exception, match=r"(?i)foreign key"):
        session.commit()


def test_missing_sqlite_folder_is_one_sentence() -> None:
    from app.errors import DatabaseError

    with pytest.raises(DatabaseError, match="folder /no/such does not exist"):
        create_db_engine("sqlite:////no/such/slaguard.db")
