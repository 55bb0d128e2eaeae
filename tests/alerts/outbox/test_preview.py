"""`alerts preview`: what each receiver of an SLA event would get, nothing sent or written."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from alerts.outbox.config import alerts_in_force
from alerts.outbox.preview import preview
from app.models import AlertDelivery, SlaEvent
from tests.alerts.outbox.helpers import evaluate, put_rules_in_force, seed_leads


def test_preview_shows_each_receiver_its_message_or_payload(
    session: Session, tmp_path: Path
) -> None:
    seed_leads(session)
    put_rules_in_force(session, tmp_path)
    evaluate(session)
    session.commit()
    breach = session.scalar(select(SlaEvent.id).where(SlaEvent.type == "breached"))
    assert breach is not None
    config = alerts_in_force(session)
    assert config is not None
    before = session.scalar(select(func.count()).select_from(AlertDelivery))

    shown = preview(session, breach, config, datetime.now(UTC))

    assert [(p.route, p.target) for p in shown] == [
        ("reps", "owner (looked up when sent)"),
        ("reps", "slack_channel:sales"),
        ("reps", "webhook:crm"),
    ]
    dm = json.loads(shown[0].body)
    assert dm["text"].startswith("SLA breached: contact 1 — first-touch (within 4h)")
    payload = json.loads(shown[2].body)
    assert (payload["type"], payload["data"]["record"]["object_id"]) == ("sla.breached", "1")
    assert session.scalar(select(func.count()).select_from(AlertDelivery)) == before
