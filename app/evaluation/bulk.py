"""The SLA tables' rows as the driver stores them, for the store's bulk writer.

A full evaluation writes hundreds of thousands of instances and events. Through SQLAlchemy's
per-value type processing and RETURNING (which SQLite answers row by row when the order must
be kept) that costs more than the evaluation itself; one prepared statement fed plain tuples
costs a fraction. The writing is `app.store.bulk`'s (`insert_tuples`, `update_rows`); the
conversion here is the SLA tables' own, column by column and cached: UTC datetimes as naive
ISO text on SQLite and timestamptz on PostgreSQL, JSON as text.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from operator import itemgetter
from typing import Any

from sqlalchemy.orm import Session

from app.evaluation.columns import JSON_COLUMNS, TIME_COLUMNS
from app.models.base import sqlite_utc_text
from app.store.bulk import bulk_update as update_rows
from app.store.bulk import insert_tuples

__all__ = ["dict_values", "insert_tuples", "tuples", "update_rows"]

_PLAIN = frozenset({str, int, float, bool, type(None)})


def _json(value: dict[str, Any] | list[Any]) -> str:
    # Most events carry no details: skip the encoder for the empty ones.
    if not value:
        return "{}" if isinstance(value, dict) else "[]"
    return json.dumps(value, default=str)


def _sqlite_value(value: Any) -> Any:
    if type(value) in _PLAIN:
        return value
    if isinstance(value, datetime):
        return sqlite_utc_text(value)
    if isinstance(value, dict | list):
        return _json(value)
    return value


# Stored texts of recent datetimes: an event's time is usually its instance's deadline or
# stop, and every row of a pass carries the same evaluation time.
_TIME_TEXTS: dict[datetime, str] = {}
_TIME_TEXTS_LIMIT = 100_000


def _sqlite_times(values: Sequence[Any]) -> list[Any]:
    """A column of datetimes (or None) as stored texts: each distinct value looked up once
    per batch (set operations in C), formatted (`sqlite_utc_text`) when new."""
    texts = _TIME_TEXTS
    for value in set(values).difference(texts):
        if value is not None:
            texts[value] = _sqlite_value(value)
    return list(map(texts.get, values))


def tuples(
    session: Session, columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> list[tuple[Any, ...]]:
    """Rows (values in `columns` order) as the driver stores them, converting only the
    datetime and JSON columns (column by column): every other column of the SLA tables holds
    plain values."""
    sqlite = session.get_bind().dialect.name == "sqlite"
    by_column = list(zip(*rows, strict=True))
    if not by_column:
        return []
    global _TIME_TEXTS
    if len(_TIME_TEXTS) > _TIME_TEXTS_LIMIT:
        # A new dict rather than clear(): a conversion running on another thread keeps the
        # one it looked its values up in, entries included.
        _TIME_TEXTS = {}
    for n, column in enumerate(columns):
        if column in JSON_COLUMNS:
            by_column[n] = tuple(map(_json_or_value, by_column[n]))
        elif sqlite and column in TIME_COLUMNS:
            by_column[n] = tuple(_sqlite_times(by_column[n]))
    return list(zip(*by_column, strict=True))


# JSON texts of recently written flat dicts: metrics and details take a handful of shapes
# (touches 0..3 of 3 needed, the first touch's type, a stage), and encoding costs 2 us each.
_JSON_TEXTS: dict[tuple[Any, ...], str] = {}
_JSON_TEXTS_LIMIT = 10_000


def _json_or_value(value: Any) -> Any:
    if type(value) is dict:
        if not value:
            return "{}"
        try:
            # With the types: 1, 1.0 and True are equal keys but different JSON.
            key = (*value.items(), *map(type, value.values()))
            text = _JSON_TEXTS.get(key)
        except TypeError:  # an unhashable value: encode it every time
            return _json(value)
        if text is None:
            text = _json(value)
            if len(_JSON_TEXTS) < _JSON_TEXTS_LIMIT:
                _JSON_TEXTS[key] = text
        return text
    return _json(value) if isinstance(value, dict | list) else value


def dict_values(columns: Sequence[str], rows: Sequence[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """The values of dict rows in `columns` order (a missing key reads as None)."""
    if not rows:
        return []
    pick = itemgetter(*columns)
    try:
        return [pick(row) for row in rows]
    except KeyError:
        return [tuple([row.get(c) for c in columns]) for row in rows]
