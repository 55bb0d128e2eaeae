"""The Slack client against the sandbox's Slack emulator over HTTP: what alert delivery
needs, and one test per error class the outbox decides on."""

from __future__ import annotations

import socket

import pytest

from integrations.slack import (
    ChannelGone,
    InvalidAuth,
    MessageGone,
    RateLimited,
    Rejected,
    SlackClient,
    TokenRevoked,
    Transient,
    UserNotFound,
)

pytestmark = pytest.mark.sandbox(contacts=10)

BLOCKS = [{"type": "section", "text": {"type": "mrkdwn", "text": "*Breached*: Jane Doe"}}]


@pytest.fixture
def slack(sandbox: object) -> SlackClient:
    return SlackClient(sandbox.slack_token, base_url=sandbox.slack_url)  # type: ignore[attr-defined]


def a_member_email(sandbox: object) -> str:
    people = [u for u in sandbox.slack.users() if u.email and not u.deleted]  # type: ignore[attr-defined]
    return str(people[0].email)


def test_a_post_with_blocks_and_a_text_fallback_lands_in_the_channel(
    sandbox: object, slack: SlackClient
) -> None:
    posted = slack.post_message(
        "sales",
        "Breached: Jane Doe",
        blocks=BLOCKS,
        metadata_type="slaguard_alert",
        metadata={"instance_id": 100},
    )

    (message,) = sandbox.slack.messages("sales")  # type: ignore[attr-defined]
    assert posted.channel.startswith("C")
    assert (message.ts, message.text, message.blocks) == (posted.ts, "Breached: Jane Doe", BLOCKS)


def test_a_message_is_updated_in_place_and_a_reply_goes_to_its_thread(
    sandbox: object, slack: SlackClient
) -> None:
    posted = slack.post_message("sales", "Warning: Jane Doe", blocks=BLOCKS)

    slack.update_message(posted.channel, posted.ts, "Breached: Jane Doe")
    slack.post_message(posted.channel, "Still breached after 2 h", thread_ts=posted.ts)

    top, reply = sandbox.slack.messages("sales")  # type: ignore[attr-defined]
    assert top.ts == posted.ts
    assert [v.text for v in top.versions] == ["Warning: Jane Doe", "Breached: Jane Doe"]
    assert top.blocks == BLOCKS  # an update without blocks keeps them
    assert reply.thread_ts == posted.ts


def test_a_rep_found_by_email_gets_a_direct_message(sandbox: object, slack: SlackClient) -> None:
    email = a_member_email(sandbox)

    user = slack.users_lookup_by_email(email)
    dm = slack.open_dm(user.id)
    slack.post_message(dm, "Your lead Jane Doe is breached")

    assert dm.startswith("D")
    assert user.email == email and user.deleted is False
    assert [m.text for m in sandbox.slack.messages_to(email)] == [  # type: ignore[attr-defined]
        "Your lead Jane Doe is breached"
    ]


def test_an_unknown_email_is_user_not_found(slack: SlackClient) -> None:
    with pytest.raises(UserNotFound) as raised:
        slack.users_lookup_by_email("nobody@example.com")
    assert raised.value.error == "users_not_found"
    assert not raised.value.retryable


def test_posting_past_the_channel_limit_is_rate_limited_with_retry_after(
    slack: SlackClient,
) -> None:
    with pytest.raises(RateLimited) as raised:
        for number in range(20):
            slack.post_message("marketing", f"burst {number}")

    assert raised.value.retry_after >= 1
    assert raised.value.status == 429
    assert raised.value.retryable


def test_server_errors_are_transient(sandbox: object, slack: SlackClient) -> None:
    faults = sandbox.slack.faults  # type: ignore[attr-defined]
    faults.rate, faults.slow_seconds = 1.0, 0.01
    errors: list[Transient] = []
    for _ in range(30):  # each call draws a 500, a 503 or a slow answer
        try:
            slack.auth_test()
        except Transient as error:
            errors.append(error)
    assert errors
    assert {error.status for error in errors} <= {500, 503}
    assert all(error.retryable for error in errors)


