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
LIFE = (EventType.WARNING, EventType.BREACHED, EventType.REMINDER, EventType.MET_LATE)
# Workers that die after Slack took these instances' reminders, before the attempt was recorded.
LOST_REMINDERS = {3, 4}
MAX_ATTEMPTS = 40


def deliver_until_done(
    deliverer: SlackDeliverer, job: DeliveryJob, clock: SimClock, *, lose_success: bool = False
) -> list[DeliveryResult]:
    """Retries as the outbox would: after Slack's Retry-After, or a backoff for 5xx; a worker
    that died (before saving the ref, or before recording a success when `lose_success`)
    leaves the job to be claimed again as the next attempt."""
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
        if result.outcome is Outcome.DELIVERED and lose_success:
            lose_success = False
            continue
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
            reminder = event_type is EventType.REMINDER
            for instance, (target, kind) in targets.items():
                job = alert_job(instance, target, event_type, kind=kind, in_thread=reminder)
                if not reminder:
                    keys[instance].append(job.key)
                lose = reminder and instance in LOST_REMINDERS
                results += deliver_until_done(deliverer, job, slack.clock, lose_success=lose)

        statuses = Counter(r.status_code for r in results if r.outcome is Outcome.RETRY)
        assert statuses[429] > 0 and statuses[500] + statuses[503] > 0
        assert all(
            r.retry_after is not None and r.retry_after >= 1
            for r in results
            if r.status_code == 429
        )
        every = slack.state.messages(sales) + slack.state.messages_to(GRACE)
        messages = [m for m in every if m.thread_ts is None]
        replies = [m for m in every if m.thread_ts is not None]
        parents = {m.ts: m.metadata["event_payload"]["instance_id"] for m in messages}  # type: ignore[index]
        assert Counter(parents[r.thread_ts] for r in replies) == Counter(dict.fromkeys(targets, 1))  # type: ignore[index]
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
