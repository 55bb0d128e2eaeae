"""`slaguard evaluate`, `slaguard deliver` and `slaguard alerts` as an admin runs them: real
processes on both databases, a real local webhook receiver, a worker killed mid-delivery."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from standardwebhooks import Webhook

from app.models import AlertDelivery
from app.store.db import create_db_engine, create_session_factory, session_scope
from integrations.webhooks.signing import WebhookSecret
from tests.alerts.outbox.test_worker import alerts_to
from tests.fixtures.crm import add_contact, seed_portal
from tests.integrations.webhooks.receiver import Answer, Receiver

ROOT = Path(__file__).resolve().parents[3]
SECRET = WebhookSecret.generate()
# Wall-clock hours, so that leads entered two hours ago are breached an hour ago, any day.
RULES = """rules:
  - id: first-touch
    kind: response
    start: {entered_stage: marketingqualifiedlead}
    stop: {engagement: {types: [call]}}
    goal: 1h
    time: calendar
    warning_at: null
"""


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver().start()
    yield server
    server.stop()


def environment(database_url: str, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLAGUARD_", "SLACK_"))}
    env.update(
        DATABASE_URL=database_url,
        SLAGUARD_RULES=str(tmp_path / "sla.yaml"),
        SLAGUARD_TEST_WEBHOOK_SECRET=SECRET.text(),
        SLAGUARD_WEBHOOKS_ALLOW_PRIVATE="true",
        PYTHONPATH=str(ROOT),
        COLUMNS="160",
    )
    return env


def slaguard(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from app.cli import main; main()", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def seed(database_url: str, tmp_path: Path, url: str, leads: int) -> None:
    (tmp_path / "sla.yaml").write_text(RULES + alerts_to(url))
    engine = create_db_engine(database_url)
    now = datetime.now(UTC)
    with session_scope(create_session_factory(engine)) as session:
        seed_portal(session)
        for number in range(1, leads + 1):
            stages = [
                ("lead", now - timedelta(hours=3)),
                ("marketingqualifiedlead", now - timedelta(hours=2)),
            ]
            add_contact(session, str(number), stages)
    engine.dispose()


def delivery_count(database_url: str) -> int:
    engine = create_db_engine(database_url)
    with session_scope(create_session_factory(engine)) as session:
        count = session.scalar(select(func.count()).select_from(AlertDelivery))
    engine.dispose()
    return int(count or 0)


def test_evaluate_twice_enqueues_once_and_deliver_sends_each_alert_once(
    database_url: str, tmp_path: Path, receiver: Receiver
) -> None:
    seed(database_url, tmp_path, receiver.url, leads=4)
    env = environment(database_url, tmp_path)
    first = slaguard(env, "evaluate")
    assert first.returncode == 0, first.stderr
    assert delivery_count(database_url) == 4
    second = slaguard(env, "evaluate")
    assert second.returncode == 0, second.stderr
    assert delivery_count(database_url) == 4

    receiver.answer(Answer(503))  # the first try fails; the retry schedule's first step is now
    sent = slaguard(env, "deliver")
    assert sent.returncode == 0, sent.stderr
    assert "5 deliveries attempted: 4 delivered, 1 pending" in sent.stdout

    ok = receiver.requests[1:]
    assert sorted(Counter(r.headers["webhook-id"] for r in ok).values()) == [1, 1, 1, 1]
    for request in ok:
        Webhook(SECRET.text()).verify(request.body, request.headers)
    status = slaguard(env, "alerts", "status")
    assert "pending: 0" in status.stdout and "dead letters: 0" in status.stdout
    assert slaguard(env, "deliver").stdout.startswith("0 deliveries attempted")


def test_a_worker_killed_mid_delivery_leaves_its_row_to_the_next_after_the_lease(
    database_url: str, tmp_path: Path, receiver: Receiver
) -> None:
    seed(database_url, tmp_path, receiver.url, leads=1)
    env = environment(database_url, tmp_path)
    assert slaguard(env, "evaluate").returncode == 0
    receiver.answer(Answer(200, delay=15))  # the worker waits on this answer when killed
    doomed = subprocess.Popen(
        [sys.executable, "-c", "from app.cli import main; main()", "deliver", "--lease", "8"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while not receiver.requests and time.monotonic() < deadline:
        time.sleep(0.05)
    assert receiver.requests, "the worker never reached the receiver"
    os.kill(doomed.pid, signal.SIGKILL)
    doomed.wait()
    killed_at = time.monotonic()

    # (That the lease holds until then is tested with a fixed clock in test_worker.py.)
    time.sleep(max(0.0, 8.5 - (time.monotonic() - killed_at)))
    late = slaguard(env, "deliver")
    assert late.stdout.startswith("1 deliveries attempted: 1 delivered"), late.stdout

    ids = [r.headers["webhook-id"] for r in receiver.requests]
    assert len(ids) == 2 and len(set(ids)) == 1  # the retry carries the same key
