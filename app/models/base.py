"""The declarative base, the naming convention and the column types shared by every model."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Integer, MetaData, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# JSONB on PostgreSQL (indexable, compact), plain JSON text on SQLite.
JSONType = JSON().with_variant(JSONB(), "postgresql")

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NAIVE_EPOCH = datetime(1970, 1, 1)
# Instants already formatted: writers repeat many (a page's sync time, history entries that
# end where the next begins, a pass's evaluation time). Bounded: a new dict when full.
_UTC_TEXTS: dict[datetime, str] = {}
_UTC_TEXTS_LIMIT = 65_536


def sqlite_utc_text(value: datetime) -> str:
    """What UTCDateTime stores on SQLite, in one step: naive UTC ISO text with microseconds
    (the form stored rows compare by). For writers that bypass SQLAlchemy's bind processing;
    a naive datetime is refused, as UTCDateTime refuses it."""
    global _UTC_TEXTS
    text = _UTC_TEXTS.get(value)  # aware instants only: a naive one never equals them
    if text is not None:
        return text
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r} given to a UTC column")
    # The naive reading formats about twice as fast as the aware value (no offset to write).
    text = (_NAIVE_EPOCH + (value - _EPOCH)).isoformat(" ", "microseconds")
    if len(_UTC_TEXTS) >= _UTC_TEXTS_LIMIT:
        _UTC_TEXTS = {}  # not clear(): another thread may be reading the old one
    _UTC_TEXTS[value] = text
    return text


# SQLite only autoincrements INTEGER PRIMARY KEY; PostgreSQL wants BIGINT for event logs.
BigIntPK = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on both databases.

    PostgreSQL stores `timestamptz`; SQLite stores naive UTC text. Either way Python code
    only ever sees aware datetimes in UTC, and a naive datetime handed in is refused, because
    guessing its zone is how SLA clocks go wrong by hours.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} given to a UTC column")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: dict[Any, Any] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSONType,
        list[Any]: JSONType,
        str: String(),
    }
