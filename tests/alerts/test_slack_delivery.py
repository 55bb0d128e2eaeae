"""SlackDeliverer against the Slack emulator over HTTP: where messages land, in-place updates,
threads, the look-up that prevents a double post, and each failure's outcome."""

from __future__ import annotations

import pytest

from alerts.delivery import MessageRef, Outcome
from alerts.model import EventType, TargetKind
from alerts.slack_delivery import METADATA_TYPE
from integrations.slack.pacing import PacingLimits, SlackPacer
from sandbox.slack import SlackPerson

from .slack_harness import (
    MemoryRefs,
    RefsThatCrashOnSave,
    WorkerDiedError,
    alert_job,
    metadata_keys,
    slack_workspace,
)

GRACE = "grace.hopper@example.com"


def test_the_first_alert_of_an_instance_is_posted_with_its_key_and_its_ref_saved() -> None:
    with slack_workspace() as slack:
        sales = slack.channel_id("sales")
        refs = MemoryRefs()
        job = alert_job(100, sales)

        result = slack.deliverer(refs).deliver(job)

        (message,) = slack.state.messages(sales)
        assert result.outcome is Outcome.DELIVERED
        assert (result.slack_channel, result.slack_ts) == (sales, message.ts)
        assert refs.find(100, sales) is not None and refs.find(100, sales).ts == message.ts
        assert message.metadata is not None
        assert message.metadata["event_type"] == METADATA_TYPE
        assert message.metadata["event_payload"] == {"key": job.key, "instance_id": 100}
        assert message.text.startswith("SLA at risk: Lead 100")


def test_later_alerts_of_the_instance_update_the_same_message() -> None:
    with slack_workspace() as slack:
        sales = slack.channel_id("sales")
        deliverer = slack.deliverer(MemoryRefs())

        for event_type in (EventType.WARNING, EventType.BREACHED, EventType.MET_LATE):
            assert deliverer.deliver(alert_job(100, sales, event_type)).outcome is Outcome.DELIVERED

        (message,) = slack.state.messages(sales)
        assert [v.text.split(":")[0] for v in message.versions] == [
            "SLA at risk",
            "SLA breached",
            "SLA met late",
        ]


def test_a_reminder_replies_in_the_thread_of_the_instances_message() -> None:
    with slack_workspace() as slack:
        sales = slack.channel_id("sales")
        deliverer = slack.deliverer(MemoryRefs())
        deliverer.deliver(alert_job(100, sales, EventType.BREACHED))

        reply = deliverer.deliver(alert_job(100, sales, EventType.REMINDER, in_thread=True))

        parent, answer = slack.state.messages(sales)
        assert answer.thread_ts == parent.ts
        assert reply.slack_ts == answer.ts
        assert len(parent.versions) == 1


def test_a_rep_gets_a_dm_which_is_updated_in_place() -> None:
    with slack_workspace() as slack:
        grace = slack.user_id(GRACE)
        deliverer = slack.deliverer(MemoryRefs())

        first = deliverer.deliver(alert_job(7, grace, kind=TargetKind.SLACK_USER))
        deliverer.deliver(alert_job(7, grace, EventType.BREACHED, kind=TargetKind.SLACK_USER))

        (message,) = slack.state.messages_to(GRACE)
        assert first.slack_channel is not None and first.slack_channel.startswith("D")
        assert len(message.versions) == 2


def test_a_deleted_message_is_posted_again_instead_of_failing_the_update() -> None:
    with slack_workspace() as slack:
        sales = slack.channel_id("sales")
        refs = MemoryRefs()
        deliverer = slack.deliverer(refs)
        deliverer.deliver(alert_job(100, sales))
        refs.save(100, sales, MessageRef(sales, "1000000000.000001"))  # a ts with no message

        result = deliverer.deliver(alert_job(100, sales, EventType.BREACHED))

        assert result.outcome is Outcome.DELIVERED
        assert len(slack.state.messages(sales)) == 2
        assert refs.find(100, sales).ts == result.slack_ts  # type: ignore[union-attr]


def test_a_retry_after_a_crash_between_post_and_save_finds_its_message_and_posts_nothing() -> None:
    with slack_workspace() as slack:
        sales = slack.channel_id("sales")
        refs = RefsThatCrashOnSave(crash_on={100})
        deliverer = slack.deliverer(refs)
        with pytest.raises(WorkerDiedError):
            deliverer.deliver(alert_job(100, sales))

        retried = slack.deliverer(refs).deliver(alert_job(100, sales, attempt=2))

        (message,) = slack.state.messages(sales)
        assert retried.outcome is Outcome.DELIVERED
        assert retried.slack_ts == message.ts
        assert refs.find(100, sales).ts == message.ts  # type: ignore[union-attr]


def test_a_retry_whose_first_attempt_never_reached_slack_posts() -> None:
    with slack_workspace() as slack:
        sales = slack.channel_id("sales")
        slack.state.post_as_user(sales, slack.user_id(GRACE), "a person's note")

        retried = slack.deliverer(MemoryRefs()).deliver(alert_job(100, sales, attempt=3))

        assert retried.outcome is Outcome.DELIVERED
        assert len(slack.state.messages(sales)) == 2


