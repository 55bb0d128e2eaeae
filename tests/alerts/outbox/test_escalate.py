"""Escalation steps and reminders fire at their business time while a breach stays open, once
each, and stop when the record is met."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from alerts.model import TargetKind
from alerts.outbox.escalate import fire_due_follow_ups
from alerts.outbox.runtime import slack_deliverer
from alerts.outbox.worker import Worker
from app.config import Settings
from app.evaluation import evaluate_all
from app.evaluation.rules_store import activate_text
from app.models import AlertDelivery, SlaEvent
from app.sla.loader import load_rules
from app.store.db import SessionFactory, session_scope, write_scope
from sandbox.slack import SlackEmulatorState, create_slack_app
from tests.alerts.outbox.test_worker import Clock, states
from tests.fixtures.crm import add_contact, add_touch, seed_portal
from tests.fixtures.live_server import serving

NEW_YORK = ZoneInfo("America/New_York")

# A 09:00-17:00 weekday calendar with US holidays, a 4 h first touch, and a route whose
# breach goes to a channel, climbs to the manager then to a second channel, and nudges.
RULES = """calendars:
  default:
    hours: {mon: ["09:00-17:00"], tue: ["09:00-17:00"], wed: ["09:00-17:00"],
            thu: ["09:00-17:00"], fri: ["09:00-17:00"]}
    holidays: {country: US}
rules:
  - id: first-touch
    kind: response
    start: {entered_stage: marketingqualifiedlead}
    stop: {engagement: {types: [call]}}
    goal: 4h
alerts:
  managers:
    "55": [U0MANAGER]
  routes:
    - name: reps
      match: {rules: [first-touch], events: [breached]}
      receivers: ["#reps"]
      repeat: 4h
      escalation:
        - {after: 2h, to: [manager]}
        - {after: 1d, to: ["#sales-leads"]}
