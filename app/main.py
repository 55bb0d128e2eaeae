"""create_app() and the lifespan that owns the engine; nothing else lives here."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from zoneinfo import ZoneInfo

from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles

from alerts.delivery import SlackActions
from app import __version__
from app.api import admin, admin_api, health, hubspot_webhooks, metrics, silences, slack_actions
from app.config import Settings, load_settings
from app.dashboard import alerts_page
from app.dashboard import router as dashboard
from app.roles import Role, job_ids, release_outbox_leases, runner_for, stop_within
from app.store.connect import open_store
from app.store.db import SessionFactory, create_session_factory

log = logging.getLogger(__name__)

SlackActionsFactory = Callable[[SessionFactory], SlackActions]


def create_app(
    settings: Settings | None = None,
    *,
    start_scheduler: bool = True,
    slack_actions_factory: SlackActionsFactory | None = None,
) -> FastAPI:
    """The service, doing what SLAGUARD_ROLE says (app/roles.py). `start_scheduler=False`
    runs no periodic jobs (tests of HTTP routes); `slack_actions_factory` builds what the
    Slack buttons do, on the store's sessions (without one, /slack/actions answers 503).
    `app.state.stopped_cleanly` is False after a shutdown that left jobs running."""
    settings = settings or load_settings()
    role = Role(settings.slaguard_role)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = open_store(settings)
        app.state.engine = engine
        app.state.session_factory = create_session_factory(engine)
        if slack_actions_factory is not None:
            app.state.slack_actions = slack_actions_factory(app.state.session_factory)
        scheduler = (
            runner_for(role, settings, app.state.session_factory) if start_scheduler else None
        )
        if scheduler is not None:
            scheduler.start()
        log.info("slaguard runs as role %s (%s)", role, ", ".join(job_ids(scheduler)) or "no jobs")
        app.state.scheduler = scheduler
        try:
            yield
        finally:
            if scheduler is not None:
                # Stops claiming and waits a bounded time for running jobs, off the event
                # loop so in-flight requests finish; what is still held is handed back.
                finished = await asyncio.to_thread(stop_within, scheduler)
                if not finished:
                    await asyncio.to_thread(release_outbox_leases, app.state.session_factory)
                    app.state.stopped_cleanly = False
            if getattr(app.state, "admin_runs", None) is not None:
                app.state.admin_runs.abandon_unfinished()
            engine.dispose()

    app = FastAPI(title="slaguard", version=__version__, lifespan=lifespan)
    app.state.settings = settings
    app.state.role = role
    app.state.stopped_cleanly = True
    app.state.slack_actions = None
    app.state.slack_client = slack_actions.slack_client_from(settings)
    # Where "Snooze until tomorrow" ends: 09:00 the next day in this zone.
    app.state.slack_morning_zone = ZoneInfo("UTC")
    app.include_router(health.router)
    app.include_router(admin.router)
    app.include_router(metrics.router)
    if role.receives:
        app.include_router(hubspot_webhooks.router)
        app.include_router(slack_actions.router)
        app.include_router(silences.router)
        app.include_router(admin_api.router)
        app.include_router(dashboard.router)
        app.include_router(alerts_page.router)
        app.mount("/static", StaticFiles(packages=[("app.dashboard", "static")]), name="static")

    @app.exception_handler(dashboard.SignInRequiredError)
    async def _sign_in_first(request: Request, exc: dashboard.SignInRequiredError) -> Response:
        return dashboard.sign_in_redirect(exc.next_path)

    return app
