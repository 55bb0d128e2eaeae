"""The delivery worker against a real local webhook receiver: retries, dead letters, races,
leases left behind. Every alert arrives, none twice (counted by `webhook-id`)."""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from standardwebhooks import Webhook

from alerts.config import WebhookEndpoint
from alerts.model import EventType, TargetKind
from alerts.outbox import leases
from alerts.outbox.status import replay
from alerts.outbox.worker import Worker
from alerts.webhook_delivery import WebhookDeliverer
from app.models import AlertDelivery, AlertDeliveryAttempt, AlertEndpoint
from app.store.db import SessionFactory, session_scope
from integrations.webhooks.sender import WebhookSender
from integrations.webhooks.signing import WebhookSecret
from tests.alerts.outbox.helpers import evaluate, put_rules_in_force, seed_leads
from tests.integrations.webhooks.receiver import Answer, Receiver

SECRET = WebhookSecret.generate()
ENV = {"SLAGUARD_TEST_WEBHOOK_SECRET": SECRET.text()}


def alerts_to(url: str) -> str:
    return f"""alerts:
  webhooks:
    crm:
      url: {url}
      secret_env: SLAGUARD_TEST_WEBHOOK_SECRET
  routes:
    - name: crm
      match: {{events: [breached]}}
      receivers: ["webhook:crm"]
"""


