"""Every query of SLA evaluation: records, history and touches in bulk, instances and events.

Records are read in primary-key ranges; the history and touches of a whole range come in one
query each (a range on the indexed object id), so a full evaluation issues a handful of
queries per few thousand records and never one per record.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    and_,
    bindparam,
    func,
    select,
    type_coerce,
    update,
)
from sqlalchemy.orm import Session

from app.evaluation import bulk
from app.evaluation.columns import (
    COMPARED,
    EVENT_COLUMNS,
    EVENT_KEY,
    INSTANCE_COLUMNS,
    INSTANCE_KEY,
    TIME_COLUMNS,
)
from app.models import (
    Contact,
    Deal,
    LifecycleStage,
    Owner,
    PipelineStage,
    Portal,
    SlaInstance,
    SlaRuleSet,
    Transition,
)
from app.sla.records import Directory, Interval, Record, StageInfo, Touch

# Typed columns of the store under the HubSpot property names rules use.
CONTACT_COLUMNS = {
    "lifecyclestage": Contact.lifecycle_stage,
    "hubspot_owner_id": Contact.owner_id,
    "hs_lead_status": Contact.lead_status,
    "hs_analytics_source": Contact.lead_source,
    "createdate": Contact.created_at,
    "email": Contact.email,
}
DEAL_COLUMNS = {
    "pipeline": Deal.pipeline,
    "dealstage": Deal.deal_stage,
    "amount": Deal.amount,
    "closedate": Deal.close_date,
    "hubspot_owner_id": Deal.owner_id,
    "createdate": Deal.created_at,
    "dealname": Deal.name,
}


@dataclass(frozen=True, slots=True)
class IdRange:
    """Records whose id lies in [first, last] (text order, as the primary key sorts)."""

    first: str
    last: str


Selector = IdRange | Sequence[str]


def _raw(session: Session, column: Any) -> Any:
    """On SQLite, read a UTC column as its stored text: `fromisoformat` parses it an order of
    magnitude faster than the generic DateTime processor, which matters at a million rows."""
    if session.get_bind().dialect.name == "sqlite":
        return type_coerce(column, String)
    return column


def _when(value: Any) -> datetime | None:
    if value is None:
        return None
    if type(value) is str:
        # Parsing the offset along with the text is several times cheaper than a separate
        # `.replace(tzinfo=UTC)` (a million calls per full pass); stored text is naive UTC.
        try:
            return datetime.fromisoformat(value + "+00:00")
        except ValueError:
            return datetime.fromisoformat(value).replace(tzinfo=UTC)
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)  # type: ignore[no-any-return]
    return value  # type: ignore[no-any-return]


def _matching(column: Any, selector: Selector) -> ColumnElement[bool]:
    if isinstance(selector, IdRange):
        return and_(column >= selector.first, column <= selector.last)
    return column.in_(list(selector))  # type: ignore[no-any-return]


_STATEMENTS: dict[tuple[Any, ...], Any] = {}


def _statement(key: tuple[Any, ...], build: Callable[[], Any]) -> Any:
    """Build a query once and reuse it: constructing SQLAlchemy expressions costs more than
    running the query when an incremental evaluation reads a single record."""
    statement = _STATEMENTS.get(key)
    if statement is None:
        statement = _STATEMENTS[key] = build()
    return statement


def _selected(column: Any, by_range: bool) -> ColumnElement[bool]:
    if by_range:
        return and_(column >= bindparam("first"), column <= bindparam("last"))
    return column.in_(bindparam("ids", expanding=True))  # type: ignore[no-any-return]


def _parameters(portal_id: int, selector: Selector) -> dict[str, Any]:
    if isinstance(selector, IdRange):
        return {"portal_id": portal_id, "first": selector.first, "last": selector.last}
    return {"portal_id": portal_id, "ids": list(selector)}


def portal_time_zone(session: Session, portal_id: int) -> str:
    zone = session.scalar(select(Portal.time_zone).where(Portal.id == portal_id))
    return zone or "UTC"


def portal_ids(session: Session) -> list[int]:
    return list(session.scalars(select(Portal.id).order_by(Portal.id)))


def load_directory(session: Session, portal_id: int) -> Directory:
    lifecycle = {
        row.id: row.display_order
        for row in session.execute(
            select(LifecycleStage.id, LifecycleStage.display_order).where(
                LifecycleStage.portal_id == portal_id
            )
        )
    }
    stages = {
        row.id: StageInfo(row.pipeline_id, row.display_order, row.is_closed, row.is_won)
        for row in session.execute(
            select(
                PipelineStage.id,
                PipelineStage.pipeline_id,
                PipelineStage.display_order,
                PipelineStage.is_closed,
                PipelineStage.is_won,
            ).where(PipelineStage.portal_id == portal_id)
        )
    }
    teams: dict[str, tuple[str, ...]] = {}
    for row in session.execute(
        select(Owner.id, Owner.teams, Owner.primary_team_id).where(Owner.portal_id == portal_id)
    ):
        listed = [str(t.get("id")) for t in (row.teams or []) if isinstance(t, dict)]
        primary = [row.primary_team_id] if row.primary_team_id else []
        teams[row.id] = tuple(dict.fromkeys(primary + listed))
    return Directory(lifecycle_order=lifecycle, deal_stages=stages, owner_teams=teams)


def next_id_range(
    session: Session, portal_id: int, object_type: str, after: str | None, size: int
) -> IdRange | None:
    """The next `size` record ids after `after`, as a range."""
    model = Contact if object_type == "contact" else Deal
    query = select(model.id).where(model.portal_id == portal_id)
    if after is not None:
        query = query.where(model.id > after)
    ids = list(session.connection().scalars(query.order_by(model.id).limit(size)))
    return IdRange(ids[0], ids[-1]) if ids else None


_DATETIME_NAMES = frozenset({"createdate", "closedate"})


def _record_query(
    object_type: str, with_properties: bool, raw_times: bool
) -> tuple[Select[Any], list[str]]:
    model = Contact if object_type == "contact" else Deal
    named = CONTACT_COLUMNS if object_type == "contact" else DEAL_COLUMNS
    extra = [model.properties] if with_properties else []

    def timed(column: Any) -> Any:
        return type_coerce(column, String) if raw_times else column

    columns = [
        model.id,
        model.archived,
        model.merged_into_id,
        timed(model.created_at),
        model.owner_id,
        timed(Contact.owner_assigned_at if model is Contact else Deal.created_at),
        *(timed(column) if name in _DATETIME_NAMES else column for name, column in named.items()),
        *extra,
    ]
    query: Select[Any] = select(*columns)
    return query, list(named)


def load_records(
    session: Session,
    portal_id: int,
    object_type: str,
    selector: Selector,
    *,
    with_properties: bool,
    with_touches: bool,
) -> list[Record]:
    """The records in `selector` with their tracked history and (optionally) their touches."""
    model = Contact if object_type == "contact" else Deal
    raw_times = session.get_bind().dialect.name == "sqlite"
    query, names = _record_query(object_type, with_properties, raw_times)
    by_range = isinstance(selector, IdRange)
    statement = _statement(
        ("records", object_type, with_properties, by_range, raw_times),
        lambda: query.where(
            model.portal_id == bindparam("portal_id"), _selected(model.id, by_range)
        ).order_by(model.id),
    )
    rows = session.connection().execute(statement, _parameters(portal_id, selector)).all()
    history = load_history(session, portal_id, object_type, selector)
    touches = load_touches(session, portal_id, object_type, selector) if with_touches else {}
    contact = object_type == "contact"
    width = len(names)
    # Positions (in the named columns) of datetimes read as text, to parse like the others.
    timed = [n for n, name in enumerate(names) if name in _DATETIME_NAMES] if raw_times else []
    no_history: dict[str, list[Interval]] = {}
    records = []
    for row in rows:
        named = list(row[6 : 6 + width])
        for n in timed:
            named[n] = _when(named[n])
        values: dict[str, Any] = dict(zip(names, named, strict=True))
        if with_properties and row[-1]:
            values = {**dict(row[-1]), **values}
        record_id = row[0]
        created_at = _when(row[3])
        records.append(
            Record(
                object_type,
                record_id,
                created_at,
                row[4],
                values,
                history.get(record_id, no_history),
                touches.get(record_id, ()),
                _when(row[5]) if contact else None,
                bool(row[1]),
                row[2] is not None,
            )
        )
    return records


def _dbapi_rows(session: Session, sql: str, parameters: Sequence[Any]) -> list[Any]:
    """Run `sql` (with `?` placeholders) on the driver's cursor and return its plain tuples:
    the history of 200,000 records is a million rows, and the driver's tuples cost a fraction
    of result rows."""
    if session.get_bind().dialect.name != "sqlite":
        sql = sql.replace("?", "%s")
    result = session.connection().exec_driver_sql(sql, tuple(parameters))
    try:
        return list(result.cursor.fetchall())
    finally:
        result.close()


def _selected_sql(column: str, portal_id: int, selector: Selector) -> tuple[str, list[Any]]:
    if isinstance(selector, IdRange):
        return f"{column} >= ? AND {column} <= ?", [portal_id, selector.first, selector.last]
    ids = list(selector)
    if not ids:
        return "1 = 0", [portal_id]
    return f"{column} IN ({', '.join('?' for _ in ids)})", [portal_id, *ids]


def load_history(
    session: Session, portal_id: int, object_type: str, selector: Selector
) -> dict[str, dict[str, list[Interval]]]:
    """Each record's intervals per tracked property, oldest first."""
    matching, parameters = _selected_sql("object_id", portal_id, selector)
    rows = _dbapi_rows(
        session,
        "SELECT object_id, property, value, entered_at, exited_at FROM transitions "  # noqa: S608
        f"WHERE portal_id = ? AND object_type = ? AND {matching} "
        "ORDER BY object_id, property, entered_at",
        [parameters[0], object_type, *parameters[1:]],
    )
    history: dict[str, dict[str, list[Interval]]] = {}
    # Rows come grouped by record and property; a record's next interval usually enters
    # exactly when the previous one exited, so that text is parsed once.
    last_id: str | None = None
    last_property: str | None = None
    intervals: list[Interval] = []
    previous_text: Any = None
    previous_time: datetime | None = None
    for object_id, prop, value, entered, exited in rows:
        if prop != last_property or object_id != last_id:
            per_record = history.get(object_id)
            if per_record is None:
                per_record = history[object_id] = {}
            intervals = per_record[prop] = []
            last_id, last_property = object_id, prop
        entered_at = previous_time if entered == previous_text else _when(entered)
        if exited is None:
            exited_at = None
        else:
            exited_at = _when(exited)
            previous_text, previous_time = exited, exited_at
        intervals.append(Interval(value, entered_at, exited_at))  # type: ignore[arg-type]
    return history


