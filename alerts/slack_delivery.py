"""Delivering a job to Slack: one message per SLA instance and target, updated in place.

- A user target is reached in the bot's DM with them (`conversations.open`), a channel by id.
- The first message of an instance is posted and its (channel, ts) saved through
  `SlackMessageRefs`; later jobs `chat.update` it, and reminders and escalations reply in its
  thread.
- Every post carries message metadata with the job's idempotency key. A retried job that
  has nothing stored to update first looks for its own message in the conversation's recent
  history (a reply, in its thread), so a worker that died between posting and saving the ref
  or recording the attempt does not post twice.
- Calls are paced before they are made (`SlackPacer`), and every Slack failure becomes an
  outcome the outbox acts on: wait and retry, retry with backoff, or a dead letter.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from alerts.delivery import (
    DeliveryJob,
    DeliveryResult,
    MessageRef,
    Outcome,
    SlackContent,
    SlackMessageRefs,
)
from alerts.model import TargetKind
from integrations.slack import (
    ChannelMessage,
    HistoryPage,
    InvalidAuth,
    MessageGone,
    PostedMessage,
    RateLimited,
    SlackClient,
    SlackError,
)
from integrations.slack.pacing import SlackPacer

METADATA_TYPE = "slaguard_alert"
# How far back a retry looks for a message it may already have posted: further than the
# outbox's longest wait between two attempts.
DEFAULT_LOOKBACK_SECONDS = 2 * 24 * 3600.0
DEFAULT_HISTORY_PAGES = 5
_CONVERSATION_ID_PREFIXES = ("C", "G", "D")


@dataclass(frozen=True, slots=True)
class LookupWindow:
    seconds: float = DEFAULT_LOOKBACK_SECONDS
    pages: int = DEFAULT_HISTORY_PAGES


class SlackDeliverer:
    def __init__(
        self,
        client: SlackClient,
        refs: SlackMessageRefs,
        *,
        pacer: SlackPacer | None = None,
        sleep: Callable[[float], None] = time.sleep,
        wall_clock: Callable[[], float] = time.time,
        lookup: LookupWindow | None = None,
    ) -> None:
        self._client = client
        self._refs = refs
        self._pacer = pacer or SlackPacer()
        self._sleep = sleep
        self._wall_clock = wall_clock
        self._lookup = lookup or LookupWindow()
        # Learned ids: a user's DM channel, a channel name's id (both stable in Slack).
        self._conversations: dict[str, str] = {}
        self._cannot_list_channels = False

    def deliver(self, job: DeliveryJob) -> DeliveryResult:
        started = time.monotonic()
        if job.slack is None or job.target_kind is TargetKind.WEBHOOK:
            return DeliveryResult(Outcome.DEAD, detail="not a Slack delivery")
        try:
            ref = self._send(job, job.slack)
        except SlackError as error:
            return failure_result(error, time.monotonic() - started)
        return DeliveryResult(
            Outcome.DELIVERED,
            duration=time.monotonic() - started,
            slack_channel=ref.channel,
            slack_ts=ref.ts,
        )

    # -- the message of an instance ------------------------------------------------------

    def _send(self, job: DeliveryJob, content: SlackContent) -> MessageRef:
        ref = None
        if content.instance_id is not None:
            ref = self._refs.find(content.instance_id, job.target)
        if ref is not None:
            try:
                return self._follow_up(ref, job, content)
            except MessageGone:
                pass  # someone deleted it: the instance starts a new message below
        channel = self._conversation(job)
        posted = self._already_posted(channel, job) if job.attempt > 1 else None
        if posted is None:
            posted = self._post(channel or job.target, job, content, thread_ts=None)
        ref = MessageRef(posted.channel, posted.ts)
        if content.instance_id is not None:
            self._refs.save(content.instance_id, job.target, ref)
        return ref

    def _follow_up(self, ref: MessageRef, job: DeliveryJob, content: SlackContent) -> MessageRef:
        if content.in_thread:
            reply = self._replied_already(ref, job) if job.attempt > 1 else None
            if reply is None:
                reply = self._post(ref.channel, job, content, thread_ts=ref.ts)
            return MessageRef(reply.channel, reply.ts)
        self._wait(self._pacer.call_delay("chat.update"))
        self._client.update_message(
            ref.channel,
            ref.ts,
            content.message.text,
            blocks=content.message.blocks,
            metadata_type=METADATA_TYPE,
            metadata=_metadata(job, content),
        )
        return ref

    def _post(
        self, channel: str, job: DeliveryJob, content: SlackContent, *, thread_ts: str | None
    ) -> PostedMessage:
        self._wait(self._pacer.post_delay(channel))
        posted = self._client.post_message(
            channel,
            content.message.text,
            blocks=content.message.blocks,
            thread_ts=thread_ts,
            metadata_type=METADATA_TYPE,
            metadata=_metadata(job, content),
        )
        if not _is_conversation_id(job.target):
            self._conversations.setdefault(job.target, posted.channel)
        return posted

    # -- where it goes, and whether it is there already ----------------------------------

    def _conversation(self, job: DeliveryJob) -> str | None:
        """The conversation id to post in and read back; None for a channel known by name
        only until its first post tells its id."""
        if _is_conversation_id(job.target):
            return job.target
        known = self._conversations.get(job.target)
        if known is not None:
            return known
        if job.target_kind is TargetKind.SLACK_CHANNEL:
            # Only a retry reads the channel back, so only a retry looks its id up.
            return self._channel_by_name(job.target) if job.attempt > 1 else None
        if job.target_kind is not TargetKind.SLACK_USER:
            return None
        self._wait(self._pacer.call_delay("conversations.open"))
        opened = self._client.open_dm(job.target)
        self._conversations[job.target] = opened
        return opened

    def _channel_by_name(self, name: str) -> str | None:
        """The id of a channel the rules name by name, so that a retry in a process that has
        not posted there yet can read it back. None when it is not listed or the token may
        not list channels (`channels:read`): then the retry posts, as it could not tell."""
        if self._cannot_list_channels:
            return None
        self._wait(self._pacer.call_delay("conversations.list"))
        try:
            found = self._client.channel_id(name)
        except InvalidAuth as error:
            if error.error != "missing_scope":
                raise
            self._cannot_list_channels = True
            return None
        if found is not None:
            self._conversations[name] = found
        return found

    def _already_posted(self, channel: str | None, job: DeliveryJob) -> PostedMessage | None:
        if channel is None:
            return None  # cannot read a channel by name; see _conversation
        oldest = f"{max(0.0, self._wall_clock() - self._lookup.seconds):.6f}"

        def page(cursor: str | None) -> HistoryPage:
            return self._client.history(channel, oldest=oldest, cursor=cursor)

        return self._find_key("conversations.history", page, channel, job.key)

    def _replied_already(self, parent: MessageRef, job: DeliveryJob) -> PostedMessage | None:
        def page(cursor: str | None) -> HistoryPage:
            return self._client.thread(parent.channel, parent.ts, cursor=cursor)

        return self._find_key("conversations.replies", page, parent.channel, job.key)

    def _find_key(
        self,
        method: str,
        page: Callable[[str | None], HistoryPage],
        channel: str,
        key: str,
    ) -> PostedMessage | None:
        """The message carrying `key` among the first pages `page` reads, if any."""
        cursor = None
        for _ in range(self._lookup.pages):
            self._wait(self._pacer.call_delay(method))
            read = page(cursor)
            found = _carrying_key(read.messages, key)
            if found is not None:
                return PostedMessage(channel=channel, ts=found)
            if read.next_cursor is None:
                return None
            cursor = read.next_cursor
        return None

    def _wait(self, seconds: float) -> None:
        if seconds > 0:
            self._sleep(seconds)


def _carrying_key(messages: Iterable[ChannelMessage], key: str) -> str | None:
    """The ts of the message posted for the job with this idempotency key, if one is here."""
    for message in messages:
        if message.metadata_type == METADATA_TYPE and message.metadata.get("key") == key:
            return message.ts
    return None


def _is_conversation_id(target: str) -> bool:
    return target[:1] in _CONVERSATION_ID_PREFIXES and target[1:].isalnum() and target.isupper()


def _metadata(job: DeliveryJob, content: SlackContent) -> dict[str, Any]:
    payload: dict[str, Any] = {"key": job.key}
    if content.instance_id is not None:
        payload["instance_id"] = content.instance_id
    return payload


def failure_result(error: SlackError, duration: float) -> DeliveryResult:
    """What the outbox does about a Slack failure: wait as asked, back off, or give up."""
    if isinstance(error, RateLimited):
        return DeliveryResult(
            Outcome.RETRY,
            detail=str(error),
            status_code=error.status,
            retry_after=error.retry_after,
            duration=duration,
        )
    return DeliveryResult(
        Outcome.RETRY if error.retryable else Outcome.DEAD,
        detail=str(error),
        status_code=error.status,
        duration=duration,
        auth_broken=isinstance(error, InvalidAuth),
    )
