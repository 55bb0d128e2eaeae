"""Everything the Slack emulator knows: tokens, the workspace, every message and every call.

The API runs on the server's event loop while tests read from their own thread, so every read
and write goes through one lock and readers get copies.
"""

from __future__ import annotations

import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sandbox.slack.faults import FaultInjector
from sandbox.slack.ids import SlackIdFactory, format_ts, new_bot_token
from sandbox.slack.limits import SlackRateLimiter, SlackRateLimits
from sandbox.slack.outage import OutageSwitch
from sandbox.slack.workspace import (
    DEFAULT_CHANNELS,
    DEFAULT_PEOPLE,
    MessageVersion,
    SlackChannel,
    SlackPerson,
    SlackUser,
    StoredMessage,
)

MAX_CALL_RECORDS = 10_000
_CHANNEL_NAME = re.compile(r"[a-z0-9_-][a-z0-9._-]{0,79}")
# What slaguard's bot asks for at install (docs/sandbox.md): post, open DMs, find people by
# email, and read back its own recent posts (finding a message by metadata after a crash, in
# a channel the rules name by name: listing channels finds its id).
BOT_SCOPES = frozenset(
    {
        "chat:write",
        "channels:read",
        "im:write",
        "users:read",
        "users:read.email",
        "channels:history",
        "im:history",
    }
)


@dataclass(frozen=True)
class CallRecord:
    """One API call as the emulator answered it (never the token)."""

    method: str
    status: int
    error: str | None
    fault: str | None


