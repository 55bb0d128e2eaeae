"""The service's `alerts-deliver` job delivers what the evaluation queued."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from standardwebhooks import Webhook

from alerts.outbox.periodic import alert_jobs
from app.config import Settings
from app.scheduler import JobContext
from app.store.db import SessionFactory
from tests.alerts.outbox.test_worker import SECRET, breaches, states
from tests.integrations.webhooks.receiver import Receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver().start()
    yield server
    server.stop()


def test_the_delivery_job_sends_what_is_due_signed_with_the_secret_from_the_environment(
    settings: Settings,
    session_factory: SessionFactory,
    tmp_path: Path,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SLAGUARD_TEST_WEBHOOK_SECRET", SECRET.text())
    monkeypatch.setenv("SLAGUARD_WEBHOOKS_ALLOW_PRIVATE", "true")
    breaches(session_factory, tmp_path, receiver.url, 2)
    (job,) = alert_jobs(settings)
    assert job.id == "alerts-deliver" and job.seconds <= 5

    job.func(JobContext(settings, session_factory, logging.getLogger("test")))

    assert states(session_factory) == {"delivered": 2}
    for request in receiver.requests:
        Webhook(SECRET.text()).verify(request.body, request.headers)
    assert len({r.headers["webhook-id"] for r in receiver.requests}) == 2
