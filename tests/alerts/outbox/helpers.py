"""A store with one portal, the rules (and their `alerts:` section) in force, and leads whose
first touch is late, evaluated the way the service does."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.evaluation import evaluate_all
from app.evaluation.rules_store import activate_text
from app.models import AlertDelivery
from app.sla.loader import load_rules
from app.store.db import SessionFactory
from tests.fixtures.crm import add_contact, seed_portal, utc
from tests.fixtures.rules import CALENDAR

RULES = """rules:
  - id: first-touch
    kind: response
    start: {entered_stage: marketingqualifiedlead}
    stop: {engagement: {types: [call]}}
    goal: 4h
"""

ALERTS = """alerts:
  managers:
    "55": [U0MANAGER]
  webhooks:
    crm:
      url: http://127.0.0.1:9/hooks
      secret_env: SLAGUARD_TEST_WEBHOOK_SECRET
      events: [breached]
  routes:
    - name: reps
      match: {rules: [first-touch], events: [breached]}
      receivers: [owner, "#sales", "webhook:crm"]
      fallback: ["#sales-managers"]
"""

# Monday 2020-01-06 15:00 New York, 4 business hours: due Tuesday 10:00 New York (15:00 UTC).
MQL_AT = utc("2020-01-06 20:00")
DUE_AT = utc("2020-01-07 15:00")
SOON_AFTER = utc("2020-01-07 16:00")


def put_rules_in_force(
    session: Session, tmp_path: Path, alerts: str | None = ALERTS, now: datetime = MQL_AT
) -> None:
    text = CALENDAR + RULES + (alerts or "")
    path = tmp_path / "sla.yaml"
    path.write_text(text)
    activate_text(session, path, text, load_rules(path), now)


def seed_leads(session: Session, count: int = 1, owner: str | None = "7") -> None:
    seed_portal(session)
    for number in range(1, count + 1):
        add_contact(
            session,
            str(number),
            [("lead", utc("2020-01-06 18:00")), ("marketingqualifiedlead", MQL_AT)],
            owner=owner,
        )


def evaluate(session: Session, now: datetime = SOON_AFTER) -> None:
    evaluate_all(session, now=now)


def deliveries(session: Session) -> list[dict[str, Any]]:
    rows = session.scalars(select(AlertDelivery).order_by(AlertDelivery.id)).all()
    return [
        {
            "receiver": row.receiver,
            "state": row.state,
            "target_kind": row.target_kind,
            "target": row.target,
            "reason": row.reason,
        }
        for row in rows
    ]


def states_by_receiver(factory: SessionFactory) -> dict[str, tuple[str, datetime | None]]:
    """Each delivery's state and next attempt, by receiver."""
    with factory() as session:
        found = session.scalars(select(AlertDelivery)).all()
        return {row.receiver: (row.state, row.next_attempt_at) for row in found}
