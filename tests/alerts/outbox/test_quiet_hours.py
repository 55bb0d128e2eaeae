"""A route with `quiet_hours: true` holds its channel posts for the record's working hours
(the rule's business calendar: New York, weekdays 9-18, US holidays), as DMs always are; a
route without it posts to its channel at once. Fixed clock, sandbox Slack over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from alerts.model import TargetKind
from alerts.outbox.worker import Worker
from app.models import AlertDelivery
from app.store.db import SessionFactory, session_scope
from integrations.slack.client import SlackClient
from sandbox.slack import SlackEmulatorState, create_slack_app
from tests.alerts.outbox.helpers import evaluate, put_rules_in_force, seed_leads, states_by_receiver
from tests.alerts.outbox.slack_poster import SlackPoster
from tests.alerts.outbox.test_worker import Clock
from tests.fixtures.crm import utc
from tests.fixtures.live_server import serving

ROUTES = """alerts:
  routes:
    - name: sales
      match: {events: [breached]}
      receivers: ["#sales"]
      quiet_hours: true
      continue: true
    - name: marketing
      match: {events: [breached]}
      receivers: ["#marketing"]
"""


@pytest.fixture
def slack() -> Iterator[tuple[SlackEmulatorState, SlackClient]]:
    state = SlackEmulatorState(seed=1)
    with serving(create_slack_app(state)) as url:
        yield state, SlackClient(next(iter(state.tokens)), base_url=f"{url}/api/")


def test_a_quiet_route_holds_its_channel_post_until_the_working_day_and_a_loud_one_does_not(
    session_factory: SessionFactory,
    tmp_path: Path,
    slack: tuple[SlackEmulatorState, SlackClient],
) -> None:
    state, client = slack
    with session_scope(session_factory) as session:
        seed_leads(session)
        put_rules_in_force(session, tmp_path, ROUTES)
    with session_scope(session_factory) as session:
        evaluate(session)
    clock = Clock()
    clock.now = utc("2026-12-24 00:00")  # Wednesday 19:00 New York; Thursday is working
    with session_scope(session_factory) as session:
        for row in session.scalars(select(AlertDelivery)):
            row.next_attempt_at = row.created_at = clock.now
    poster = SlackPoster(client)
    work = Worker(
        session_factory,
        {TargetKind.SLACK_USER: poster, TargetKind.SLACK_CHANNEL: poster},
        clock=clock,
    )

    work.deliver_due()

    thursday_9_new_york = utc("2026-12-24 14:00")
    assert states_by_receiver(session_factory) == {
        "channel:sales": ("pending", thursday_9_new_york),
        "channel:marketing": ("delivered", None),
    }
    assert state.messages("sales") == []
    clock.now = thursday_9_new_york
    work.deliver_due()

    assert states_by_receiver(session_factory)["channel:sales"] == ("delivered", None)
    (post,) = state.messages("sales")
    assert post.text.startswith("SLA breached: contact 1")
