"""conversations.history and message metadata, as Slack answers them, over the real WebClient."""

from __future__ import annotations

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from sandbox.slack import SlackEmulatorState

ALERT = {"event_type": "slaguard_alert", "event_payload": {"key": "event-7/channel/C1"}}


def history_error(call) -> SlackApiError:
    with pytest.raises(SlackApiError) as caught:
        call()
    return caught.value


def test_history_lists_newest_first(client: WebClient) -> None:
    posted = [client.chat_postMessage(channel="sales", text=f"n{i}")["ts"] for i in range(3)]

    channel = client.chat_postMessage(channel="sales", text="last")["channel"]

    answer = client.conversations_history(channel=channel)

    assert [m["text"] for m in answer["messages"]] == ["last", "n2", "n1", "n0"]
    assert answer["messages"][1]["ts"] == posted[2]
    assert answer["has_more"] is False


def test_metadata_is_returned_only_when_asked_for(client: WebClient) -> None:
    channel = client.chat_postMessage(channel="sales", text="breached", metadata=ALERT)["channel"]

    plain = client.conversations_history(channel=channel)
    full = client.conversations_history(channel=channel, include_all_metadata=True)

    assert "metadata" not in plain["messages"][0]
    assert full["messages"][0]["metadata"] == ALERT


def test_an_update_without_metadata_keeps_it_and_one_with_metadata_replaces_it(
    client: WebClient,
) -> None:
    first = client.chat_postMessage(channel="sales", text="warning", metadata=ALERT)
    client.chat_update(channel=first["channel"], ts=first["ts"], text="breached")
    kept = client.conversations_history(channel=first["channel"], include_all_metadata=True)
    newer = {"event_type": "slaguard_alert", "event_payload": {"key": "event-8/channel/C1"}}
    client.chat_update(channel=first["channel"], ts=first["ts"], text="met", metadata=newer)
    replaced = client.conversations_history(channel=first["channel"], include_all_metadata=True)

    assert kept["messages"][0]["metadata"] == ALERT
    assert replaced["messages"][0]["metadata"] == newer


def test_pages_follow_the_cursor_until_has_more_is_false(client: WebClient, frozen_clock) -> None:
    channel = ""
    for i in range(5):
        frozen_clock.now += 1  # one post a second stays inside the channel's limit
        channel = client.chat_postMessage(channel="sales", text=f"n{i}")["channel"]

    texts: list[str] = []
    cursor = None
    pages = 0
    while True:
        page = client.conversations_history(channel=channel, limit=2, cursor=cursor)
        pages += 1
        texts += [m["text"] for m in page["messages"]]
        if not page["has_more"]:
            break
        cursor = page["response_metadata"]["next_cursor"]

    assert texts == ["n4", "n3", "n2", "n1", "n0"]
    assert pages == 3


def test_oldest_and_latest_bound_the_window_exclusively(client: WebClient) -> None:
    stamps = [client.chat_postMessage(channel="sales", text=f"n{i}") for i in range(4)]
    channel = stamps[0]["channel"]

    window = client.conversations_history(
        channel=channel, oldest=stamps[0]["ts"], latest=stamps[3]["ts"]
    )
    inclusive = client.conversations_history(
        channel=channel, oldest=stamps[0]["ts"], latest=stamps[3]["ts"], inclusive=True
    )

    assert [m["text"] for m in window["messages"]] == ["n2", "n1"]
    assert [m["text"] for m in inclusive["messages"]] == ["n3", "n2", "n1", "n0"]


def test_thread_replies_stay_out_of_the_channel_history(client: WebClient) -> None:
    parent = client.chat_postMessage(channel="sales", text="parent")
    client.chat_postMessage(channel=parent["channel"], text="reply", thread_ts=parent["ts"])

    answer = client.conversations_history(channel=parent["channel"])

    assert [m["text"] for m in answer["messages"]] == ["parent"]
    assert answer["messages"][0]["reply_count"] == 1


