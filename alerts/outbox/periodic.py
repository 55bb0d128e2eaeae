"""The service's delivery job: every few seconds, deliver what is due in the outbox."""

from __future__ import annotations

from alerts.delivery import Deliverer
from alerts.outbox.runtime import delivery_worker, slack_deliverer
from app.config import Settings
from app.scheduler import JobContext, JobSpec
from app.store.db import SessionFactory

DELIVER_SECONDS = 2.0
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


def alert_jobs(settings: Settings) -> list[JobSpec]:
    return [
        JobSpec(
            "alerts-deliver",
            deliver_due,
            DELIVER_SECONDS,
            "deliver due alerts (Slack, webhooks), retry failed ones at their time",
        )
    ]
