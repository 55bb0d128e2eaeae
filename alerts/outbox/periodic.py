"""The service's delivery job: every few seconds, deliver what is due in the outbox."""

from __future__ import annotations

from alerts.outbox.runtime import delivery_worker
from app.config import Settings
from app.scheduler import JobContext, JobSpec

DELIVER_SECONDS = 2.0


def deliver_due(context: JobContext) -> None:
    with delivery_worker(context.settings, context.session_factory) as worker:
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