def load_touches(
    session: Session, portal_id: int, object_type: str, selector: Selector
) -> dict[str, list[Touch]]:
    """Each record's engagements (not archived, with a time), oldest first."""
    matching, parameters = _selected_sql("a.to_id", portal_id, selector)
    false = "0" if session.get_bind().dialect.name == "sqlite" else "false"
    rows = _dbapi_rows(
        session,
        "SELECT a.to_id, e.type, e.occurred_at, e.owner_id, e.direction "  # noqa: S608
        "FROM associations AS a JOIN engagements AS e "
        "ON e.portal_id = a.portal_id AND e.id = a.from_id "
        f"WHERE a.portal_id = ? AND a.from_type = 'engagement' AND a.to_type = ? AND {matching} "
        f"AND e.archived = {false} AND e.occurred_at IS NOT NULL "
        # slaguard's own HubSpot tasks are reminders, not touches (docs/writeback.md).
        "AND NOT EXISTS (SELECT 1 FROM hubspot_tasks AS t "
        "WHERE t.portal_id = e.portal_id AND t.task_id = e.id) "
        "ORDER BY a.to_id, e.occurred_at",
        [parameters[0], object_type, *parameters[1:]],
    )
    touches: dict[str, list[Touch]] = {}
    last_id: str | None = None
    found: list[Touch] = []
    for record_id, kind, occurred, owner, direction in rows:
        if record_id != last_id:
            found = touches.setdefault(record_id, [])
            last_id = record_id
        found.append(Touch(kind, _when(occurred), owner, direction))  # type: ignore[arg-type]
    return touches


