"""The scheduled posts delivered by the outbox worker to the sandbox's Slack over HTTP, through
the service's own Slack deliverer: the scorecard in its channel, the digest in the rep's DM,
each once; a post to a channel Slack does not know is a dead letter like an alert's."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from alerts.model import TargetKind
from alerts.outbox.post_jobs import post_due
from alerts.outbox.slack_refs import StoredSlackMessageRefs
from alerts.outbox.status import outbox_status
from alerts.outbox.worker import Worker
from alerts.slack_delivery import SlackDeliverer
from app.models import AlertDelivery
from app.store.db import SessionFactory, session_scope
from integrations.slack.client import SlackClient
from sandbox.slack import SlackEmulatorState, create_slack_app
from sandbox.slack.workspace import SlackPerson
from tests.alerts.outbox.posts_helpers import MONDAY_9, POSTS, evaluate, put_in_force, seed_week
from tests.alerts.outbox.test_worker import Clock
from tests.fixtures.crm import utc
from tests.fixtures.live_server import serving


@pytest.fixture
def slack() -> Iterator[tuple[SlackEmulatorState, SlackClient]]:
    people = [
        SlackPerson("Rep", "Seven", "rep@example.com"),
        SlackPerson("Ada", "L", "ada@example.com"),
    ]
    state = SlackEmulatorState(seed=1, users=people)
    with serving(create_slack_app(state)) as url:
        yield state, SlackClient(next(iter(state.tokens)), base_url=f"{url}/api/")


def worker(factory: SessionFactory, client: SlackClient, clock: Clock) -> Worker:
    deliverer = SlackDeliverer(client, StoredSlackMessageRefs(factory), sleep=lambda _: None)

    def lookup(email: str) -> str | None:
        return client.users_lookup_by_email(email).id

    kinds = {TargetKind.SLACK_USER: deliverer, TargetKind.SLACK_CHANNEL: deliverer}
    return Worker(factory, kinds, lookup=lookup, clock=clock)


def prepared(factory: SessionFactory, tmp_path: Path, alerts: str = POSTS) -> Clock:
    with session_scope(factory) as session:
        seed_week(session)
        put_in_force(session, tmp_path, alerts)
    with session_scope(factory) as session:
        evaluate(session)
    clock = Clock()
    clock.now = MONDAY_9
    return clock


def test_the_scorecard_and_the_digest_arrive_once_each(
    session_factory: SessionFactory,
    tmp_path: Path,
    slack: tuple[SlackEmulatorState, SlackClient],
) -> None:
    state, client = slack
    clock = prepared(session_factory, tmp_path)
    work = worker(session_factory, client, clock)

    post_due(session_factory, clock.now)
    first = work.deliver_due()
    clock.advance(3600)
    post_due(session_factory, clock.now)  # the next run of the job, an hour later
    second = work.deliver_due()

    assert (first.outcomes, second.claimed) == ({"delivered": 2}, 0)
    (card,) = state.messages("revops-alerts")
    assert card.text.startswith("Weekly SLA scorecard, 7 days to Mon 07 Dec 2026 09:00")
    assert "MQL first touch: 50 % on time (1 of 2)" in card.text
    (digest,) = state.messages_to("rep@example.com")
    assert "1 record will breach today (Mon 07 Dec)" in digest.text
    assert state.messages_to("ada@example.com") == []


def test_a_scorecard_to_an_unknown_channel_is_a_dead_letter_with_slacks_reason(
    session_factory: SessionFactory,
    tmp_path: Path,
    slack: tuple[SlackEmulatorState, SlackClient],
) -> None:
    _, client = slack
    alerts = POSTS.replace("#revops-alerts", "#no-such-channel").replace("  digest: {}\n", "")
    clock = prepared(session_factory, tmp_path, alerts)

    post_due(session_factory, clock.now)
    report = worker(session_factory, client, clock).deliver_due()

    assert report.outcomes == {"dead": 1}
    with session_factory() as session:
        status = outbox_status(session, clock.now + timedelta(minutes=1))
    assert status.dead == 1
    assert status.by_kind_and_state == {("slack_channel", "dead"): 1}
    with session_factory() as session:
        (error,) = session.scalars(select(AlertDelivery.last_error)).all()
    assert error is not None and "channel_not_found" in error


def test_a_digest_that_misses_its_working_day_is_settled_unsent_and_the_scorecard_goes(
    session_factory: SessionFactory,
    tmp_path: Path,
    slack: tuple[SlackEmulatorState, SlackClient],
) -> None:
    state, client = slack
    clock = prepared(session_factory, tmp_path)
    clock.now = utc("2026-12-07 22:59")  # 17:59 in New York: the rep is still at work
    post_due(session_factory, clock.now)
    clock.advance(120)  # the delivery comes after 18:00: tomorrow is another day's digest
    work = worker(session_factory, client, clock)

    report = work.deliver_due()

    assert report.outcomes == {"delivered": 1, "suppressed": 1}
    assert len(state.messages("revops-alerts")) == 1
    assert state.messages_to("rep@example.com") == []
    with session_factory() as session:
        row = session.scalars(select(AlertDelivery).where(AlertDelivery.post_id.isnot(None))
                              .where(AlertDelivery.receiver == "owner:7")).one()  # fmt: skip
    assert (row.state, row.next_attempt_at) == ("suppressed", None)
    assert row.reason == "the digest's day ended before it could go out"


def test_a_digest_held_over_lunch_goes_out_after_it(
    session_factory: SessionFactory,
    tmp_path: Path,
    slack: tuple[SlackEmulatorState, SlackClient],
) -> None:
    state, client = slack
    lunch = 'hours: {mon: ["09:00-12:00", "13:00-18:00"]}\n'
    clock = prepared(session_factory, tmp_path)
    with session_scope(session_factory) as session:
        put_in_force(session, tmp_path, POSTS, calendar=f"calendars:\n  default:\n    {lunch}")
    clock.now = utc("2026-12-07 16:59")  # 11:59 in New York
    post_due(session_factory, clock.now)
    clock.advance(120)  # 12:01: lunch
    work = worker(session_factory, client, clock)

    assert work.deliver_due().outcomes == {"delivered": 1, "held": 1}
    clock.now = utc("2026-12-07 18:00")  # 13:00 in New York
    assert work.deliver_due().outcomes == {"delivered": 1}
    (digest,) = state.messages_to("rep@example.com")
    assert "will breach today (Mon 07 Dec)" in digest.text
