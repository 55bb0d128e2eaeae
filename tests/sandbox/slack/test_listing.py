"""conversations.list as Slack answers it: public channels, archived ones on request, pages."""

from __future__ import annotations

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from sandbox.slack import SlackEmulatorState
from sandbox.slack.workspace import DEFAULT_CHANNELS


def test_public_channels_are_listed_with_their_ids_and_the_bots_membership(
    client: WebClient, slack_state: SlackEmulatorState
) -> None:
    slack_state.archive_channel("sales-managers")

    every = client.conversations_list()["channels"]
    current = client.conversations_list(exclude_archived=True)["channels"]

    assert {c["name"] for c in every} == {"general", *DEFAULT_CHANNELS}
    sales = slack_state.channel("sales")
    assert sales is not None
    assert {"id": sales.id, "name": "sales", "is_member": True}.items() <= next(
        c for c in every if c["name"] == "sales"
    ).items()
    assert next(c for c in every if c["name"] == "general")["is_member"] is False
    assert "sales-managers" not in {c["name"] for c in current}


def test_a_long_list_comes_in_pages_joined_by_the_cursor(client: WebClient) -> None:
    names: list[str] = []
    cursor = None
    pages = 0
    while True:
        answer = client.conversations_list(limit=2, cursor=cursor)
        names += [c["name"] for c in answer["channels"]]
        pages += 1
        cursor = answer["response_metadata"]["next_cursor"]
        if not cursor:
            break

    assert pages == 3
    assert sorted(names) == sorted(["general", *DEFAULT_CHANNELS])


def test_private_channels_need_a_scope_the_bot_lacks(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as refused:
        client.conversations_list(types="public_channel,private_channel")

    assert refused.value.response["error"] == "missing_scope"
    assert refused.value.response["needed"] == "groups:read"
