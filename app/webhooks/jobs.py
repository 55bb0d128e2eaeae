"""The webhook worker as a scheduled job: every second, apply what arrived, then re-read the
records that events asked for (when slaguard can read HubSpot)."""

from __future__ import annotations

from datetime import UTC, datetime

from app import hubspot_client
from app.config import Settings
from app.hubspot_client import HubSpotApi
from app.scheduler import JobContext, JobSpec
from app.webhooks.refresh import refresh_due_records
from app.webhooks.worker import process_pending

WORKER_INTERVAL_SECONDS = 1.0
# A run works through a backlog for at most this long, so runs stay within their interval
# (while the endpoint is busy the worker rests between rounds anyway: see process_pending).
RUN_BUDGET_SECONDS = 0.8


def webhook_jobs(settings: Settings) -> list[JobSpec]:
    # One client for every run, so its pacing window carries over from run to run.
    clients: list[HubSpotApi] = []

    def apply_webhook_events(context: JobContext) -> None:
        handled = process_pending(
            context.session_factory, stop=context.stopping, time_budget_s=RUN_BUDGET_SECONDS
        )
        if handled:
            context.log.info("applied %d webhook event(s)", handled)
        if context.settings.hubspot_access_token is None:
            return  # records stay queued until a token lets slaguard read them
        if not clients:
            clients.append(hubspot_client.from_settings(context.settings))
        read = refresh_due_records(
            context.session_factory, clients[0], context.settings, datetime.now(UTC)
        )
        if read:
            context.log.info("re-read %d record(s) named by webhook events", read)

    return [
        JobSpec(
            id="webhook_worker",
            func=apply_webhook_events,
            seconds=WORKER_INTERVAL_SECONDS,
            description="Apply stored HubSpot webhook events; re-read records they name",
        )
    ]
