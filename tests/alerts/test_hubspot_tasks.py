"""The task ledger on both databases: the first reservation wins, a live one blocks, an expired
one (a worker killed mid-way) can be taken over, a created task is never created again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from alerts.delivery import HubSpotItem
from alerts.hubspot_tasks import RESERVATION, Reservation, StoredTaskLedger
from app.store.db import SessionFactory

NOW = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
ITEM = HubSpotItem(1, "breached", 77, 4242, "contacts", "501", "7", "breached", NOW, None, "s", "b")


def test_one_reservation_per_instance_until_it_expires(session_factory: SessionFactory) -> None:
    ledger = StoredTaskLedger(session_factory)
    assert ledger.reserve(ITEM, NOW, NOW) is Reservation.RESERVED
    assert ledger.reserve(ITEM, NOW, NOW + timedelta(seconds=5)) is Reservation.BUSY
    later = NOW + RESERVATION + timedelta(seconds=1)
    assert ledger.reserve(ITEM, NOW, later) is Reservation.TAKEN_OVER
    ledger.opened(77, "9001", later)
    assert ledger.reserve(ITEM, NOW, later + RESERVATION * 2) is Reservation.EXISTS
    found = ledger.find(77)
    assert found is not None and (found.task_id, found.state) == ("9001", "open")
    ledger.completed(77, later)
    assert ledger.reserve(ITEM, NOW, later) is Reservation.EXISTS


def test_a_released_reservation_lets_the_retry_create_the_task(
    session_factory: SessionFactory,
) -> None:
    ledger = StoredTaskLedger(session_factory)
    assert ledger.reserve(ITEM, NOW, NOW) is Reservation.RESERVED
    ledger.release(77)
    assert ledger.find(77) is None
    assert ledger.reserve(ITEM, NOW, NOW) is Reservation.RESERVED
