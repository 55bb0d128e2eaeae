"""create_app() and the lifespan that owns the engine; nothing else lives here."""

from __future__ import annotations

import asyncio
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
from app.jobs import all_jobs
from app.scheduler import Scheduler
from app.store.connect import open_store
from app.store.db import SessionFactory, create_session_factory

SlackActionsFactory = Callable[[SessionFactory], SlackActions]


def create_app(
    settings: Settings | None = None,
    *,
    start_scheduler: bool = True,
    slack_actions_factory: SlackActionsFactory | None = None,
) -> FastAPI:
    """The service. `start_scheduler=False` runs no periodic jobs (tests of HTTP routes);
    `slack_actions_factory` builds what the Slack buttons do, on the store's sessions (without
    one, /slack/actions answers 503)."""
    settings = settings or load_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = open_store(settings)
        app.state.engine = engine
        app.state.session_factory = create_session_factory(engine)
        if slack_actions_factory is not None:
            app.state.slack_actions = slack_actions_factory(app.state.session_factory)
        scheduler = None
        if start_scheduler:
            scheduler = Scheduler(settings, app.state.session_factory, all_jobs(settings))
            scheduler.start()
        app.state.scheduler = scheduler
        try:
            yield
        finally:
            if scheduler is not None:
                # Waits for running jobs; off the event loop so in-flight requests finish.
                await asyncio.to_thread(scheduler.shutdown)
            if getattr(app.state, "admin_runs", None) is not None:
                app.state.admin_runs.abandon_unfinished()
            engine.dispose()

    app = FastAPI(title="slaguard", version=__version__, lifespan=lifespan)
    app.state.settings = settings
    app.state.slack_actions = None
    app.state.slack_client = slack_actions.slack_client_from(settings)
    # Where "Snooze until tomorrow" ends: 09:00 the next day in this zone.
    app.state.slack_morning_zone = ZoneInfo("UTC")
    app.include_router(health.router)
    app.include_router(hubspot_webhooks.router)
    app.include_router(slack_actions.router)
    app.include_router(admin.router)
    app.include_router(silences.router)
    app.include_router(admin_api.router)
    app.include_router(metrics.router)
    app.include_router(dashboard.router)
    app.include_router(alerts_page.router)
    app.mount("/static", StaticFiles(packages=[("app.dashboard", "static")]), name="static")

    @app.exception_handler(dashboard.SignInRequiredError)
    async def _sign_in_first(request: Request, exc: dashboard.SignInRequiredError) -> Response:
        return dashboard.sign_in_redirect(exc.next_path)

    return app
