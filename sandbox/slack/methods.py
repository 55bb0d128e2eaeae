"""The Web API methods the emulator answers, each with the errors Slack gives for it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sandbox.slack.blocks import block_errors
from sandbox.slack.history import history_page, replies_page
from sandbox.slack.ids import parse_ts
from sandbox.slack.listing import conversations_page
from sandbox.slack.serialize import im_json, message_json, user_json
from sandbox.slack.state import SlackEmulatorState
from sandbox.slack.wire import (
    SlackApiCallError,
    SlackRateLimitedError,
    json_list_param,
    json_object_param,
    string_param,
)
from sandbox.slack.workspace import MessageVersion, SlackChannel, StoredMessage

MAX_TEXT_LENGTH = 40_000
MAX_DM_USERS = 8


@dataclass
class CallContext:
    state: SlackEmulatorState
    params: dict[str, Any]

    def text(self, name: str) -> str | None:
        return string_param(self.params, name)


Handler = Callable[[CallContext], dict[str, Any]]


def auth_test(call: CallContext) -> dict[str, Any]:
    state = call.state
    return {
        "url": f"https://{state.team_domain}.slack.com/",
        "team": state.team_name,
        "user": state.bot_user.name,
        "team_id": state.team_id,
        "user_id": state.bot_user.id,
        "bot_id": state.bot_user.bot_id,
        "is_enterprise_install": False,
    }


def _content(call: CallContext, *, keep: StoredMessage | None) -> MessageVersion:
    """Text, blocks and attachments of a post or an update, checked as Slack checks them.

    On an update, blocks left out keep the message's blocks; an empty array removes them."""
    text = call.text("text")
    blocks = json_list_param(call.params, "blocks", "invalid_blocks_format")
    attachments = json_list_param(call.params, "attachments", "invalid_attachments")
    if blocks is not None:
        errors = block_errors(blocks)
        if errors:
            raise SlackApiCallError("invalid_blocks", errors=errors)
    if attachments is not None and not all(isinstance(item, dict) for item in attachments):
        raise SlackApiCallError("invalid_attachments")
    if not text and not blocks and not attachments:
        raise SlackApiCallError("no_text")
    if text is not None and len(text) > MAX_TEXT_LENGTH:
        raise SlackApiCallError("msg_too_long")
    metadata = _metadata(call)
    if blocks is None and keep is not None:
        blocks = keep.blocks
    if metadata is None and keep is not None:
        metadata = keep.metadata
    if attachments is None and keep is not None:
        attachments = keep.current.attachments
    return MessageVersion(
        text=text or "",
        blocks=list(blocks or []),
        attachments=list(attachments or []),
        edited_ts=call.state.edit_ts() if keep is not None else None,
        metadata=metadata,
    )


def _metadata(call: CallContext) -> dict[str, Any] | None:
    """Message metadata as Slack checks it: an `event_type` name and an `event_payload` object."""
    metadata = json_object_param(call.params, "metadata", "invalid_metadata_format")
    if metadata is None:
        return None
    event_type = metadata.get("event_type")
    payload = metadata.get("event_payload")
    if not isinstance(event_type, str) or not event_type or not isinstance(payload, dict):
        raise SlackApiCallError("invalid_metadata_schema")
    return {"event_type": event_type, "event_payload": payload}


def _channel_to_post_in(call: CallContext) -> SlackChannel:
    """The channel named by id, name, or a user id (which means the bot's DM with that user)."""
    reference = call.text("channel")
    if not reference:
        raise SlackApiCallError("channel_not_found")
    state = call.state
    user = state.user(reference) if reference.startswith(("U", "W")) else None
    if user is not None and not user.is_bot:
        dm, _ = state.open_dm(user)
        return dm
    channel = state.channel(reference)
    if channel is None:
        raise SlackApiCallError("channel_not_found")
    if channel.is_archived:
        raise SlackApiCallError("is_archived")
    if not channel.bot_is_member:
        raise SlackApiCallError("not_in_channel")
    return channel


def chat_post_message(call: CallContext) -> dict[str, Any]:
    state = call.state
    channel = _channel_to_post_in(call)
    version = _content(call, keep=None)
    thread_ts = call.text("thread_ts") or None
    if thread_ts is not None:
        parent = state.find_message(channel.id, thread_ts)
        if parent is None:
            raise SlackApiCallError("thread_not_found")
        # A reply to a reply joins the parent's thread: threads are one level deep.
        thread_ts = parent.thread_ts or parent.ts
    if state.rate_limits:
        retry_after = state.limiter.post_wait(channel.id)
        if retry_after is not None:
            raise SlackRateLimitedError(retry_after)
    message = state.append_message(channel, state.bot_user, version, thread_ts)
    return {"channel": channel.id, "ts": message.ts, "message": message_json(message, state)}


