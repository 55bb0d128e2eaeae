"""`conversations.history` and `conversations.replies`: a conversation's top-level messages,
newest first, and a thread's messages, oldest first, page by page.

As Slack does: `oldest`/`latest` bound the window (exclusive unless `inclusive`), `limit`
(default 100, at most 999) sizes a page, `response_metadata.next_cursor` continues it, thread
replies stay in their thread, and message metadata comes back only with `include_all_metadata`.
The channel is named by id only, and reading it needs the history scope of its kind.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from sandbox.slack.ids import parse_ts
from sandbox.slack.serialize import message_json
from sandbox.slack.state import SlackEmulatorState
from sandbox.slack.wire import SlackApiCallError, string_param
from sandbox.slack.workspace import SlackChannel, StoredMessage

DEFAULT_LIMIT = 100
MAX_LIMIT = 999
_CURSOR_PREFIX = "next_ts:"


def history_page(state: SlackEmulatorState, params: dict[str, Any]) -> dict[str, Any]:
    channel = _readable_channel(state, string_param(params, "channel") or "")
    newest_first = list(reversed(state.top_level_messages(channel.id)))
    return _page(state, params, newest_first, newest_first=True)


def replies_page(state: SlackEmulatorState, params: dict[str, Any]) -> dict[str, Any]:
    """`conversations.replies`: a thread's parent, then its replies, oldest first."""
    channel = _readable_channel(state, string_param(params, "channel") or "")
    ts = string_param(params, "ts") or ""
    message = state.find_message(channel.id, ts) if parse_ts(ts) is not None else None
    if message is None:
        raise SlackApiCallError("thread_not_found")
    parent_ts = message.thread_ts or message.ts
    parent = state.find_message(channel.id, parent_ts)
    thread = ([parent] if parent is not None else []) + state.thread_replies(channel.id, parent_ts)
    return _page(state, params, thread, newest_first=False)


def _page(
    state: SlackEmulatorState,
    params: dict[str, Any],
    ordered: list[StoredMessage],
    *,
    newest_first: bool,
) -> dict[str, Any]:
    inclusive = _flag(params, "inclusive")
    oldest = _bound(params, "oldest", default=0)
    latest = _bound(params, "latest", default=None)
    window = [
        message
        for message in ordered
        if _after(message, oldest, inclusive) and _before(message, latest, inclusive)
    ]
    cursor = string_param(params, "cursor")
    if cursor:
        # The cursor names the first message of the page it continues with.
        start = _decode_cursor(cursor)
        window = [
            m for m in window if (_micros(m) <= start if newest_first else _micros(m) >= start)
        ]
    limit = _limit(params)
    page, rest = window[:limit], window[limit:]
    with_metadata = _flag(params, "include_all_metadata")
    answer: dict[str, Any] = {
        "messages": [message_json(m, state, with_metadata=with_metadata) for m in page],
        "has_more": bool(rest),
    }
    if newest_first:
        answer["pin_count"] = 0
    if rest:
        answer["response_metadata"] = {"next_cursor": _encode_cursor(rest[0].ts)}
    return answer


def _micros(message: StoredMessage) -> int:
    return parse_ts(message.ts) or 0


def _readable_channel(state: SlackEmulatorState, channel_id: str) -> SlackChannel:
    channel = state.channel(channel_id) if channel_id[:1] in ("C", "D", "G") else None
    if channel is None:
        raise SlackApiCallError("channel_not_found")
    needed = "im:history" if channel.is_im else "channels:history"
    if needed not in state.scopes:
        provided = ",".join(sorted(state.scopes))
        raise SlackApiCallError("missing_scope", needed=needed, provided=provided)
    if not channel.bot_is_member:
        raise SlackApiCallError("not_in_channel")
    return channel


def _flag(params: dict[str, Any], name: str) -> bool:
    return (string_param(params, name) or "").lower() in ("1", "true")


def _bound(params: dict[str, Any], name: str, default: int | None) -> int | None:
    text = string_param(params, name)
    if not text:
        return default
    seconds, _, fraction = text.partition(".")
    micros = parse_ts(f"{seconds}.{(fraction + '000000')[:6]}")
    if micros is None:
        raise SlackApiCallError("invalid_ts_" + name)
    return micros


def _limit(params: dict[str, Any]) -> int:
    text = string_param(params, "limit")
    if not text:
        return DEFAULT_LIMIT
    try:
        limit = int(text)
    except ValueError as error:
        raise SlackApiCallError("invalid_limit") from error
    return DEFAULT_LIMIT if limit <= 0 else min(limit, MAX_LIMIT)


def _after(message: StoredMessage, oldest: int | None, inclusive: bool) -> bool:
    micros = _micros(message)
    return oldest is None or micros > oldest or (inclusive and micros == oldest)


def _before(message: StoredMessage, latest: int | None, inclusive: bool) -> bool:
    micros = _micros(message)
    return latest is None or micros < latest or (inclusive and micros == latest)


def _encode_cursor(ts: str) -> str:
    return base64.b64encode(f"{_CURSOR_PREFIX}{ts}".encode()).decode()


def _decode_cursor(cursor: str) -> int:
    try:
        text = base64.b64decode(cursor, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError) as error:
        raise SlackApiCallError("invalid_cursor") from error
    if not text.startswith(_CURSOR_PREFIX):
        raise SlackApiCallError("invalid_cursor")
    micros = parse_ts(text.removeprefix(_CURSOR_PREFIX))
    if micros is None:
        raise SlackApiCallError("invalid_cursor")
    return micros
