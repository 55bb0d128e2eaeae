"""Every write the sync and the webhook worker make to the CRM tables, in bulk.

Upserts are `INSERT … ON CONFLICT DO UPDATE` on both SQLite and PostgreSQL, one statement per
page (SQLAlchemy renders the rows as one multi-row VALUES). Functions take the session as an
argument and never commit: the caller commits (a sync page together with its checkpoint).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from operator import itemgetter
from typing import Any

import orjson
from sqlalchemy import JSON, and_, case, delete, or_, select, true, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Insert

from app.models import (
    Association,
    Contact,
    Deal,
    Engagement,
    LifecycleStage,
    Owner,
    Pipeline,
    PipelineStage,
    Portal,
    Transition,
)
from app.models.base import Base, UTCDateTime, sqlite_utc_text
from integrations.hubspot.records import AccountDetails, PipelineRecord, PropertyOption

Row = dict[str, Any]
RecordModel = type[Contact] | type[Deal] | type[Engagement]

MODEL_FOR_STORE_TYPE: dict[str, RecordModel] = {
    "contact": Contact,
    "deal": Deal,
    "call": Engagement,
    "email": Engagement,
    "meeting": Engagement,
    "note": Engagement,
    "task": Engagement,
    "engagement": Engagement,
}
# Columns a record upsert never overwrites: set only by merge handling.
_KEEP_ON_UPDATE = {"portal_id", "id", "merged_into_id"}


def _insert(session: Session, model: type[Base]) -> Insert:
    dialect = session.get_bind().dialect.name
    table: Any = model.__table__
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"slaguard does not support {dialect}")


@dataclass(frozen=True)
class _Prepared:
    """An INSERT compiled once for a set of columns, and how each row becomes parameters."""

    sql: str
    names: tuple[str, ...]
    processors: tuple[Callable[[Any], Any] | None, ...]
    positional: bool


# (dialect, statement shape) -> compiled statement; a handful of shapes per process.
_PREPARED: dict[tuple[Any, ...], _Prepared] = {}


def _sqlite_utc_text(value: datetime | None) -> str | None:
    return None if value is None else sqlite_utc_text(value)


def _json_text(value: Any) -> str | None:
    if value is None:
        return None
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


_NONE_KEEPING = frozenset({_sqlite_utc_text, _json_text})


def _prepare(dialect: Dialect, stmt: Any, columns: Sequence[str]) -> _Prepared | None:
    compiled: Any = stmt.compile(dialect=dialect, column_keys=list(columns))
    names = tuple(compiled.positiontup or compiled.binds)
    if set(names) - set(columns):
        return None  # binds that are not row values: let SQLAlchemy handle it
    processors = dict(compiled._bind_processors)  # the conversions SQLAlchemy itself runs
    table = stmt.table
    for name in names:
        if name not in table.c:
            continue
        column_type = table.c[name].type
        if dialect.name == "sqlite" and isinstance(column_type, UTCDateTime):
            processors[name] = _sqlite_utc_text
        elif dialect.name == "sqlite" and isinstance(column_type, JSON) and name in processors:
            # the same JSON SQLAlchemy's processor writes, several times faster (properties
            # of every record, every page)
            processors[name] = _json_text
    return _Prepared(
        sql=compiled.string,
        names=names,
        processors=tuple(processors.get(name) for name in names),
        positional=compiled.positiontup is not None,
    )


def _positional_params(prepared: _Prepared, rows: Sequence[Row]) -> list[Any]:
    """Row dicts as parameter lists: the values picked in C (itemgetter), then only the
    columns that need a conversion touched in Python (a page is ~100 rows by ~15 columns)."""
    names = prepared.names
    pick = itemgetter(*names)
    # Every conversion slaguard installs keeps None as None and is skipped for it;
    # SQLAlchemy's own may not (JSON writes 'null'), so those always run.
    converted = [
        (i, p, p in _NONE_KEEPING) for i, p in enumerate(prepared.processors) if p is not None
    ]
    if len(names) == 1:
        (only,) = names
        process = prepared.processors[0]
        return [(row[only] if process is None else process(row[only]),) for row in rows]
    if not converted:
        return [pick(row) for row in rows]
    params = []
    for row in rows:
        values = list(pick(row))
        for i, process, keeps_none in converted:
            value = values[i]
            if value is not None or not keeps_none:
                values[i] = process(value)
        params.append(values)
    return params


def _execute_many(
    session: Session, build: Callable[[], Any], rows: Sequence[Row], shape: tuple[Any, ...]
) -> None:
    """The rows through the driver's own executemany (psycopg streams the rows of one
    prepared statement in pipeline mode, sqlite3 loops in C), the statement compiled once per
    shape. SQLAlchemy's executemany costs more CPU per row than the driver itself (statement
    cache keys, parameter dicts, ORM dispatch); the per-value conversions are its own."""
    dialect = session.get_bind().dialect
    key = (dialect.name, *shape)
    prepared = _PREPARED.get(key)
    if prepared is None:
        stmt = build()
        prepared = _prepare(dialect, stmt, shape[1])
        if prepared is None:
            session.execute(stmt, list(rows))
            return
        _PREPARED[key] = prepared
    if dialect.name == "postgresql" and shape[0] == "insert" and not shape[3]:
        _copy_rows(session, shape[2], prepared, rows)
        return
    params: list[Any]
    if prepared.positional:
        params = _positional_params(prepared, rows)
    else:
        steps = list(zip(prepared.names, prepared.processors, strict=True))
        params = [{n: row[n] if p is None else p(row[n]) for n, p in steps} for row in rows]
    if session.new or session.dirty or session.deleted:
        session.flush()  # ORM changes made earlier in this unit of work go first
    dbapi_connection: Any = session.connection().connection.dbapi_connection
    cursor = dbapi_connection.cursor()
    try:
        cursor.executemany(prepared.sql, params)
    except dialect.loaded_dbapi.Error as exc:
        raise DBAPIError.instance(
            prepared.sql, None, exc, dialect.loaded_dbapi.Error, hide_parameters=True
        ) from exc
    finally:
        cursor.close()


def _copy_rows(session: Session, table: str, prepared: _Prepared, rows: Sequence[Row]) -> None:
    """Plain inserts on PostgreSQL (no conflict clause: a page's transitions, links) through
    COPY: one stream instead of one INSERT per row. Table and column names come from the
    models, never from input."""
    if session.new or session.dirty or session.deleted:
        session.flush()
    values = _positional_params(prepared, rows)
    dbapi_connection: Any = session.connection().connection.dbapi_connection
    error: Any = session.get_bind().dialect.loaded_dbapi.Error
    sql = f"COPY {table} ({', '.join(prepared.names)}) FROM STDIN"
    with dbapi_connection.cursor() as cursor:
        try:
            with cursor.copy(sql) as copy:
                for row in values:
                    copy.write_row(row)
        except error as exc:
            raise DBAPIError.instance(sql, None, exc, error, hide_parameters=True) from exc


# Ids per DELETE statement: well under SQLite's and PostgreSQL's bound-parameter limits.
DELETE_CHUNK = 500


def _delete_where(
    session: Session,
    table: str,
    fixed: dict[str, list[Any]],
    column: str,
    ids: Sequence[str],
) -> None:
    """DELETE FROM table WHERE each `fixed` column IN its values AND `column` IN `ids`, as
    plain driver SQL: a page's replace of transitions or links, without building, caching
    and compiling an ORM statement with expanding IN lists each time. Names come from the
    models, never from input; values are bound parameters."""
    if session.new or session.dirty or session.deleted:
        session.flush()
    mark = "?" if session.get_bind().dialect.paramstyle == "qmark" else "%s"
    conditions = [
        f"{name} IN ({', '.join([mark] * len(values))})" for name, values in fixed.items()
    ]
    head = [value for values in fixed.values() for value in values]
    connection = session.connection()
    unique = list(dict.fromkeys(ids))
    for start in range(0, len(unique), DELETE_CHUNK):
        chunk = unique[start : start + DELETE_CHUNK]
        where = " AND ".join([*conditions, f"{column} IN ({', '.join([mark] * len(chunk))})"])
        connection.exec_driver_sql(f"DELETE FROM {table} WHERE {where}", (*head, *chunk))  # noqa: S608


def bulk_insert(
    session: Session,
    model: type[Base],
    rows: Sequence[Row],
    *,
    skip_conflicts_on: Sequence[str] | None = None,
) -> None:
    """Many rows in one executemany (see `_execute_many`)."""
    if not rows:
        return

    def build() -> Any:
        stmt: Any = _insert(session, model)
        if skip_conflicts_on:
            stmt = stmt.on_conflict_do_nothing(index_elements=list(skip_conflicts_on))
        return stmt

    shape = ("insert", tuple(rows[0]), model.__tablename__, tuple(skip_conflicts_on or ()))
    _execute_many(session, build, rows, shape)


def bulk_upsert(
    session: Session,
    model: type[Base],
    rows: Sequence[Row],
    *,
    keys: Sequence[str],
    update_columns: Iterable[str] | None = None,
    only_if_not_older: bool = False,
    keep_merged_archived: bool = False,
) -> None:
    """Insert `rows`, updating `update_columns` (default: every given column but the keys)
    where a row with the same `keys` exists. With `only_if_not_older`, a stored row whose
    `modified_at` is newer than the incoming one is left alone (late pages never win)."""
    if not rows:
        return
    # One statement may not touch a row twice (PostgreSQL refuses): the last copy wins.
    unique = list({tuple(row[key] for key in keys): row for row in rows}.values())
    columns = list(update_columns if update_columns is not None else unique[0].keys())
    shape = (
        "upsert",
        tuple(unique[0]),
        model.__tablename__,
        tuple(keys),
        tuple(columns),
        only_if_not_older,
        keep_merged_archived,
    )

    def build() -> Any:
        table: Any = model.__table__
        stmt: Any = _insert(session, model)
        set_ = {name: stmt.excluded[name] for name in columns if name not in keys}
        if not set_:
            return stmt.on_conflict_do_nothing(index_elements=list(keys))
        if keep_merged_archived and "archived" in set_ and "merged_into_id" in table.c:
            # A merged-away record never comes back to life through a late or stale read.
            set_["archived"] = case(
                (table.c.merged_into_id.is_not(None), true()), else_=stmt.excluded.archived
            )
        where = None
        if only_if_not_older:
            where = or_(
                table.c.modified_at.is_(None),
                stmt.excluded.modified_at.is_(None),
                stmt.excluded.modified_at >= table.c.modified_at,
            )
        return stmt.on_conflict_do_update(index_elements=list(keys), set_=set_, where=where)

    _execute_many(session, build, unique, shape)


def ensure_portal(session: Session, portal_id: int) -> None:
    """A portals row for `portal_id` (defaults until the account details are read)."""
    bulk_insert(session, Portal, [{"id": portal_id}], skip_conflicts_on=["id"])


def upsert_portal(session: Session, details: AccountDetails, now: datetime) -> None:
    row = {
        "id": details.portal_id,
        "time_zone": details.time_zone[:64],
        "currency": details.currency[:8],
        "ui_domain": details.ui_domain[:255],
        "updated_at": now,
    }
    bulk_upsert(session, Portal, [row], keys=["id"])


def upsert_records(session: Session, store_type: str, rows: Sequence[Row]) -> None:
    """Contacts, deals or engagements from `app.crm.mapping` (all rows of one type)."""
    if not rows:
        return
    model = MODEL_FOR_STORE_TYPE[store_type]
    columns = [name for name in rows[0] if name not in _KEEP_ON_UPDATE]
    bulk_upsert(
        session,
        model,
        rows,
        keys=["portal_id", "id"],
        update_columns=columns,
        only_if_not_older=True,
        keep_merged_archived=True,
    )


def upsert_owners(session: Session, rows: Sequence[Row]) -> None:
    bulk_upsert(session, Owner, rows, keys=["portal_id", "id"])


def mark_merged(
    session: Session,
    store_type: str,
    portal_id: int,
    survivor_of: dict[str, str],
    synced_at: datetime,
) -> None:
    """Merged-away records (id -> survivor id) end archived and pointing at their survivor,
    seen before or not."""
    if not survivor_of:
        return
    model = MODEL_FOR_STORE_TYPE[store_type]
    rows = [
        {
            "portal_id": portal_id,
            "id": merged_id,
            "archived": True,
            "merged_into_id": survivor_id,
            "properties": {},
            "synced_at": synced_at,
        }
        for merged_id, survivor_id in survivor_of.items()
    ]
    bulk_upsert(
        session,
        model,
        rows,
        keys=["portal_id", "id"],
        update_columns=["archived", "merged_into_id"],
    )


def drop_associations_to(
    session: Session, portal_id: int, to_type: str, to_ids: Sequence[str]
) -> None:
    """Links to archived records disappear from HubSpot's answers: drop them here too."""
    if to_ids:
        _delete_where(
            session,
            Association.__tablename__,
            {"portal_id": [portal_id], "to_type": [to_type]},
            "to_id",
            to_ids,
        )


_LINK_COLUMNS = (
    Association.from_type,
    Association.from_id,
    Association.to_id,
    Association.type_id,
    Association.label,
)


def retarget_associations(
    session: Session, portal_id: int, to_type: str, survivor_of: dict[str, str]
) -> None:
    """Links to merged-away records now point at the survivor, as HubSpot moves them."""
    if not survivor_of:
        return
    moved = session.connection().execute(
        select(*_LINK_COLUMNS).where(
            Association.portal_id == portal_id,
            Association.to_type == to_type,
            Association.to_id.in_(list(survivor_of)),
        )
    )
    rows = [
        {
            "portal_id": portal_id,
            "from_type": from_type,
            "from_id": from_id,
            "to_type": to_type,
            "to_id": survivor_of[to_id],
            "type_id": type_id,
            "label": label,
        }
        for from_type, from_id, to_id, type_id, label in moved
    ]
    drop_associations_to(session, portal_id, to_type, list(survivor_of))
    keys = ["portal_id", "from_type", "from_id", "to_type", "to_id"]
    bulk_insert(session, Association, rows, skip_conflicts_on=keys)


def replace_transitions(
    session: Session,
    portal_id: int,
    object_type: str,
    object_ids: Sequence[str],
    properties: Sequence[str],
    rows: Sequence[Row],
) -> None:
    """Full history was read for these records: it replaces what the store knew of them."""
    if not object_ids:
        return
    _delete_where(
        session,
        Transition.__tablename__,
        {"portal_id": [portal_id], "object_type": [object_type], "property": list(properties)},
        "object_id",
        object_ids,
    )
    bulk_insert(session, Transition, rows)


def replace_associations(
    session: Session,
    portal_id: int,
    from_type: str,
    from_ids: Sequence[str],
    to_type: str,
    links: Iterable[tuple[str, str, int | None, str | None]],
) -> None:
    """The complete set of `to_type` links of `from_ids`: (from_id, to_id, type_id, label)."""
    if not from_ids:
        return
    _delete_where(
        session,
        Association.__tablename__,
        {"portal_id": [portal_id], "from_type": [from_type], "to_type": [to_type]},
        "from_id",
        from_ids,
    )
    rows: dict[tuple[str, str], Row] = {}
    for from_id, to_id, type_id, label in links:
        rows.setdefault(
            (from_id, to_id),
            {
                "portal_id": portal_id,
                "from_type": from_type,
                "from_id": from_id,
                "to_type": to_type,
                "to_id": to_id,
                "type_id": type_id,
                "label": (label or "")[:128] or None,
            },
        )
    bulk_insert(session, Association, list(rows.values()))


def replace_pipelines(
    session: Session, portal_id: int, object_type: str, pipelines: Sequence[PipelineRecord]
) -> None:
    """Pipelines and stages as HubSpot lists them now; ones no longer listed end archived."""
    bulk_upsert(
        session,
        Pipeline,
        [
            {
                "portal_id": portal_id,
                "id": p.id,
                "object_type": object_type,
                "label": p.label[:255],
                "display_order": p.display_order,
                "archived": p.archived,
            }
            for p in pipelines
        ],
        keys=["portal_id", "id"],
    )
    stage_rows = [
        {
            "portal_id": portal_id,
            "pipeline_id": p.id,
            "id": s.id,
            "label": s.label[:255],
            "display_order": s.display_order,
            "is_closed": s.is_closed,
            "is_won": s.is_closed and s.probability is not None and s.probability >= 1,
            "probability": s.probability,
            "archived": s.archived,
        }
        for p in pipelines
        for s in p.stages
    ]
    bulk_upsert(session, PipelineStage, stage_rows, keys=["portal_id", "pipeline_id", "id"])
    listed = [p.id for p in pipelines]
    session.execute(
        update(Pipeline)
        .where(
            Pipeline.portal_id == portal_id,
            Pipeline.object_type == object_type,
            Pipeline.id.not_in(listed),
        )
        .values(archived=True)
    )
    listed_stages = [(row["pipeline_id"], row["id"]) for row in stage_rows]
    stale = select(PipelineStage.pipeline_id, PipelineStage.id).where(
        PipelineStage.portal_id == portal_id, PipelineStage.archived.is_(False)
    )
    for pipeline_id, stage_id in session.execute(stale).all():
        if (pipeline_id, stage_id) not in listed_stages:
            session.execute(
                update(PipelineStage)
                .where(
                    and_(
                        PipelineStage.portal_id == portal_id,
                        PipelineStage.pipeline_id == pipeline_id,
                        PipelineStage.id == stage_id,
                    )
                )
                .values(archived=True)
            )


def replace_lifecycle_stages(
    session: Session, portal_id: int, options: Sequence[PropertyOption]
) -> None:
    session.execute(delete(LifecycleStage).where(LifecycleStage.portal_id == portal_id))
    rows = [
        {
            "portal_id": portal_id,
            "id": option.value[:64],
            "label": option.label[:255],
            "display_order": option.display_order,
        }
        for option in options
    ]
    bulk_insert(session, LifecycleStage, rows)