def test_no_answer_at_all_is_transient() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = SlackClient("xoxb-nothing", base_url=f"http://127.0.0.1:{port}/api/", timeout=2)

    with pytest.raises(Transient) as raised:
        client.auth_test()
    assert raised.value.status is None


def test_a_wrong_token_is_invalid_auth_and_the_error_does_not_show_it(sandbox: object) -> None:
    client = SlackClient("xoxb-wrong-token-1234", base_url=sandbox.slack_url)  # type: ignore[attr-defined]

    with pytest.raises(InvalidAuth) as raised:
        client.post_message("sales", "hello")
    assert raised.value.error == "invalid_auth"
    assert "xoxb-wrong-token-1234" not in str(raised.value)
    assert "xoxb-wrong-token-1234" not in repr(client)


def test_a_revoked_token_is_token_revoked(sandbox: object, slack: SlackClient) -> None:
    sandbox.slack.revoke_token(sandbox.slack_token)  # type: ignore[attr-defined]

    with pytest.raises(TokenRevoked) as raised:
        slack.auth_test()
    assert isinstance(raised.value, InvalidAuth)


@pytest.mark.parametrize(
    ("channel", "code"),
    [("no-such-channel", "channel_not_found"), ("general", "not_in_channel")],
)
def test_channels_the_bot_cannot_post_in_are_gone(
    slack: SlackClient, channel: str, code: str
) -> None:
    with pytest.raises(ChannelGone) as raised:
        slack.post_message(channel, "hello")
    assert raised.value.error == code
    assert not raised.value.retryable


def test_an_archived_channel_is_gone(sandbox: object, slack: SlackClient) -> None:
    sandbox.slack.archive_channel("revops-alerts")  # type: ignore[attr-defined]

    with pytest.raises(ChannelGone) as raised:
        slack.post_message("revops-alerts", "hello")
    assert raised.value.error == "is_archived"


def test_updating_a_message_that_is_not_there_is_message_gone(slack: SlackClient) -> None:
    posted = slack.post_message("sales", "first")

    with pytest.raises(MessageGone):
        slack.update_message(posted.channel, "1700000000.000001", "edited")


def test_blocks_slack_would_refuse_are_rejected(slack: SlackClient) -> None:
    with pytest.raises(Rejected) as raised:
        slack.post_message("sales", "text", blocks=[{"type": "no-such-block"}])
    assert raised.value.error == "invalid_blocks"


def test_history_pages_back_through_a_channel_with_each_posts_metadata(
    sandbox: object, slack: SlackClient
) -> None:
    first = slack.post_message(
        "sales", "Breached: Jane Doe", metadata_type="slaguard_alert", metadata={"key": "k-1"}
    )
    slack.post_message("sales", "A person's note")

    newest = slack.history(first.channel, limit=1)
    assert newest.next_cursor is not None
    older = slack.history(first.channel, limit=1, cursor=newest.next_cursor)

    assert [m.text for m in newest.messages] == ["A person's note"]
    assert newest.messages[0].metadata_type is None
    (alert,) = older.messages
    assert (alert.ts, alert.metadata_type, dict(alert.metadata)) == (
        first.ts,
        "slaguard_alert",
        {"key": "k-1"},
    )
    assert older.next_cursor is None


def test_history_since_a_ts_leaves_older_messages_out(slack: SlackClient) -> None:
    first = slack.post_message("sales", "old")
    slack.post_message("sales", "new")

    page = slack.history(first.channel, oldest=first.ts)

    assert [m.text for m in page.messages] == ["new"]


def test_a_thread_reads_back_with_each_replys_metadata(slack: SlackClient) -> None:
    parent = slack.post_message("sales", "Breached: Jane Doe")
    slack.post_message(
        parent.channel,
        "Still breached",
        thread_ts=parent.ts,
        metadata_type="slaguard_alert",
        metadata={"key": "k-2"},
    )

    page = slack.thread(parent.channel, parent.ts)

    assert [m.text for m in page.messages] == ["Breached: Jane Doe", "Still breached"]
    assert dict(page.messages[1].metadata) == {"key": "k-2"}
    assert page.next_cursor is None
    with pytest.raises(MessageGone):
        slack.thread(parent.channel, "1000000000.000001")