def test_a_dm_has_history_too(client: WebClient, slack_state: SlackEmulatorState) -> None:
    user = slack_state.user_by_email("grace.hopper@example.com")
    assert user is not None
    dm = client.conversations_open(users=user.id)["channel"]["id"]
    client.chat_postMessage(channel=dm, text="your lead waits", metadata=ALERT)

    answer = client.conversations_history(channel=dm, include_all_metadata=True)

    assert [m["metadata"] for m in answer["messages"]] == [ALERT]


def test_history_takes_a_channel_id_not_a_name(client: WebClient) -> None:
    missing = history_error(lambda: client.conversations_history(channel="C0000000000"))
    by_name = history_error(lambda: client.conversations_history(channel="sales"))

    assert missing.response["error"] == "channel_not_found"
    assert by_name.response["error"] == "channel_not_found"


def test_a_bot_outside_a_channel_cannot_read_it(
    client: WebClient, slack_state: SlackEmulatorState
) -> None:
    general = slack_state.channel("general")
    sales = slack_state.channel("sales")
    assert general is not None and sales is not None

    outside = history_error(lambda: client.conversations_history(channel=general.id))
    bad_cursor = history_error(
        lambda: client.conversations_history(channel=sales.id, cursor="bm9wZQ==")
    )

    assert outside.response["error"] == "not_in_channel"
    assert bad_cursor.response["error"] == "invalid_cursor"


def test_reading_history_needs_the_history_scope(serve, frozen_clock) -> None:
    state = SlackEmulatorState(clock=frozen_clock, scopes={"chat:write", "im:write"})
    client = WebClient(token=next(iter(state.tokens)), base_url=f"{serve(state)}/api/")
    channel = client.chat_postMessage(channel="sales", text="x")["channel"]

    refused = history_error(lambda: client.conversations_history(channel=channel))

    assert refused.response["error"] == "missing_scope"
    assert refused.response["needed"] == "channels:history"


def test_replies_list_the_parent_then_its_replies_oldest_first(client: WebClient) -> None:
    parent = client.chat_postMessage(channel="sales", text="parent", metadata=ALERT)
    channel = parent["channel"]
    for text in ("first", "second"):
        client.chat_postMessage(channel=channel, text=text, thread_ts=parent["ts"], metadata=ALERT)

    answer = client.conversations_replies(channel=channel, ts=parent["ts"])
    full = client.conversations_replies(channel=channel, ts=parent["ts"], include_all_metadata=True)

    assert [m["text"] for m in answer["messages"]] == ["parent", "first", "second"]
    assert all("metadata" not in m for m in answer["messages"])
    assert [m.get("metadata") for m in full["messages"]] == [ALERT] * 3


def test_replies_page_with_the_cursor(client: WebClient, frozen_clock) -> None:
    parent = client.chat_postMessage(channel="sales", text="parent")
    channel = parent["channel"]
    for i in range(4):
        frozen_clock.now += 1
        client.chat_postMessage(channel=channel, text=f"r{i}", thread_ts=parent["ts"])

    first = client.conversations_replies(channel=channel, ts=parent["ts"], limit=3)
    rest = client.conversations_replies(
        channel=channel, ts=parent["ts"], limit=3, cursor=first["response_metadata"]["next_cursor"]
    )

    assert [m["text"] for m in first["messages"]] == ["parent", "r0", "r1"]
    assert first["has_more"] is True
    assert [m["text"] for m in rest["messages"]] == ["r2", "r3"]
    assert rest["has_more"] is False


def test_replies_of_an_unknown_message_are_thread_not_found(client: WebClient) -> None:
    channel = client.chat_postMessage(channel="sales", text="x")["channel"]

    missing = history_error(
        lambda: client.conversations_replies(channel=channel, ts="1000000000.000001")
    )

    assert missing.response["error"] == "thread_not_found"


def test_metadata_without_an_event_type_or_payload_is_refused(client: WebClient) -> None:
    no_type = history_error(
        lambda: client.chat_postMessage(
            channel="sales", text="x", metadata={"event_payload": {"key": "k"}}
        )
    )
    no_payload = history_error(
        lambda: client.chat_postMessage(
            channel="sales", text="x", metadata={"event_type": "slaguard_alert"}
        )
    )

    assert no_type.response["error"] == "invalid_metadata_schema"
    assert no_payload.response["error"] == "invalid_metadata_schema"
