"""Writing a received batch: parsed events once each (by dedupe key), the rest as dead letters.

One multi-row INSERT ... ON CONFLICT (dedupe_key) DO NOTHING per request, on SQLite and
PostgreSQL alike, so a retried delivery costs one cheap statement and stores nothing twice.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Insert, insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.db import SessionFactory
from app.models import WebhookDeadLetter, WebhookEvent
from app.webhooks.events import EventParseError, WebhookEventRecord, parse_event

# SQLite has one writer at a time, and a writer that finds the database locked sleeps in steps
# of up to 100 ms before it retries. Writers of this process queue on this lock instead, and
# the next one starts the moment the previous one commits: that is what keeps the endpoint's
# tail latency low while requests arrive ten at a time and the worker writes too.
SQLITE_WRITE_LOCK = threading.Lock()


def write_lock(session_factory: SessionFactory) -> AbstractContextManager[object]:
    """The in-process writer queue on SQLite; nothing on PostgreSQL (rows are locked there)."""
    bind = session_factory.kw.get("bind")
    if bind is not None and bind.dialect.name == "sqlite":
        return SQLITE_WRITE_LOCK
    return nullcontext()


@dataclass(frozen=True)
class DeadLetter:
    raw: str
    reason: str


@dataclass(frozen=True)
class ParsedBatch:
    events: list[WebhookEventRecord]
    dead_letters: list[DeadLetter]


@dataclass(frozen=True)
class IngestResult:
    stored: int
    duplicates: int
    dead_letters: int


def split_batch(items: Sequence[Any], *, may_contain_nul: bool = True) -> ParsedBatch:
    """Parse every element; the ones that do not parse become dead letters with a reason."""
    events: list[WebhookEventRecord] = []
    dead: list[DeadLetter] = []
    for item in items:
        try:
            events.append(parse_event(item, may_contain_nul=may_contain_nul))
        except EventParseError as exc:
            # ensure_ascii keeps the raw text storable anywhere (a NUL becomes \\u0000).
            dead.append(DeadLetter(raw=json.dumps(item, ensure_ascii=True), reason=str(exc)))
    return ParsedBatch(events=events, dead_letters=dead)


def store_batch(session: Session, batch: ParsedBatch, received_at: datetime) -> IngestResult:
    """Insert the batch; the caller commits (before it answers HubSpot)."""
    unique = {event.dedupe_key: event for event in batch.events}
    stored = 0
    if unique:
        rows = [_event_row(event, received_at) for event in unique.values()]
        # Core, not the ORM's bulk path (this is the hot path). RETURNING names the rows that
        # were new, on both databases (executemany row counts are not reliable on psycopg).
        statement = _insert_ignoring_duplicates(session).returning(WebhookEvent.__table__.c.id)
        stored = len(session.connection().execute(statement, rows).all())
    if batch.dead_letters:
        session.execute(
            insert(WebhookDeadLetter),
            [
                {"received_at": received_at, "raw": letter.raw, "reason": letter.reason}
                for letter in batch.dead_letters
            ],
        )
    return IngestResult(
        stored=stored,
        duplicates=len(batch.events) - stored,
        dead_letters=len(batch.dead_letters),
    )


def _insert_ignoring_duplicates(session: Session) -> Insert:
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(WebhookEvent).on_conflict_do_nothing(
            index_elements=[WebhookEvent.dedupe_key]
        )
    return sqlite.insert(WebhookEvent).on_conflict_do_nothing(
        index_elements=[WebhookEvent.dedupe_key]
    )


def _event_row(event: WebhookEventRecord, received_at: datetime) -> dict[str, Any]:
    return {
        "dedupe_key": event.dedupe_key,
        "portal_id": event.portal_id,
        "event_id": event.event_id,
        "subscription_type": event.subscription_type,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "property_name": event.property_name,
        "property_value": event.property_value,
        "occurred_at": event.occurred_at,
        "received_at": received_at,
        "payload": event.payload,
        "processed_at": None,
        "attempts": 0,
        "error": None,
    }
