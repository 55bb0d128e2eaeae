"""A store for the scheduled posts: one portal in New York, two reps, leads from the week
before Monday 2026-12-07, rules of every kind the scorecard shows, and `scorecard:` and
`digest:` settings in force."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session

from app.evaluation import evaluate_all
from app.evaluation.rules_store import activate_text
from app.sla.loader import load_rules
from tests.fixtures.crm import add_mql, add_owner, add_touch, seed_portal, utc
from tests.fixtures.rules import CALENDAR

RULES = """rules:
  - id: first-touch
    name: MQL first touch
    kind: response
    start: {entered_stage: marketingqualifiedlead}
    stop: {engagement: {types: [call]}}
    goal: 4h
  - id: monthly-mqls
    name: Monthly MQLs
    kind: quota
    object: contact
    counts: {property: lifecyclestage, equals: marketingqualifiedlead}
    period: month
    target: 20
  - id: acceptance
    name: MQL acceptance
    kind: rate
    object: contact
    denominator: {property: lifecyclestage, equals: marketingqualifiedlead}
    numerator: {property: lifecyclestage, equals: salesqualifiedlead}
    window: 30d
    minimum: 0.4
    min_sample: 1
"""

POSTS = """alerts:
  scorecard:
    channel: "#revops-alerts"
    weekday: monday
    time: "09:00"
    timezone: America/New_York
  digest: {}
"""

# Monday 2026-12-07, 09:00 in New York: the scorecard's time and the reps' first hour.
MONDAY_9 = utc("2026-12-07 14:00")
# Friday 16:00 New York + 4 business hours: due Monday 11:00 New York.
FRIDAY_MQL = utc("2026-12-04 21:00")
DUE_MONDAY = utc("2026-12-07 16:00")


def put_in_force(
    session: Session, tmp_path: Path, alerts: str = POSTS, calendar: str = CALENDAR
) -> None:
    text = calendar + RULES + alerts
    path = tmp_path / "sla.yaml"
    path.write_text(text)
    activate_text(session, path, text, load_rules(path), utc("2026-11-01 00:00"))


def seed_week(session: Session) -> None:
    """Rep 7 touched lead 1 in an hour and has lead 3 due on Monday; rep 8 let lead 2 breach."""
    seed_portal(session)
    add_owner(session, "8", email="ada@example.com", first_name="Ada", last_name="Lovelace")
    add_mql(session, "1", utc("2026-12-01 20:00"))
    add_touch(session, "e1", "1", utc("2026-12-01 21:00"))
    add_mql(session, "2", utc("2026-12-01 20:00"), owner="8")
    add_mql(session, "3", FRIDAY_MQL)


def evaluate(session: Session) -> None:
    evaluate_all(session, now=MONDAY_9)
