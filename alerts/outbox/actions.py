"""The alert buttons' effect in the store: `/slack/actions` hands each verified click here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from alerts.outbox.silences import SilenceSpec, acknowledge, create_silence
from app.store.db import SessionFactory, session_scope


@dataclass(frozen=True, slots=True)
class StoredSlackActions:
    """Acknowledge records who has the instance in hand (its reminders stop); snooze mutes the
    instance until the time by a silence, which lists and ends like any other."""

    factory: SessionFactory

    def acknowledge(self, instance_id: int, slack_user: str, at: datetime) -> None:
        with session_scope(self.factory) as session:
            acknowledge(session, instance_id, f"slack:{slack_user}", at, "slack")

    def snooze(self, instance_id: int, slack_user: str, until: datetime, at: datetime) -> None:
        spec = SilenceSpec(
            reason="snoozed from Slack",
            starts_at=at,
            ends_at=until,
            instance_id=instance_id,
        )
        with session_scope(self.factory) as session:
            create_silence(session, spec, f"slack:{slack_user}", at)