class SlackEmulatorState:
    """A Slack workspace with one bot app installed, and the switches tests turn."""

    def __init__(
        self,
        tokens: set[str] | None = None,
        *,
        seed: int = 0,
        fault_rate: float = 0.0,
        rate_limits: bool = True,
        users: Iterable[SlackPerson] | None = None,
        channels: Iterable[str] | None = None,
        limits: SlackRateLimits | None = None,
        slow_seconds: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        team_name: str = "slaguard sandbox",
        scopes: Iterable[str] = BOT_SCOPES,
    ) -> None:
        self.lock = threading.RLock()
        # Woken on every post and update, for tests that wait on a background sender.
        self._changed = threading.Condition(self.lock)
        self.tokens: set[str] = set(tokens) if tokens is not None else {new_bot_token()}
        if not self.tokens:
            raise ValueError("the Slack emulator needs at least one token")
        self.revoked_tokens: set[str] = set()
        self.scopes = frozenset(scopes)
        self.rate_limits = rate_limits
        self.limiter = SlackRateLimiter(limits or SlackRateLimits(), clock)
        self.faults = FaultInjector(fault_rate, seed, slow_seconds)
        # Scripted episodes a test turns on and off (POST /slack/api/faults).
        self.outages = OutageSwitch(clock)
        self._wall_clock = wall_clock
        self.calls: deque[CallRecord] = deque(maxlen=MAX_CALL_RECORDS)

        self._ids = SlackIdFactory(seed)
        self.team_id = self._ids.new_id("T")
        self.team_name = team_name
        self.team_domain = "slaguard-sandbox"
        self.app_id = self._ids.new_id("A")
        self.bot_user = self._make_bot_user()
        self._users: dict[str, SlackUser] = {self.bot_user.id: self.bot_user}
        self._user_by_email: dict[str, str] = {}
        for person in users if users is not None else DEFAULT_PEOPLE:
            self.add_user(person)

        self._channels: dict[str, SlackChannel] = {}
        self._dm_by_user: dict[str, str] = {}
        # Per channel, messages by ts in posting order (ts increase, so this is ts order too).
        self._messages: dict[str, dict[str, StoredMessage]] = {}
        self._replies: dict[tuple[str, str], list[StoredMessage]] = {}
        self.add_channel("general", bot_is_member=False)
        for name in channels if channels is not None else DEFAULT_CHANNELS:
            self.add_channel(name)

    # -- workspace -------------------------------------------------------------------------

    def _make_bot_user(self) -> SlackUser:
        return SlackUser(
            id=self._ids.new_id("U"),
            name="slaguard",
            real_name="slaguard",
            first_name="",
            last_name="",
            email=None,
            title="",
            time_zone="America/Los_Angeles",
            is_bot=True,
            bot_id=self._ids.new_id("B"),
        )

    def add_user(self, person: SlackPerson) -> SlackUser:
        """Adds a member; an email already in use is refused, as Slack does."""
        try:
            ZoneInfo(person.time_zone)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(
                f"unknown time zone {person.time_zone!r} for {person.address}"
            ) from error
        with self.lock:
            email = person.address.lower()
            if email in self._user_by_email:
                raise ValueError(f"a Slack user with the email {email} already exists")
            user = SlackUser(
                id=self._ids.new_id("U"),
                name=email.split("@", 1)[0],
                real_name=f"{person.first_name} {person.last_name}".strip(),
                first_name=person.first_name,
                last_name=person.last_name,
                email=email,
                title=person.title,
                time_zone=person.time_zone,
                deleted=person.deleted,
            )
            self._users[user.id] = user
            self._user_by_email[email] = user.id
            return user

    def add_channel(self, name: str, *, bot_is_member: bool = True) -> SlackChannel:
        name = name.removeprefix("#")
        if not _CHANNEL_NAME.fullmatch(name):
            raise ValueError(
                f"{name!r} is not a Slack channel name: up to 80 lower-case letters, digits, - or _"
            )
        with self.lock:
            if self.channel(name) is not None:
                raise ValueError(f"a Slack channel named {name} already exists")
            channel = SlackChannel(
                id=self._ids.new_id("C"),
                name=name,
                created=int(self._wall_clock()),
                bot_is_member=bot_is_member,
            )
            self._channels[channel.id] = channel
            self._messages[channel.id] = {}
            return channel

    def revoke_token(self, token: str) -> None:
        """From now on the token is answered `token_revoked`, as after an uninstall."""
        with self.lock:
            self.revoked_tokens.add(token)

    def archive_channel(self, reference: str) -> None:
        with self.lock:
            channel = self.channel(reference)
            if channel is None:
                raise KeyError(reference)
            channel.is_archived = True

    def users(self) -> list[SlackUser]:
        with self.lock:
            return list(self._users.values())

    def user(self, user_id: str) -> SlackUser | None:
        with self.lock:
            return self._users.get(user_id)

    def user_by_email(self, email: str) -> SlackUser | None:
        with self.lock:
            user_id = self._user_by_email.get(email.strip().lower())
            return self._users.get(user_id) if user_id else None

    def channels(self) -> list[SlackChannel]:
        with self.lock:
            return list(self._channels.values())

    def channel(self, reference: str) -> SlackChannel | None:
        """A channel by id, or by name with or without `#` (chat.postMessage accepts names)."""
        with self.lock:
            found = self._channels.get(reference)
            if found is not None:
                return found
            name = reference.removeprefix("#")
            for channel in self._channels.values():
                if not channel.is_im and channel.name == name:
                    return channel
            return None

    def dm_channel_for(self, user_id: str) -> SlackChannel | None:
        with self.lock:
            channel_id = self._dm_by_user.get(user_id)
            return self._channels[channel_id] if channel_id else None

    def open_dm(self, user: SlackUser) -> tuple[SlackChannel, bool]:
        """The bot's DM with `user`, and whether it was already open."""
        with self.lock:
            existing = self.dm_channel_for(user.id)
            if existing is not None:
                return existing, True
            channel = SlackChannel(
                id=self._ids.new_id("D"),
                name=user.name,
                created=int(self._wall_clock()),
                is_im=True,
                im_user=user.id,
            )
            self._channels[channel.id] = channel
            self._messages[channel.id] = {}
            self._dm_by_user[user.id] = channel.id
            return channel, False

    # -- messages --------------------------------------------------------------------------

    def _next_ts(self, channel: SlackChannel) -> str:
        # Slack's ts is the post time in microseconds, unique and increasing within a channel.
        micros = max(int(self._wall_clock() * 1_000_000), channel.last_ts_micros + 1)
        channel.last_ts_micros = micros
        return format_ts(micros)

    def append_message(
        self, channel: SlackChannel, user: SlackUser, version: MessageVersion, thread_ts: str | None
    ) -> StoredMessage:
        with self.lock:
            message = StoredMessage(
                channel=channel.id,
                ts=self._next_ts(channel),
                user=user.id,
                bot_id=user.bot_id,
                thread_ts=thread_ts,
                versions=[version],
            )
            self._messages[channel.id][message.ts] = message
            if thread_ts is not None:
                self._replies.setdefault((channel.id, thread_ts), []).append(message)
            self._changed.notify_all()
            return message

    def edit_message(self, message: StoredMessage, version: MessageVersion) -> None:
        with self.lock:
            message.versions.append(version)
            self._changed.notify_all()

    def edit_ts(self) -> str:
        """The `edited.ts` of an update: the time of the edit, in Slack's ts shape."""
        return format_ts(int(self._wall_clock() * 1_000_000))

    def find_message(self, channel_id: str, ts: str) -> StoredMessage | None:
        with self.lock:
            return self._messages.get(channel_id, {}).get(ts)

    def top_level_messages(self, channel_id: str) -> list[StoredMessage]:
        """A channel's messages outside threads, oldest first (the live objects: hold the lock)."""
        with self.lock:
            every = self._messages.get(channel_id, {}).values()
            return [message for message in every if message.thread_ts is None]

    def thread_replies(self, channel_id: str, thread_ts: str) -> list[StoredMessage]:
        with self.lock:
            return list(self._replies.get((channel_id, thread_ts), []))

    def clear_messages(self) -> None:
        """Forgets every message (channels, DMs and users stay), e.g. between demo runs."""
        with self.lock:
            for messages in self._messages.values():
                messages.clear()
            self._replies.clear()
            self.calls.clear()

    def messages(self, channel_reference: str) -> list[StoredMessage]:
        """Every message of a channel (by id or name), oldest first, with its versions.

        Raises KeyError for an unknown channel, so a test with a typo fails loudly."""
        with self.lock:
            channel = self.channel(channel_reference)
            if channel is None:
                raise KeyError(channel_reference)
            return [_copy_message(message) for message in self._messages[channel.id].values()]

    def messages_to(self, email: str) -> list[StoredMessage]:
        """The messages in the bot's DM with the person who has this email (none: empty)."""
        with self.lock:
            user = self.user_by_email(email)
            dm = self.dm_channel_for(user.id) if user else None
            return self.messages(dm.id) if dm else []

    def wait_for(
        self, predicate: Callable[[list[StoredMessage]], bool], timeout: float = 10.0
    ) -> list[StoredMessage]:
        """Blocks until `predicate(all messages)` holds and returns them; raises TimeoutError
        naming what was there, so a test of a background sender fails with a reason."""
        with self._changed:
            if self._changed.wait_for(lambda: predicate(self.all_messages()), timeout):
                return self.all_messages()
            seen = [f"{m.channel}:{m.text!r}" for m in self.all_messages()]
            raise TimeoutError(f"no such Slack messages after {timeout} s; there are {seen}")

    def message_count(self, channel_id: str) -> int:
        with self.lock:
            return len(self._messages.get(channel_id, {}))

    def all_messages(self) -> list[StoredMessage]:
        with self.lock:
            every = [m for ms in self._messages.values() for m in ms.values()]
            return [_copy_message(message) for message in every]

    def post_as_user(self, channel_reference: str, user_id: str, text: str) -> StoredMessage:
        """A message written by a person, for tests (the bot may not edit it)."""
        with self.lock:
            channel = self.channel(channel_reference)
            user = self.user(user_id)
            if channel is None or user is None:
                raise KeyError(channel_reference if channel is None else user_id)
            return self.append_message(channel, user, MessageVersion(text, [], [], None), None)

    def record_call(self, record: CallRecord) -> None:
        with self.lock:
            self.calls.append(record)


def _copy_message(message: StoredMessage) -> StoredMessage:
    return StoredMessage(
        channel=message.channel,
        ts=message.ts,
        user=message.user,
        bot_id=message.bot_id,
        thread_ts=message.thread_ts,
        versions=list(message.versions),
    )
