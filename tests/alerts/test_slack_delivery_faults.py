"""Slack misbehaving for a while (429s, 500s and 503s) and a worker dying between a post and
the save of its ref: a driver that retries as the outbox does ends with every alert in Slack
once, each instance's message updated in place."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

from alerts.delivery import DeliveryJob, DeliveryResult, Outcome
from alerts.model import EventType, TargetKind
from alerts.slack_delivery import SlackDeliverer
from integrations.slack.pacing import PacingLimits, SlackPacer

from .slack_harness import (
    RefsThatCrashOnSave,
    SimClock,
    WorkerDiedError,
    alert_job,
    metadata_keys,
    slack_workspace,
)

GRACE = "grace.hopper@example.com"
LIFE = (EventType.WARNING, EventType.BREACHED, EventType.MET_LATE)
MAX_ATTEMPTS = 40


def deliver_until_done(
    deliverer: SlackDeliverer, job: DeliveryJob, clock: SimClock
) -> list[DeliveryResult]:
    """Retries as the outbox would: after Slack's Retry-After, or a backoff for 5xx; a worker
    that died leaves the job to be claimed again as the next attempt."""
    results: list[DeliveryResult] = []
    for attempt in range(1, MAX_ATTEMPTS + 1):
        current = replace(job, attempt=attempt)
        try:
            result = deliverer.deliver(current)
        except WorkerDiedError:
            clock.sleep(1.0)  # the lease expires, another worker claims it
            continue
        results.append(result)
        assert result.outcome is not Outcome.DEAD, result.detail
        if result.outcome is Outcome.DELIVERED:
            return results
        # A short backoff for 5xx keeps the channel busy enough to meet its rate limit too.
        clock.sleep(result.retry_after if result.retry_after is not None else 0.1)
    raise AssertionError(f"{job.key} still not delivered after {MAX_ATTEMPTS} attempts")


def test_every_alert_arrives_once_and_in_place_through_429s_5xx_and_crashes() -> None:
    with slack_workspace(fault_rate=0.3, slow_seconds=0.0) as slack:
        sales, grace = slack.channel_id("sales"), slack.user_id(GRACE)
        # Paced far looser than Slack allows, so the emulator's rate limits answer 429 too.
        loose = PacingLimits(
            channel_burst=50, workspace_burst=500, method_per_minute={}, method_burst=1
        )
        refs = RefsThatCrashOnSave(crash_on={2, 5, 8})
        deliverer = slack.deliverer(refs, pacer=SlackPacer(loose, clock=slack.clock))
        targets = dict.fromkeys(range(0, 12, 2), (sales, TargetKind.SLACK_CHANNEL))
        targets |= dict.fromkeys(range(1, 12, 2), (grace, TargetKind.SLACK_USER))

        results: list[DeliveryResult] = []
        keys: dict[int, list[str]] = {n: [] for n in targets}
        for event_type in LIFE:
            for instance, (target, kind) in targets.items():
                job = alert_job(instance, target, event_type, kind=kind)
                keys[instance].append(job.key)
                results += deliver_until_done(deliverer, job, slack.clock)

        statuses = Counter(r.status_code for r in results if r.outcome is Outcome.RETRY)
        assert statuses[429] > 0 and statuses[500] + statuses[503] > 0
        assert all(
            r.retry_after is not None and r.retry_after >= 1
            for r in results
            if r.status_code == 429
        )
        messages = slack.state.messages(sales) + slack.state.messages_to(GRACE)
        by_instance = Counter(m.metadata["event_payload"]["instance_id"] for m in messages)  # type: ignore[index]
        assert by_instance == Counter(dict.fromkeys(targets, 1))  # one message each, no double post
        for message in messages:
            instance = message.metadata["event_payload"]["instance_id"]  # type: ignore[index]
            assert metadata_keys(message) == keys[instance]  # posted once, updated twice
            assert [v.text.split(":")[0] for v in message.versions] == [
                "SLA at risk",
                "SLA breached",
                "SLA met late",
            ]
