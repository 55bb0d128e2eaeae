from __future__ import annotations

import logging
import os
import socket
from collections.abc import Sequence

import typer
import uvicorn

from alerts.outbox.actions import StoredSlackActions
from app.cli.common import console, fail, settings_from_env
from app.config import Settings
from app.evaluation.rules_file import INVALID, read_rules_file, reporter
from app.evaluation.rules_store import in_force_since
from app.main import create_app
from app.store.connect import open_store
from app.store.db import SessionFactory, create_session_factory


class _AnnouncingServer(uvicorn.Server):
    """Prints the URL on its own line once the socket is bound."""

    def __init__(
        self, config: uvicorn.Config, label: str, extra: Sequence[tuple[str, str]] = ()
    ) -> None:
        super().__init__(config)
        self._label = label
        self._extra = extra

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            host, port = self.config.host, self.config.port
            if port == 0 and self.servers and self.servers[0].sockets:
                port = self.servers[0].sockets[0].getsockname()[1]
            console.print(f"{self._label}: http://{host}:{port}", highlight=False)
            for label, path in self._extra:
                console.print(f"{label}: http://{host}:{port}{path}", highlight=False)


def run_server(
    app: object,
    host: str,
    port: int,
    label: str,
    log_level: str,
    extra: Sequence[tuple[str, str]] = (),
) -> None:
    """Serves `app`; once bound prints `label: URL`, then `label: URL + path` for each extra."""
    level = log_level.lower()
    config = uvicorn.Config(
        app,  # type: ignore[arg-type]
        host=host,
        port=port,
        log_level=level,
        # uvicorn logs each request at INFO, formatting its arguments first even when the
        # level then drops the line: above INFO that is pure cost on every request.
        access_log=level in ("debug", "trace", "info"),
    )
    _AnnouncingServer(config, label, extra).run()


def register(cli: typer.Typer) -> None:
    @cli.command()
    def serve(
        host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
        port: int = typer.Option(8000, help="TCP port.", min=0, max=65535),
        role: str | None = typer.Option(
            None,
            help="all (default, the only one on SQLite), api (receives only), worker "
            "(applies webhook events, delivers alerts) or scheduler (periodic jobs under the "
            "leader lock); default: SLAGUARD_ROLE.",
            show_default=False,
        ),
    ) -> None:
        """Run the service: HubSpot webhooks (POST /webhooks/hubspot), GET /health,
        /admin/health and /metrics, and the periodic jobs (incremental sync, applying webhook
        events, SLA timers and sweeps, the rules file reload). Replicas on PostgreSQL split
        this with --role (docs/replicas.md)."""
        settings = settings_from_env(slaguard_role=role) if role else settings_from_env()
        # Fail before binding the port if the store is unusable.
        engine = open_store(settings)
        try:
            check_rules_file(settings, create_session_factory(engine))
        finally:
            engine.dispose()
        app = create_app(settings, slack_actions_factory=StoredSlackActions)
        try:
            run_server(app, host, port, "slaguard", settings.slaguard_log_level)
        finally:
            if not app.state.stopped_cleanly:
                # A job is stuck past the grace (its leases were handed back): leave now
                # rather than wait for its thread at interpreter exit; its open transaction
                # rolls back when the connection closes. (After SIGTERM uvicorn re-raises the
                # signal first, which ends the process the same way.)
                logging.shutdown()
                os._exit(1)


def check_rules_file(settings: Settings, factory: SessionFactory) -> None:
    """An invalid rules file stops `serve` before it binds, unless rules are already stored:
    then the service starts with those, and the log says so once (the rules job goes on from
    what was said here)."""
    state = read_rules_file(settings.slaguard_rules)
    with factory() as session:
        since = in_force_since(session)
    if state.state == INVALID and since is None:
        fail(
            f"{state.problem}; no SLA rules are stored yet, so slaguard will not start "
            f"without them (`slaguard rules check {state.path}` lists every problem)."
        )
    reporter.report(state, since)