"""


def ny(day: str, hour: int, minute: int = 0) -> datetime:
    return datetime.fromisoformat(f"{day} {hour:02d}:{minute:02d}").replace(tzinfo=NEW_YORK)


def breach_on(
    session_factory: SessionFactory, tmp_path: Path, friday: str, rules: str = RULES
) -> None:
    """A lead that became an MQL at noon on `friday` and was not called: breached at 16:00."""
    path = tmp_path / "sla.yaml"
    path.write_text(rules)
    with session_scope(session_factory) as session:
        seed_portal(session)
        add_contact(
            session, "1", [("lead", ny(friday, 10)), ("marketingqualifiedlead", ny(friday, 12))]
        )
        activate_text(session, path, rules, load_rules(path), ny(friday, 12))
    with session_scope(session_factory) as session:
        evaluate_all(session, now=ny(friday, 16, 30))


def fire(session_factory: SessionFactory, now: datetime) -> int:
    with write_scope(session_factory) as session:
        return fire_due_follow_ups(session, now)


def follow_ups(session_factory: SessionFactory) -> list[tuple[str, str, datetime]]:
    with session_scope(session_factory) as session:
        query = select(SlaEvent).where(SlaEvent.follow_up != "").order_by(SlaEvent.id)
        return [(e.type, e.follow_up, e.occurred_at) for e in session.scalars(query)]


def deliveries_of(session_factory: SessionFactory, event_type: str) -> list[dict[str, Any]]:
    with session_scope(session_factory) as session:
        query = (
            select(AlertDelivery.route, AlertDelivery.receiver, SlaEvent.follow_up)
            .join(SlaEvent, SlaEvent.id == AlertDelivery.event_id)
            .where(SlaEvent.type == event_type)
            .order_by(AlertDelivery.id)
        )
        return [row._asdict() for row in session.execute(query)]


# 9 January 2026 is a plain Friday; 16 January is the Friday before Martin Luther King Day.
@pytest.mark.parametrize(
    ("friday", "next_working_day", "day_after"),
    [("2026-01-09", "2026-01-12", "2026-01-13"), ("2026-01-16", "2026-01-20", "2026-01-21")],
    ids=["weekend", "weekend-and-holiday"],
)
def test_a_breach_on_friday_afternoon_escalates_and_reminds_in_business_time(
    session_factory: SessionFactory,
    tmp_path: Path,
    friday: str,
    next_working_day: str,
    day_after: str,
) -> None:
    breach_on(session_factory, tmp_path, friday)
    saturday = ny(friday, 12) + timedelta(days=1)

    # Two wall hours later, and all weekend, one business hour has passed: nothing yet.
    assert fire(session_factory, ny(friday, 18)) == 0
    assert fire(session_factory, saturday) == 0
    assert fire(session_factory, ny(next_working_day, 9, 59)) == 0

    # The second business hour ends at 10:00 on the next working day: the manager hears.
    assert fire(session_factory, ny(next_working_day, 10)) == 1
    assert fire(session_factory, ny(next_working_day, 10, 1)) == 0  # once, however often run
    assert deliveries_of(session_factory, "escalated") == [
        {"route": "reps", "receiver": "manager:U0MANAGER", "follow_up": "reps/1"}
    ]

    # 4 business hours after the breach: 1 on Friday and 3 on the next working day.
    assert fire(session_factory, ny(next_working_day, 12)) == 1
    # One business day after the breach (the same hour), and the second 4 h reminder.
    assert fire(session_factory, ny(next_working_day, 16)) == 2
    assert follow_ups(session_factory) == [
        ("escalated", "reps/1", ny(next_working_day, 10)),
        ("reminder", "reps/1", ny(next_working_day, 12)),
        ("escalated", "reps/2", ny(next_working_day, 16)),
        ("reminder", "reps/2", ny(next_working_day, 16)),
    ]
    assert [d["receiver"] for d in deliveries_of(session_factory, "escalated")] == [
        "manager:U0MANAGER",
        "channel:sales-leads",
    ]
    assert [d["receiver"] for d in deliveries_of(session_factory, "reminder")] == [
        "channel:reps",
        "channel:reps",
    ]

    # The rep calls late; once evaluated, nothing more fires (the next reminder was due at
    # 12:00 on the day after).
    with session_scope(session_factory) as session:
        add_touch(session, "e1", "1", ny(next_working_day, 16, 30))
    with session_scope(session_factory) as session:
        evaluate_all(session, now=ny(next_working_day, 16, 40))
    assert fire(session_factory, ny(day_after, 12)) == 0
    assert fire(session_factory, ny(day_after, 16)) == 0
    assert len(follow_ups(session_factory)) == 4


def test_two_jobs_at_once_fire_a_step_once(session_factory: SessionFactory, tmp_path: Path) -> None:
    breach_on(session_factory, tmp_path, "2026-01-09")
    monday = ny("2026-01-12", 10)
    results: list[int] = []

    with write_scope(session_factory) as first:
        assert fire_due_follow_ups(first, monday) == 1
        # The second job starts while the first holds its uncommitted step: it waits for the
        # first to commit (the row's key on PostgreSQL, the write lock on SQLite), then finds
        # the step fired.
        second = threading.Thread(target=lambda: results.append(fire(session_factory, monday)))
        second.start()
        second.join(timeout=0.5)
    second.join(timeout=30)

    assert results == [0]
    assert deliveries_of(session_factory, "escalated") == [
        {"route": "reps", "receiver": "manager:U0MANAGER", "follow_up": "reps/1"}
    ]


# The same route without its ladder: only the channel and its reminders.
REMINDING_RULES = RULES.split("      escalation:")[0]


def test_a_reminder_replies_in_the_thread_of_the_breach_message(
    settings: Settings, session_factory: SessionFactory, tmp_path: Path
) -> None:
    state = SlackEmulatorState(seed=1)
    channel = state.add_channel("reps")
    with serving(create_slack_app(state)) as url:
        slack_settings = settings.model_copy(
            update={
                "slack_bot_token": SecretStr(next(iter(state.tokens))),
                "slack_api_url": f"{url}/api/",
            }
        )
        deliverer = slack_deliverer(slack_settings, session_factory)
        assert deliverer is not None
        clock = Clock()
        worker = Worker(session_factory, {TargetKind.SLACK_CHANNEL: deliverer}, clock=clock)
        breach_on(session_factory, tmp_path, "2026-01-09", REMINDING_RULES)
        worker.deliver_due()
        assert fire(session_factory, ny("2026-01-12", 12)) == 1
        clock.advance(60)  # past the channel's group_wait after the breach message
        assert worker.deliver_due().outcomes == {"delivered": 1}

    (breach,) = state.top_level_messages(channel.id)
    assert breach.text.startswith("SLA breached: contact 1")
    (reply,) = state.thread_replies(channel.id, breach.ts)
    assert reply.text.startswith("Still breached: contact 1")
    assert states(session_factory) == {"delivered": 2}


def test_after_a_long_stop_the_job_skips_stale_steps_and_sends_the_current_reminder(
    session_factory: SessionFactory, tmp_path: Path
) -> None:
    breach_on(session_factory, tmp_path, "2026-01-09")

    # Back on Wednesday at noon: both steps came on Monday (over a day ago), and the fifth
    # 4 h reminder is due now.
    assert fire(session_factory, ny("2026-01-14", 12)) == 1

    assert follow_ups(session_factory) == [("reminder", "reps/5", ny("2026-01-14", 12))]
