"""A burst for one Slack target becomes one digest message; an alert that follows within the
route's group_wait waits for it, then goes out. Posted to the sandbox's Slack over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from alerts.model import TargetKind
from alerts.outbox.worker import Worker
from app.models import AlertDelivery
from app.store.db import SessionFactory, session_scope
from integrations.slack.client import SlackClient
from sandbox.slack import SlackEmulatorState, create_slack_app
from tests.alerts.outbox.helpers import MQL_AT, SOON_AFTER, evaluate, put_rules_in_force
from tests.alerts.outbox.slack_poster import SlackPoster
from tests.alerts.outbox.test_worker import Clock, states
from tests.fixtures.crm import add_contact, seed_portal, utc
from tests.fixtures.live_server import serving

CHANNEL_ROUTE = """alerts:
  routes:
    - name: sales
      match: {events: [breached]}
      receivers: ["#sales"]
      group_wait: 30s
"""


@pytest.fixture
def slack() -> Iterator[tuple[SlackEmulatorState, SlackClient]]:
    state = SlackEmulatorState(seed=1)
    with serving(create_slack_app(state)) as url:
        yield state, SlackClient(next(iter(state.tokens)), base_url=f"{url}/api/")


def lead(session_factory: SessionFactory, number: int) -> None:
    with session_scope(session_factory) as session:
        add_contact(
            session,
            str(number),
            [("lead", utc("2020-01-06 18:00")), ("marketingqualifiedlead", MQL_AT)],
        )


def due_now(factory: SessionFactory, now: datetime) -> None:
    with session_scope(factory) as session:
        for row in session.scalars(select(AlertDelivery).where(AlertDelivery.state == "pending")):
            row.next_attempt_at = row.created_at = now


def test_a_burst_is_one_digest_and_a_late_alert_waits_for_group_wait(
    session_factory: SessionFactory,
    tmp_path: Path,
    slack: tuple[SlackEmulatorState, SlackClient],
) -> None:
    state, client = slack
    with session_scope(session_factory) as session:
        seed_portal(session)
        put_rules_in_force(session, tmp_path, CHANNEL_ROUTE)
    for number in range(1, 6):
        lead(session_factory, number)
    with session_scope(session_factory) as session:
        evaluate(session)
    clock = Clock()
    due_now(session_factory, clock())
    poster = SlackPoster(client)
    work = Worker(session_factory, {TargetKind.SLACK_CHANNEL: poster}, clock=clock)
    work.batch = 2  # the rest of the burst is folded in by target, not by batch

    work.deliver_due()
    (digest,) = state.messages("sales")
    assert digest.text.startswith("5 SLA alerts: 5 sla breached")
    assert states(session_factory) == {"delivered": 5}

    lead(session_factory, 6)
    with session_scope(session_factory) as session:
        evaluate(session, SOON_AFTER)
    clock.advance(5)
    due_now(session_factory, clock())
    assert work.deliver_due().outcomes == {"held": 1}
    assert len(state.messages("sales")) == 1
    clock.advance(26)
    work.deliver_due()

    _, second = state.messages("sales")
    assert second.text.startswith("SLA breached: contact 6")
    assert states(session_factory) == {"delivered": 6}
