"""`conversations.list`: the workspace's public channels, page by page, as Slack lists them.

slaguard reads it only to find the id of a channel its rules name by name, when a retried
post has to read that channel's history back (which takes an id). As Slack does: `types`
(default `public_channel`; `im` lists the bot's DMs; private channels need `groups:read`,
which the bot lacks, so asking for them is refused), `exclude_archived`, `limit` (default 100,
at most 1000) and a `next_cursor`.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from sandbox.slack.state import SlackEmulatorState
from sandbox.slack.wire import SlackApiCallError, string_param
from sandbox.slack.workspace import SlackChannel

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
_TYPES = frozenset({"public_channel", "private_channel", "mpim", "im"})
_CURSOR_PREFIX = "after:"


def conversations_page(state: SlackEmulatorState, params: dict[str, Any]) -> dict[str, Any]:
    types = _types(state, string_param(params, "types") or "public_channel")
    exclude_archived = (string_param(params, "exclude_archived") or "").lower() in ("1", "true")
    listed = [
        channel
        for channel in state.channels()
        if ("im" if channel.is_im else "public_channel") in types
        and not (exclude_archived and channel.is_archived)
    ]
    cursor = string_param(params, "cursor")
    if cursor:
        after = _decode_cursor(cursor)
        listed = listed[after:]
        start = after
    else:
        start = 0
    limit = _limit(string_param(params, "limit"))
    page, more = listed[:limit], len(listed) > limit
    answer: dict[str, Any] = {"channels": [_channel_json(c) for c in page]}
    answer["response_metadata"] = {"next_cursor": _encode_cursor(start + limit) if more else ""}
    return answer


def _types(state: SlackEmulatorState, text: str) -> frozenset[str]:
    types = frozenset(part.strip() for part in text.split(",") if part.strip())
    if not types or not types <= _TYPES:
        raise SlackApiCallError("invalid_types")
    needed = {"private_channel": "groups:read", "mpim": "mpim:read", "im": "im:read"}
    for kind in sorted(types):
        scope = needed.get(kind)
        if scope is not None and scope not in state.scopes:
            provided = ",".join(sorted(state.scopes))
            raise SlackApiCallError("missing_scope", needed=scope, provided=provided)
    return types


def _limit(text: str | None) -> int:
    if not text:
        return DEFAULT_LIMIT
    try:
        limit = int(text)
    except ValueError as error:
        raise SlackApiCallError("invalid_limit") from error
    return DEFAULT_LIMIT if limit <= 0 else min(limit, MAX_LIMIT)


def _channel_json(channel: SlackChannel) -> dict[str, Any]:
    if channel.is_im:
        return {
            "id": channel.id,
            "created": channel.created,
            "is_im": True,
            "user": channel.im_user,
        }
    return {
        "id": channel.id,
        "name": channel.name,
        "created": channel.created,
        "is_channel": True,
        "is_private": False,
        "is_archived": channel.is_archived,
        "is_member": channel.bot_is_member,
    }


def _encode_cursor(position: int) -> str:
    return base64.b64encode(f"{_CURSOR_PREFIX}{position}".encode()).decode()


def _decode_cursor(cursor: str) -> int:
    try:
        text = base64.b64decode(cursor, validate=True).decode()
        if not text.startswith(_CURSOR_PREFIX):
            raise ValueError(text)
        return int(text.removeprefix(_CURSOR_PREFIX))
    except (binascii.Error, UnicodeDecodeError, ValueError) as error:
        raise SlackApiCallError("invalid_cursor") from error
