"""Sandbox benchmark: start-up time and peak memory by portal size, page latency over HTTP.

    .venv/bin/python bench/hubspot_emulator.py [--quick]

Start-up and memory are measured in a fresh subprocess per size (start-up = from launching
the interpreter to the first answered list request; peak RSS after a list page, a search page
and 1,000 record changes). Latency: a 100-record contacts page (and a 100-result search page)
at 100,000 contacts from `slaguard sandbox` in its own process, over real HTTP on loopback,
next to a bare FastAPI endpoint served by uvicorn in another process in the same run.
Targets (issue 3): start-up < 5 s, 1,000,000 contacts < 500 MB, page p99 < 20 ms.
"""

from __future__ import annotations

import json
import os
import platform
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sandbox.server import free_port  # noqa: E402

CHILD = """
import json, resource, sys, time
started = time.monotonic()
import httpx
from sandbox.server import SandboxOptions, SandboxServer
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


BASELINE = """
import sys, uvicorn
from fastapi import FastAPI
app = FastAPI()

@app.get("/ping")
async def ping():
    return {"ok": True}

uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
"""


def serve_in_subprocess(
    command: list[str], probe_url: str, headers: dict[str, str], env: dict[str, str]
) -> subprocess.Popen[bytes]:
    """A server in its own process, as users run it; returns once it answers."""
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(probe_url, headers=headers).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"{command[0]} did not answer at {probe_url}")


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


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used (Linux /proc); unlike wall time, other
    processes on the machine barely change it."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


Row = tuple[str, list[float], float]  # name, wall-clock ms per request, server CPU ms per request


def timed(name: str, send: object, count: int, server: subprocess.Popen[bytes]) -> Row:
    before = cpu_seconds(server.pid)
    spent = latencies(send, count)
    cpu_ms = (cpu_seconds(server.pid) - before) * 1000 / (count + 20)
    return name, spent, cpu_ms


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[98]


def measure_latency(contacts: int, count: int) -> list[Row]:
    rng = random.Random(1)
    token = "pat-na1-bench"
    auth = {"Authorization": f"Bearer {token}"}
    base_port, sandbox_port = free_port(), free_port()
    base_url = f"http://127.0.0.1:{base_port}/ping"
    list_url = f"http://127.0.0.1:{sandbox_port}/crm/v3/objects/contacts"
    slaguard = str(Path(sys.executable).with_name("slaguard"))
    env = {**os.environ, "HUBSPOT_ACCESS_TOKEN": token, "PYTHONPATH": str(ROOT)}
    sandbox_command = [
        slaguard, "sandbox", "--contacts", str(contacts), "--no-limits",
        "--tick-seconds", "0", "--port", str(sandbox_port),
    ]  # fmt: skip
    servers = [
        serve_in_subprocess([sys.executable, "-c", BASELINE, str(base_port)], base_url, {}, env),
        serve_in_subprocess(sandbox_command, f"{list_url}?limit=1", auth, env),
    ]
    rows: list[Row] = []
    baseline, sandbox = servers
    with httpx.Client(headers=auth) as http:

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

        rows.append(timed("bare FastAPI endpoint (baseline)", ping, count, baseline))
        rows.append(timed("contacts page, 100 records", page, count, sandbox))
        rows.append(
            timed("contacts page, 100 records, 4 properties", page_with_properties, count, sandbox)
        )
        rows.append(timed("search page, 100 results", search, count, sandbox))
    for server in servers:
        server.terminate()
        server.wait(timeout=10)
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
    print("| request | median | p99 | server CPU per request |")
    print("| --- | ---: | ---: | ---: |")
    for name, values, cpu_ms in measure_latency(100_000, count):
        print(f"| {name} | {statistics.median(values):.2f} | {p99(values):.2f} | {cpu_ms:.2f} |")


if __name__ == "__main__":
    main()
