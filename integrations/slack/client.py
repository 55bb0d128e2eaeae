"""The Slack calls alert delivery needs, typed, over `slack_sdk.WebClient`.

`base_url` points the client at another Web API (the sandbox's emulator in tests and the
demo). The SDK's own retry handlers are switched off: a 429 or a 5xx comes back at once as a
typed error, and the outbox, which knows the message's schedule, decides when to try again
(the SDK's rate-limit handler would sleep in the calling thread).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web import SlackResponse

from integrations.slack.errors import SlackError, Transient, error_for

DEFAULT_BASE_URL = "https://slack.com/api/"
DEFAULT_TIMEOUT = 15


@dataclass(frozen=True, slots=True)
class PostedMessage:
    channel: str
    ts: str


@dataclass(frozen=True, slots=True)
class ChannelMessage:
    """A top-level message from a conversation's history, with its metadata when it has some."""

    ts: str
    text: str
    user: str | None
    metadata_type: str | None
    metadata: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class HistoryPage:
    messages: tuple[ChannelMessage, ...]  # newest first (history), oldest first (a thread)
    next_cursor: str | None  # None on the last page


@dataclass(frozen=True, slots=True)
class SlackUserInfo:
    id: str
    name: str
    email: str | None
    time_zone: str | None
    deleted: bool


def _retry_after(headers: Mapping[str, Any]) -> float | None:
    for key, value in headers.items():
        if key.lower() == "retry-after":
            text = value[0] if isinstance(value, list) else value
            try:
                return float(text)
            except (TypeError, ValueError):
                return None
    return None


def _mapped(method: str, error: SlackApiError) -> SlackError:
    response = error.response
    data = response.data if isinstance(response.data, dict) else {}
    code = str(data.get("error") or "unknown_error")
    return error_for(method, code, response.status_code, _retry_after(response.headers))


def _metadata(event_type: str, payload: Mapping[str, Any]) -> dict[str, Any]:
    return {"event_type": event_type, "event_payload": dict(payload)}


def _channel_message(item: Mapping[str, Any]) -> ChannelMessage:
    metadata = item.get("metadata") or {}
    payload = metadata.get("event_payload")
    return ChannelMessage(
        ts=str(item.get("ts") or ""),
        text=str(item.get("text") or ""),
        user=item.get("user"),
        metadata_type=metadata.get("event_type"),
        metadata=payload if isinstance(payload, dict) else {},
    )


def _history_page(data: Mapping[str, Any]) -> HistoryPage:
    messages = tuple(_channel_message(item) for item in data.get("messages") or ())
    cursor_next = (data.get("response_metadata") or {}).get("next_cursor") or None
    more = bool(data.get("has_more")) and cursor_next is not None
    return HistoryPage(messages=messages, next_cursor=str(cursor_next) if more else None)


