"""What people and tests see of the emulated workspace: HTML pages and a JSON read API.

`/slack/` lists the channels and DMs, `/slack/channels/{id}` shows a channel's messages with
every update, and `/slack/api/{messages,channels,users}` return the same as JSON.
"""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape
from typing import Any

from fastapi import APIRouter
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse

from sandbox.slack.render import blocks_html, mrkdwn_html
from sandbox.slack.state import SlackEmulatorState
from sandbox.slack.workspace import MessageVersion, SlackChannel, StoredMessage

_STYLE = """
body{font:15px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:52rem;color:#1d1c1d}
a{color:#1264a3}.msg{border-bottom:1px solid #ddd;padding:.7rem 0}.who{font-weight:700}
.when,.edited,.muted{color:#616061;font-size:.85em}
.fields{display:grid;grid-template-columns:1fr 1fr;gap:.3rem}
.context{color:#616061;font-size:.85em}.btn{margin-right:.3rem}
.primary{color:#007a5a}.danger{color:#e01e5a}
details{margin-top:.4rem}.version{border-left:3px solid #ddd;padding-left:.6rem;margin:.4rem 0}
code{background:#f4f4f4;padding:0 .2rem}.mention{background:#e8f5fa;color:#1264a3}
"""


def _page(title: str, body: str, *, refresh: bool = False) -> HTMLResponse:
    meta = '<meta http-equiv="refresh" content="5">' if refresh else ""
    return HTMLResponse(
        f'<!doctype html><html><head><meta charset="utf-8">{meta}<title>{escape(title)}</title>'
        f"<style>{_STYLE}</style></head><body>{body}</body></html>"
    )


