"""Ports for the demo's two servers, checked before any work starts."""

from __future__ import annotations

import socket

from app.errors import SlaguardError


class PortInUseError(SlaguardError):
    """A port the demo needs is taken; the message names it and the flag that changes it."""

    def __init__(self, port: int, flag: str) -> None:
        super().__init__(f"Port {port} is already in use; choose another with {flag} PORT.")
        self.port = port
        self.flag = flag


def bind_port(host: str, port: int, flag: str) -> socket.socket:
    """A socket bound to (host, port) but not listening yet: the port is ours, and a client
    that calls before the server is ready is refused at once instead of hanging."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # What uvicorn sets too: a restart does not wait for the previous run's TIME_WAIT.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise PortInUseError(port, flag) from None
    return sock


def ensure_free(host: str, port: int, flag: str) -> int:
    """Checks that (host, port) can be bound now; port 0 picks a free one. Returns the port."""
    with bind_port(host, port, flag) as sock:
        return int(sock.getsockname()[1])
