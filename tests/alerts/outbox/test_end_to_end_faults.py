"""Issue 14's "Done when", faults: SLA breaches reach Slack DMs, a Slack channel and a signed
webhook while Slack answers 429 and 500 for a while, the webhook endpoint fails its first
attempts, and a `slaguard deliver` worker is killed with -9 after Slack took its post but
before it heard back. Every alert arrives, none twice (by `webhook-id` at the receiver, by
message per instance in Slack); the "met late" that follows updates each message in place,
and evaluating once more sends nothing. Real processes, on SQLite and on PostgreSQL."""

from __future__ import annotations

import signal
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox.slack import SlackEmulatorState, create_slack_app
from tests.alerts.outbox.end_to_end_scene import (
    LEADS,
    Scene,
    Sent,
    instance_of,
    nothing_to_deliver,
    now_utc,
)
from tests.fixtures.live_server import serving
from tests.integrations.webhooks.receiver import Answer, Receiver

HELD_ANSWER_S = 30  # longer than the test waits before it kills the worker
DOOMED_LEASE_S = "3"
ALERTS_PER_PHASE = len(LEADS) * 2 + 1  # a DM and a webhook per lead, #sales for one


@pytest.fixture
def scene(database_url: str, tmp_path: Path) -> Iterator[Scene]:
    slack = SlackEmulatorState()
    receiver = Receiver().start()
    try:
        with serving(create_slack_app(slack)) as slack_url:
            yield Scene(database_url, tmp_path, slack, slack_url, receiver)
    finally:
        receiver.stop()


def breaches_delivered_through_faults_and_a_kill(scene: Scene) -> None:
    scene.seed_breached_leads(now_utc())
    scene.env.run("evaluate")
    assert scene.deliveries() == {"pending": ALERTS_PER_PHASE}

    scene.receiver.answer(Answer(500), Answer(500))  # the endpoint's first two attempts
    # Slack's first post is refused with 429, the second with 500; the third is taken and
    # its answer held back: the worker is killed waiting for it.
    posts = ["chat.postMessage"]
    scene.set_outages(
        {"status": 429, "retry_after": 2, "calls": 1, "methods": posts},
        {"status": 500, "calls": 1, "methods": posts},
        {"answer_after_seconds": HELD_ANSWER_S, "calls": 1, "methods": posts},
    )
    doomed = scene.start_deliver("--lease", DOOMED_LEASE_S)
    scene.slack.wait_for(lambda messages: len(messages) == 1, timeout=60)
    doomed.send_signal(signal.SIGKILL)
    doomed.wait(timeout=10)
    assert scene.outages_met() == [(429, 1), (500, 1), (None, 1)]

    scene.set_outages()
    scene.deliver_until_settled()


def met_late_updated_through_faults(scene: Scene) -> int:
    """Returns the position of the receiver's first request of this phase (it is refused)."""
    first_request = len(scene.receiver.requests)
    scene.call_every_lead(now_utc())
    scene.env.run("evaluate")
    assert scene.deliveries()["pending"] == ALERTS_PER_PHASE

    scene.receiver.answer(Answer(503, headers={"Retry-After": "1"}))
    scene.set_outages(
        {"status": 429, "retry_after": 1, "calls": 1, "methods": ["chat.update"]},
        {"status": 500, "calls": 1, "methods": ["chat.update"]},
    )
    scene.deliver_until_settled()
    assert scene.outages_met() == [(429, 1), (500, 1)]
    return first_request


@pytest.mark.slow  # about 40 s a store: three evaluations and a dozen short-lived workers
def test_every_alert_arrives_once_and_moves_in_place_through_outages_and_a_kill_9(
    scene: Scene,
) -> None:
    breaches_delivered_through_faults_and_a_kill(scene)
    second_phase = met_late_updated_through_faults(scene)

    assert scene.deliveries() == {"delivered": 2 * ALERTS_PER_PHASE}
    # Slack: one message per instance and conversation, posted once and then updated.
    dms = scene.dm_messages()
    channel = scene.channel_messages()
    for email, messages in dms.items():
        assert len(messages) == 1, f"{email} got {[m.text for m in messages]}"
    assert len(channel) == 1
    every = [m for ms in dms.values() for m in ms] + channel
    assert all(m.thread_ts is None for m in every)
    assert len({instance_of(m) for ms in dms.values() for m in ms}) == len(LEADS)
    assert instance_of(channel[0]) in {instance_of(m) for ms in dms.values() for m in ms}
    for message in every:
        assert "SLA breached" in message.versions[0].text
        assert "SLA met late" in message.text
    assert scene.successful_calls("chat.postMessage") == len(every)
    assert scene.successful_calls("chat.update") == len(every)

    # The webhook: each event accepted once under its own id; refused ones came back.
    accepted, refused = scene.webhook_ids({0, 1, second_phase})
    assert sorted(accepted.values()) == [1] * (2 * len(LEADS))
    assert refused <= set(accepted)
    scene.verify_every_signature()

    # The killed worker's attempt is in the log as lost, and its retry found the message.
    outcomes = Counter(outcome for _, _, outcome in scene.attempt_outcomes())
    assert outcomes["lost"] >= 1
    assert scene.successful_calls("conversations.history") >= 1
    # #sales was in the killed worker's batch: its retry found the channel's id by name.
    assert scene.successful_calls("conversations.list") >= 1

    # Evaluating again finds the same events: nothing is enqueued or sent a second time.
    settled = Sent.now(scene)
    scene.env.run("evaluate")
    nothing_to_deliver(scene)
    assert Sent.now(scene) == settled
