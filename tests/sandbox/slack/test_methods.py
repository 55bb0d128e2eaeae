"""The Web API methods, driven by the real slack_sdk WebClient over HTTP."""

from __future__ import annotations

import threading

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from sandbox.slack import SlackEmulatorState, SlackPerson

BLOCKS = [
    {"type": "header", "text": {"type": "plain_text", "text": "First touch at risk"}},
    {"type": "section", "text": {"type": "mrkdwn", "text": "*Jane Roe* waits for a call"}},
]


def slack_error(call) -> SlackApiError:
    with pytest.raises(SlackApiError) as caught:
        call()
    return caught.value


def test_auth_test_names_the_bot_and_its_workspace(
    client: WebClient, slack_state: SlackEmulatorState
) -> None:
    answer = client.auth_test()

    assert answer["user_id"] == slack_state.bot_user.id
    assert answer["user_id"].startswith("U")
    assert answer["team_id"] == slack_state.team_id
    assert answer["bot_id"].startswith("B")
    assert answer["url"].endswith(".slack.com/")


def test_a_message_posted_to_a_channel_is_kept(
    client: WebClient, slack_state: SlackEmulatorState
) -> None:
    answer = client.chat_postMessage(channel="#sales", text="Lead waiting", blocks=BLOCKS)

    sales = slack_state.channel("sales")
    assert sales is not None and sales.id.startswith("C")
    assert answer["channel"] == sales.id
    assert answer["message"]["text"] == "Lead waiting"
    assert answer["message"]["bot_id"] == slack_state.bot_user.bot_id
    assert all(block["block_id"] for block in answer["message"]["blocks"])
    [kept] = slack_state.messages(sales.id)
    assert (kept.ts, kept.text, kept.blocks) == (answer["ts"], "Lead waiting", BLOCKS)


def test_ts_values_are_unique_and_increasing_even_within_one_microsecond(
    serve, frozen_clock
) -> None:
    state = SlackEmulatorState(seed=1, clock=frozen_clock, wall_clock=lambda: 1_700_000_000.0)
    client = WebClient(token=next(iter(state.tokens)), base_url=f"{serve(state)}/api/")

    stamps = [client.chat_postMessage(channel="sales", text=f"n{i}")["ts"] for i in range(3)]

    assert stamps == ["1700000000.000000", "1700000000.000001", "1700000000.000002"]


def test_a_rep_is_reached_by_email_through_a_dm(
    client: WebClient, slack_state: SlackEmulatorState
) -> None:
    user = client.users_lookupByEmail(email="Grace.Hopper@example.com")["user"]
    opened = client.conversations_open(users=user["id"])
    dm_id = opened["channel"]["id"]
    client.chat_postMessage(channel=dm_id, text="Call Jane Roe within 1 h")
    again = client.conversations_open(users=[user["id"]], return_im=True)

    assert user["profile"]["email"] == "grace.hopper@example.com"
    assert user["real_name"] == "Grace Hopper"
    assert dm_id.startswith("D")
    assert again["already_open"] is True
    assert again["channel"]["id"] == dm_id
    assert again["channel"]["user"] == user["id"]
    assert [m.text for m in slack_state.messages(dm_id)] == ["Call Jane Roe within 1 h"]


def test_posting_to_a_user_id_lands_in_the_bots_dm_with_them(
    client: WebClient, slack_state: SlackEmulatorState
) -> None:
    user = slack_state.user_by_email("alan.turing@example.com")
    assert user is not None

    answer = client.chat_postMessage(channel=user.id, text="hello")

    dm = slack_state.dm_channel_for(user.id)
    assert dm is not None and answer["channel"] == dm.id


def test_an_update_changes_the_message_in_place_and_keeps_the_history(
    client: WebClient, slack_state: SlackEmulatorState
) -> None:
    posted = client.chat_postMessage(channel="sales", text="At risk", blocks=BLOCKS)
    updated = client.chat_update(channel=posted["channel"], ts=posted["ts"], text="Breached")

    [kept] = slack_state.messages("sales")
    assert updated["ts"] == posted["ts"]
    assert updated["text"] == "Breached"
    assert updated["message"]["edited"]["user"] == slack_state.bot_user.id
    assert [v.text for v in kept.versions] == ["At risk", "Breached"]
    # Blocks left out of chat.update stay; an empty array removes them, as in Slack.
    assert kept.blocks == BLOCKS
    client.chat_update(channel=posted["channel"], ts=posted["ts"], text="Resolved", blocks=[])
    assert slack_state.messages("sales")[0].blocks == []


