"""Sandbox benchmark: start-up time and peak memory by portal size, page latency over HTTP.

    .venv/bin/python bench/sandbox.py [--quick]

Start-up and memory are measured in a fresh subprocess per size (start-up = from launching
the interpreter to the first answered list request; peak RSS after a list page, a search page
and 1,000 record changes). Latency: a 100-record contacts page (and a 100-result search page)
at 100,000 contacts over real HTTP on loopback, next to a bare FastAPI endpoint served the
same way in the same run. Targets (issue 3): start-up < 5 s, 1,000,000 contacts < 500 MB,
page p99 < 20 ms.
"""

from __future__ import annotations

import json
import os
import platform
import random
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import uvicorn
from fastapi import FastAPI

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from integrations.sandbox.server import SandboxOptions, SandboxServer, free_port  # noqa: E402

CHILD = """
import json, resource, sys, time
started = time.monotonic()
import httpx
from integrations.sandbox.server import SandboxOptions, SandboxServer
contacts = int(sys.argv[1])
server = SandboxServer(SandboxOptions(contacts=contacts, limits=False)).start()
auth = {"Authorization": f"Bearer {server.token}"}
first = httpx.get(f"{server.hubspot_url}/crm/v3/objects/contacts?limit=100", headers=auth)
assert first.status_code == 200, first.text
ready = time.monotonic() - started
search = {"sorts": [{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}], "limit": 100}
httpx.post(f"{server.hubspot_url}/crm/v3/objects/contacts/search", json=search, headers=auth)
server.emulator.activity.mutate("contacts", 1000)
peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
server.stop()
print(json.dumps({"startup_s": ready, "peak_mb": peak_kb / 1024}))
"""


def measure_startup(contacts: int) -> dict[str, float]:
    launched = time.monotonic()
    output = subprocess.run(
        [sys.executable, "-c", CHILD, str(contacts)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    ).stdout
    result: dict[str, float] = json.loads(output.strip().splitlines()[-1])
    result["wall_s"] = time.monotonic() - launched
    return result


def baseline_server() -> tuple[uvicorn.Server, str]:
    app = FastAPI()

    @app.get("/ping")
    async def ping() -> dict[str, bool]:
        return {"ok": True}

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.01)
    return server, f"http://127.0.0.1:{port}/ping"


def latencies(send: object, count: int) -> list[float]:
    assert callable(send)
    for _ in range(20):  # warm up connections and caches
        send()
    spent = []
    for _ in range(count):
        began = time.perf_counter()
        send()
        spent.append((time.perf_counter() - began) * 1000)
    return spent


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[98]


def measure_latency(contacts: int, count: int) -> list[tuple[str, list[float]]]:
    rng = random.Random(1)
    rows: list[tuple[str, list[float]]] = []
    base, base_url = baseline_server()
    with (
        SandboxServer(SandboxOptions(contacts=contacts, limits=False)) as sandbox,
        httpx.Client(headers={"Authorization": f"Bearer {sandbox.token}"}) as http,
    ):
        list_url = f"{sandbox.hubspot_url}/crm/v3/objects/contacts"

        def ping() -> None:
            http.get(base_url).raise_for_status()

        def page() -> None:
            after = rng.randrange(1, contacts - 200)
            answer = http.get(list_url, params={"limit": 100, "after": after})
            assert len(answer.json()["results"]) == 100

        def page_with_properties() -> None:
            after = rng.randrange(1, contacts - 200)
            wanted = "lifecyclestage,hubspot_owner_id,hs_lead_status,email"
            answer = http.get(list_url, params={"limit": 100, "after": after, "properties": wanted})
            assert len(answer.json()["results"]) == 100

        def search() -> None:
            body = {
                "filterGroups": [{"filters": [{"propertyName": "hs_object_id", "operator": "GT",
                                               "value": str(rng.randrange(1, contacts - 500))}]}],
                "sorts": [{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}],
                "limit": 100,
            }  # fmt: skip
            answer = http.post(f"{list_url}/search", json=body)
            assert len(answer.json()["results"]) == 100

        rows.append(("bare FastAPI endpoint (baseline)", latencies(ping, count)))
        rows.append(("contacts page, 100 records", latencies(page, count)))
        rows.append(
            ("contacts page, 100 records, 4 properties", latencies(page_with_properties, count))
        )
        rows.append(("search page, 100 results", latencies(search, count)))
    base.should_exit = True
    return rows


def main() -> None:
    quick = "--quick" in sys.argv
    sizes = [100_000] if quick else [100_000, 1_000_000]
    count = 200 if quick else 1000
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, load average {os.getloadavg()[0]:.1f} at start"
    )
    print()
    print("| contacts | start-up to first answer (s) | wall incl. exit (s) | peak RSS (MB) |")
    print("| ---: | ---: | ---: | ---: |")
    for size in sizes:
        result = measure_startup(size)
        print(
            f"| {size:,} | {result['startup_s']:.2f} | {result['wall_s']:.2f} "
            f"| {result['peak_mb']:.0f} |"
        )
    print()
    print(f"latency at 100,000 contacts over loopback HTTP, {count} requests each (ms):")
    print()
    print("| request | median | p99 |")
    print("| --- | ---: | ---: |")
    for name, values in measure_latency(100_000, count):
        print(f"| {name} | {statistics.median(values):.2f} | {p99(values):.2f} |")


if __name__ == "__main__":
    main()
