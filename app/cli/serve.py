from __future__ import annotations

import socket
from collections.abc import Sequence

import typer
import uvicorn

from app.cli.common import console, settings_from_env
from app.main import create_app
from app.store import open_store


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
    ) -> None:
        """Run the service: HubSpot webhooks (POST /webhooks/hubspot), GET /health,
        /admin/health and /metrics, and the periodic jobs (incremental sync, applying webhook
        events, SLA timers and sweeps, the rules file reload)."""
        settings = settings_from_env()
        # Fail before binding the port if the store is unusable.
        open_store(settings).dispose()
        run_server(create_app(settings), host, port, "slaguard", settings.slaguard_log_level)