# -- instances and events ------------------------------------------------------------------

# what a stored instance is read back with: its keys, then the fields a fresh outcome is
# compared on (one list, owned by the comparison)
INSTANCE_FIELDS = ("id", "rule_id", "object_id", "cycle", *COMPARED)


@dataclass(slots=True)
class StoredInstance:
    """An instance as stored, for comparison with a fresh outcome (JSON parsed on demand)."""

    id: int
    rule_id: str
    object_id: str
    cycle: int
    owner_id: str | None
    state: str
    paused: bool
    started_at: datetime | None
    warning_at: datetime | None
    due_at: datetime | None
    stopped_at: datetime | None
    breached_at: datetime | None
    next_due_at: datetime | None
    goal: str | None
    rule_fingerprint: str
    raw_metrics: Any

    @property
    def metrics(self) -> dict[str, Any]:
        if isinstance(self.raw_metrics, str):
            self.raw_metrics = json.loads(self.raw_metrics)
        return self.raw_metrics or {}


# the stored instant columns, read raw and parsed by `_when`
_TIMES = tuple(name for name in INSTANCE_FIELDS if name in TIME_COLUMNS)


def load_instances(
    session: Session, portal_id: int, object_type: str, selector: Selector
) -> list[StoredInstance]:
    by_range = isinstance(selector, IdRange)
    dialect = session.get_bind().dialect.name

    def build() -> Any:
        columns = [
            _raw(session, getattr(SlaInstance, name))
            if name in _TIMES or name == "metrics"
            else getattr(SlaInstance, name)
            for name in INSTANCE_FIELDS
        ]
        return select(*columns).where(
            SlaInstance.portal_id == bindparam("portal_id"),
            SlaInstance.object_type == object_type,
            _selected(SlaInstance.object_id, by_range),
        )

    statement = _statement(("instances", object_type, by_range, dialect), build)
    rows = session.connection().execute(statement, _parameters(portal_id, selector)).all()
    return [
        StoredInstance(
            row[0],
            row[1],
            row[2],
            row[3],
            row[4],
            row[5],
            bool(row[6]),
            _when(row[7]),
            _when(row[8]),
            _when(row[9]),
            _when(row[10]),
            _when(row[11]),
            _when(row[12]),
            row[13],
            row[14],
            row[15],
        )
        for row in rows
    ]


