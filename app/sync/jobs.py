"""The scheduled incremental sync (`serve` runs it every SLAGUARD_SYNC_INTERVAL_MINUTES)."""

from __future__ import annotations

import logging

from app import hubspot_client
from app.config import Settings
from app.hubspot_client import HubSpotApi
from app.scheduler import JobContext, JobSpec
from app.sync.lock import SyncInProgressError
from app.sync.progress import LogProgress
from app.sync.service import SyncService

log = logging.getLogger(__name__)


def sync_jobs(settings: Settings) -> list[JobSpec]:
    """One incremental HubSpot sync job, or none when no token is configured."""
    if settings.hubspot_access_token is None:
        log.info("HUBSPOT_ACCESS_TOKEN is not set: the scheduled HubSpot sync is off")
        return []
    # One client for every run, so its pacing window carries over from run to run.
    clients: list[HubSpotApi] = []

    def incremental_sync(context: JobContext) -> None:
        if not clients:
            clients.append(hubspot_client.from_settings(context.settings))
        service = SyncService(
            context.settings, context.session_factory, clients[0], progress=LogProgress()
        )
        try:
            report = service.run()
        except SyncInProgressError as busy:
            # a `slaguard sync` by hand, say; the next interval tries again
            context.log.info("skipped this run: %s", busy.situation)
            return
        context.log.info(
            "incremental sync: %d requests, %d rate-limited, %.1fs",
            report.requests,
            report.rate_limited,
            report.seconds,
        )

    return [
        JobSpec(
            id="hubspot_incremental_sync",
            func=incremental_sync,
            seconds=settings.slaguard_sync_interval_minutes * 60,
            description="Incremental HubSpot sync (what changed since the last checkpoint)",
        )
    ]