def test_a_crash_in_a_dm_is_recovered_the_same_way() -> None:
    with slack_workspace() as slack:
        grace = slack.user_id(GRACE)
        refs = RefsThatCrashOnSave(crash_on={7})
        with pytest.raises(WorkerDiedError):
            slack.deliverer(refs).deliver(alert_job(7, grace, kind=TargetKind.SLACK_USER))

        job = alert_job(7, grace, kind=TargetKind.SLACK_USER, attempt=2)
        retried = slack.deliverer(refs).deliver(job)

        (message,) = slack.state.messages_to(GRACE)
        assert retried.outcome is Outcome.DELIVERED
        assert metadata_keys(message) == [job.key]


@pytest.mark.parametrize(
    ("target", "reason"),
    [("C0000000000", "channel_not_found"), ("general", "not_in_channel")],
)
def test_channels_that_cannot_take_the_post_are_dead_letters_with_the_reason(
    target: str, reason: str
) -> None:
    with slack_workspace() as slack:
        result = slack.deliverer(MemoryRefs()).deliver(alert_job(1, target))

        assert (result.outcome, result.auth_broken) == (Outcome.DEAD, False)
        assert reason in result.detail


def test_an_archived_channel_is_a_dead_letter() -> None:
    with slack_workspace() as slack:
        slack.state.archive_channel("marketing")

        result = slack.deliverer(MemoryRefs()).deliver(alert_job(1, slack.channel_id("marketing")))

        assert result.outcome is Outcome.DEAD
        assert "is_archived" in result.detail


def test_a_person_who_left_is_a_dead_letter() -> None:
    people = [SlackPerson("Gone", "Person", deleted=True)]
    with slack_workspace(users=people) as slack:
        gone = slack.user_id("gone.person@example.com")

        result = slack.deliverer(MemoryRefs()).deliver(
            alert_job(1, gone, kind=TargetKind.SLACK_USER)
        )

        assert (result.outcome, result.auth_broken) == (Outcome.DEAD, False)
        assert "user_disabled" in result.detail


def test_a_revoked_token_is_a_dead_letter_that_breaks_auth_and_shows_no_token() -> None:
    with slack_workspace() as slack:
        token = next(iter(slack.state.tokens))
        slack.state.revoke_token(token)

        result = slack.deliverer(MemoryRefs()).deliver(alert_job(1, slack.channel_id("sales")))

        assert (result.outcome, result.auth_broken) == (Outcome.DEAD, True)
        assert "token_revoked" in result.detail
        assert token not in result.detail


def test_a_rate_limit_is_a_retry_after_the_time_slack_asked_for() -> None:
    with slack_workspace() as slack:
        sales = slack.channel_id("sales")
        # A pacer far looser than Slack, so the emulator's own limit answers.
        loose = SlackPacer(PacingLimits(channel_burst=100), clock=slack.clock)
        deliverer = slack.deliverer(MemoryRefs(), pacer=loose)
        results = [deliverer.deliver(alert_job(n, sales)) for n in range(6)]

        limited = [r for r in results if r.outcome is Outcome.RETRY]
        assert [r.outcome for r in results[:4]] == [Outcome.DELIVERED] * 4
        assert limited and all(r.status_code == 429 for r in limited)
        assert all(r.retry_after == 1.0 for r in limited)


def test_server_errors_are_retries_without_a_wait_of_their_own() -> None:
    with slack_workspace(fault_rate=1.0, slow_seconds=0.0) as slack:
        deliverer = slack.deliverer(MemoryRefs())
        results = [deliverer.deliver(alert_job(n, slack.channel_id("sales"))) for n in range(12)]

        failed = [r for r in results if r.outcome is not Outcome.DELIVERED]
        assert failed and all(r.outcome is Outcome.RETRY for r in failed)
        assert {r.status_code for r in failed} <= {500, 503}
        assert all(r.retry_after is None for r in failed)


def test_two_hundred_posts_to_one_channel_are_paced_under_slacks_limit() -> None:
    with slack_workspace() as slack:
        sales = slack.channel_id("sales")
        deliverer = slack.deliverer(MemoryRefs())

        results = [deliverer.deliver(alert_job(n, sales)) for n in range(200)]

        assert all(r.outcome is Outcome.DELIVERED for r in results)
        assert slack.posts_refused(429) == 0
        assert len(slack.state.messages(sales)) == 200
        # About one a second after the first burst: the pacing took simulated time, not luck.
        assert 190 <= slack.clock.slept <= 200


def test_a_reminder_delivered_again_after_its_result_was_lost_replies_once() -> None:
    with slack_workspace() as slack:
        sales = slack.channel_id("sales")
        deliverer = slack.deliverer(MemoryRefs())
        deliverer.deliver(alert_job(100, sales, EventType.BREACHED))
        first = deliverer.deliver(alert_job(100, sales, EventType.REMINDER, in_thread=True))

        # The worker died before recording the attempt: the outbox hands the job out again.
        again = deliverer.deliver(
            alert_job(100, sales, EventType.REMINDER, in_thread=True, attempt=2)
        )

        parent, reply = slack.state.messages(sales)
        assert again.outcome is Outcome.DELIVERED
        assert again.slack_ts == first.slack_ts == reply.ts
        assert reply.thread_ts == parent.ts


def test_the_first_post_delivered_again_updates_its_message_instead_of_posting() -> None:
    with slack_workspace() as slack:
        sales = slack.channel_id("sales")
        deliverer = slack.deliverer(MemoryRefs())
        first = deliverer.deliver(alert_job(100, sales))

        again = deliverer.deliver(alert_job(100, sales, attempt=2))

        (message,) = slack.state.messages(sales)
        assert again.slack_ts == first.slack_ts == message.ts
