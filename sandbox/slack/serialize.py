"""The JSON shapes Slack answers with: users, messages, conversations."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sandbox.slack.state import SlackEmulatorState
from sandbox.slack.workspace import SlackChannel, SlackUser, StoredMessage


def _short_hash(text: str, length: int) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def _time_zone_fields(zone_name: str) -> dict[str, Any]:
    now = datetime.now(UTC).astimezone(ZoneInfo(zone_name))
    offset = now.utcoffset()
    return {
        "tz": zone_name,
        "tz_label": now.tzname() or zone_name,
        "tz_offset": int(offset.total_seconds()) if offset else 0,
    }


def _profile(user: SlackUser, state: SlackEmulatorState) -> dict[str, Any]:
    avatar = f"https://avatars.slack-edge.example/{_short_hash(user.id, 12)}"
    profile: dict[str, Any] = {
        "title": user.title,
        "real_name": user.real_name,
        "real_name_normalized": user.real_name,
        "display_name": user.name if not user.is_bot else "",
        "display_name_normalized": user.name if not user.is_bot else "",
        "first_name": user.first_name,
        "last_name": user.last_name,
        "status_text": "",
        "status_emoji": "",
        "avatar_hash": _short_hash(user.id, 12),
        "image_24": f"{avatar}_24.png",
        "image_48": f"{avatar}_48.png",
        "image_72": f"{avatar}_72.png",
        "team": state.team_id,
    }
    if user.email is not None:
        profile["email"] = user.email
    if user.is_bot:
        profile["bot_id"] = user.bot_id
        profile["api_app_id"] = state.app_id
        profile["always_active"] = False
    return profile


def user_json(user: SlackUser, state: SlackEmulatorState) -> dict[str, Any]:
    return {
        "id": user.id,
        "team_id": state.team_id,
        "name": user.name,
        "deleted": user.deleted,
        "color": _short_hash(user.name, 6),
        "real_name": user.real_name,
        **_time_zone_fields(user.time_zone),
        "profile": _profile(user, state),
        "is_admin": False,
        "is_owner": False,
        "is_primary_owner": False,
        "is_restricted": False,
        "is_ultra_restricted": False,
        "is_bot": user.is_bot,
        "is_app_user": False,
        "updated": 1_700_000_000,
        "has_2fa": False,
    }


def _with_block_ids(blocks: list[dict[str, Any]], ts: str) -> list[dict[str, Any]]:
    # Slack gives every block without a block_id a short random one; derived from the ts here
    # so that answers stay reproducible.
    return [
        {**block, "block_id": block.get("block_id") or _short_hash(f"{ts}/{index}", 5)}
        for index, block in enumerate(blocks)
    ]


def message_json(
    message: StoredMessage, state: SlackEmulatorState, *, with_metadata: bool = False
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "user": message.user,
        "type": "message",
        "ts": message.ts,
        "text": message.text,
        "team": state.team_id,
    }
    if message.bot_id is not None:
        body["bot_id"] = message.bot_id
        body["app_id"] = state.app_id
        body["bot_profile"] = {
            "id": message.bot_id,
            "app_id": state.app_id,
            "name": state.bot_user.name,
            "deleted": False,
            "team_id": state.team_id,
        }
    if message.blocks:
        body["blocks"] = _with_block_ids(message.blocks, message.ts)
    if message.current.attachments:
        body["attachments"] = message.current.attachments
    if message.thread_ts is not None:
        body["thread_ts"] = message.thread_ts
    else:
        replies = state.thread_replies(message.channel, message.ts)
        if replies:
            # A thread's parent carries its own ts as thread_ts and a summary of the replies.
            body["thread_ts"] = message.ts
            body["reply_count"] = len(replies)
            body["latest_reply"] = replies[-1].ts
    if message.edited_ts is not None:
        body["edited"] = {"user": message.user, "ts": message.edited_ts}
    if with_metadata and message.metadata is not None:
        body["metadata"] = message.metadata
    return body


def im_json(channel: SlackChannel) -> dict[str, Any]:
    """A DM as `conversations.open` returns it with `return_im=true`."""
    return {
        "id": channel.id,
        "created": channel.created,
        "is_im": True,
        "is_org_shared": False,
        "user": channel.im_user,
        "last_read": "0000000000.000000",
        "latest": None,
        "unread_count": 0,
        "unread_count_display": 0,
        "is_open": True,
        "priority": 0,
    }
