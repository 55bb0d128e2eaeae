"""/admin/api/dead-letters: listing, replaying one or all since a time, against a real local
webhook receiver; a second replay sends nothing twice; each replay is in the audit log."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import select

from app.admin.audit import Actor, token_fingerprint
from app.admin.dead_letters import replay_one
from app.config import Settings
from app.models import AlertDelivery, AuditLog
from app.store.db import SessionFactory, session_scope
from integrations.webhooks.sender import WebhookSender
from tests.alerts.outbox.test_worker import Clock, accepted_ids, breaches, states, worker
from tests.fixtures.api import ADMIN_TOKEN, make_client
from tests.integrations.webhooks.receiver import Answer, Receiver

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture
def client(settings: Settings, session_factory: SessionFactory) -> Iterator[TestClient]:
    yield from make_client(settings, slaguard_admin_token=SecretStr(ADMIN_TOKEN))


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver().start()
    yield server
    server.stop()


@pytest.fixture
def sender() -> Iterator[WebhookSender]:
    with WebhookSender(allow_private=True, timeout=5) as client:
        yield client


def dead_letters(factory: SessionFactory, tmp_path: Path, receiver: Receiver, count: int) -> Any:
    """`count` breaches whose webhook answered 410 Gone: each delivery is a dead letter."""
    breaches(factory, tmp_path, receiver.url, count)
    receiver.answer(Answer(410))
    clock = Clock()
    work = worker(factory, WebhookSender(allow_private=True, timeout=5), clock, "w1")
    work.deliver_due()
    assert states(factory) == {"dead": count}
    return Deliveries(work, clock)


class Deliveries:
    """The worker on its test clock; `run()` delivers what is due a minute on (a replay makes
    rows due at the wall-clock time of the request)."""

    def __init__(self, work: Any, clock: Clock) -> None:
        self.work, self.clock = work, clock

    def deliver_due(self) -> None:
        self.clock.now = datetime.now(UTC) + timedelta(minutes=1)
        self.work.deliver_due()


def post(client: TestClient, path: str, **body: Any) -> Any:
    return client.post(path, headers=AUTH, **({"json": body} if body else {}))


def test_dead_letters_are_listed_newest_first_with_their_error(
    client: TestClient, session_factory: SessionFactory, tmp_path: Path, receiver: Receiver
) -> None:
    dead_letters(session_factory, tmp_path, receiver, 3)

    page = client.get("/admin/api/dead-letters", params={"limit": 2}, headers=AUTH).json()
    rest = client.get(
        "/admin/api/dead-letters", params={"cursor": page["next_cursor"]}, headers=AUTH
    ).json()

    ids = [item["id"] for item in page["items"] + rest["items"]]
    with session_factory() as session:
        assert ids == sorted(session.scalars(select(AlertDelivery.id)), reverse=True)
    assert {item["state"] for item in page["items"]} == {"dead"}
    assert all("410" in (item["last_error"] or "") for item in page["items"])


def test_a_replayed_dead_letter_is_delivered_once_and_a_second_replay_is_a_no_op(
    client: TestClient, session_factory: SessionFactory, tmp_path: Path, receiver: Receiver
) -> None:
    work = dead_letters(session_factory, tmp_path, receiver, 2)
    with session_factory() as session:
        one = session.scalars(select(AlertDelivery.id).order_by(AlertDelivery.id)).first()
    sent_before = len(receiver.requests)

    first = post(client, f"/admin/api/dead-letters/{one}/replay")
    second = post(client, f"/admin/api/dead-letters/{one}/replay")  # before the worker runs
    work.deliver_due()
    third = post(client, f"/admin/api/dead-letters/{one}/replay")  # after it was delivered
    work.deliver_due()

    assert first.json() == {"replayed": 1, "ids": [one]}
    assert second.json() == third.json() == {"replayed": 0, "ids": []}
    assert states(session_factory) == {"delivered": 1, "dead": 1}
    assert list(accepted_ids(receiver, 1).values()) == [1]
    assert len(receiver.requests) == sent_before + 1  # the one replayed delivery, once
    with session_factory() as session:
        audit = session.scalars(select(AuditLog).order_by(AuditLog.id)).all()
    assert [(a.action, a.target, a.details["replayed"]) for a in audit] == [
        ("replay_dead_letter", f"alert_delivery:{one}", [one]),
        ("replay_dead_letter", f"alert_delivery:{one}", []),
        ("replay_dead_letter", f"alert_delivery:{one}", []),
    ]
    assert {(a.actor, a.source) for a in audit} == {(token_fingerprint(ADMIN_TOKEN), "api")}
    assert all(ADMIN_TOKEN not in str(a.details) + a.actor for a in audit)


def test_replaying_all_since_a_time_queues_only_the_newer_dead_letters(
    client: TestClient, session_factory: SessionFactory, tmp_path: Path, receiver: Receiver
) -> None:
    work = dead_letters(session_factory, tmp_path, receiver, 3)
    cut = datetime.now(UTC)
    with session_factory.begin() as session:
        old = session.scalars(select(AlertDelivery).order_by(AlertDelivery.id)).first()
        assert old is not None
        old.created_at = cut - timedelta(days=2)
        old_id = old.id

    answer = post(
        client, "/admin/api/dead-letters/replay", since=(cut - timedelta(days=1)).isoformat()
    )
    work.deliver_due()

    assert answer.status_code == 200 and answer.json()["replayed"] == 2
    assert old_id not in answer.json()["ids"]
    assert states(session_factory) == {"delivered": 2, "dead": 1}
    assert post(client, "/admin/api/dead-letters/replay", since=cut.isoformat()).json() == {
        "replayed": 0,
        "ids": [],
    }


def test_replaying_an_unknown_delivery_is_404(client: TestClient) -> None:
    assert post(client, "/admin/api/dead-letters/12345/replay").status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [({"since": "last week"}, "since"), ({}, "since"), ({"since": "2026-01-01", "x": 1}, "x")],
)
def test_a_bad_replay_body_is_422_naming_the_field(
    client: TestClient, body: dict[str, Any], field: str
) -> None:
    answer = client.post("/admin/api/dead-letters/replay", json=body, headers=AUTH)
    assert answer.status_code == 422
    assert [problem["loc"][-1] for problem in answer.json()["detail"]] == [field]


@pytest.mark.parametrize("header", [None, "Bearer not-the-token"])
def test_replays_are_refused_without_the_right_token(
    client: TestClient, session_factory: SessionFactory, header: str | None
) -> None:
    headers = {"Authorization": header} if header else {}
    assert client.post("/admin/api/dead-letters/1/replay", headers=headers).status_code == 401
    assert client.get("/admin/api/dead-letters", headers=headers).status_code == 401
    with session_factory() as session:
        assert session.scalars(select(AuditLog)).all() == []


def test_two_replays_racing_for_one_dead_letter_queue_it_once(
    session_factory: SessionFactory, tmp_path: Path, receiver: Receiver
) -> None:
    dead_letters(session_factory, tmp_path, receiver, 1)
    with session_factory() as session:
        one = session.scalars(select(AlertDelivery.id)).one()
    actor = Actor("token:race", "api")
    first_holds = threading.Event()
    results: dict[str, list[int]] = {}

    def second() -> None:
        first_holds.wait()
        with session_scope(session_factory) as session:
            results["second"] = replay_one(session, one, actor, datetime.now(UTC))

    racer = threading.Thread(target=second)
    racer.start()
    with session_scope(session_factory) as session:
        results["first"] = replay_one(session, one, actor, datetime.now(UTC))
        first_holds.set()
        time.sleep(0.3)  # the second replay is waiting for this transaction now
    racer.join()

    assert results == {"first": [one], "second": []}
    with session_factory() as session:
        assert session.get_one(AlertDelivery, one).state == "pending"
