"""Every periodic job of the service, in one list the scheduler runs.

Each domain declares its jobs next to its code (a function returning `JobSpec`s) and adds ONE
line below. Only app.roles imports this module, so domain modules can import JobSpec and
JobContext from app.scheduler without an import cycle.
"""

from __future__ import annotations

from alerts.outbox.periodic import alert_jobs
from alerts.outbox.post_jobs import post_jobs
from app.config import Settings
from app.dashboard.jobs import dashboard_jobs
from app.evaluation.jobs import sla_jobs
from app.scheduler import JobSpec
from app.sync.jobs import sync_jobs
from app.webhooks.jobs import webhook_jobs


def all_jobs(settings: Settings) -> list[JobSpec]:
    jobs: list[JobSpec] = []
    # One line per domain, e.g.: jobs += sync_jobs(settings)
    jobs += sync_jobs(settings)
    jobs += webhook_jobs(settings)
    jobs += sla_jobs(settings)
    jobs += alert_jobs(settings)
    jobs += post_jobs(settings)
    jobs += dashboard_jobs(settings)
    return jobs