def chat_update(call: CallContext) -> dict[str, Any]:
    state = call.state
    channel_id = call.text("channel") or ""
    # chat.update takes an id only: a name that chat.postMessage would accept is not found here.
    channel = state.channel(channel_id) if channel_id[:1] in ("C", "D", "G") else None
    if channel is None:
        raise SlackApiCallError("channel_not_found")
    ts = call.text("ts") or ""
    message = state.find_message(channel.id, ts) if parse_ts(ts) is not None else None
    if message is None:
        raise SlackApiCallError("message_not_found")
    if message.user != state.bot_user.id:
        raise SlackApiCallError("cant_update_message")
    version = _content(call, keep=message)
    state.edit_message(message, version)
    updated = message_json(message, state)
    return {"channel": channel.id, "ts": message.ts, "text": message.text, "message": updated}


def conversations_open(call: CallContext) -> dict[str, Any]:
    state = call.state
    return_im = (call.text("return_im") or "").lower() in ("1", "true")
    channel_id = call.text("channel")
    users_text = call.text("users")
    if channel_id:
        existing = state.channel(channel_id)
        if existing is None or not existing.is_im:
            raise SlackApiCallError("channel_not_found")
        return {"no_op": True, "already_open": True, "channel": _im_answer(existing, return_im)}
    user_ids = [part.strip() for part in (users_text or "").split(",") if part.strip()]
    if not user_ids:
        raise SlackApiCallError("users_list_not_supplied")
    if len(user_ids) > MAX_DM_USERS:
        raise SlackApiCallError("too_many_users")
    if len(user_ids) > 1:
        # Group DMs (mpim) are beyond what slaguard sends; say so rather than pretend.
        raise SlackApiCallError("method_not_supported_for_channel_type")
    user = state.user(user_ids[0])
    if user is None:
        raise SlackApiCallError("user_not_found")
    if user.is_bot:
        raise SlackApiCallError("cannot_dm_bot")
    if user.deleted:
        raise SlackApiCallError("user_disabled")
    channel, already_open = state.open_dm(user)
    answer: dict[str, Any] = {"channel": _im_answer(channel, return_im)}
    if already_open:
        answer = {"no_op": True, "already_open": True, **answer}
    return answer


def _im_answer(channel: SlackChannel, return_im: bool) -> dict[str, Any]:
    return im_json(channel) if return_im else {"id": channel.id}


def conversations_history(call: CallContext) -> dict[str, Any]:
    return history_page(call.state, call.params)


def conversations_replies(call: CallContext) -> dict[str, Any]:
    return replies_page(call.state, call.params)


def conversations_list(call: CallContext) -> dict[str, Any]:
    return conversations_page(call.state, call.params)


def users_lookup_by_email(call: CallContext) -> dict[str, Any]:
    email = call.text("email")
    if not email:
        raise SlackApiCallError("invalid_arguments", errors=["missing required field: email"])
    user = call.state.user_by_email(email)
    if user is None:
        raise SlackApiCallError("users_not_found")
    return {"user": user_json(user, call.state)}


def users_info(call: CallContext) -> dict[str, Any]:
    user = call.state.user(call.text("user") or "")
    if user is None:
        raise SlackApiCallError("user_not_found")
    return {"user": user_json(user, call.state)}


# The scope each method needs from a bot token (auth.test needs none; conversations.history
# and .replies check their own, which depends on the kind of conversation).
METHOD_SCOPES: dict[str, str] = {
    "chat.postMessage": "chat:write",
    "chat.update": "chat:write",
    "conversations.open": "im:write",
    "conversations.list": "channels:read",
    "users.lookupByEmail": "users:read.email",
    "users.info": "users:read",
}

METHODS: dict[str, Handler] = {
    "auth.test": auth_test,
    "chat.postMessage": chat_post_message,
    "chat.update": chat_update,
    "conversations.open": conversations_open,
    "conversations.history": conversations_history,
    "conversations.list": conversations_list,
    "conversations.replies": conversations_replies,
    "users.lookupByEmail": users_lookup_by_email,
    "users.info": users_info,
}
