"""A worker that stops after Slack took its message but before it heard back: when its lease
runs out, the next worker logs that attempt as lost and retries as attempt 2, which reads the
message back by its metadata instead of posting it a second time."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from alerts.delivery import DeliveryResult, Outcome
from alerts.model import TargetKind
from alerts.outbox import leases
from alerts.outbox.slack_refs import StoredSlackMessageRefs
from alerts.outbox.worker import PassReport, Worker
from alerts.slack_delivery import SlackDeliverer
from app.models import AlertDelivery, AlertDeliveryAttempt
from app.store.db import SessionFactory, session_scope
from integrations.slack import SlackClient
from sandbox.slack import SlackEmulatorState, create_slack_app
from sandbox.slack.state import BOT_SCOPES
from tests.alerts.outbox.helpers import SOON_AFTER, evaluate, put_rules_in_force, seed_leads
from tests.fixtures.live_server import serving

LEASE = timedelta(seconds=60)
ANSWER_AFTER_S = 3.0


class Clock:
    def __init__(self) -> None:
        self.now = SOON_AFTER

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def slack(request: pytest.FixtureRequest) -> Iterator[tuple[SlackEmulatorState, str]]:
    scopes = getattr(request, "param", BOT_SCOPES)
    state = SlackEmulatorState(rate_limits=False, scopes=scopes)
    with serving(create_slack_app(state)) as url:
        yield state, url


def worker(
    factory: SessionFactory, state: SlackEmulatorState, url: str, name: str, clock: Clock
) -> Worker:
    client = SlackClient(next(iter(state.tokens)), base_url=f"{url}/api/")
    deliverer = SlackDeliverer(client, StoredSlackMessageRefs(factory))
    deliverers = {TargetKind.SLACK_CHANNEL: deliverer, TargetKind.SLACK_USER: deliverer}
    return Worker(factory, deliverers, name=name, lease=LEASE, clock=clock)


def breach_for_channel(factory: SessionFactory, tmp_path: Path, channel: str) -> None:
    alerts = f"""alerts:
  routes:
    - name: sales
      match: {{rules: [first-touch], events: [breached]}}
      receivers: ["channel:{channel}"]
