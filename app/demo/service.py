"""The service on a socket the demo bound earlier, with a hook that runs once it answers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Callable

import uvicorn
from fastapi import FastAPI

from app.errors import SlaguardError

log = logging.getLogger(__name__)


class ServiceServer(uvicorn.Server):
    """uvicorn serving `app` on `sock`; `on_ready` runs in a worker thread once the socket
    listens and the app's lifespan (store, scheduler) has started, while requests are served."""

    def __init__(self, app: FastAPI, sock: socket.socket, on_ready: Callable[[], None]) -> None:
        host, port = sock.getsockname()[:2]
        # No access log: the sandbox posts webhooks every few seconds, which would bury the
        # demo's own lines.
        config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False)
        super().__init__(config)
        self._sock = sock
        self._on_ready = on_ready
        self.failure: str | None = None

    @property
    def url(self) -> str:
        return f"http://{self.config.host}:{self.config.port}"

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started and not self.should_exit:
            try:
                await asyncio.to_thread(self._on_ready)
            except Exception as exc:
                log.exception("the demo could not finish starting")
                self.failure = f"The demo could not finish starting ({type(exc).__name__})."
                self.should_exit = True

    def serve_until_stopped(self) -> None:
        """Serves until Ctrl-C (or SIGTERM); the lifespan stops the scheduler on the way out.

        uvicorn re-raises the signal it caught once it has shut down; a Ctrl-C is how the
        demo is meant to end, so it is not an error here."""
        with contextlib.suppress(KeyboardInterrupt):
            self.run(sockets=[self._sock])
        if self.failure is not None:
            raise SlaguardError(self.failure)
