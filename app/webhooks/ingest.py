"""Writing a received batch: parsed events once each (by dedupe key), the rest as dead letters.

One INSERT ... ON CONFLICT (dedupe_key) DO NOTHING per request (`app.store.bulk`: sqlite3's
executemany on SQLite, a multi-row INSERT ... RETURNING on PostgreSQL), so a retried delivery
costs one cheap statement and stores nothing twice.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from app.models import WebhookDeadLetter, WebhookEvent
from app.store.bulk import bulk_insert, prepare_insert_tuples
from app.store.db import SessionFactory
from app.webhooks.body import Undecodable, json_text, storable_text
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


class IngestActivity:
    """How busy the endpoint is, for the worker of the same process to give way to it.

    HubSpot waits 5 s for an answer; applying the events can wait. The worker shares the
    process (its GIL) and SQLite's write lock with the endpoint, so while requests are in
    flight or have just arrived it works in short rounds with rests between them, and in
    long rounds without rests when the endpoint is quiet.
    """

    def __init__(self) -> None:
        self._in_flight = 0
        self._last_seen = -math.inf  # time.monotonic() of the last request's start or end
        self._lock = threading.Lock()

    @contextmanager
    def request(self) -> Iterator[None]:
        with self._lock:
            self._in_flight += 1
            self._last_seen = time.monotonic()
        try:
            yield
        finally:
            with self._lock:
                self._in_flight -= 1
                self._last_seen = time.monotonic()

    def busy(self, within_s: float) -> bool:
        """A request is in flight, or one was within the last `within_s` seconds."""
        with self._lock:
            return self._in_flight > 0 or time.monotonic() - self._last_seen < within_s


INGEST_ACTIVITY = IngestActivity()
# A request's unusable events are kept up to this many (a whole bad HubSpot batch); the rest
# are only counted, so one request cannot hold the writer for long.
MAX_DEAD_LETTERS_PER_REQUEST = 100


@dataclass(frozen=True)
class DeadLetter:
    raw: str
    reason: str


@dataclass(frozen=True)
class ParsedBatch:
    events: list[WebhookEventRecord]
    dead_letters: list[DeadLetter]
    dead_letters_not_kept: int = 0  # beyond MAX_DEAD_LETTERS_PER_REQUEST: counted only


@dataclass(frozen=True)
class IngestResult:
    stored: int
    duplicates: int
    dead_letters: int
    dead_letters_not_kept: int = 0


# The start of the reason of an event refused for its portal (health counts them by it).
UNSERVED_PORTAL = "portal not served: "


def split_batch(
    items: Sequence[Any],
    *,
    may_contain_nul: bool = True,
    may_contain_surrogate: bool = True,
    served_portals: frozenset[int] | None = None,
    max_dead_letters: int | None = None,
) -> ParsedBatch:
    """Parse every element; the ones that do not parse become dead letters with a reason.

    With `served_portals`, an event of any other portal is a dead letter too. Beyond
    `max_dead_letters`, dead letters are counted and not kept.
    """
    events: list[WebhookEventRecord] = []
    dead: list[DeadLetter] = []
    not_kept = 0
    for item in items:
        try:
            event = _parse(item, may_contain_nul, may_contain_surrogate)
            if served_portals is not None and event.portal_id not in served_portals:
                raise EventParseError(_unserved_reason(event.portal_id, served_portals))
            events.append(event)
        except EventParseError as exc:
            if max_dead_letters is not None and len(dead) >= max_dead_letters:
                not_kept += 1
            else:
                dead.append(DeadLetter(raw=_dead_letter_text(item), reason=str(exc)))
    return ParsedBatch(events=events, dead_letters=dead, dead_letters_not_kept=not_kept)


def _parse(item: Any, may_contain_nul: bool, may_contain_surrogate: bool) -> WebhookEventRecord:
    if isinstance(item, Undecodable):
        raise EventParseError(item.reason)
    return parse_event(
        item, may_contain_nul=may_contain_nul, may_contain_surrogate=may_contain_surrogate
    )


def _unserved_reason(portal_id: int, served: frozenset[int]) -> str:
    listed = ", ".join(str(p) for p in sorted(served)[:5])
    more = f" and {len(served) - 5} more" if len(served) > 5 else ""
    return (
        f"{UNSERVED_PORTAL}portalId {portal_id} is not a portal this slaguard serves "
        f"({listed}{more})"
    )


def _dead_letter_text(item: Any) -> str:
    """The raw event as text either database can hold (NUL and surrogates escaped)."""
    if isinstance(item, Undecodable):
        return storable_text(item.text)
    # ASCII JSON: NUL and surrogates escaped as \\u0000 / \\ud800, and the text stays JSON.
    return json_text(item)


def store_batch(session: Session, batch: ParsedBatch, received_at: datetime) -> IngestResult:
    """Insert the batch; the caller commits (before it answers HubSpot)."""
    unique = {event.dedupe_key: event for event in batch.events}
    # One INSERT ... ON CONFLICT (dedupe_key) DO NOTHING through the driver: on this hot path
    # SQLAlchemy's statement building and per-value processing cost several times the insert.
    rows = [_event_values(event, received_at) for event in unique.values()]
    stored = prepare_insert_tuples(
        session, WebhookEvent, _EVENT_COLUMNS, rows, skip_conflicts_on=["dedupe_key"]
    ).run(session)
    if batch.dead_letters:
        bulk_insert(
            session,
            WebhookDeadLetter,
            [
                {"received_at": received_at, "raw": letter.raw, "reason": letter.reason}
                for letter in batch.dead_letters
            ],
        )
    return IngestResult(
        stored=stored,
        duplicates=len(batch.events) - stored,
        dead_letters=len(batch.dead_letters) + batch.dead_letters_not_kept,
        dead_letters_not_kept=batch.dead_letters_not_kept,
    )


_EVENT_COLUMNS = (
    "dedupe_key",
    "portal_id",
    "event_id",
    "subscription_type",
    "object_type",
    "object_id",
    "property_name",
    "property_value",
    "occurred_at",
    "received_at",
    "payload",
    "processed_at",
    "attempts",
    "error",
)


def _event_values(event: WebhookEventRecord, received_at: datetime) -> tuple[Any, ...]:
    """The event's row in `_EVENT_COLUMNS` order (a tuple: one per event on the hot path)."""
    return (
        event.dedupe_key,
        event.portal_id,
        event.event_id,
        event.subscription_type,
        event.object_type,
        event.object_id,
        event.property_name,
        event.property_value,
        event.occurred_at,
        received_at,
        event.payload,
        None,
        0,
        None,
    )
