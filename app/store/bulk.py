"""Many rows in one statement, straight through the driver: the store's one bulk-write path.

A sync page, a webhook round and an SLA evaluation each write hundreds to hundreds of thousands
of rows. SQLAlchemy's executemany costs more CPU per row than the driver itself (statement
cache keys, parameter dicts, per-value type processing, ORM dispatch), so these writes build
their SQL once per shape and hand the driver plain tuples: sqlite3's executemany loops in C,
psycopg streams one prepared statement in pipeline mode, and plain inserts on PostgreSQL go
through COPY.

What SQLAlchemy would do to each value is done here, decided from the `Table` definition:
UTC datetimes as naive ISO text on SQLite (`sqlite_utc_text`), JSON as text (cast to the
column's JSON type on PostgreSQL), numerics as floats on SQLite, and Python-side column
defaults filled in for columns a row leaves out. Tests compare the rows written here with rows
written through the ORM on both databases.

Nothing here commits. Pending ORM changes of the session are flushed first, so the unit of
work keeps its order. Table and column names come from the models, never from input; every
value is a bound parameter.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from itertools import chain
from operator import itemgetter
from typing import Any

from sqlalchemy import JSON, Numeric, Table
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from app.models.base import Base, UTCDateTime, sqlite_utc_text

Row = dict[str, Any]
Converter = Callable[[Any], Any]
# A table, a model class (its `__table__`) or a table name of the models' metadata.
Target = Table | type[Any] | str

# Values per statement where a statement carries many rows: under SQLite's default limit of
# bound parameters (3.32+) and PostgreSQL's 65,535.
MAX_PARAMETERS = 32_766
# Ids per `IN (...)` list of a delete or update by ids.
ID_CHUNK = 500


def table_of(target: Target) -> Table:
    if isinstance(target, Table):
        return target
    if isinstance(target, str):
        return Base.metadata.tables[target]
    table: Table = target.__table__
    return table


# --- values as the driver stores them ------------------------------------------------------


# One encoder for every value: `json.dumps` with an argument builds a new one per call.
_ENCODE = json.JSONEncoder(default=str).encode


def json_text(value: Any) -> str | None:
    """JSON as SQLAlchemy's JSON type writes it (so raw SQL reads the same text back)."""
    if value is None:
        return None
    return _ENCODE(value)


def _sqlite_time(value: datetime | None) -> str | None:
    return None if value is None else sqlite_utc_text(value)


def _postgres_time(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r} given to a UTC column")
    return value


def _sqlite_number(value: Any) -> float | None:
    return None if value is None else float(value)


def _converter(dialect: Dialect, table: Table, column: str) -> Converter | None:
    """What this column's type does to a value on the way in, on this database."""
    column_type = table.c[column].type
    if isinstance(column_type, UTCDateTime):
        return _sqlite_time if dialect.name == "sqlite" else _postgres_time
    if isinstance(column_type.dialect_impl(dialect), JSON):
        return json_text
    if dialect.name == "sqlite" and isinstance(column_type, Numeric):
        return _sqlite_number
    return None


def _placeholder(dialect: Dialect, table: Table, column: str) -> str:
    if dialect.paramstyle == "qmark":
        return "?"
    if column in table.c:
        impl = table.c[column].type.dialect_impl(dialect)
        if isinstance(impl, JSON):
            # JSON travels as text; the server parses it into the column's own type.
            return f"%s::{impl.compile(dialect=dialect)}"
    return "%s"


def _defaults(table: Table, given: Iterable[str]) -> list[tuple[str, Callable[[], Any]]]:
    """Columns a row leaves out that the model fills in Python (SQLAlchemy would add them)."""
    found: list[tuple[str, Callable[[], Any]]] = []
    present = set(given)
    for column in table.c:
        default: Any = column.default
        if column.name in present or default is None or default.is_sequence:
            continue
        if default.is_callable:
            found.append((column.name, partial(default.arg, None)))
        elif not default.is_clause_element:
            found.append((column.name, partial(_constant, default.arg)))
    return found


def _constant(value: Any) -> Any:
    return value


