"""Property changes applied a round at a time, in a fixed number of statements.

Property changes are most of what HubSpot sends. Applying them one by one costs a dozen
statements each and, on SQLite, holds the single write lock while the endpoint waits to store
new events. Here a round reads what it needs (clocks, rows, timelines) first, decides in
Python with the same rules as `apply.py` (newest fact wins; the timeline is relinked from the
set of facts), and then writes in bulk, so the write lock is held for milliseconds.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from app.crm import transitions
from app.crm.keys import RecordKey
from app.crm.repository import ensure_portal
from app.models import Contact, Deal, PropertyClock, Transition, WebhookEvent
from app.webhooks import records, refresh_queue
from app.webhooks.apply import Applied
from app.webhooks.clocks import rank

_CHUNK = 500


@dataclass(frozen=True)
class Change:
    object_id: str
    prop: str
    value: str | None
    at: datetime
    event_id: int | None

    @property
    def rank(self) -> tuple[datetime, int, str]:
        return rank(self.at, self.value)


def is_batchable(event: WebhookEvent) -> bool:
    return (
        event.object_type in records.STORED_TYPES
        and event.subscription_type.endswith(".propertyChange")
        and bool(event.property_name)
    )


@dataclass
class GroupPlan:
    """What a round will write for one (portal, object type): decided from reads alone."""

    portal_id: int
    object_type: str
    table: Table
    rows: dict[str, dict[str, Any]]
    new_properties: dict[str, dict[str, Any]]
    winners: list[Change]
    transition_inserts: list[dict[str, Any]]
    transition_updates: list[dict[str, Any]]
    to_refresh: set[str]
    tracked: list[Change]


def plan_property_changes(session: Session, events: Sequence[WebhookEvent]) -> list[GroupPlan]:
    """Read what the changes touch and decide what to write (no write happens here)."""
    groups: dict[tuple[int, str], list[Change]] = defaultdict(list)
    for event in events:
        groups[(event.portal_id, event.object_type)].append(
            Change(
                event.object_id,
                event.property_name or "",
                event.property_value,
                event.occurred_at,
                event.event_id,
            )
        )
    return [
        _plan_group(session, portal_id, object_type, changes)
        for (portal_id, object_type), changes in sorted(groups.items())
    ]


@dataclass
class PreparedWrites:
    """A round's property-change writes, ready to run in order.

    On SQLite each is a driver executemany whose statement was compiled and whose values were
    converted (by SQLAlchemy's own type processors) before the round takes the process's
    writer lock: under the lock only the driver's C code and the commit remain, so the
    endpoint waits milliseconds for a round even while the process is busy. Elsewhere (and
    for a statement that cannot be prepared so) the step is the plain SQLAlchemy call.
    """

    steps: list[Callable[[Session], object]] = field(default_factory=list)

    def run(self, session: Session) -> None:
        for step in self.steps:
            step(session)


def prepare_writes(
    session: Session, plans: Sequence[GroupPlan], now: datetime, out: Applied
) -> PreparedWrites:
    """Every write these plans need, prepared (no write happens here; `run` does them)."""
    writes = PreparedWrites()
    for plan in plans:
        writes.steps.append(partial(ensure_portal, portal_id=plan.portal_id))
        writes.steps += _row_writes(
            session, plan.table, plan.portal_id, plan.object_type, plan.new_properties, plan.rows
        )
        writes.steps += _clock_writes(session, plan.portal_id, plan.object_type, plan.winners)
        writes.steps += _transition_writes(
            session,
            plan.portal_id,
            plan.object_type,
            plan.transition_inserts,
            plan.transition_updates,
        )
        keys = [RecordKey(plan.portal_id, plan.object_type, i) for i in sorted(plan.to_refresh)]
        rows = refresh_queue.refresh_rows(keys, now)
        if rows:
            writes.steps.append(
                _driver_or(
                    session,
                    ("refresh",),
                    lambda: refresh_queue.insert_statement(session),
                    rows,
                    partial(refresh_queue.request_refreshes, keys=keys, now=now),
                )
            )
        out.changed.update(
            RecordKey(plan.portal_id, plan.object_type, i) for i in plan.new_properties
        )
        out.changed.update(
            RecordKey(plan.portal_id, plan.object_type, c.object_id) for c in plan.tracked
        )
    return writes


def _plan_group(
    session: Session, portal_id: int, object_type: str, changes: list[Change]
) -> GroupPlan:
    table: Table = (Contact if object_type == "contact" else Deal).__table__  # type: ignore[assignment]
    ids = sorted({c.object_id for c in changes})
    clocks = _clocks(session, portal_id, object_type, ids)
    rows = _rows(session, table, portal_id, ids)
    tracked = [c for c in changes if transitions.is_tracked(object_type, c.prop)]
    timelines = _timelines(session, portal_id, object_type, tracked)
    winners = _newest_per_property(changes, clocks)
    new_properties: dict[str, dict[str, Any]] = {}
    to_refresh: set[str] = set()
    for change in winners:
        row = rows.get(change.object_id)
        if row is None or row["synced_at"] is None:
            to_refresh.add(change.object_id)  # only events know it: read it whole soon
        if row is None:
            # Only a read from HubSpot creates a record (it may not exist there): the clock
            # keeps the value, and the read applies it if it is newer than what it reflects.
            continue
        if row["modified_at"] is not None and row["modified_at"] >= change.at:
            continue  # the stored copy was read from HubSpot after this change
        properties = new_properties.setdefault(change.object_id, dict(row["properties"]))
        properties[change.prop] = change.value
    inserts, updates = _relinked(timelines, tracked)
    # The timeline is kept for every record, but only stored ones have SLA clocks to move.
    tracked = [c for c in tracked if c.object_id in rows]
    return GroupPlan(
        portal_id,
        object_type,
        table,
        rows,
        new_properties,
        winners,
        inserts,
        updates,
        to_refresh,
        tracked,
    )


def _chunks(items: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def _clocks(
    session: Session, portal_id: int, object_type: str, ids: Sequence[str]
) -> dict[tuple[str, str], tuple[datetime, int, str]]:
    found = {}
    for chunk in _chunks(ids):
        query = select(
            PropertyClock.object_id,
            PropertyClock.property,
            PropertyClock.set_at,
            PropertyClock.value,
        ).where(
            PropertyClock.portal_id == portal_id,
            PropertyClock.object_type == object_type,
            PropertyClock.object_id.in_(chunk),
        )
        for object_id, prop, set_at, value in session.execute(query):
            found[(object_id, prop)] = rank(set_at, value)
    return found


def _rows(
    session: Session, table: Table, portal_id: int, ids: Sequence[str]
) -> dict[str, dict[str, Any]]:
    found = {}
    for chunk in _chunks(ids):
        query = select(
            table.c.id, table.c.properties, table.c.modified_at, table.c.synced_at
        ).where(table.c.portal_id == portal_id, table.c.id.in_(chunk))
        for row in session.execute(query).mappings():
            found[row["id"]] = dict(row)
    return found


def _newest_per_property(
    changes: Iterable[Change], clocks: dict[tuple[str, str], tuple[datetime, int, str]]
) -> list[Change]:
    newest: dict[tuple[str, str], Change] = {}
    for change in changes:
        slot = (change.object_id, change.prop)
        if slot not in newest or change.rank > newest[slot].rank:
            newest[slot] = change
    return [
        change
        for slot, change in sorted(newest.items())
        if slot not in clocks or change.rank > clocks[slot]
    ]


Fact = tuple[datetime, str | None]


def _timelines(
    session: Session, portal_id: int, object_type: str, tracked: Sequence[Change]
) -> dict[tuple[str, str], list[tuple[int, datetime, str | None, datetime | None]]]:
    """(object id, property) -> stored transitions as (id, entered_at, value, exited_at)."""
    wanted = {(c.object_id, c.prop) for c in tracked}
    found: dict[tuple[str, str], list[tuple[int, datetime, str | None, datetime | None]]] = (
        defaultdict(list)
    )
    if not wanted:
        return found
    ids = sorted({object_id for object_id, _ in wanted})
    props = sorted({prop for _, prop in wanted})
    for chunk in _chunks(ids):
        query = select(
            Transition.id,
            Transition.object_id,
            Transition.property,
            Transition.entered_at,
            Transition.value,
            Transition.exited_at,
        ).where(
            Transition.portal_id == portal_id,
            Transition.object_type == object_type,
            Transition.object_id.in_(chunk),
            Transition.property.in_(props),
        )
        for row_id, object_id, prop, entered_at, value, exited_at in session.execute(query):
            if (object_id, prop) in wanted:
                found[(object_id, prop)].append((row_id, entered_at, value, exited_at))
    return found


def _relinked(
    timelines: dict[tuple[str, str], list[tuple[int, datetime, str | None, datetime | None]]],
    tracked: Sequence[Change],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """New transition rows to insert and stored ones whose exit time moves."""
    new_facts: dict[tuple[str, str], dict[Fact, Change]] = defaultdict(dict)
    for change in tracked:
        value = None if change.value is None else change.value[: transitions.VALUE_WIDTH]
        new_facts[(change.object_id, change.prop)].setdefault((change.at, value), change)
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    for slot, facts in new_facts.items():
        stored = timelines.get(slot, [])
        known = {(entered_at, value) for _, entered_at, value, _ in stored}
        entries: list[tuple[Fact, int | None, datetime | None, Change | None]] = [
            ((entered_at, value), row_id, exited_at, None)
            for row_id, entered_at, value, exited_at in stored
        ]
        entries += [(fact, None, None, first) for fact, first in facts.items() if fact not in known]
        entries.sort(key=lambda entry: transitions.timeline_order(*entry[0]))
        for index, (fact, row_id, exited_at, new) in enumerate(entries):
            next_entered = entries[index + 1][0][0] if index + 1 < len(entries) else None
            if new is not None:
                inserts.append(
                    {
                        "object_id": slot[0],
                        "property": slot[1],
                        "value": fact[1],
                        "entered_at": fact[0],
                        "exited_at": next_entered,
                        "source_id": None if new.event_id is None else str(new.event_id),
                    }
                )
            elif exited_at != next_entered:
                updates.append({"row_id": row_id, "new_exited_at": next_entered})
    return inserts, updates


def _row_writes(
    session: Session,
    table: Table,
    portal_id: int,
    object_type: str,
    new_properties: dict[str, dict[str, Any]],
    rows: dict[str, dict[str, Any]],
) -> list[Callable[[Session], object]]:
    inserts, updates = [], []
    for object_id, properties in sorted(new_properties.items()):
        derived = records.derived_columns(portal_id, object_type, object_id, properties)
        values = {"properties": properties, **derived}
        if object_id in rows:
            updates.append({"match_portal": portal_id, "match_id": object_id, **values})
        else:
            inserts.append({"portal_id": portal_id, "id": object_id, "archived": False, **values})
    steps: list[Callable[[Session], object]] = []
    if inserts:
        insert_statement: Any = _insert(session, table).on_conflict_do_nothing()
        steps.append(
            _driver_or(
                session,
                ("rows-insert", table.name),
                lambda: insert_statement,
                inserts,
                lambda s: s.execute(insert_statement, inserts),
            )
        )
    if updates:
        columns = [name for name in updates[0] if name not in ("match_portal", "match_id")]
        update_statement = (
            update(table)
            .where(
                table.c.portal_id == bindparam("match_portal"), table.c.id == bindparam("match_id")
            )
            .values({name: bindparam(name) for name in columns})
        )
        steps.append(
            _driver_or(
                session,
                ("rows-update", table.name),
                lambda: update_statement,
                updates,
                lambda s: s.connection().execute(update_statement, updates),
            )
        )
    return steps


def _clock_writes(
    session: Session, portal_id: int, object_type: str, winners: Sequence[Change]
) -> list[Callable[[Session], object]]:
    if not winners:
        return []
    statement: Any = _insert(session, PropertyClock.__table__)  # type: ignore[arg-type]
    statement = statement.on_conflict_do_update(
        index_elements=["portal_id", "object_type", "object_id", "property"],
        set_={"set_at": statement.excluded.set_at, "value": statement.excluded.value},
    )
    rows = [
        {
            "portal_id": portal_id,
            "object_type": object_type,
            "object_id": c.object_id,
            "property": c.prop,
            "set_at": c.at,
            "value": c.value,
        }
        for c in winners
    ]
    return [
        _driver_or(
            session, ("clocks",), lambda: statement, rows, lambda s: s.execute(statement, rows)
        )
    ]


def _transition_writes(
    session: Session,
    portal_id: int,
    object_type: str,
    inserts: list[dict[str, Any]],
    updates: list[dict[str, Any]],
) -> list[Callable[[Session], object]]:
    steps: list[Callable[[Session], object]] = []
    if inserts:
        rows = [
            {**row, "portal_id": portal_id, "object_type": object_type, "source": "webhook"}
            for row in inserts
        ]
        insert_statement: Any = _insert(session, Transition.__table__).on_conflict_do_nothing()  # type: ignore[arg-type]
        steps.append(
            _driver_or(
                session,
                ("transitions-insert",),
                lambda: insert_statement,
                rows,
                lambda s: s.execute(insert_statement, rows),
            )
        )
    if updates:
        table: Any = Transition.__table__
        update_statement = (
            update(table)
            .where(table.c.id == bindparam("row_id"))
            .values(exited_at=bindparam("new_exited_at"))
        )
        steps.append(
            _driver_or(
                session,
                ("transitions-update",),
                lambda: update_statement,
                updates,
                lambda s: s.connection().execute(update_statement, updates),
            )
        )
    return steps


@dataclass(frozen=True)
class _Compiled:
    sql: str
    names: tuple[str, ...]
    processors: tuple[Callable[[Any], Any] | None, ...]


# (statement kind, row keys) -> the statement compiled for SQLite, or None where it cannot be
# run through the driver (a column default computed in Python, a bound literal, ...).
_COMPILED: dict[tuple[Any, ...], _Compiled | None] = {}


def _driver_or(
    session: Session,
    kind: tuple[Any, ...],
    build: Callable[[], Any],
    rows: list[dict[str, Any]],
    fallback: Callable[[Session], object],
) -> Callable[[Session], object]:
    """A step writing `rows` with the statement `build()` makes: on SQLite through the
    driver's executemany with the values converted now; otherwise `fallback`."""
    dialect = session.get_bind().dialect
    if dialect.name != "sqlite":
        return fallback
    keys = tuple(rows[0])
    if any(tuple(row) != keys for row in rows):
        return fallback
    cache_key = (*kind, keys)
    if cache_key not in _COMPILED:
        _COMPILED[cache_key] = _compile(dialect, build(), keys)
    compiled = _COMPILED[cache_key]
    if compiled is None:
        return fallback
    steps = list(zip(compiled.names, compiled.processors, strict=True))
    params = [tuple(row[n] if p is None else p(row[n]) for n, p in steps) for row in rows]
    return partial(_executemany, sql=compiled.sql, params=params)


def _compile(dialect: Any, statement: Any, keys: tuple[str, ...]) -> _Compiled | None:
    compiled: Any = statement.compile(dialect=dialect, column_keys=list(keys))
    if (
        compiled.positiontup is None
        or compiled.insert_prefetch
        or compiled.update_prefetch
        or set(compiled.positiontup) - set(keys)
    ):
        return None  # SQLAlchemy computes some values at execution: let it run the statement
    processors = compiled._bind_processors
    names = tuple(compiled.positiontup)
    return _Compiled(compiled.string, names, tuple(processors.get(n) for n in names))


def _executemany(session: Session, *, sql: str, params: list[tuple[Any, ...]]) -> None:
    if session.new or session.dirty or session.deleted:
        session.flush()  # ORM changes made earlier in this unit of work go first
    dbapi_connection: Any = session.connection().connection.dbapi_connection
    cursor = dbapi_connection.cursor()
    try:
        cursor.executemany(sql, params)
    except sqlite3.Error as exc:
        raise DBAPIError.instance(sql, None, exc, sqlite3.Error, hide_parameters=True) from exc
    finally:
        cursor.close()


def _insert(session: Session, table: Table) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)