class Clock:
    """The worker's clock, moved by the test (the receiver and the signatures use real time)."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver().start()
    yield server
    server.stop()


@pytest.fixture
def sender() -> Iterator[WebhookSender]:
    with WebhookSender(allow_private=True, timeout=5) as client:
        yield client


def breaches(factory: SessionFactory, tmp_path: Path, url: str, count: int) -> None:
    """`count` breached leads whose events were just noticed (so not stale)."""
    with session_scope(factory) as session:
        seed_leads(session, count)
        put_rules_in_force(session, tmp_path, alerts_to(url))
    with session_scope(factory) as session:
        evaluate(session)
    with session_scope(factory) as session:
        # The events are from 2020: make their deliveries due now, as if noticed now.
        for row in session.scalars(select(AlertDelivery)):
            row.state, row.reason = "pending", None
            row.next_attempt_at = row.created_at = datetime.now(UTC) - timedelta(seconds=1)


def worker(factory: SessionFactory, sender: WebhookSender, clock: Clock, name: str) -> Worker:
    endpoint = WebhookEndpoint(
        "crm", "unused", "SLAGUARD_TEST_WEBHOOK_SECRET", frozenset({EventType.BREACHED})
    )
    deliverer = WebhookDeliverer(sender, lambda name: endpoint if name == "crm" else None, ENV)
    return Worker(factory, {TargetKind.WEBHOOK: deliverer}, name=name, clock=clock)


def accepted_ids(receiver: Receiver, answered_ok: int) -> Counter[str]:
    """`webhook-id` of the requests the receiver answered 2xx (the last `answered_ok`)."""
    return Counter(r.headers["webhook-id"] for r in receiver.requests[-answered_ok:])


def states(factory: SessionFactory) -> Counter[str]:
    with factory() as session:
        return Counter(session.scalars(select(AlertDelivery.state)))


def test_an_endpoint_failing_then_recovering_gets_every_alert_once_signed(
    session_factory: SessionFactory, tmp_path: Path, receiver: Receiver, sender: WebhookSender
) -> None:
    breaches(session_factory, tmp_path, receiver.url, 1)
    receiver.answer(Answer(500), Answer(503, headers={"retry-after": "20"}))
    clock = Clock()
    work = worker(session_factory, sender, clock, "w1")

    work.deliver_due()  # 500, retried at once: 503 asking for 20 s
    assert states(session_factory) == {"pending": 1}
    clock.advance(10)
    assert work.deliver_due().claimed == 0  # Retry-After honoured over the 5 s step
    clock.advance(15)
    work.deliver_due()

    assert states(session_factory) == {"delivered": 1}
    ids = [r.headers["webhook-id"] for r in receiver.requests]
    assert len(ids) == 3 and len(set(ids)) == 1  # one alert, the same id on every retry
    last = receiver.requests[-1]
    payload = Webhook(SECRET.text()).verify(last.body, last.headers)
    assert payload == json.loads(last.body)
    assert payload["type"] == "sla.breached"
    assert payload["data"]["record"]["object_id"] == "1"
    with session_factory() as session:
        attempts = session.scalars(
            select(AlertDeliveryAttempt).order_by(AlertDeliveryAttempt.id)
        ).all()
    assert [(a.attempt, a.outcome, a.status_code) for a in attempts] == [
        (1, "retry", 500),
        (2, "retry", 503),
        (3, "delivered", 200),
    ]


def test_410_disables_the_endpoint_and_dead_letters_what_was_meant_for_it(
    session_factory: SessionFactory, tmp_path: Path, receiver: Receiver, sender: WebhookSender
) -> None:
    breaches(session_factory, tmp_path, receiver.url, 2)
    receiver.answer(Answer(410))
    worker(session_factory, sender, Clock(), "w1").deliver_due()

    assert len(receiver.requests) == 1  # the second is not even tried
    assert states(session_factory) == {"dead": 2}
    with session_factory() as session:
        endpoint = session.get(AlertEndpoint, "webhook:crm")
    assert endpoint is not None and endpoint.disabled_reason == "answered 410 Gone"


def test_two_workers_racing_deliver_each_alert_once(
    session_factory: SessionFactory, tmp_path: Path, receiver: Receiver, sender: WebhookSender
) -> None:
    breaches(session_factory, tmp_path, receiver.url, 30)
    clock = Clock()
    workers = [worker(session_factory, sender, clock, f"w{n}") for n in (1, 2)]
    for work in workers:
        work.batch = 5  # small claims, so the two interleave
    threads = [threading.Thread(target=work.deliver_due) for work in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert states(session_factory) == {"delivered": 30}
    by_id = accepted_ids(receiver, len(receiver.requests))
    assert len(by_id) == 30 and set(by_id.values()) == {1}


def test_a_lease_left_behind_by_a_dead_worker_is_reclaimed_after_it_expires(
    session_factory: SessionFactory, tmp_path: Path, receiver: Receiver, sender: WebhookSender
) -> None:
    breaches(session_factory, tmp_path, receiver.url, 3)
    clock = Clock()
    # A worker claims and dies before sending anything.
    taken = leases.claim_due(
        session_factory, worker="dead", now=clock(), lease=timedelta(seconds=60)
    )
    assert len(taken) == 3
    survivor = worker(session_factory, sender, clock, "alive")

    assert survivor.deliver_due().claimed == 0  # the lease still holds
    clock.advance(61)
    survivor.deliver_due()

    assert states(session_factory) == {"delivered": 3}
    assert sorted(accepted_ids(receiver, 3).values()) == [1, 1, 1]


def test_replaying_dead_letters_re_enables_their_endpoint_and_delivers_them(
    session_factory: SessionFactory, tmp_path: Path, receiver: Receiver, sender: WebhookSender
) -> None:
    breaches(session_factory, tmp_path, receiver.url, 2)
    receiver.answer(Answer(410))
    clock = Clock()
    work = worker(session_factory, sender, clock, "w1")
    work.deliver_due()
    assert states(session_factory) == {"dead": 2}

    with session_scope(session_factory) as session:
        (one,) = session.scalars(select(AlertDelivery.id).limit(1)).all()
        assert replay(session, clock(), delivery_id=one) == 1
    work.deliver_due()
    assert states(session_factory) == {"delivered": 1, "dead": 1}
    with session_scope(session_factory) as session:
        assert replay(session, clock(), since=clock() - timedelta(hours=1)) == 1
        endpoint = session.get(AlertEndpoint, "webhook:crm")
        assert endpoint is not None and endpoint.disabled_at is None
    work.deliver_due()

    assert states(session_factory) == {"delivered": 2}
    assert sorted(accepted_ids(receiver, 2).values()) == [1, 1]
