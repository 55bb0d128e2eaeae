"""`SlackMessageRefs` in the store: where each SLA instance's message lives, per target, so
the Slack deliverer updates it in place instead of posting again."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from alerts.delivery import MessageRef
from app.models import AlertSlackMessage
from app.store.db import SessionFactory, write_scope


class StoredSlackMessageRefs:
    def __init__(
        self, factory: SessionFactory, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self._factory = factory
        self._clock = clock

    def find(self, instance_id: int, target: str) -> MessageRef | None:
        with self._factory() as session:
            row = session.get(AlertSlackMessage, (instance_id, target))
            return None if row is None else MessageRef(row.channel, row.ts)

    def save(self, instance_id: int, target: str, ref: MessageRef) -> None:
        # Committed at once: a crash after the post must not lose where the message is.
        with write_scope(self._factory) as session:
            row = session.get(AlertSlackMessage, (instance_id, target))
            if row is None:
                row = AlertSlackMessage(instance_id=instance_id, target=target)
                session.add(row)
            row.channel, row.ts, row.updated_at = ref.channel, ref.ts, self._clock()
