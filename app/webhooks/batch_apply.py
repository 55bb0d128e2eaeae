"""Property changes applied a round at a time, in a fixed number of statements.

Property changes are most of what HubSpot sends. Applying them one by one costs a dozen
statements each and, on SQLite, holds the single write lock while the endpoint waits to store
new events. Here a round reads what it needs (property versions, rows, timelines) first, decides in
Python with the same rules as `apply.py` (newest fact wins; the timeline is relinked from the
set of facts), and then writes in bulk, so the write lock is held for milliseconds.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from app.crm import transitions
from app.crm.keys import RecordKey
from app.crm.repository import ensure_portal
from app.models import Contact, Deal, PropertyVersion, RecordRefresh, Transition, WebhookEvent
from app.store import bulk
from app.webhooks import records, refresh_queue
from app.webhooks.apply import Applied
from app.webhooks.property_versions import rank

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

    Each is a driver executemany (`app.store.bulk`) whose statement was built and whose values
    were converted before the round takes the process's writer lock: under the lock only the
    driver's C code and the commit remain, so the endpoint waits milliseconds for a round even
    while the process is busy.
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
        writes.steps += _version_writes(session, plan.portal_id, plan.object_type, plan.winners)
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
                bulk.prepare_insert(session, RecordRefresh, rows, skip_conflicts_on=()).run
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
    versions = _versions(session, portal_id, object_type, ids)
    rows = _rows(session, table, portal_id, ids)
    tracked = [c for c in changes if transitions.is_tracked(object_type, c.prop)]
    timelines = _timelines(session, portal_id, object_type, tracked)
    winners = _newest_per_property(changes, versions)
    new_properties: dict[str, dict[str, Any]] = {}
    to_refresh: set[str] = set()
    for change in winners:
        row = rows.get(change.object_id)
        if row is None or row["synced_at"] is None:
            to_refresh.add(change.object_id)  # only events know it: read it whole soon
        if row is None:
            # Only a read from HubSpot creates a record (it may not exist there): its property
            # version keeps the value, and the read applies it if it is newer than what it reflects.
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


def _versions(
    session: Session, portal_id: int, object_type: str, ids: Sequence[str]
) -> dict[tuple[str, str], tuple[datetime, int, str]]:
    found = {}
    for chunk in _chunks(ids):
        query = select(
            PropertyVersion.object_id,
            PropertyVersion.property,
            PropertyVersion.set_at,
            PropertyVersion.value,
        ).where(
            PropertyVersion.portal_id == portal_id,
            PropertyVersion.object_type == object_type,
            PropertyVersion.object_id.in_(chunk),
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
    changes: Iterable[Change], versions: dict[tuple[str, str], tuple[datetime, int, str]]
) -> list[Change]:
    newest: dict[tuple[str, str], Change] = {}
    for change in changes:
        slot = (change.object_id, change.prop)
        if slot not in newest or change.rank > newest[slot].rank:
            newest[slot] = change
    return [
        change
        for slot, change in sorted(newest.items())
        if slot not in versions or change.rank > versions[slot]
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
                updates.append({"id": row_id, "exited_at": next_entered})
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
        values = {"portal_id": portal_id, "id": object_id, "properties": properties, **derived}
        if object_id in rows:
            updates.append(values)
        else:
            inserts.append({**values, "archived": False})
    steps: list[Callable[[Session], object]] = []
    if inserts:
        steps.append(bulk.prepare_insert(session, table, inserts, skip_conflicts_on=()).run)
    if updates:
        steps.append(bulk.prepare_update(session, table, updates, match=("portal_id", "id")).run)
    return steps


def _version_writes(
    session: Session, portal_id: int, object_type: str, winners: Sequence[Change]
) -> list[Callable[[Session], object]]:
    if not winners:
        return []
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
    keys = ["portal_id", "object_type", "object_id", "property"]
    write = bulk.prepare_upsert(
        session, PropertyVersion, rows, keys=keys, update_columns=["set_at", "value"]
    )
    return [write.run]


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
        steps.append(bulk.prepare_insert(session, Transition, rows, skip_conflicts_on=()).run)
    if updates:
        steps.append(bulk.prepare_update(session, Transition, updates).run)
    return steps
