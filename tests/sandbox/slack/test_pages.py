"""The pages people look at during the demo, and the JSON tests read."""

from __future__ import annotations

import httpx
from slack_sdk import WebClient

from sandbox.slack import SlackEmulatorState

BLOCKS = [
    {"type": "header", "text": {"type": "plain_text", "text": "First touch breached"}},
    {
        "type": "section",
        "text": {"type": "mrkdwn", "text": "<https://app.hubspot.com/c/1|Jane Roe> waits"},
        "fields": [{"type": "mrkdwn", "text": "*Owner*\nGrace Hopper"}],
    },
    {
        "type": "actions",
        "elements": [{"type": "button", "text": {"type": "plain_text", "text": "Ack"}}],
    },
]


def test_a_channel_page_shows_the_message_with_its_update(
    client: WebClient, slack_state: SlackEmulatorState, slack_url: str
) -> None:
    posted = client.chat_postMessage(channel="sales", text="Lead at risk: 10 min left")
    client.chat_update(channel=posted["channel"], ts=posted["ts"], text="x", blocks=BLOCKS)

    page = httpx.get(f"{slack_url}/slack/channels/{posted['channel']}")
    index = httpx.get(f"{slack_url}/slack/")

    assert page.status_code == 200
    assert "First touch breached" in page.text
    assert '<a href="https://app.hubspot.com/c/1" rel="noreferrer">Jane Roe</a>' in page.text
    assert "Lead at risk: 10 min left" in page.text  # the earlier version, in the history
    assert "(edited)" in page.text
    assert "notification: x" in page.text
    assert "#sales" in index.text and "1 messages" in index.text
    assert next(iter(slack_state.tokens)) not in index.text + page.text


def test_message_text_is_escaped_on_the_page(client: WebClient, slack_url: str) -> None:
    # Slack asks senders to escape <, > and & as entities; a raw <...> is a Slack control token.
    escaped = client.chat_postMessage(channel="sales", text="&lt;b&gt; &amp; *bold*")
    raw = client.chat_postMessage(channel="sales", text="<script>alert(1)</script>")

    page = httpx.get(f"{slack_url}/slack/channels/{escaped['channel']}").text

    assert "&lt;b&gt; &amp; <strong>bold</strong>" in page
    assert raw["ok"] is True
    assert "<script>alert" not in page


def test_the_json_view_lists_a_channels_messages_with_versions(
    client: WebClient, slack_url: str
) -> None:
    posted = client.chat_postMessage(channel="sales", text="at risk")
    client.chat_update(channel=posted["channel"], ts=posted["ts"], text="breached")

    by_name = httpx.get(f"{slack_url}/slack/api/messages", params={"channel": "sales"}).json()
    missing = httpx.get(f"{slack_url}/slack/api/messages", params={"channel": "nope"})

    [message] = by_name["messages"]
    assert message["ts"] == posted["ts"]
    assert message["text"] == "breached"
    assert [v["text"] for v in message["versions"]] == ["at risk", "breached"]
    assert missing.status_code == 404


def test_an_unknown_channel_page_is_404_and_the_index_needs_no_slash(slack_url: str) -> None:
    assert httpx.get(f"{slack_url}/slack/channels/C0NOSUCH").status_code == 404
    index = httpx.get(f"{slack_url}/slack", follow_redirects=True)
    assert index.status_code == 200 and "Channels and DMs" in index.text