InstanceKey = tuple[int, str, str, str, int]  # portal, rule, object type, object id, cycle


def insert_instances(session: Session, rows: list[dict[str, Any]]) -> list[int]:
    """Insert instances; returns their new ids, in the order of `rows`."""
    if not rows:
        return []
    values = bulk.tuples(session, INSTANCE_COLUMNS, bulk.dict_values(INSTANCE_COLUMNS, rows))
    if session.get_bind().dialect.name == "sqlite":
        first = insert_instances_numbered(session, values)
        if first is not None:
            return list(range(first, first + len(values)))
    else:
        bulk.insert_tuples(session, "sla_instances", INSTANCE_COLUMNS, values)
    return inserted_ids(session, [tuple(v[n] for n in KEY_POSITIONS) for v in values])


# where INSTANCE_COLUMNS holds an instance's key: portal, rule, object type and id, cycle
KEY_POSITIONS = tuple(INSTANCE_COLUMNS.index(name) for name in INSTANCE_KEY)


def insert_instances_numbered(session: Session, values: list[tuple[Any, ...]]) -> int | None:
    """SQLite: insert converted instances and return the id of the first (the others follow
    in order), without reading them back; None when that cannot be vouched for (the rows
    are inserted anyway: read their ids back).

    From its first insert to its commit this transaction is the only writer, and each row
    without an id gets one more than the largest id in the table: so the rows get the run
    of ids that ends at the largest id. The first and last rows are checked by their keys."""
    bulk.insert_tuples(session, "sla_instances", INSTANCE_COLUMNS, values)
    connection = session.connection()
    last = int(
        connection.exec_driver_sql("SELECT coalesce(max(id), 0) FROM sla_instances").scalar_one()
    )
    first = last - len(values) + 1
    check = (
        "SELECT id, portal_id, rule_id, object_type, object_id, cycle FROM sla_instances "
        "WHERE id IN (?, ?) ORDER BY id"
    )
    found = [tuple(row) for row in connection.exec_driver_sql(check, (first, last))]
    expected = [
        (first, *(values[0][n] for n in KEY_POSITIONS)),
        (last, *(values[-1][n] for n in KEY_POSITIONS)),
    ]
    if found != expected[: len(found)] or len(found) != len({first, last}):
        return None
    return first


