"""A silence made while deliveries wait (a snooze) stops them at the worker: they settle as
suppressed, naming the silence, and the receiver hears nothing of them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from alerts.outbox.silences import SilenceSpec, create_silence
from app.models import AlertDelivery, SlaInstance
from app.store.db import SessionFactory, session_scope
from integrations.webhooks.sender import WebhookSender
from tests.alerts.outbox.test_worker import Clock, breaches, worker
from tests.integrations.webhooks.receiver import Receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver().start()
    yield server
    server.stop()


@pytest.fixture
def sender() -> Iterator[WebhookSender]:
    with WebhookSender(allow_private=True, timeout=5) as client:
        yield client


def test_a_snooze_made_while_a_delivery_waits_suppresses_it_at_the_worker(
    session_factory: SessionFactory, tmp_path: Path, receiver: Receiver, sender: WebhookSender
) -> None:
    breaches(session_factory, tmp_path, receiver.url, 2)
    now = datetime.now(UTC)
    with session_scope(session_factory) as session:
        first = session.scalars(select(SlaInstance.id).order_by(SlaInstance.id)).first()
        assert first is not None
        spec = SilenceSpec("snoozed from Slack", now, now + timedelta(hours=1), instance_id=first)
        silence = create_silence(session, spec, "slack:U0GRACE", now)

    report = worker(session_factory, sender, Clock(), "w1").deliver_due()

    assert report.outcomes == {"suppressed": 1, "delivered": 1}
    assert len(receiver.requests) == 1
    with session_factory() as session:
        rows = {row.instance_id: row for row in session.scalars(select(AlertDelivery))}
    assert (rows[first].state, rows[first].silence_id, rows[first].next_attempt_at) == (
        "suppressed",
        silence,
        None,
    )
    assert [row.state for key, row in rows.items() if key != first] == ["delivered"]