# --- statements ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Statement:
    """SQL built once for one shape of rows, and how a row becomes its parameters."""

    sql: str
    # `sql` with its VALUES row marked (`_VALUES_ROW`), for inserts counted by RETURNING
    multi_row_sql: str | None
    names: tuple[str, ...]  # the row keys, in parameter order
    converters: tuple[Converter | None, ...]
    defaults: tuple[tuple[str, Callable[[], Any]], ...]
    # PostgreSQL COPY of the same columns (plain inserts only)
    copy_sql: str | None = None

    def params(self, rows: Sequence[Row]) -> list[tuple[Any, ...]]:
        """Rows as parameter tuples: the values picked in C (itemgetter), then only the
        columns that need a conversion touched in Python; None stays None."""
        if self.defaults:
            extra = dict(self.defaults)
            rows = [
                {**row, **{n: make() for n, make in extra.items() if n not in row}} for row in rows
            ]
        pick = itemgetter(*self.names)
        if len(self.names) == 1:
            convert = self.converters[0]
            return [
                (row[self.names[0]] if convert is None else convert(row[self.names[0]]),)
                for row in rows
            ]
        converted = [(i, c) for i, c in enumerate(self.converters) if c is not None]
        if not converted:
            return [pick(row) for row in rows]
        params = []
        for row in rows:
            values = list(pick(row))
            for i, convert in converted:
                if values[i] is not None:
                    values[i] = convert(values[i])
            params.append(tuple(values))
        return params


_STATEMENTS: dict[tuple[Any, ...], Statement] = {}


def _quote(dialect: Dialect, name: str) -> str:
    return str(dialect.identifier_preparer.quote(name))


def _statement(
    dialect: Dialect,
    table: Table,
    names: tuple[str, ...],
    build: Callable[[list[str], list[str]], tuple[str, tuple[str, ...]]],
    shape: tuple[Any, ...],
    *,
    copy: bool = False,
    returning: bool = False,
    fill_defaults: bool = True,
) -> Statement:
    """The statement for this shape, built once per process. `build(columns, marks)` gives
    the SQL and the order its parameters take (by row key)."""
    key = (dialect.name, table.name, names, *shape)
    found = _STATEMENTS.get(key)
    if found is not None:
        return found
    defaults = tuple(_defaults(table, names)) if fill_defaults else ()
    columns = [*names, *(name for name, _ in defaults)]
    marks = [_placeholder(dialect, table, c) for c in columns]
    built, order = build(columns, marks)
    sql = built.replace(_VALUES_ROW, "")
    copy_sql = None
    if copy and dialect.name == "postgresql":
        quoted = ", ".join(_quote(dialect, c) for c in columns)
        copy_sql = f"COPY {_quote(dialect, table.name)} ({quoted}) FROM STDIN"
    statement = Statement(
        sql=sql,
        multi_row_sql=built if returning else None,
        names=order,
        converters=tuple(_converter(dialect, table, c) if c in table.c else None for c in order),
        defaults=defaults,
        copy_sql=copy_sql,
    )
    _STATEMENTS[key] = statement
    return statement


# Marks the row of an INSERT's VALUES in a statement's SQL, which `Statement.sql` leaves out
# and `Statement.multi_row_sql` keeps (to repeat it: a multi-row VALUES).
_VALUES_ROW = "\x00"


def _insert_head(dialect: Dialect, table: Table, columns: Sequence[str]) -> str:
    quoted = ", ".join(_quote(dialect, c) for c in columns)
    return f"INSERT INTO {_quote(dialect, table.name)} ({quoted}) VALUES "  # noqa: S608


def _conflict(dialect: Dialect, keys: Sequence[str]) -> str:
    """The conflict target: the unique key `keys`, or any when empty."""
    if not keys:
        return " ON CONFLICT"
    return f" ON CONFLICT ({', '.join(_quote(dialect, k) for k in keys)})"


# --- writes ready to run -----------------------------------------------------------------------


@dataclass(slots=True)
class Write:
    """One statement with its rows already converted: `run` leaves only the driver's work
    (so a caller can convert before it takes a writer lock and run under it)."""

    statement: Statement
    params: list[tuple[Any, ...]]

    def run(self, session: Session) -> int:
        """Runs the write; returns how many rows it inserted or changed."""
        if not self.params:
            return 0
        if session.new or session.dirty or session.deleted:
            session.flush()  # ORM changes made earlier in this unit of work go first
        dialect = session.get_bind().dialect
        if self.statement.copy_sql is not None:
            return _copy(session, dialect, self.statement.copy_sql, self.params)
        if self.statement.multi_row_sql is not None:
            return _insert_returning(session, dialect, self.statement.multi_row_sql, self.params)
        return _executemany(session, dialect, self.statement.sql, self.params)


class Writes(list[Write]):
    """Writes run in order, as one step."""

    def run(self, session: Session) -> int:
        return sum(write.run(session) for write in self)


def _driver(session: Session) -> Any:
    return session.connection().connection.dbapi_connection