class SlackClient:
    def __init__(
        self,
        token: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        timeout: int = DEFAULT_TIMEOUT,
    ) -> None:
        self._web = WebClient(token=token, base_url=base_url, timeout=timeout, retry_handlers=[])

    def __repr__(self) -> str:  # the token stays out of logs and tracebacks
        return f"SlackClient(base_url={self._web.base_url!r})"

    def _call(
        self, method: str, sdk_method: Callable[..., SlackResponse], **arguments: Any
    ) -> dict[str, Any]:
        # Through the SDK's own method: it encodes each as Slack accepts it (some read
        # methods, users.lookupByEmail among them, take no JSON body).
        try:
            response = sdk_method(**arguments)
        except SlackApiError as error:
            raise _mapped(method, error) from None
        except (SlackClientError, URLError, OSError) as error:
            # No answer at all (refused, reset, timed out): worth another try later.
            raise Transient(method, type(error).__name__) from None
        data = response.data
        return data if isinstance(data, dict) else {}

    def auth_test(self) -> dict[str, Any]:
        """Who the token is (team, bot user); raises InvalidAuth/TokenRevoked when unusable."""
        return self._call("auth.test", self._web.auth_test)

    def post_message(
        self,
        channel: str,
        text: str,
        *,
        blocks: Sequence[Mapping[str, Any]] | None = None,
        thread_ts: str | None = None,
        metadata_type: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> PostedMessage:
        """Posts to a channel (id or name) or a user id (the bot's DM with that user). `text`
        is the notification fallback beside `blocks`; `metadata` lets a later lookup find
        the message again without a stored `ts`."""
        arguments: dict[str, Any] = {"channel": channel, "text": text}
        if blocks is not None:
            arguments["blocks"] = list(blocks)
        if thread_ts is not None:
            arguments["thread_ts"] = thread_ts
        if metadata_type is not None:
            arguments["metadata"] = _metadata(metadata_type, metadata or {})
        data = self._call("chat.postMessage", self._web.chat_postMessage, **arguments)
        return PostedMessage(channel=str(data["channel"]), ts=str(data["ts"]))

    def update_message(
        self,
        channel: str,
        ts: str,
        text: str,
        *,
        blocks: Sequence[Mapping[str, Any]] | None = None,
        metadata_type: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> PostedMessage:
        """Edits a message the bot posted, in place; `channel` must be the id it came back with."""
        arguments: dict[str, Any] = {"channel": channel, "ts": ts, "text": text}
        if blocks is not None:
            arguments["blocks"] = list(blocks)
        if metadata_type is not None:
            arguments["metadata"] = _metadata(metadata_type, metadata or {})
        data = self._call("chat.update", self._web.chat_update, **arguments)
        return PostedMessage(channel=str(data["channel"]), ts=str(data["ts"]))

    def history(
        self,
        channel: str,
        *,
        oldest: str | None = None,
        cursor: str | None = None,
        limit: int = 100,
    ) -> HistoryPage:
        """One page of a conversation's top-level messages, newest first, metadata included;
        `channel` is an id (a DM's `D…`), `oldest` a ts bounding the window from below."""
        data = self._call(
            "conversations.history",
            self._web.conversations_history,
            channel=channel,
            oldest=oldest,
            cursor=cursor,
            limit=limit,
            include_all_metadata=True,
        )
        return _history_page(data)

    def thread(
        self, channel: str, ts: str, *, cursor: str | None = None, limit: int = 100
    ) -> HistoryPage:
        """One page of a thread, oldest first: its parent, then the replies, metadata included.
        MessageGone (`thread_not_found`) when there is no such message."""
        data = self._call(
            "conversations.replies",
            self._web.conversations_replies,
            channel=channel,
            ts=ts,
            cursor=cursor,
            limit=limit,
            include_all_metadata=True,
        )
        return _history_page(data)

    def channel_id(self, name: str, *, max_pages: int = 10) -> str | None:
        """The id of the public channel called `name` (with or without `#`), from
        `conversations.list` (scope `channels:read`); None when no listed channel has it."""
        wanted = name.removeprefix("#")
        cursor: str | None = None
        for _ in range(max_pages):
            data = self._call(
                "conversations.list",
                self._web.conversations_list,
                types="public_channel",
                exclude_archived=True,
                limit=200,
                cursor=cursor,
            )
            for channel in data.get("channels") or []:
                if channel.get("name") == wanted:
                    return str(channel["id"])
            cursor = (data.get("response_metadata") or {}).get("next_cursor") or None
            if cursor is None:
                return None
        return None

    def users_lookup_by_email(self, email: str) -> SlackUserInfo:
        """The member with this email; UserNotFound (`users_not_found`) when there is none."""
        found = self._call("users.lookupByEmail", self._web.users_lookupByEmail, email=email)
        user = found.get("user") or {}
        profile = user.get("profile") or {}
        return SlackUserInfo(
            id=str(user["id"]),
            name=str(user.get("name") or ""),
            email=profile.get("email"),
            time_zone=user.get("tz"),
            deleted=bool(user.get("deleted")),
        )

    def open_dm(self, user_id: str) -> str:
        """The id of the bot's direct-message conversation with `user_id` (opened if needed)."""
        opened = self._call("conversations.open", self._web.conversations_open, users=user_id)
        channel = opened.get("channel") or {}
        return str(channel["id"])