def test_users_are_found_by_email_and_by_id_or_reported_missing(
    client: WebClient, slack_state: SlackEmulatorState
) -> None:
    found = client.users_lookupByEmail(email="ada.lovelace@example.com")["user"]
    info = client.users_info(user=found["id"])["user"]
    missing = slack_error(lambda: client.users_lookupByEmail(email="nobody@example.com"))
    unknown = slack_error(lambda: client.users_info(user="U0000000000"))

    assert info["name"] == found["name"] == "ada.lovelace"
    assert info["tz"] == "America/New_York"
    assert missing.response.status_code == 200
    assert missing.response["error"] == "users_not_found"
    assert unknown.response["error"] == "user_not_found"


def test_a_bad_token_gets_invalid_auth_and_none_gets_not_authed(slack_url: str) -> None:
    bad = WebClient(token="xoxb-1-2-wrong", base_url=f"{slack_url}/api/")
    anonymous = WebClient(base_url=f"{slack_url}/api/")

    assert slack_error(bad.auth_test).response["error"] == "invalid_auth"
    assert slack_error(anonymous.auth_test).response["error"] == "not_authed"


def test_unknown_channels_and_messages_are_reported(
    client: WebClient, slack_state: SlackEmulatorState
) -> None:
    posted = client.chat_postMessage(channel="sales", text="x")

    def update(**kwargs):
        return lambda: client.chat_update(text="y", **kwargs)

    assert (
        slack_error(lambda: client.chat_postMessage(channel="C0NOSUCHONE", text="x")).response[
            "error"
        ]
        == "channel_not_found"
    )
    assert slack_error(update(channel="C0NOSUCHONE", ts=posted["ts"])).response["error"] == (
        "channel_not_found"
    )
    # chat.update takes the channel id only, not the name chat.postMessage accepted.
    assert slack_error(update(channel="sales", ts=posted["ts"])).response["error"] == (
        "channel_not_found"
    )
    assert slack_error(update(channel=posted["channel"], ts="1.000001")).response["error"] == (
        "message_not_found"
    )


def test_only_the_bots_own_messages_can_be_updated(
    client: WebClient, slack_state: SlackEmulatorState
) -> None:
    rep = slack_state.user_by_email("grace.hopper@example.com")
    assert rep is not None
    theirs = slack_state.post_as_user("sales", rep.id, "on it")

    error = slack_error(lambda: client.chat_update(channel=theirs.channel, ts=theirs.ts, text="x"))

    assert error.response["error"] == "cant_update_message"
    assert slack_state.messages("sales")[0].text == "on it"


def test_a_bot_outside_a_channel_cannot_post_there(client: WebClient) -> None:
    error = slack_error(lambda: client.chat_postMessage(channel="#general", text="hi"))

    assert error.response["error"] == "not_in_channel"


def test_a_message_needs_text_or_blocks_and_blocks_must_be_valid(
    client: WebClient, slack_state: SlackEmulatorState
) -> None:
    with pytest.warns(UserWarning, match="text"):  # slack_sdk warns before it sends
        no_text = slack_error(lambda: client.chat_postMessage(channel="sales"))
    bad_section = [{"type": "section", "text": {"type": "mrkdwn", "text": ""}}]
    invalid = slack_error(
        lambda: client.chat_postMessage(channel="sales", text="t", blocks=bad_section)
    )
    unknown_type = [{"type": "carousel"}]
    unknown = slack_error(
        lambda: client.chat_postMessage(channel="sales", text="t", blocks=unknown_type)
    )

    assert no_text.response["error"] == "no_text"
    assert invalid.response["error"] == "invalid_blocks"
    assert invalid.response["errors"] == [
        "must be more than 0 characters [json-pointer:/blocks/0/text/text]"
    ]
    assert unknown.response["error"] == "invalid_blocks"
    assert slack_state.messages("sales") == []