def _when(ts: str) -> str:
    moment = datetime.fromtimestamp(float(ts), tz=UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def _channel_title(state: SlackEmulatorState, channel: SlackChannel) -> str:
    if channel.is_im and channel.im_user:
        user = state.user(channel.im_user)
        return f"DM with {user.real_name if user else channel.im_user}"
    return channel.label


def _version_html(state: SlackEmulatorState, version: MessageVersion) -> str:
    def user_name(user_id: str) -> str:
        user = state.user(user_id)
        return user.real_name if user else user_id

    if version.blocks:
        # With blocks, `text` is only what notifications and screen readers get; show it, or
        # what Slack shows when it is missing.
        fallback = version.text or "This content can't be displayed."
        html = blocks_html(version.blocks, user_name)
        html += f'<div class="muted">notification: {mrkdwn_html(fallback, user_name)}</div>'
    else:
        html = f"<div>{mrkdwn_html(version.text, user_name)}</div>"
    for attachment in version.attachments:
        shown = attachment.get("text") or attachment.get("fallback") or ""
        html += f'<div class="version">{mrkdwn_html(str(shown), user_name)}</div>'
    return html


def _message_html(state: SlackEmulatorState, message: StoredMessage) -> str:
    author = state.user(message.user)
    name = author.real_name if author else message.user
    edits = len(message.versions) - 1
    times = "" if edits == 1 else f" {edits} times"
    edited = f' <span class="edited">(edited{times})</span>' if edits else ""
    history = ""
    if edits:
        earlier = "".join(
            f'<div class="version"><div class="muted">{label}</div>{_version_html(state, v)}</div>'
            for label, v in zip(_version_labels(message), message.versions[:-1], strict=True)
        )
        history = f"<details><summary>earlier versions</summary>{earlier}</details>"
    thread = ""
    if message.thread_ts:
        thread = f' <span class="muted">in the thread of {escape(message.thread_ts)}</span>'
    return (
        f'<div class="msg" id="m{escape(message.ts)}"><span class="who">{escape(name)}</span> '
        f'<span class="when">{_when(message.ts)} · ts {escape(message.ts)}</span>{thread}{edited}'
        f"{_version_html(state, message.current)}{history}</div>"
    )


def _version_labels(message: StoredMessage) -> list[str]:
    labels = ["original"]
    labels += [f"edit at {_when(v.edited_ts)}" for v in message.versions[1:-1] if v.edited_ts]
    return labels


def index_page(state: SlackEmulatorState) -> HTMLResponse:
    rows = []
    for channel in state.channels():
        count = state.message_count(channel.id)
        note = "" if channel.bot_is_member else ' <span class="muted">(bot not a member)</span>'
        rows.append(
            f'<li><a href="channels/{escape(channel.id)}">{escape(_channel_title(state, channel))}'
            f"</a> — {count} messages{note}</li>"
        )
    people = "".join(
        f"<li>{escape(u.real_name)} — {escape(u.email or 'bot')} — <code>{escape(u.id)}</code></li>"
        for u in state.users()
    )
    body = (
        f"<h1>{escape(state.team_name)} (Slack emulator)</h1><h2>Channels and DMs</h2>"
        f"<ul>{''.join(rows)}</ul><h2>People</h2><ul>{people}</ul>"
    )
    return _page(state.team_name, body, refresh=True)


def channel_page(state: SlackEmulatorState, channel_id: str) -> HTMLResponse:
    channel = state.channel(channel_id)
    if channel is None:
        return _page("not found", "<h1>No such channel</h1><a href='../'>all channels</a>")
    title = _channel_title(state, channel)
    messages = "".join(_message_html(state, m) for m in state.messages(channel.id))
    body = (
        f"<p><a href='../'>all channels</a></p><h1>{escape(title)}</h1>"
        f"{messages or '<p class=muted>No messages yet.</p>'}"
    )
    return _page(title, body, refresh=True)


def _message_data(message: StoredMessage) -> dict[str, Any]:
    return {
        "channel": message.channel,
        "ts": message.ts,
        "user": message.user,
        "thread_ts": message.thread_ts,
        "text": message.text,
        "blocks": message.blocks,
        "edited_ts": message.edited_ts,
        "versions": [
            {
                "text": v.text,
                "blocks": v.blocks,
                "attachments": v.attachments,
                "edited_ts": v.edited_ts,
            }
            for v in message.versions
        ],
    }


def _channel_data(state: SlackEmulatorState, channel: SlackChannel) -> dict[str, Any]:
    return {
        "id": channel.id,
        "name": channel.name,
        "is_im": channel.is_im,
        "user": channel.im_user,
        "bot_is_member": channel.bot_is_member,
        "title": _channel_title(state, channel),
    }


def add_page_routes(router: APIRouter, state: SlackEmulatorState, prefix: str = "/slack") -> None:
    # Answered here, not by a slash redirect: in the combined sandbox HubSpot's app owns
    # every path nobody else claimed.
    @router.get(prefix, include_in_schema=False)
    def slack_index_without_slash() -> RedirectResponse:
        return RedirectResponse(f"{prefix}/")

    @router.get(f"{prefix}/", response_class=HTMLResponse, include_in_schema=False)
    def slack_index() -> HTMLResponse:
        return index_page(state)

    @router.get(f"{prefix}/channels/{{channel_id}}", response_class=HTMLResponse)
    def slack_channel_page(channel_id: str) -> HTMLResponse:
        response = channel_page(state, channel_id)
        if state.channel(channel_id) is None:
            response.status_code = 404
        return response

    @router.get(f"{prefix}/api/messages")
    def slack_messages(channel: str | None = None) -> JSONResponse:
        """Messages of one channel (id or name), or of every channel, oldest first."""
        if channel is None:
            messages = state.all_messages()
        elif state.channel(channel) is None:
            return JSONResponse({"error": "channel_not_found", "channel": channel}, 404)
        else:
            messages = state.messages(channel)
        return JSONResponse({"messages": [_message_data(m) for m in messages]})

    @router.get(f"{prefix}/api/channels")
    def slack_channels() -> JSONResponse:
        return JSONResponse({"channels": [_channel_data(state, c) for c in state.channels()]})

    @router.get(f"{prefix}/api/users")
    def slack_users() -> JSONResponse:
        users = [
            {
                "id": u.id,
                "name": u.name,
                "real_name": u.real_name,
                "email": u.email,
                "is_bot": u.is_bot,
            }
            for u in state.users()
        ]
        return JSONResponse({"users": users})
