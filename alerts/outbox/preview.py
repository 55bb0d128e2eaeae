"""`slaguard alerts preview EVENT_ID`: who an SLA event goes to and what each one gets,
without sending or writing anything."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from alerts.config import AlertsConfig
from alerts.hubspot_jobs import hubspot_target, preview_body
from alerts.model import TargetKind
from alerts.outbox.enqueue import planned_for
from alerts.outbox.events import alert_event
from alerts.outbox.jobs import content_for
from app.models import SlaEvent


@dataclass(frozen=True, slots=True)
class Preview:
    route: str
    receiver: str
    target: str  # the target, or how it will be found
    body: str  # the Slack fallback text and blocks, or the webhook payload, as JSON


def preview(session: Session, event_id: int, config: AlertsConfig, now: datetime) -> list[Preview]:
    row = session.get(SlaEvent, event_id)
    if row is None:
        raise LookupError(f"there is no SLA event {event_id}")
    shown: list[Preview] = []
    for route, planned in planned_for(session, alert_event(row), config):
        if planned.target_kind is None:
            # An owner's or manager's DM: the Slack user is looked up when it is sent.
            kind, target, where = (
                TargetKind.SLACK_USER,
                "",
                f"{planned.receiver} (looked up when sent)",
            )
        else:
            kind, target = planned.target_kind, planned.target or ""
            where = f"{kind}:{target}"
        if hubspot_target(kind):
            body = preview_body(session, event_id, kind)
            shown.append(Preview(route, planned.receiver, where, body))
            continue
        slack, webhook = content_for(session, event_id, kind, target, config, now)
        if webhook is not None:
            body = json.dumps(webhook.payload, indent=2)
        else:
            assert slack is not None
            message = slack.message
            body = json.dumps({"text": message.text, "blocks": message.blocks}, indent=2)
        shown.append(Preview(route, planned.receiver, where, body))
    return shown