def _wrapped(dialect: Dialect, sql: str, exc: Exception) -> Exception:
    error: Any = dialect.loaded_dbapi.Error
    # The parameters stay out of the message: they are CRM data.
    return DBAPIError.instance(sql, None, exc, error, hide_parameters=True)


def _executemany(
    session: Session, dialect: Dialect, sql: str, params: list[tuple[Any, ...]]
) -> int:
    cursor = _driver(session).cursor()
    try:
        cursor.executemany(sql, params)
        return (
            int(cursor.rowcount)
            if cursor.rowcount is not None and cursor.rowcount >= 0
            else len(params)
        )
    except dialect.loaded_dbapi.Error as exc:
        raise _wrapped(dialect, sql, exc) from exc
    finally:
        cursor.close()


def _copy(session: Session, dialect: Dialect, sql: str, params: list[tuple[Any, ...]]) -> int:
    with _driver(session).cursor() as cursor:
        try:
            with cursor.copy(sql) as copy:
                for row in params:
                    copy.write_row(row)
        except dialect.loaded_dbapi.Error as exc:
            raise _wrapped(dialect, sql, exc) from exc
    return len(params)


def _insert_returning(
    session: Session, dialect: Dialect, sql: str, params: list[tuple[Any, ...]]
) -> int:
    """`sql` is `INSERT ... VALUES <row> ON CONFLICT ...`: sent as multi-row VALUES with
    RETURNING, whose rows are the ones inserted."""
    head, row_marks, tail = sql.split(_VALUES_ROW)
    per_statement = max(1, MAX_PARAMETERS // len(params[0]))
    inserted = 0
    cursor = _driver(session).cursor()
    try:
        for start in range(0, len(params), per_statement):
            chunk = params[start : start + per_statement]
            statement = head + ", ".join([row_marks] * len(chunk)) + tail + " RETURNING 1"
            cursor.execute(statement, tuple(chain.from_iterable(chunk)))
            inserted += len(cursor.fetchall())
    except dialect.loaded_dbapi.Error as exc:
        raise _wrapped(dialect, head, exc) from exc
    finally:
        cursor.close()
    return inserted


# --- the interface ------------------------------------------------------------------------------


def prepare_insert(
    session: Session,
    target: Target,
    rows: Sequence[Row],
    *,
    skip_conflicts_on: Sequence[str] | None = None,
) -> Write:
    """INSERT `rows` (dicts with the same keys). With `skip_conflicts_on`, a row that would
    violate that unique key (any, if empty) is skipped; without, PostgreSQL gets a COPY."""
    dialect = session.get_bind().dialect
    table = table_of(target)
    names = tuple(rows[0]) if rows else ()
    skip = None if skip_conflicts_on is None else tuple(skip_conflicts_on)
    # Looked up before anything is built: this runs once per webhook request.
    statement = _STATEMENTS.get((dialect.name, table.name, names, "insert", skip))
    if statement is None:

        def build(columns: list[str], marks: list[str]) -> tuple[str, tuple[str, ...]]:
            tail = "" if skip is None else f"{_conflict(dialect, skip)} DO NOTHING"
            head = _insert_head(dialect, table, columns)
            return f"{head}{_VALUES_ROW}({', '.join(marks)}){_VALUES_ROW}{tail}", tuple(columns)

        counted = skip is not None and dialect.name == "postgresql"
        statement = _statement(
            dialect, table, names, build, ("insert", skip), copy=skip is None, returning=counted
        )
    return Write(statement, statement.params(rows) if rows else [])


def prepare_insert_tuples(
    session: Session,
    target: Target,
    columns: Sequence[str],
    rows: Sequence[tuple[Any, ...]],
    *,
    skip_conflicts_on: Sequence[str] | None = None,
) -> Write:
    """`prepare_insert` for rows given as tuples in `columns` order, converted column by
    column: no dict per row, for the hottest path (every webhook request)."""
    statement = prepare_insert(
        session, target, [dict.fromkeys(columns)], skip_conflicts_on=skip_conflicts_on
    ).statement
    if statement.defaults:
        rows = [(*row, *(make() for _, make in statement.defaults)) for row in rows]
    by_column: list[Any] = list(zip(*rows, strict=True))
    for i, convert in enumerate(statement.converters):
        if convert is not None and by_column:
            by_column[i] = [None if v is None else convert(v) for v in by_column[i]]
    return Write(statement, list(zip(*by_column, strict=True)))


def bulk_insert(
    session: Session,
    target: Target,
    rows: Sequence[Row],
    *,
    skip_conflicts_on: Sequence[str] | None = None,
) -> int:
    """`prepare_insert` run at once; returns how many rows were inserted."""
    if not rows:
        return 0
    return prepare_insert(session, target, rows, skip_conflicts_on=skip_conflicts_on).run(session)


def prepare_upsert(
    session: Session,
    target: Target,
    rows: Sequence[Row],
    *,
    keys: Sequence[str],
    update_columns: Iterable[str] | None = None,
    set_sql: Mapping[str, str] | None = None,
    where_sql: str | None = None,
) -> Write:
    """INSERT `rows`, updating `update_columns` (default: every given column but the keys)
    where a row with the same `keys` exists. `set_sql` replaces the assignment of a column
    and `where_sql` limits the update, as SQL over the table's and `excluded`'s columns
    (constants of the caller, never input). One statement may not touch a row twice
    (PostgreSQL refuses): of rows with equal keys, the last one wins."""
    dialect = session.get_bind().dialect
    table = table_of(target)
    unique = list({tuple(row[key] for key in keys): row for row in rows}.values())
    names = tuple(unique[0]) if unique else ()
    updated = tuple(update_columns if update_columns is not None else names)
    overrides = tuple(sorted((set_sql or {}).items()))

    def build(columns: list[str], marks: list[str]) -> tuple[str, tuple[str, ...]]:
        sql = f"{_insert_head(dialect, table, columns)}({', '.join(marks)})"
        sql += _conflict(dialect, keys)
        assignments = [
            f"{_quote(dialect, c)} = {dict(overrides).get(c, f'excluded.{_quote(dialect, c)}')}"
            for c in updated
            if c not in keys
        ]
        if not assignments:
            return sql + " DO NOTHING", tuple(columns)
        sql += f" DO UPDATE SET {', '.join(assignments)}"
        if where_sql:
            sql += f" WHERE {where_sql}"
        return sql, tuple(columns)

    shape = ("upsert", tuple(keys), updated, overrides, where_sql)
    statement = _statement(dialect, table, names, build, shape)
    return Write(statement, statement.params(unique) if unique else [])


def bulk_upsert(
    session: Session,
    target: Target,
    rows: Sequence[Row],
    *,
    keys: Sequence[str],
    update_columns: Iterable[str] | None = None,
    set_sql: Mapping[str, str] | None = None,
    where_sql: str | None = None,
) -> None:
    """`prepare_upsert` run at once."""
    if rows:
        prepare_upsert(
            session,
            target,
            rows,
            keys=keys,
            update_columns=update_columns,
            set_sql=set_sql,
            where_sql=where_sql,
        ).run(session)


def prepare_update(
    session: Session, target: Target, rows: Sequence[Row], *, match: Sequence[str] = ("id",)
) -> Writes:
    """UPDATE the row each dict names by its `match` columns, setting its other keys: one
    executemany per distinct set of keys."""
    dialect = session.get_bind().dialect
    table = table_of(target)
    groups: dict[tuple[str, ...], list[Row]] = {}
    for row in rows:
        groups.setdefault(tuple(sorted(k for k in row if k not in match)), []).append(row)
    steps = Writes()
    for columns, group in groups.items():

        def build(
            _: list[str], __: list[str], columns: tuple[str, ...] = columns
        ) -> tuple[str, tuple[str, ...]]:
            sets = ", ".join(
                f"{_quote(dialect, c)} = {_placeholder(dialect, table, c)}" for c in columns
            )
            where = " AND ".join(
                f"{_quote(dialect, c)} = {_placeholder(dialect, table, c)}" for c in match
            )
            sql = f"UPDATE {_quote(dialect, table.name)} SET {sets} WHERE {where}"  # noqa: S608
            return sql, (*columns, *match)

        # An update fills in no defaults: the row's other columns stay as they are.
        statement = _statement(
            dialect, table, (*columns, *match), build, ("update", tuple(match)), fill_defaults=False
        )
        steps.append(Write(statement, statement.params(group)))
    return steps


def bulk_update(
    session: Session, target: Target, rows: Sequence[Row], *, match: Sequence[str] = ("id",)
) -> None:
    """`prepare_update` run at once."""
    if rows:
        prepare_update(session, target, rows, match=match).run(session)


def _in_lists(session: Session, ids: Sequence[Any]) -> Iterable[tuple[str, Sequence[Any]]]:
    mark = "?" if session.get_bind().dialect.paramstyle == "qmark" else "%s"
    unique = list(dict.fromkeys(ids))
    for start in range(0, len(unique), ID_CHUNK):
        chunk = unique[start : start + ID_CHUNK]
        yield f"({', '.join([mark] * len(chunk))})", chunk


def _where_fixed(
    session: Session, table: Table, fixed: Mapping[str, Sequence[Any]]
) -> tuple[list[str], list[Any]]:
    dialect = session.get_bind().dialect
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    conditions = [
        f"{_quote(dialect, name)} IN ({', '.join([mark] * len(values))})"
        for name, values in fixed.items()
    ]
    values = [
        _convert_for(dialect, table, name, value)
        for name, column_values in fixed.items()
        for value in column_values
    ]
    return conditions, values


def _convert_for(dialect: Dialect, table: Table, column: str, value: Any) -> Any:
    convert = _converter(dialect, table, column)
    return value if convert is None or value is None else convert(value)


def delete_in(
    session: Session,
    target: Target,
    column: str,
    ids: Sequence[Any],
    *,
    fixed: Mapping[str, Sequence[Any]] | None = None,
) -> None:
    """DELETE the rows whose `column` is one of `ids` (and each `fixed` column one of its
    values), as plain driver SQL: no ORM statement with expanding IN lists built, cached and
    compiled each time."""
    if not ids:
        return
    if session.new or session.dirty or session.deleted:
        session.flush()
    dialect = session.get_bind().dialect
    table = table_of(target)
    conditions, head = _where_fixed(session, table, fixed or {})
    connection = session.connection()
    for marks, chunk in _in_lists(session, ids):
        where = " AND ".join([*conditions, f"{_quote(dialect, column)} IN {marks}"])
        connection.exec_driver_sql(
            f"DELETE FROM {_quote(dialect, table.name)} WHERE {where}",  # noqa: S608
            (*head, *chunk),
        )


def update_in(
    session: Session, target: Target, values: Row, column: str, ids: Sequence[Any]
) -> None:
    """UPDATE the rows whose `column` is one of `ids`, setting the same `values` on each."""
    if not ids:
        return
    if session.new or session.dirty or session.deleted:
        session.flush()
    dialect = session.get_bind().dialect
    table = table_of(target)
    names = sorted(values)
    sets = ", ".join(f"{_quote(dialect, n)} = {_placeholder(dialect, table, n)}" for n in names)
    converted = [_convert_for(dialect, table, n, values[n]) for n in names]
    connection = session.connection()
    for marks, chunk in _in_lists(session, ids):
        connection.exec_driver_sql(
            f"UPDATE {_quote(dialect, table.name)} SET {sets} "  # noqa: S608
            f"WHERE {_quote(dialect, column)} IN {marks}",
            (*converted, *chunk),
        )


def insert_tuples(
    session: Session,
    target: Target,
    columns: Sequence[str],
    rows: Sequence[tuple[Any, ...]],
    *,
    ignore_conflict_on: Sequence[str] = (),
) -> int:
    """INSERT rows already converted to what the driver stores (values in `columns` order),
    as multi-row VALUES statements: one statement inserts thousands of rows in order (ids
    follow the rows), faster than executemany's row-by-row steps. Returns how many rows were
    inserted."""
    if not rows:
        return 0
    if session.new or session.dirty or session.deleted:
        session.flush()
    dialect = session.get_bind().dialect
    table = table_of(target)
    marks = ", ".join(_placeholder(dialect, table, c) for c in columns)
    head = _insert_head(dialect, table, columns)
    tail = ""
    if ignore_conflict_on:
        tail = f"{_conflict(dialect, ignore_conflict_on)} DO NOTHING"
    connection = session.connection()
    if dialect.name != "sqlite":
        cursor = connection.exec_driver_sql(f"{head}({marks}){tail}", list(rows))
        return (
            int(cursor.rowcount)
            if cursor.rowcount is not None and cursor.rowcount >= 0
            else len(rows)
        )
    driver = connection.connection.driver_connection
    limit = MAX_PARAMETERS
    if isinstance(driver, sqlite3.Connection):
        # the build's own limit, when it is lower
        limit = min(limit, driver.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER))
    per_statement = max(1, limit // len(rows[0]))
    inserted = 0
    for start in range(0, len(rows), per_statement):
        chunk = rows[start : start + per_statement]
        statement = head + ", ".join([f"({marks})"] * len(chunk)) + tail
        result = connection.exec_driver_sql(statement, tuple(chain.from_iterable(chunk)))
        inserted += result.rowcount if result.rowcount >= 0 else len(chunk)
    return inserted
