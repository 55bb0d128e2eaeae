"""The alert buttons' effect in the store: `/slack/actions` hands each verified click here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from alerts.outbox.silences import INSTANCE_TARGET, SilenceSpec, acknowledge, create_silence
from app.admin import audit
from app.admin.audit import SLACK_SOURCE, Actor
from app.store.db import SessionFactory, session_scope


@dataclass(frozen=True, slots=True)
class StoredSlackActions:
    """Acknowledge records who has the instance in hand (its reminders stop); snooze mutes the
    instance until the time by a silence, which lists and ends like any other. Each click is
    one row of the audit log, in the same transaction as its effect."""

    factory: SessionFactory

    def acknowledge(self, instance_id: int, slack_user: str, at: datetime) -> None:
        who = Actor(f"slack:{slack_user}", SLACK_SOURCE)
        with session_scope(self.factory) as session:
            acknowledge(session, instance_id, who.who, at, "slack")
            audit.record(session, who, "acknowledge", f"{INSTANCE_TARGET}{instance_id}", at)

    def snooze(self, instance_id: int, slack_user: str, until: datetime, at: datetime) -> None:
        spec = SilenceSpec(
            reason="snoozed from Slack",
            starts_at=at,
            ends_at=until,
            instance_id=instance_id,
        )
        who = Actor(f"slack:{slack_user}", SLACK_SOURCE)
        with session_scope(self.factory) as session:
            silence_id = create_silence(session, spec, who.who, at)
            details = {"until": until.isoformat(), "silence_id": silence_id}
            audit.record(session, who, "snooze", f"{INSTANCE_TARGET}{instance_id}", at, details)
