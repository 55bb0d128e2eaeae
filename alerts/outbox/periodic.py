"""The service's alert jobs: every few seconds, deliver what is due in the outbox; every
minute, fire the escalation steps and reminders whose business time has come."""

from __future__ import annotations

from datetime import UTC, datetime

from alerts.delivery import Deliverer
from alerts.outbox.escalate import fire_due_follow_ups
from alerts.outbox.runtime import delivery_worker, slack_deliverer
from app.config import Settings
from app.scheduler import JobContext, JobSpec
from app.store.db import SessionFactory, write_scope

DELIVER_SECONDS = 2.0
# Steps count in business hours: a minute late is well inside what anyone notices.
ESCALATE_SECONDS = 60.0
# The Slack deliverer lives as long as the process, so its pacing spans the ticks.
_slack: dict[int, tuple[SessionFactory, Deliverer | None]] = {}


def _slack_for(settings: Settings, factory: SessionFactory) -> Deliverer | None:
    kept = _slack.get(id(factory))
    if kept is None or kept[0] is not factory:
        kept = _slack[id(factory)] = (factory, slack_deliverer(settings, factory))
    return kept[1]


def deliver_due(context: JobContext) -> None:
    slack = _slack_for(context.settings, context.session_factory)
    with delivery_worker(context.settings, context.session_factory, slack) as worker:
        report = worker.deliver_due(stopping=context.stopping)
    if report.claimed:
        outcomes = ", ".join(f"{n} {state}" for state, n in sorted(report.outcomes.items()))
        context.log.info("alert deliveries: %s", outcomes)


def escalate_due(context: JobContext) -> None:
    # Reads what it then writes: on SQLite the write lock is taken first, so two processes
    # take turns rather than both deciding a step is unfired.
    with write_scope(context.session_factory) as session:
        fired = fire_due_follow_ups(session, datetime.now(UTC))
    if fired:
        context.log.info("alert follow-ups fired: %d escalations and reminders", fired)


def alert_jobs(settings: Settings) -> list[JobSpec]:
    return [
        JobSpec(
            "alerts-deliver",
            deliver_due,
            DELIVER_SECONDS,
            "deliver due alerts (Slack, webhooks), retry failed ones at their time",
        ),
        JobSpec(
            "alerts-escalate",
            escalate_due,
            ESCALATE_SECONDS,
            "fire escalation steps and reminders of breaches still open, in business time",
        ),
    ]