def inserted_ids(session: Session, keys: list[tuple[Any, ...]]) -> list[int]:
    """The ids of just-inserted instances, by their keys (portal, rule, object type and id,
    cycle), in the order of `keys`."""
    wanted = set(keys)
    groups: dict[tuple[int, str], set[str]] = defaultdict(set)
    for portal_id, _, object_type, object_id, _ in wanted:
        groups[(portal_id, object_type)].add(object_id)
    ids: dict[InstanceKey, int] = {}
    for (portal_id, object_type), object_ids in groups.items():
        ordered = sorted(object_ids)
        for start in range(0, len(ordered), 5000):
            chunk = ordered[start : start + 5000]
            selector: Selector = IdRange(chunk[0], chunk[-1]) if len(chunk) > 50 else chunk
            query = select(
                SlaInstance.id, SlaInstance.rule_id, SlaInstance.object_id, SlaInstance.cycle
            ).where(
                SlaInstance.portal_id == portal_id,
                SlaInstance.object_type == object_type,
                _matching(SlaInstance.object_id, selector),
            )
            for instance_id, rule_id, object_id, cycle in session.connection().execute(query):
                key = (portal_id, rule_id, object_type, object_id, cycle)
                if key in wanted:
                    ids[key] = instance_id
    return [ids[key] for key in keys]


def update_instances(session: Session, rows: list[dict[str, Any]]) -> None:
    """Update instances by id (each dict carries `id` and the changed columns)."""
    bulk.update_rows(session, "sla_instances", rows)


def insert_events(session: Session, rows: Iterable[Sequence[Any]]) -> int:
    """Append events (values in EVENT_COLUMNS order), skipping any already logged for the
    same instance and type."""
    return insert_converted_events(session, bulk.tuples(session, EVENT_COLUMNS, rows))


def insert_converted_events(session: Session, rows: Sequence[tuple[Any, ...]]) -> int:
    """`insert_events` for rows already converted by `bulk.tuples`."""
    return bulk.insert_tuples(
        session, "sla_events", EVENT_COLUMNS, rows, ignore_conflict_on=EVENT_KEY
    )


def due_instances(session: Session, now: datetime, limit: int) -> list[Any]:
    """Instances whose next due time has come, oldest first."""
    columns = [getattr(SlaInstance, name) for name in INSTANCE_FIELDS]
    return list(
        session.connection()
        .execute(
            select(*columns, SlaInstance.portal_id, SlaInstance.kind, SlaInstance.object_type)
            .where(SlaInstance.next_due_at <= now)
            .order_by(SlaInstance.next_due_at)
            .limit(limit)
        )
        .all()
    )


# -- rule sets -------------------------------------------------------------------------------


def latest_rule_set(session: Session) -> SlaRuleSet | None:
    return session.scalar(select(SlaRuleSet).order_by(SlaRuleSet.id.desc()).limit(1))


_LATEST_FINGERPRINT = f"SELECT fingerprint FROM {SlaRuleSet.__tablename__} ORDER BY id DESC LIMIT 1"  # noqa: S608


def latest_rule_set_fingerprint(session: Session) -> str | None:
    """Asked by every sync page and webhook batch (are rules in force, have they changed?):
    one constant statement through the driver, a sixth of the ORM select's cost."""
    value = session.connection().exec_driver_sql(_LATEST_FINGERPRINT).scalar()
    return None if value is None else str(value)