def test_people_who_left_are_found_but_cannot_be_messaged(serve, frozen_clock) -> None:
    people = [
        SlackPerson("Ava", "Costa", email="ava.costa.0@example-sales.com"),
        SlackPerson("Ben", "Ito", email="ben.ito.8@example-sales.com", deleted=True),
    ]
    state = SlackEmulatorState(users=people, clock=frozen_clock)
    client = WebClient(token=next(iter(state.tokens)), base_url=f"{serve(state)}/api/")

    gone = client.users_lookupByEmail(email="ben.ito.8@example-sales.com")["user"]
    error = slack_error(lambda: client.conversations_open(users=gone["id"]))

    assert gone["deleted"] is True
    assert error.response["error"] == "user_disabled"
    assert [u.email for u in state.users() if not u.is_bot] == [
        "ava.costa.0@example-sales.com",
        "ben.ito.8@example-sales.com",
    ]


def test_conversations_open_needs_a_known_person(
    client: WebClient, slack_state: SlackEmulatorState
) -> None:
    def open_error(**kwargs) -> str:
        return slack_error(lambda: client.conversations_open(**kwargs)).response["error"]

    # slack_sdk refuses to send this one itself, so it goes as a raw call.
    empty = slack_error(lambda: client.api_call("conversations.open", params={}))
    assert empty.response["error"] == "users_list_not_supplied"
    assert open_error(users="U0NOBODY000") == "user_not_found"
    assert open_error(users=slack_state.bot_user.id) == "cannot_dm_bot"
    assert open_error(channel="D0NOSUCH000") == "channel_not_found"


def test_replies_join_the_thread_of_their_parent(
    client: WebClient, slack_state: SlackEmulatorState
) -> None:
    parent = client.chat_postMessage(channel="sales", text="breached")
    reply = client.chat_postMessage(channel="sales", text="still open", thread_ts=parent["ts"])
    nested = client.chat_postMessage(channel="sales", text="and now", thread_ts=reply["ts"])
    lost = slack_error(
        lambda: client.chat_postMessage(channel="sales", text="x", thread_ts="1.000001")
    )
    updated = client.chat_update(channel=parent["channel"], ts=parent["ts"], text="resolved")

    assert reply["message"]["thread_ts"] == parent["ts"]
    assert nested["message"]["thread_ts"] == parent["ts"]
    assert updated["message"]["reply_count"] == 2
    assert updated["message"]["latest_reply"] == nested["ts"]
    assert lost.response["error"] == "thread_not_found"


def test_a_revoked_token_and_a_missing_scope_are_reported_like_slack(serve, frozen_clock) -> None:
    state = SlackEmulatorState(clock=frozen_clock, scopes={"chat:write", "users:read"})
    token = next(iter(state.tokens))
    client = WebClient(token=token, base_url=f"{serve(state)}/api/")

    scope = slack_error(lambda: client.users_lookupByEmail(email="ada.lovelace@example.com"))
    posted = client.chat_postMessage(channel="sales", text="still allowed")
    state.revoke_token(token)
    revoked = slack_error(client.auth_test)

    assert scope.response["error"] == "missing_scope"
    assert scope.response["needed"] == "users:read.email"
    assert scope.response["provided"] == "chat:write,users:read"
    assert posted.headers["x-oauth-scopes"] == "chat:write,users:read"
    assert revoked.response["error"] == "token_revoked"


def test_an_archived_channel_takes_no_messages(
    client: WebClient, slack_state: SlackEmulatorState
) -> None:
    slack_state.archive_channel("marketing")

    error = slack_error(lambda: client.chat_postMessage(channel="#marketing", text="x"))

    assert error.response["error"] == "is_archived"


def test_tests_can_wait_for_a_dm_sent_from_another_thread(
    client: WebClient, slack_state: SlackEmulatorState
) -> None:
    def send_later() -> None:
        rep = client.users_lookupByEmail(email="alan.turing@example.com")["user"]["id"]
        client.chat_postMessage(channel=rep, text="Jane Roe is yours")

    sender = threading.Thread(target=send_later)
    sender.start()
    slack_state.wait_for(lambda messages: any(m.text == "Jane Roe is yours" for m in messages))
    sender.join()

    assert [m.text for m in slack_state.messages_to("alan.turing@example.com")] == [
        "Jane Roe is yours"
    ]
    assert slack_state.messages_to("ada.lovelace@example.com") == []
    with pytest.raises(TimeoutError, match="Jane Roe is yours"):
        slack_state.wait_for(lambda messages: len(messages) > 1, timeout=0.05)
