"""The task ledger in the store: which HubSpot task belongs to which SLA instance.

`reserve` claims the instance's one row before a task is created; whoever inserts it first
creates the task, everyone else sees the row and creates nothing. A reservation left by a
worker that died expires after `RESERVATION`, so the instance is not stuck without a task.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy.dialects import postgresql, sqlite

from alerts.delivery import HubSpotItem
from app.models import HubSpotTask
from app.store.db import SessionFactory, write_scope

RESERVATION = timedelta(minutes=10)


class Reservation(StrEnum):
    RESERVED = "reserved"  # this caller creates the task
    # An earlier attempt's reservation expired: HubSpot may hold the task it was creating.
    TAKEN_OVER = "taken_over"
    BUSY = "busy"  # another worker is creating it now
    EXISTS = "exists"  # the instance has (or had) its task


@dataclass(frozen=True, slots=True)
class TaskRow:
    instance_id: int
    task_id: str | None
    state: str


class StoredTaskLedger:
    def __init__(self, factory: SessionFactory) -> None:
        self._factory = factory

    def reserve(self, item: HubSpotItem, due_at: datetime, now: datetime) -> Reservation:
        row = {
            "instance_id": item.instance_id,
            "portal_id": item.portal_id,
            "object_type": item.object_type,
            "object_id": item.object_id,
            "owner_id": item.owner_id,
            "task_id": None,
            "state": "creating",
            "due_at": due_at,
            "reserved_until": now + RESERVATION,
            "created_at": now,
            "updated_at": now,
        }
        with write_scope(self._factory) as session:
            dialect = session.get_bind().dialect.name
            insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
            statement = (
                insert(HubSpotTask)
                .values(**row)
                .on_conflict_do_nothing()
                .returning(HubSpotTask.instance_id)
            )
            # RETURNING, not rowcount: drivers disagree on the count of a skipped insert.
            if session.connection().execute(statement).scalar() is not None:
                return Reservation.RESERVED
            found = session.get(HubSpotTask, item.instance_id, with_for_update=True)
            if found is None or found.state != "creating":
                return Reservation.EXISTS
            if found.reserved_until is not None and found.reserved_until > now:
                return Reservation.BUSY
            found.reserved_until, found.updated_at = now + RESERVATION, now
            return Reservation.TAKEN_OVER

    def opened(self, instance_id: int, task_id: str, now: datetime) -> None:
        with write_scope(self._factory) as session:
            row = session.get(HubSpotTask, instance_id, with_for_update=True)
            if row is not None:
                row.task_id, row.state = task_id, "open"
                row.reserved_until, row.updated_at = None, now

    def release(self, instance_id: int) -> None:
        """Gives a reservation back when HubSpot certainly created nothing."""
        with write_scope(self._factory) as session:
            row = session.get(HubSpotTask, instance_id, with_for_update=True)
            if row is not None and row.state == "creating":
                session.delete(row)

    def find(self, instance_id: int) -> TaskRow | None:
        with self._factory() as session:
            row = session.get(HubSpotTask, instance_id)
            return None if row is None else TaskRow(row.instance_id, row.task_id, row.state)

    def completed(self, instance_id: int, now: datetime) -> None:
        with write_scope(self._factory) as session:
            row = session.get(HubSpotTask, instance_id, with_for_update=True)
            if row is not None:
                row.state, row.updated_at = "completed", now
