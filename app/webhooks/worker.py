"""The worker: applies stored webhook events in occurredAt order per record, then hands the
records it changed to the SLA engine (queued in the round's transaction, evaluated right after
it: app/evaluation/handoff.py). Decoupled from the request, so HubSpot gets its answer in
milliseconds whatever the work costs.

Each round takes the oldest pending events (by occurredAt), applies each in a savepoint (one
bad event cannot block the others; it is retried a few times, then left with its error), marks
them processed and commits. A late event older than one already applied is still applied in
its place: the property versions keep the newer value.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm import Session

from app.crm.repository import ensure_portal
from app.evaluation import handoff
from app.models import WebhookEvent
from app.models.webhook import MAX_ATTEMPTS
from app.now import Now, utc_now
from app.store import bulk
from app.store.db import SessionFactory, session_scope
from app.webhooks import claims, own_writes, privacy
from app.webhooks.apply import Applied, apply_event
from app.webhooks.batch_apply import is_batchable, plan_property_changes, prepare_writes
from app.webhooks.ingest import INGEST_ACTIVITY, IngestActivity, write_lock

log = logging.getLogger(__name__)

BATCH_SIZE = 100
# Rounds while the endpoint is quiet: fewer, larger transactions apply a backlog faster, but
# a request arriving during a round waits out its writes, so a round stays well under the
# time HubSpot waits for an answer (the measured trade-off: docs/benchmarks.md).
QUIET_BATCH_SIZE = 250
# The endpoint counts as busy while a request is in flight or one ended this recently.
INGEST_BUSY_WINDOW_S = 0.05
# While it is busy the worker rests between rounds, at least this long and at least twice
# as long as the round took: at most a third of the process (and of SQLite's write lock) goes
# to applying events, and HubSpot's requests get the rest. The backlog is durable; it is
# applied at full speed once the requests stop.
REST_UNDER_LOAD_S = 0.05


@dataclass(frozen=True)
class RoundResult:
    applied: int
    failed: int
    dropped: int  # events about erased contacts: deleted, their raw copy must not stay
    # records queued for re-evaluation in the round's transaction, by portal and type
    queued: Mapping[tuple[int, str], Sequence[str]] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return self.applied + self.failed + self.dropped


def process_pending(
    session_factory: SessionFactory,
    *,
    now_fn: Now = utc_now,
    batch_size: int = BATCH_SIZE,
    quiet_batch_size: int = QUIET_BATCH_SIZE,
    max_rounds: int = 100,
    stop: threading.Event | None = None,
    time_budget_s: float | None = None,
    activity: IngestActivity = INGEST_ACTIVITY,
) -> int:
    """Apply pending events until none is left (or `max_rounds`); returns how many were handled.

    Each round is its own short transaction, and the SLA hand-off another: on SQLite the
    endpoint needs the write lock between them to store what HubSpot keeps sending. While
    the endpoint of this process is busy (`activity`), rounds take `batch_size` events and
    rest between them; while it is quiet they take `quiet_batch_size` and follow each other.
    """
    handled = 0
    started = time.monotonic()
    for _ in range(max_rounds):
        busy = activity.busy(INGEST_BUSY_WINDOW_S)
        size = batch_size if busy else max(batch_size, quiet_batch_size)
        round_started = time.monotonic()
        now = now_fn()
        try:
            with session_scope(session_factory) as session:
                result = process_round(session, now, size, lock=write_lock(session_factory))
        except Exception:
            # Applying property changes in bulk is all or nothing; one by one, a bad event
            # only fails itself.
            log.exception("a round of webhook events failed in bulk; retrying one by one")
            with session_scope(session_factory) as session:
                result = process_round(
                    session, now, size, bulk=False, lock=write_lock(session_factory)
                )
        handoff.hand_off(session_factory, result.queued, now, lock=write_lock(session_factory))
        handled += result.total
        if result.total < size or (stop is not None and stop.is_set()):
            break
        round_s = time.monotonic() - round_started
        rest = max(REST_UNDER_LOAD_S, 2 * round_s) if activity.busy(INGEST_BUSY_WINDOW_S) else 0
        # Stop where the rest and another round like this one would overrun the budget.
        if time_budget_s is not None and (
            time.monotonic() - started + rest + round_s > time_budget_s
        ):
            break  # the next scheduled run goes on with the backlog
        if rest == 0:
            time.sleep(0)  # the event loop may take the GIL if a request just came in
        elif stop is not None:
            if stop.wait(rest):
                break
        else:
            time.sleep(rest)
    return handled


def process_round(
    session: Session,
    now: datetime,
    batch_size: int = BATCH_SIZE,
    *,
    bulk: bool = True,
    lock: AbstractContextManager[object] | None = None,
) -> RoundResult:
    """One round, committed. Reads come first, and the bulk writes are prepared (on SQLite:
    compiled and their values converted); the writes and the commit happen under `lock` (the
    process's SQLite writer queue), so the endpoint waits for the writes alone."""
    events = claims.claim_pending(session, batch_size)
    applied = Applied()
    erased = privacy.ErasedContacts(session, events)
    done: list[int] = []
    dropped: list[int] = []
    batchable: list[WebhookEvent] = []
    one_by_one: list[WebhookEvent] = []
    for event in _in_record_order(events):
        if own_writes.is_own_write(event):
            done.append(event.id)  # slaguard's own write-back: no clock may move on it
        elif event.subscription_type != "contact.privacyDeletion" and erased.is_about_erased(event):
            dropped.append(event.id)  # a late event must not bring erased data back
        elif bulk and is_batchable(event):
            batchable.append(event)
        else:
            one_by_one.append(event)
    plans = plan_property_changes(session, batchable) if batchable else []
    writes = prepare_writes(session, plans, now, applied)
    with lock or nullcontext():
        writes.run(session)
        done += [event.id for event in batchable]
        failed = _apply_one_by_one(session, one_by_one, erased, now, applied, done, dropped)
        _mark(session, done, dropped, now)
        changed = [key for key in applied.changed if key not in applied.erased]
        # In this transaction: once the events count as applied, their records are queued.
        queued = handoff.enqueue(session, handoff.group_keys(changed), now)
        session.commit()
    return RoundResult(applied=len(done), failed=failed, dropped=len(dropped), queued=queued)


def _apply_one_by_one(
    session: Session,
    one_by_one: list[WebhookEvent],
    erased: privacy.ErasedContacts,
    now: datetime,
    applied: Applied,
    done: list[int],
    dropped: list[int],
) -> int:
    """The rarer events, each in a savepoint; returns how many failed."""
    for portal_id in sorted({event.portal_id for event in one_by_one}):
        # Records and transitions reference their portal. Being a write, this also opens
        # the transaction the savepoints below nest in.
        ensure_portal(session, portal_id)
    failed = 0
    for event in one_by_one:
        if event.subscription_type != "contact.privacyDeletion" and erased.is_about_erased(event):
            dropped.append(event.id)  # erased earlier in this very round
            continue
        try:
            with session.begin_nested():
                apply_event(session, event, now, applied)
            if event.subscription_type == "contact.privacyDeletion":
                erased.add(event.portal_id, event.object_id)
            if erased.names_erased(event):
                dropped.append(event.id)  # applied, but its raw copy names an erased contact
            else:
                done.append(event.id)
        except Exception as exc:  # one bad event must not hold back the rest
            failed += 1
            _record_failure(session, event, exc, now)
    return failed


def _mark(session: Session, done: list[int], dropped: list[int], now: datetime) -> None:
    """Straight through the driver: these statements run under the writer lock. Events erased
    meanwhile by a privacy deletion simply match nothing."""
    bulk.delete_in(session, WebhookEvent, "id", dropped)
    bulk.update_in(session, WebhookEvent, {"processed_at": now}, "id", done)


def _in_record_order(events: Sequence[WebhookEvent]) -> list[WebhookEvent]:
    """Grouped per record, each group in occurredAt order (ties by arrival)."""
    groups: dict[tuple[int, str, str], list[WebhookEvent]] = defaultdict(list)
    for event in events:
        groups[(event.portal_id, event.object_type, event.object_id)].append(event)
    ordered: list[WebhookEvent] = []
    for group in groups.values():
        ordered.extend(sorted(group, key=lambda e: (e.occurred_at, e.id)))
    return ordered


def _record_failure(session: Session, event: WebhookEvent, exc: Exception, now: datetime) -> None:
    message = f"{type(exc).__name__}: {exc}"[:1000]
    attempts = event.attempts + 1
    log.warning(
        "webhook event %s (%s %s) failed, attempt %d of %d: %s",
        event.id,
        event.subscription_type,
        event.object_id,
        attempts,
        MAX_ATTEMPTS,
        message,
    )
    session.execute(
        update(WebhookEvent)
        .where(WebhookEvent.id == event.id)
        .values(attempts=attempts, error=message)
    )
