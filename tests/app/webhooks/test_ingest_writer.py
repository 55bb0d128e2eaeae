"""The endpoint's write path: rows as the ORM would write them, batches committed before they
are acknowledged, several batches per transaction when they queue, a failing batch alone."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, delete, select, text
from sqlalchemy import event as sa_event
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from app.models import WebhookEvent
from app.store import sqlite_wal
from app.store.db import SessionFactory, create_db_engine, create_session_factory, session_scope
from app.webhooks.events import parse_event
from app.webhooks.ingest import (
    INGEST_ACTIVITY,
    SQLITE_WRITE_LOCK,
    IngestActivity,
    IngestResult,
    ParsedBatch,
    split_batch,
    store_batch,
)
from app.webhooks.writer import THREAD_NAME, IngestWriter
from tests.fixtures.webhooks import property_change

T0 = 1_764_000_000_000
RECEIVED = datetime(2026, 11, 26, 12, 30, 15, 123456, tzinfo=UTC)
COLUMNS = (
    "dedupe_key, portal_id, event_id, subscription_type, object_type, object_id, property_name, "
    "property_value, occurred_at, received_at, payload, processed_at, attempts, error"
)


def batch_of(*events: dict[str, Any]) -> ParsedBatch:
    return split_batch(list(events))


async def hand_over(
    writer: IngestWriter, batches: list[ParsedBatch]
) -> list[asyncio.Future[IngestResult]]:
    """Hands every batch to the writer, returning once each is queued there: `store` queues
    its batch before it first waits, so a task that has started has queued it."""
    started: list[int] = []

    async def deliver(index: int, batch: ParsedBatch) -> IngestResult:
        started.append(index)
        return await writer.store(batch, RECEIVED)

    tasks = [asyncio.ensure_future(deliver(i, batch)) for i, batch in enumerate(batches)]
    deadline = time.monotonic() + 30
    while len(started) < len(tasks):
        assert time.monotonic() < deadline, f"{len(started)} of {len(tasks)} batches handed over"
        await asyncio.sleep(0)  # lets the tasks run up to their first wait
    return tasks


def test_stored_rows_equal_rows_written_through_the_orm(
    session_factory: SessionFactory, session: Session
) -> None:
    """The fast path converts values itself: it must store exactly what the model's types do
    (the worker orders pending events by the stored occurred_at text on SQLite)."""
    raws = [
        property_change("contact", 11, T0 + 123, "lifecyclestage", "lead"),
        {**property_change("deal", 12, T0 + 456, "amount", None), "propertyValue": 12.5},
        {**property_change("contact", 13, T0, "firstname", "Zoë ☃"), "extra": {"a": [1, None]}},
    ]
    records = [parse_event(raw) for raw in raws]
    query = text(f"SELECT {COLUMNS} FROM webhook_events ORDER BY dedupe_key")
    with session_scope(session_factory) as writing:
        writing.add_all(
            WebhookEvent(
                dedupe_key=r.dedupe_key,
                portal_id=r.portal_id,
                event_id=r.event_id,
                subscription_type=r.subscription_type,
                object_type=r.object_type,
                object_id=r.object_id,
                property_name=r.property_name,
                property_value=r.property_value,
                occurred_at=r.occurred_at,
                received_at=RECEIVED,
                payload=r.payload,
                processed_at=None,
                attempts=0,
                error=None,
            )
            for r in records
        )
    with session_scope(session_factory) as reading:
        through_orm = [tuple(row) for row in reading.execute(query)]
        reading.execute(delete(WebhookEvent))
    with session_scope(session_factory) as writing:
        result = store_batch(writing, ParsedBatch(events=records, dead_letters=[]), RECEIVED)
    assert result.stored == 3
    through_store = [tuple(row) for row in session.execute(query)]
    assert len(through_store) == 3
    assert through_store == through_orm
    loaded = session.scalars(select(WebhookEvent).order_by(WebhookEvent.object_id)).all()
    assert [e.payload for e in loaded] == raws
    assert [e.occurred_at for e in loaded] == [r.occurred_at for r in records]
    assert loaded[1].property_value == "12.5"


def test_each_batch_is_committed_before_its_answer_and_duplicates_across_batches_count_once(
    session_factory: SessionFactory,
) -> None:
    shared = property_change("contact", 1, T0, "lifecyclestage", "lead")
    batches = [
        batch_of(shared, property_change("contact", 2, T0, "lifecyclestage", "lead")),
        batch_of(shared),
        batch_of(property_change("contact", 3, T0, "firstname", "Ada"), "not an event"),
    ]
    writer = IngestWriter(session_factory)
    seen_committed: list[int] = []

    async def deliver(batch: ParsedBatch) -> IngestResult:
        result = await writer.store(batch, RECEIVED)
        # At the moment of the answer, another connection already sees the batch's events.
        with session_factory() as other:
            keys = {e.dedupe_key for e in batch.events}
            found = other.scalars(
                select(WebhookEvent.dedupe_key).where(WebhookEvent.dedupe_key.in_(keys))
            ).all()
            seen_committed.append(len(found))
        return result

    async def main() -> list[IngestResult]:
        return list(await asyncio.gather(*(deliver(b) for b in batches)))

    results = asyncio.run(main())
    assert sum(r.stored for r in results) == 3
    assert sum(r.duplicates for r in results) == 1
    assert [r.stored + r.duplicates for r in results] == [2, 1, 1]
    assert results[2].dead_letters == 1
    assert seen_committed == [2, 1, 1]


def test_batches_that_queue_while_sqlite_is_busy_share_one_commit(
    session_factory: SessionFactory,
) -> None:
    if session_factory.kw["bind"].dialect.name != "sqlite":
        pytest.skip("the in-process writer queue exists on SQLite only")
    commits: list[int] = []
    sa_event.listen(session_factory.kw["bind"], "commit", lambda _conn: commits.append(1))
    writer = IngestWriter(session_factory)

    batches = [batch_of(property_change("contact", i, T0, "firstname", f"n{i}")) for i in range(8)]

    async def main() -> list[IngestResult]:
        with SQLITE_WRITE_LOCK:  # the worker is writing: the endpoint's batches queue
            tasks = await hand_over(writer, batches)
            assert not any(task.done() for task in tasks)
        return list(await asyncio.gather(*tasks))

    results = asyncio.run(main())
    assert [r.stored for r in results] == [1] * 8
    # The first batch may have been taken alone before the others queued; the rest share one.
    assert 1 <= len(commits) <= 2


def test_a_batch_that_cannot_be_stored_fails_alone(
    session_factory: SessionFactory, session: Session
) -> None:
    good = [batch_of(property_change("contact", i, T0, "firstname", "x")) for i in (1, 2)]
    broken = parse_event(property_change("contact", 3, T0, "firstname", "y"))
    # A naive datetime is refused by the store's UTC column type, whichever path writes it.
    object.__setattr__(broken, "occurred_at", broken.occurred_at.replace(tzinfo=None))
    bad = ParsedBatch(events=[broken], dead_letters=[])
    writer = IngestWriter(session_factory)

    async def main() -> list[IngestResult | BaseException]:
        return list(
            await asyncio.gather(
                writer.store(good[0], RECEIVED),
                writer.store(bad, RECEIVED),
                writer.store(good[1], RECEIVED),
                return_exceptions=True,
            )
        )

    first, failed, last = asyncio.run(main())
    assert isinstance(failed, Exception)
    assert isinstance(first, IngestResult) and first.stored == 1
    assert isinstance(last, IngestResult) and last.stored == 1
    stored = session.scalars(select(WebhookEvent.object_id).order_by(WebhookEvent.object_id))
    assert list(stored) == ["1", "2"]


@pytest.fixture
def briefly_patient_sqlite(sqlite_url: str) -> Iterator[tuple[Engine, list[str]]]:
    """An engine on the SQLite store that waits 0.2 s (not 30) for a lock, and the list of
    INSERTs into webhook_events the database was asked to run."""
    engine = create_db_engine(sqlite_url)
    inserts: list[str] = []

    def connected(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute("PRAGMA busy_timeout=200")
        dbapi_connection.set_trace_callback(
            lambda sql: (
                inserts.append(sql) if sql.startswith("INSERT INTO webhook_events") else None
            )
        )

    sa_event.listen(engine, "connect", connected)  # after the application's own pragmas
    try:
        yield engine, inserts
    finally:
        engine.dispose()


def test_when_the_store_itself_fails_the_group_fails_without_retrying_each_batch(
    briefly_patient_sqlite: tuple[Engine, list[str]], tmp_path: Path
) -> None:
    """A locked or unreachable database fails every batch of the group at once: trying them
    one by one would make each request wait out the busy timeout again."""
    engine, inserts = briefly_patient_sqlite
    factory = create_session_factory(engine)
    writer = IngestWriter(factory)
    batches = [batch_of(property_change("contact", i, T0, "firstname", "x")) for i in range(4)]
    other = sqlite3.connect(engine.url.database or "", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process holds the write lock

    async def main() -> list[IngestResult | BaseException]:
        with SQLITE_WRITE_LOCK:
            tasks = await hand_over(writer, batches)
        return list(await asyncio.gather(*tasks, return_exceptions=True))

    try:
        results = asyncio.run(main())
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert [str(r.orig) for r in results if isinstance(r, OperationalError)] == [
        "database is locked"
    ] * 4
    # One attempt per group (the first batch may have been taken alone): never one per batch.
    assert 1 <= len(inserts) <= 2
    with factory() as session:
        assert session.scalars(select(WebhookEvent)).all() == []
    # Once the lock is gone, the next delivery is stored.
    retried = asyncio.run(writer.store(batches[0], RECEIVED))
    assert retried.stored == 1


def test_the_writer_thread_ends_when_idle_and_the_next_batch_starts_another(
    session_factory: SessionFactory, session: Session
) -> None:
    writer = IngestWriter(session_factory, idle_exit_s=0.2)

    async def deliver(contact: int) -> tuple[IngestResult, threading.Thread | None]:
        batch = batch_of(property_change("contact", contact, T0, "firstname", "x"))
        result = await writer.store(batch, RECEIVED)
        return result, writer.thread  # the thread that wrote it, idle for 0.2 s from now

    result, first = asyncio.run(deliver(1))
    assert result.stored == 1
    assert first is not None and first.name == THREAD_NAME
    first.join(timeout=30)
    assert not first.is_alive()
    assert writer.thread is None
    result, second = asyncio.run(deliver(2))
    assert result.stored == 1
    assert second is not None and second is not first
    assert len(session.scalars(select(WebhookEvent)).all()) == 2


def test_on_sqlite_the_writer_leaves_checkpoints_to_its_own_thread(
    session_factory: SessionFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = session_factory.kw["bind"]
    if engine.dialect.name != "sqlite":
        pytest.skip("a SQLite write-ahead log matter")
    pragmas: list[tuple[threading.Thread, str]] = []
    run_pragma = sqlite_wal.pragma

    def recording(connection: Any, pragma: str) -> None:
        pragmas.append((threading.current_thread(), pragma))
        run_pragma(connection, pragma)

    monkeypatch.setattr(sqlite_wal, "pragma", recording)
    writer = IngestWriter(session_factory, idle_exit_s=0.5)
    threads: list[threading.Thread | None] = []

    async def deliver() -> None:
        for start in range(0, 2000, 100):
            events = [
                property_change("contact", i, T0, "firstname", "x" * 500)
                for i in range(start, start + 100)
            ]
            await writer.store(batch_of(*events), RECEIVED)
        threads.append(writer.thread)  # idle for 0.5 s from now on, then it ends

    asyncio.run(deliver())
    thread = threads[0]
    assert thread is not None
    thread.join(timeout=30)
    assert not thread.is_alive()
    # (Writers of earlier tests may still be ending meanwhile: only this one's count.)
    by_writer = [pragma for t, pragma in pragmas if t is thread]
    by_checkpointer = {pragma for t, pragma in pragmas if t.name == f"{THREAD_NAME}-wal"}
    # The writer's connection commits without checkpointing, and gets SQLite's threshold back
    # before it returns to the pool; the checkpointer copies the log, last when it stops.
    assert by_writer == ["wal_autocheckpoint=0", "wal_autocheckpoint=1000"]
    assert by_checkpointer == {"wal_checkpoint(PASSIVE)"}
    with contextlib.ExitStack() as stack:
        # Every pooled connection, the writer's among them (the pool holds a few).
        connections = [stack.enter_context(engine.connect()) for _ in range(5)]
        settings = [
            c.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one() for c in connections
        ]
        assert settings == [1000] * 5
    with session_factory() as session:
        assert len(session.scalars(select(WebhookEvent.id)).all()) == 2000


def test_activity_says_busy_while_a_request_is_in_flight_and_shortly_after() -> None:
    activity = IngestActivity()
    assert not activity.busy(within_s=0.05)
    with activity.request():
        assert activity.busy(within_s=0.0)
    assert activity.busy(within_s=60)
    assert not activity.busy(within_s=0.0)
    assert INGEST_ACTIVITY is not activity  # the process-wide one is left alone


def test_the_dedupe_key_is_the_hash_of_the_documented_identity() -> None:
    """Stored keys must never change between versions: a retry of an event stored by an
    earlier version has to be recognised."""
    raw = {
        **property_change("contact", 11, T0, "firstname", "Zoë"),
        "mergedObjectIds": [1, 2],
        "propertyValue": 2.5,
    }
    identity = [
        raw["portalId"],
        "contact.propertyChange",
        "11",
        "firstname",
        T0,
        2.5,
        None,
        None,
        None,
        None,
        None,
        [1, 2],
        None,
    ]
    expected = hashlib.sha256(
        json.dumps(identity, separators=(",", ":"), default=str).encode()
    ).hexdigest()
    assert parse_event(raw).dedupe_key == expected