"""
    with session_scope(factory) as session:
        seed_leads(session, 1)
        put_rules_in_force(session, tmp_path, alerts)
    with session_scope(factory) as session:
        evaluate(session)


def take_over_a_stalled_post(
    factory: SessionFactory, tmp_path: Path, slack: tuple[SlackEmulatorState, str], channel: str
) -> PassReport:
    """worker-a's post is taken by Slack but not answered; worker-b claims the row after the
    lease and delivers it; worker-a hears back and records last."""
    state, url = slack
    breach_for_channel(factory, tmp_path, channel)
    late = {"answer_after_seconds": ANSWER_AFTER_S, "calls": 1, "methods": ["chat.postMessage"]}
    httpx.post(f"{url}/slack/api/faults", json={"outages": [late]}).raise_for_status()

    stalled = worker(factory, state, url, "worker-a", Clock())
    first = threading.Thread(target=stalled.deliver_due, daemon=True)
    first.start()
    state.wait_for(lambda messages: len(messages) == 1, timeout=10)  # posted, unanswered

    after_the_lease = Clock()
    after_the_lease.now = SOON_AFTER + LEASE + timedelta(seconds=1)
    taking_over = worker(factory, state, url, "worker-b", after_the_lease)
    report = taking_over.deliver_due()
    first.join(timeout=ANSWER_AFTER_S + 10)
    return report


@pytest.mark.parametrize("by_name", [False, True], ids=["channel-by-id", "channel-by-name"])
def test_a_lost_attempt_is_logged_and_the_takeover_finds_the_message_instead_of_reposting(
    session_factory: SessionFactory,
    tmp_path: Path,
    slack: tuple[SlackEmulatorState, str],
    by_name: bool,
) -> None:
    state, _ = slack
    sales = state.channel("sales")
    assert sales is not None
    channel = sales.name if by_name else sales.id
    report = take_over_a_stalled_post(session_factory, tmp_path, slack, channel)

    assert report.outcomes == {"delivered": 1}
    assert len(state.messages("sales")) == 1
    with session_factory() as session:
        row = session.scalars(select(AlertDelivery)).one()
        attempts = session.scalars(
            select(AlertDeliveryAttempt).order_by(AlertDeliveryAttempt.id)
        ).all()
    assert row.state == "delivered"
    log = [(a.attempt, a.outcome, a.worker) for a in attempts]
    # worker-a's own late record comes last; the row stays delivered.
    assert log[:2] == [(1, leases.LOST, "worker-a"), (2, "delivered", "worker-b")]
    assert "lease ran out" in (attempts[0].detail or "")
    assert [c.method for c in state.calls].count("conversations.history") == 1


@pytest.mark.parametrize("slack", [BOT_SCOPES - {"channels:read"}], indirect=True)
def test_a_bot_that_may_not_list_channels_posts_again_on_a_takeover_but_keeps_delivering(
    session_factory: SessionFactory, tmp_path: Path, slack: tuple[SlackEmulatorState, str]
) -> None:
    # Without channels:read a channel named by name cannot be read back: the retry cannot
    # tell whether the first post went out, so it posts (at least once), and Slack stays on.
    state, _ = slack
    report = take_over_a_stalled_post(session_factory, tmp_path, slack, "sales")

    assert report.outcomes == {"delivered": 1}
    assert len(state.messages("sales")) == 2
    assert leases.disabled_reason(session_factory, "slack") is None
    refused = [c for c in state.calls if c.method == "conversations.list"]
    assert [c.error for c in refused] == ["missing_scope"]


def test_a_live_lease_is_not_taken_over(
    session_factory: SessionFactory, tmp_path: Path, slack: tuple[SlackEmulatorState, str]
) -> None:
    state, _ = slack
    sales = state.channel("sales")
    assert sales is not None
    breach_for_channel(session_factory, tmp_path, sales.id)
    now = SOON_AFTER
    claimed = leases.claim_due(session_factory, worker="a", now=now, lease=LEASE)

    again = leases.claim_due(session_factory, worker="b", now=now + LEASE / 2, lease=LEASE)

    assert len(claimed) == 1 and again == []
    with session_factory() as session:
        assert session.scalars(select(AlertDeliveryAttempt)).all() == []


def test_a_late_result_from_a_worker_that_lost_its_lease_leaves_the_row_to_the_new_owner(
    session_factory: SessionFactory, tmp_path: Path, slack: tuple[SlackEmulatorState, str]
) -> None:
    state, _ = slack
    sales = state.channel("sales")
    assert sales is not None
    breach_for_channel(session_factory, tmp_path, sales.id)
    (claimed,) = leases.claim_due(session_factory, worker="a", now=SOON_AFTER, lease=LEASE)
    later = SOON_AFTER + LEASE + timedelta(seconds=1)
    (again,) = leases.claim_due(session_factory, worker="b", now=later, lease=LEASE)

    failed = DeliveryResult(Outcome.RETRY, "503 from a slow answer")
    late = leases.record_result(
        session_factory, claimed, failed, worker="a", started_at=SOON_AFTER, now=later
    )
    with session_factory() as session:
        row = session.scalars(select(AlertDelivery)).one()
        held_by, until = row.lease_owner, row.lease_until
    done = leases.record_result(
        session_factory,
        again,
        DeliveryResult(Outcome.DELIVERED),
        worker="b",
        started_at=later,
        now=later,
    )

    assert late == "delivering" and held_by == "b" and until == later + LEASE
    assert done == "delivered"
    with session_factory() as session:
        log = session.execute(
            select(AlertDeliveryAttempt.outcome, AlertDeliveryAttempt.worker).order_by(
                AlertDeliveryAttempt.id
            )
        ).all()
    assert [tuple(entry) for entry in log] == [("lost", "a"), ("retry", "a"), ("delivered", "b")]
