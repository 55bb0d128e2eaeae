"""Durability: a `slaguard serve` process killed with SIGKILL in the middle of a webhook load
has stored every event it acknowledged with a 2xx (SQLite, the default store)."""

from __future__ import annotations

import itertools
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from app.models import WebhookEvent
from app.store.db import create_db_engine
from app.webhooks.events import parse_event
from tests.fixtures.slaguard_process import slaguard_environ
from tests.fixtures.webhooks import PORTAL, SECRET, encode, property_change, signed_headers

BATCH = 25
SENDERS = 4
KILL_AFTER_ACKS = 60


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def start_server(database: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = slaguard_environ(
        DATABASE_URL=f"sqlite:///{database}",
        HUBSPOT_CLIENT_SECRET=SECRET,
        HUBSPOT_PORTAL_IDS=str(PORTAL),
        SLAGUARD_LOG_LEVEL="WARNING",
    )
    slaguard = Path(sys.executable).parent / "slaguard"
    with log.open("wb") as out:
        return subprocess.Popen(
            [str(slaguard), "serve", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=database.parent,
        )


def wait_until_healthy(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"slaguard serve exited: {log.read_text()}")
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    pytest.fail("slaguard serve did not answer /health within 60 s")


class Load:
    """Senders posting signed batches until the server stops answering."""

    def __init__(self, url: str) -> None:
        self.url = f"{url}/webhooks/hubspot"
        self.acknowledged: list[dict[str, Any]] = []
        self.failures = 0
        self._lock = threading.Lock()
        self._counter = itertools.count()
        self.stop = threading.Event()

    def batch(self) -> list[dict[str, Any]]:
        n = next(self._counter)
        return [
            property_change("contact", n * BATCH + i, 1_764_000_000_000 + n, "firstname", f"v{n}")
            for i in range(BATCH)
        ]

    def send(self) -> None:
        with httpx.Client(timeout=5) as client:
            while not self.stop.is_set():
                events = self.batch()
                body = encode(events)
                try:
                    response = client.post(
                        self.url, content=body, headers=signed_headers(body, self.url)
                    )
                except httpx.HTTPError:
                    with self._lock:
                        self.failures += 1
                    if self.failures > 20:
                        return
                    continue
                if 200 <= response.status_code < 300:
                    with self._lock:
                        self.acknowledged.extend(events)


@pytest.mark.slow
def test_every_acknowledged_event_survives_a_kill_9(tmp_path: Path) -> None:
    database = tmp_path / "slaguard.db"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "serve.log"
    server = start_server(database, port, log)
    load = Load(url)
    senders = [threading.Thread(target=load.send) for _ in range(SENDERS)]
    try:
        wait_until_healthy(url, server, log)
        for sender in senders:
            sender.start()
        deadline = time.monotonic() + 60
        while len(load.acknowledged) < KILL_AFTER_ACKS * BATCH and time.monotonic() < deadline:
            time.sleep(0.005)
        server.send_signal(signal.SIGKILL)  # mid-load: requests are in flight
        server.wait(timeout=10)
    finally:
        load.stop.set()
        for sender in senders:
            if sender.is_alive():
                sender.join(timeout=30)
        if server.poll() is None:
            server.kill()

    assert len(load.acknowledged) >= KILL_AFTER_ACKS * BATCH, log.read_text()
    acknowledged = {parse_event(e).dedupe_key for e in load.acknowledged}
    engine = create_db_engine(f"sqlite:///{database}")
    try:
        with engine.connect() as connection:
            stored = set(connection.scalars(select(WebhookEvent.dedupe_key)))
    finally:
        engine.dispose()
    missing = acknowledged - stored
    assert not missing, f"{len(missing)} acknowledged events are not in the store"
