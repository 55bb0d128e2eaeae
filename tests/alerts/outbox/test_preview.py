"""`alerts preview`: what each receiver of an SLA event would get, nothing sent or written."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from alerts.messages import render_alert
from alerts.outbox.config import alerts_in_force
from alerts.outbox.jobs import facts_for
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


def test_a_breach_message_counts_lateness_in_the_rules_calendar_and_on_the_clock(
    session: Session, tmp_path: Path
) -> None:
    seed_leads(session)
    put_rules_in_force(session, tmp_path)
    evaluate(session)
    session.commit()
    breach = session.scalar(select(SlaEvent.id).where(SlaEvent.type == "breached"))
    assert breach is not None
    # Due Tuesday 10:00 New York; read the next Monday 10:00: Tue 8 h + Wed-Fri 3 x 9 h + Mon 1 h
    # of a 09:00-18:00 weekday calendar, six days on the clock.
    facts = facts_for(session, breach, datetime(2020, 1, 13, 15, 0, tzinfo=UTC))

    assert facts.late_business == timedelta(hours=36)
    assert facts.late_wall == timedelta(days=6)
    assert "late by 1 d 12 h of business time (6 d on the clock)" in render_alert(facts).text
