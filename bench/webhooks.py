"""Webhook ingest benchmark: a real `slaguard serve` process on SQLite, loaded from this
(second) process over loopback the way HubSpot loads it: signed batches, at most 10 requests
in flight per portal.

    .venv/bin/python bench/webhooks.py [--quick]

Prints, as medians over the repeats:
- events/s sustained in batches of 100;
- requests/s and p50/p99 latency for single-event batches;
- the same for a bare FastAPI endpoint answering 204 (uvicorn, another process, same machine),
  and slaguard as a share of it;
- whether every acknowledged event is in the store (read from the SQLite file afterwards).
The webhook worker runs inside `serve` during the load, as in production.
Targets (issue 5, SQLite, 2 cores): >= 5,000 events/s in batches, >= 300 single-event
requests/s with p99 < 100 ms, every acknowledged event stored.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from hubspot.utils.signature import Signature

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.store.db import create_db_engine  # noqa: E402
from app.webhooks.events import parse_event  # noqa: E402
from sandbox.server import free_port  # noqa: E402

SECRET = "bench-client-secret-0123456789abcdef"
CONCURRENCY = 10  # HubSpot sends at most 10 requests at once per portal
PORTAL = 424242
_ids = itertools.count(1)


@dataclass(frozen=True)
class Run:
    requests: int
    events: int
    seconds: float
    latencies_ms: list[float]
    acknowledged: list[dict[str, Any]]

    @property
    def events_per_s(self) -> float:
        return self.events / self.seconds

    @property
    def requests_per_s(self) -> float:
        return self.requests / self.seconds

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def make_events(count: int) -> list[dict[str, Any]]:
    base = 1_764_000_000_000
    events = []
    for _ in range(count):
        n = next(_ids)
        events.append(
            {
                "eventId": n,
                "subscriptionId": 1003,
                "portalId": PORTAL,
                "appId": 1,
                "occurredAt": base + n,
                "subscriptionType": "contact.propertyChange",
                "attemptNumber": 0,
                "objectId": 100_000 + n % 5000,
                "propertyName": "lifecyclestage" if n % 3 else "firstname",
                "propertyValue": f"value-{n}",
                "changeSource": "CRM",
            }
        )
    return events


def signed_request(url: str, events: list[dict[str, Any]]) -> bytes:
    """The whole HTTP/1.1 request, signed as HubSpot signs it (with its own SDK)."""
    parts = urlsplit(url)
    body = json.dumps(events).encode()
    timestamp = str(time.time_ns() // 1_000_000)
    signature = Signature.get_signature(
        SECRET, body.decode(), "v3", http_uri=url, http_method="POST", timestamp=timestamp
    )
    head = (
        f"POST {parts.path} HTTP/1.1\r\n"
        f"Host: {parts.netloc}\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n"
        f"X-HubSpot-Signature-v3: {signature}\r\n"
        f"X-HubSpot-Request-Timestamp: {timestamp}\r\n\r\n"
    )
    return head.encode() + body


async def read_status(reader: asyncio.StreamReader) -> int:
    """Reads one response (status line, headers, body by Content-Length); returns the status."""
    status = int((await reader.readline()).split()[1])
    length = 0
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b""):
            break
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    if length:
        await reader.readexactly(length)
    return status


async def load(url: str, requests: int, batch_size: int) -> Run:
    """`requests` POSTs of `batch_size` events, CONCURRENCY in flight on keep-alive connections.

    A minimal HTTP/1.1 client over asyncio streams, with every request signed before the
    clock starts: a general-purpose client costs more CPU than the servers under test, and
    on two cores that would be what is measured.
    """
    parts = urlsplit(url)
    batches = [make_events(batch_size) for _ in range(requests)]
    pending = [(signed_request(url, events), events) for events in batches]
    pending.reverse()
    latencies: list[float] = []
    acknowledged: list[dict[str, Any]] = []

    async def sender() -> None:
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        try:
            while pending:
                raw, events = pending.pop()
                started = time.perf_counter()
                writer.write(raw)
                status = await read_status(reader)
                latencies.append((time.perf_counter() - started) * 1000)
                if not 200 <= status < 300:
                    raise RuntimeError(f"{url} answered {status}")
                acknowledged.extend(events)
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(sender() for _ in range(CONCURRENCY)))
    seconds = time.perf_counter() - started
    return Run(requests, requests * batch_size, seconds, latencies, acknowledged)


BARE_SERVER = """
import sys, uvicorn
from fastapi import FastAPI, Response
app = FastAPI()
@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}
@app.post("/webhooks/hubspot", status_code=204)
def bare() -> Response:
    return Response(status_code=204)
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
"""


def start_slaguard(port: int, database: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{database}",
        "HUBSPOT_CLIENT_SECRET": SECRET,
        "HUBSPOT_PORTAL_IDS": str(PORTAL),
        "SLAGUARD_LOG_LEVEL": "WARNING",
    }
    env.pop("HUBSPOT_ACCESS_TOKEN", None)
    slaguard = Path(sys.executable).parent / "slaguard"
    return subprocess.Popen(
        [str(slaguard), "serve", "--port", str(port)],
        env=env,
        cwd=database.parent,
        stdout=subprocess.DEVNULL,
    )


def start_bare(port: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-c", BARE_SERVER, str(port)], cwd=ROOT, stdout=subprocess.DEVNULL
    )


def wait_healthy(base: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server at {base} exited with {process.returncode}")
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise SystemExit(f"the server at {base} did not come up")


def measure(
    bases: dict[str, str], repeats: int, batch_requests: int, single_requests: int
) -> dict[str, dict[str, Any]]:
    """The same loads against each server, interleaved run by run, so that a busy moment of
    the machine falls on both alike."""
    runs: dict[str, dict[str, list[Run]]] = {name: {"batch": [], "single": []} for name in bases}
    for _ in range(repeats):
        for kind, requests, size in (
            ("batch", batch_requests, 100),
            ("single", single_requests, 1),
        ):
            for name, base in bases.items():
                runs[name][kind].append(
                    asyncio.run(load(f"{base}/webhooks/hubspot", requests, size))
                )
    figures = {}
    for name, by_kind in runs.items():
        batches, singles = by_kind["batch"], by_kind["single"]
        figures[name] = {
            "events_per_s": statistics.median(r.events_per_s for r in batches),
            "requests_per_s": statistics.median(r.requests_per_s for r in singles),
            "p50_ms": statistics.median(r.percentile(0.50) for r in singles),
            "p99_ms": statistics.median(r.percentile(0.99) for r in singles),
            "acknowledged": [e for r in batches + singles for e in r.acknowledged],
        }
    return figures


def pending_events(database: Path) -> int:
    engine = create_db_engine(f"sqlite:///{database}")
    try:
        with engine.connect() as connection:
            query = "SELECT count(*) FROM webhook_events WHERE processed_at IS NULL"
            return int(connection.exec_driver_sql(query).scalar_one())
    finally:
        engine.dispose()


def wait_for_worker(database: Path, timeout: float = 600) -> tuple[int, float | None]:
    """How many events were still to apply when the load ended, and how long the worker
    (inside `serve`) took to apply them; None if it did not finish within `timeout`."""
    backlog = pending_events(database)
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if pending_events(database) == 0:
            return backlog, time.monotonic() - started
        time.sleep(0.5)
    return backlog, None


def stored_keys(database: Path) -> set[str]:
    engine = create_db_engine(f"sqlite:///{database}")
    try:
        with engine.connect() as connection:
            rows = connection.exec_driver_sql("SELECT dedupe_key FROM webhook_events")
            return {row[0] for row in rows}
    finally:
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer requests, one repeat")
    args = parser.parse_args()
    repeats, batch_requests, single_requests = (1, 50, 500) if args.quick else (3, 300, 3000)
    load_before = os.getloadavg()[0]

    with tempfile.TemporaryDirectory() as folder:
        database = Path(folder) / "slaguard.db"
        slaguard_port, bare_port = free_port(), free_port()
        slaguard = start_slaguard(slaguard_port, database)
        bare = start_bare(bare_port)
        try:
            wait_healthy(f"http://127.0.0.1:{slaguard_port}", slaguard)
            wait_healthy(f"http://127.0.0.1:{bare_port}", bare)
            figures = measure(
                {
                    "slaguard": f"http://127.0.0.1:{slaguard_port}",
                    "bare": f"http://127.0.0.1:{bare_port}",
                },
                repeats,
                batch_requests,
                single_requests,
            )
            ours, theirs = figures["slaguard"], figures["bare"]
            backlog, drain_seconds = wait_for_worker(database)
        finally:
            for process in (slaguard, bare):
                process.terminate()
                process.wait(timeout=20)
        acknowledged = {parse_event(e).dedupe_key for e in ours["acknowledged"]}
        missing = acknowledged - stored_keys(database)

    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}; load average before {load_before:.2f}, "
        f"after {os.getloadavg()[0]:.2f}; store: SQLite (WAL); "
        f"{CONCURRENCY} requests in flight; medians of {repeats} run(s)"
    )
    print()
    print("| figure | slaguard | bare FastAPI 204 | slaguard / bare | target |")
    print("| --- | ---: | ---: | ---: | --- |")
    rows = [
        ("events/s, batches of 100", "events_per_s", "{:,.0f}", ">= 5,000"),
        ("requests/s, single-event batches", "requests_per_s", "{:,.0f}", ">= 300"),
        ("p50 latency, single-event (ms)", "p50_ms", "{:.1f}", ""),
        ("p99 latency, single-event (ms)", "p99_ms", "{:.1f}", "< 100"),
    ]
    for label, key, fmt, target in rows:
        ratio = ours[key] / theirs[key] if theirs[key] else float("nan")
        cells = [label, fmt.format(ours[key]), fmt.format(theirs[key]), f"{ratio:.2f}", target]
        print("| " + " | ".join(cells) + " |")
    print()
    print(
        f"acknowledged events stored: {len(acknowledged) - len(missing):,} of {len(acknowledged):,}"
        + (" (all)" if not missing else f" — {len(missing):,} MISSING")
    )
    if drain_seconds is None:
        print(f"worker: {backlog:,} events still to apply after the load; not done in 10 minutes")
    else:
        print(
            f"worker: {backlog:,} events still to apply when the load ended, all applied "
            f"{drain_seconds:.1f} s later"
        )
    if missing:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