def add_rule_set(
    session: Session, *, fingerprint: str, source: str, text: str, now: datetime
) -> int:
    row = SlaRuleSet(fingerprint=fingerprint, source=source, text=text, activated_at=now)
    session.add(row)
    session.flush()
    return row.id


# -- periods (quotas and rates) --------------------------------------------------------------


def entries_between(
    session: Session,
    portal_id: int,
    object_type: str,
    prop: str,
    values: Sequence[str] | None,
    start: datetime,
    end: datetime | None,
    object_ids: Sequence[str] | None = None,
) -> list[tuple[str, str | None, datetime]]:
    """(record id, value, entered_at) of every value a property took in [start, end)."""
    query = select(Transition.object_id, Transition.value, Transition.entered_at).where(
        Transition.portal_id == portal_id,
        Transition.object_type == object_type,
        Transition.property == prop,
        Transition.entered_at >= start,
    )
    if end is not None:
        query = query.where(Transition.entered_at < end)
    if values is not None:
        query = query.where(Transition.value.in_(list(values)))
    if object_ids is not None:
        query = query.where(Transition.object_id.in_(list(object_ids)))
    return [
        (row[0], row[1], row[2])
        for row in session.connection().execute(query.order_by(Transition.entered_at))
    ]


def deals_closed_between(
    session: Session, portal_id: int, start: datetime, end: datetime
) -> list[Any]:
    return list(
        session.connection()
        .execute(
            select(Deal.id, Deal.created_at, Deal.close_date, Deal.amount, Deal.deal_stage).where(
                Deal.portal_id == portal_id,
                Deal.archived.is_(False),
                Deal.merged_into_id.is_(None),
                Deal.close_date >= start,
                Deal.close_date < end,
            )
        )
        .all()
    )


def deal_stage_counts(session: Session, portal_id: int) -> dict[str | None, int]:
    rows = session.connection().execute(
        select(Deal.deal_stage, func.count())
        .where(Deal.portal_id == portal_id, Deal.archived.is_(False))
        .group_by(Deal.deal_stage)
    )
    return {stage: int(count) for stage, count in rows}


def open_period_instances(session: Session, portal_id: int, rule_id: str) -> list[Any]:
    columns = [getattr(SlaInstance, name) for name in INSTANCE_FIELDS]
    return list(
        session.connection()
        .execute(
            select(*columns).where(
                SlaInstance.portal_id == portal_id,
                SlaInstance.rule_id == rule_id,
                SlaInstance.object_type.in_(("period", "window")),
                SlaInstance.stopped_at.is_(None),
            )
        )
        .all()
    )


def period_instance(session: Session, portal_id: int, rule_id: str, key: str) -> Any:
    columns = [getattr(SlaInstance, name) for name in INSTANCE_FIELDS]
    return (
        session.connection()
        .execute(
            select(*columns)
            .where(
                SlaInstance.portal_id == portal_id,
                SlaInstance.rule_id == rule_id,
                SlaInstance.object_id == key,
            )
            .order_by(SlaInstance.cycle.desc())
            .limit(1)
        )
        .first()
    )


def request_period_refresh(
    session: Session, portal_id: int, rule_ids: Sequence[str], now: datetime
) -> None:
    """Make the due-clock job re-count these rules' open periods at its next tick."""
    if not rule_ids:
        return
    session.execute(
        update(SlaInstance)
        .where(
            SlaInstance.portal_id == portal_id,
            SlaInstance.rule_id.in_(list(rule_ids)),
            SlaInstance.stopped_at.is_(None),
            SlaInstance.object_type.in_(("period", "window")),
            (SlaInstance.next_due_at.is_(None)) | (SlaInstance.next_due_at > now),
        )
        .values(next_due_at=now)
        .execution_options(synchronize_session=False)
    )


def clear_next_due(session: Session, portal_id: int, rule_id: str) -> None:
    """Stop timing the instances of a rule that is no longer in force."""
    session.execute(
        update(SlaInstance)
        .where(SlaInstance.portal_id == portal_id, SlaInstance.rule_id == rule_id)
        .values(next_due_at=None)
        .execution_options(synchronize_session=False)
    )
