"""A DM waits for the start of the owner's working hours (the rule's business calendar, New
York, Monday to Friday 9-18, US holidays); a channel post does not. Posted to the sandbox's
Slack over HTTP with a fixed clock."""

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
from sandbox.slack.workspace import SlackPerson
from tests.alerts.outbox.helpers import evaluate, put_rules_in_force, seed_leads, states_by_receiver
from tests.alerts.outbox.slack_poster import SlackPoster
from tests.alerts.outbox.test_worker import Clock
from tests.fixtures.crm import utc
from tests.fixtures.live_server import serving

ROUTE = """alerts:
  routes:
    - name: reps
      match: {events: [breached]}
      receivers: [owner, "#sales"]
"""


@pytest.fixture
def slack() -> Iterator[tuple[SlackEmulatorState, SlackClient]]:
    state = SlackEmulatorState(seed=1, users=[SlackPerson("Rep", "One", "rep@example.com")])
    with serving(create_slack_app(state)) as url:
        yield state, SlackClient(next(iter(state.tokens)), base_url=f"{url}/api/")


def test_a_dm_before_a_holiday_weekend_waits_for_monday_morning_and_the_channel_does_not(
    session_factory: SessionFactory,
    tmp_path: Path,
    slack: tuple[SlackEmulatorState, SlackClient],
) -> None:
    state, client = slack
    with session_scope(session_factory) as session:
        seed_leads(session)
        put_rules_in_force(session, tmp_path, ROUTE)
    with session_scope(session_factory) as session:
        evaluate(session)
    clock = Clock()
    # Thursday 2026-12-24, 19:00 in New York, after hours; Friday is Christmas, then the
    # weekend: the next working hour starts on Monday.
    clock.now = utc("2026-12-25 00:00")
    with session_scope(session_factory) as session:
        for row in session.scalars(select(AlertDelivery)):
            row.next_attempt_at = row.created_at = clock.now

    def lookup(email: str) -> str | None:
        user = client.users_lookup_by_email(email)
        return user.id

    poster = SlackPoster(client)
    work = Worker(
        session_factory,
        {TargetKind.SLACK_USER: poster, TargetKind.SLACK_CHANNEL: poster},
        lookup=lookup,
        clock=clock,
    )
    work.deliver_due()

    monday_9_new_york = utc("2026-12-28 14:00")
    assert states_by_receiver(session_factory) == {
        "owner": ("pending", monday_9_new_york),
        "channel:sales": ("delivered", None),
    }
    assert state.messages_to("rep@example.com") == []
    clock.now = monday_9_new_york
    work.deliver_due()

    assert states_by_receiver(session_factory)["owner"] == ("delivered", None)
    (dm,) = state.messages_to("rep@example.com")
    assert dm.text.startswith("SLA breached: contact 1")
