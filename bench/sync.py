"""Sync throughput against the HubSpot sandbox: records/s, where the time goes, requests of an
incremental run, peak memory, and the share of the request ceiling used with limits on.

    .venv/bin/python bench/sync.py [--contacts 20000] [--small 2000] [--postgres URL]

The sandbox runs in this process; each sync runs in a child process so its peak RSS is the
sync's alone. PostgreSQL is measured when --postgres (or TEST_POSTGRES_URL) is given.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pydantic import SecretStr
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app.config import Settings
from app.store import migrate
from app.store.db import create_db_engine, create_session_factory
from app.sync.progress import LogProgress
from app.sync.service import SyncService
from integrations.hubspot.client import HubSpotClient
from sandbox.portal.writer import PortalWriter
from sandbox.server import SandboxOptions, SandboxServer


class _Quiet(LogProgress):
    """No log lines; remembers when each object type started and ended (its phase time)."""

    def __init__(self) -> None:
        super().__init__()
        self.started: dict[str, float] = {}
        self.seconds: dict[str, float] = {}

    def begin(self, object_type: str, total: int | None) -> None:
        self.started[object_type] = time.perf_counter()

    def end(self, object_type: str) -> None:
        began = self.started.get(object_type)
        if began is not None:
            self.seconds[object_type] = time.perf_counter() - began


def child(database_url: str, base_url: str, token: str, full: bool, paced: bool) -> None:
    """Runs one sync and prints its figures as JSON (the parent reads them)."""
    settings = Settings(
        database_url=database_url,
        hubspot_access_token=SecretStr(token),
        hubspot_base_url=base_url,
        _env_file=None,  # type: ignore[call-arg]
    )
    limits = {} if paced else {"requests_per_10s": 10_000, "search_per_second": 100}
    client = HubSpotClient(token, base_url, **limits)
    engine = create_db_engine(database_url)
    progress = _Quiet()
    service = SyncService(settings, create_session_factory(engine), client, progress=progress)
    before = resource.getrusage(resource.RUSAGE_SELF)
    cpu_before = before.ru_utime + before.ru_stime
    started = time.perf_counter()
    report = service.run(full=full)
    wall = time.perf_counter() - started
    records = sum(c.get("read", 0) for c in report.counts.values())
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(
        json.dumps(
            {
                "wall": wall,
                "cpu": usage.ru_utime + usage.ru_stime - cpu_before,
                "records": records,
                "contacts": report.counts.get("contacts", {}).get("read", 0),
                "requests": report.requests,
                "rate_limited": report.rate_limited,
                "http": report.timings["http"],
                "parse": report.timings["parse"],
                "db": report.timings["db"],
                "rss_mb": usage.ru_maxrss / 1024,
                "contacts_phase": progress.seconds.get("contacts"),
            }
        )
    )


def run_child(database_url: str, sandbox: SandboxServer, *, full: bool, paced: bool) -> dict:
    args = [sys.executable, __file__, "--child", database_url, sandbox.hubspot_url, sandbox.token]
    args += ["--full" if full else "--incremental", "--paced" if paced else "--unpaced"]
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"sync child failed:\n{done.stderr[-2000:]}")
    result: dict = json.loads(done.stdout.strip().splitlines()[-1])
    result["load"] = os.getloadavg()[0]  # the machine is shared: read figures next to it
    return result


def fresh_database(backend: str, postgres_url: str | None, folder: str) -> str:
    if backend == "sqlite":
        url = f"sqlite:///{folder}/bench-{uuid.uuid4().hex[:8]}.db"
    else:
        assert postgres_url
        admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
        name = f"slaguard_bench_{uuid.uuid4().hex[:8]}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        url = make_url(postgres_url).set(database=name).render_as_string(hide_password=False)
    migrate.upgrade(url)
    return url


def drop_database(url: str, postgres_url: str | None) -> None:
    """The bench's own PostgreSQL database goes when its runs are done (SQLite files go with
    the temporary folder)."""
    if not url.startswith("postgresql") or postgres_url is None:
        return
    name = make_url(url).database
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    finally:
        admin.dispose()


def change_contacts(sandbox: SandboxServer, share: float) -> int:
    portal = sandbox.portal
    live = [t.id for t in portal.truth("contacts") if not t.archived]
    chosen = random.Random(5).sample(live, max(1, int(len(live) * share)))
    writer = PortalWriter(portal)
    for contact_id in chosen:
        writer.update("contacts", contact_id, {"hs_lead_status": "IN_PROGRESS"})
    return len(chosen)


def measure_unpaced(contacts: int, backends: list[str], postgres_url: str | None) -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for backend in backends:
            with SandboxServer(SandboxOptions(contacts=contacts, limits=False)) as sandbox:
                url = fresh_database(backend, postgres_url, folder)
                try:
                    full = run_child(url, sandbox, full=True, paced=False)
                    changed = change_contacts(sandbox, 0.01)
                    incremental = run_child(url, sandbox, full=False, paced=False)
                finally:
                    drop_database(url, postgres_url)
            row = {"backend": backend, "contacts": contacts, "changed": changed}
            rows.append({**row, "full": full, "incremental": incremental})
    return rows


def measure_paced(contacts: int) -> dict:
    options = SandboxOptions(contacts=contacts, limits=True)
    with tempfile.TemporaryDirectory() as folder, SandboxServer(options) as sandbox:
        url = fresh_database("sqlite", None, folder)
        result = run_child(url, sandbox, full=True, paced=True)
        result["sandbox_429"] = sandbox.emulator.stats.snapshot()["rateLimited"]
    ceiling = 19.0 * result["wall"]  # 190 requests per 10 s
    result["ceiling_share"] = result["requests"] / ceiling
    return result


def measure_models(repeats: int = 15) -> str:
    """Why the client parses raw JSON: the SDK's generated models for one batch-read page."""
    from hubspot import HubSpot

    from integrations.hubspot import parsing

    history = ["lifecyclestage", "hubspot_owner_id", "hs_lead_status"]
    props = ["email", "firstname", "lastname", "createdate", "lastmodifieddate", *history]
    request = {
        "inputs": [{"id": str(i)} for i in range(1, 101)],
        "properties": props,
        "propertiesWithHistory": history,
    }
    sdk_times, raw_times = [], []
    with SandboxServer(SandboxOptions(contacts=1000, limits=False)) as sandbox:
        batch = HubSpot(access_token=sandbox.token, host=sandbox.hubspot_url).crm.objects.batch_api
        for _ in range(repeats):
            body = batch.read("contacts", request, _preload_content=False).data
            started = time.perf_counter()
            parsing.batch_records("contacts", json.loads(body))
            raw_times.append(time.perf_counter() - started)

            class Raw:  # the shape ApiClient.deserialize reads
                data = body

            started = time.perf_counter()
            batch.api_client.deserialize(Raw(), "BatchResponseSimplePublicObject")
            sdk_times.append(time.perf_counter() - started)
    return (
        f"One batch read of 100 contacts with history: the SDK's models take "
        f"{statistics.median(sdk_times) * 1000:.1f} ms to build, raw JSON into typed records "
        f"{statistics.median(raw_times) * 1000:.1f} ms (medians of {repeats})."
    )


def print_tables(rows: list[dict], paced: dict | None, small: int) -> None:
    print(
        "\n| database | contacts | run | records | records/s | contacts/s | requests "
        "| HTTP wait | parsing | DB | sync CPU | records per CPU-s | peak RSS | load |"
    )
    print("| --- | ---: | --- |" + " ---: |" * 11)
    for row in rows:
        for mode in ("full", "incremental"):
            r = row[mode]
            label = mode if mode == "full" else f"incremental, {row['changed']} changed"
            print(
                f"| {row['backend']} | {row['contacts']:,} | {label} | {r['records']:,} "
                f"| {r['records'] / r['wall']:,.0f} | {r['contacts'] / r['wall']:,.0f} "
                f"| {r['requests']:,} | {r['http']:.1f} s | {r['parse']:.1f} s | {r['db']:.1f} s "
                f"| {r['cpu']:.1f} s | {r['records'] / max(r['cpu'], 0.001):,.0f} "
                f"| {r['rss_mb']:.0f} MB | {r['load']:.1f} |"
            )
    print(
        "\nThe contacts phase alone (list pages with history, parsing, transitions, commits; "
        "the same runs as above):\n\n| database | contacts | run | contacts phase | contacts/s |"
        "\n| --- | ---: | --- | ---: | ---: |"
    )
    for row in rows:
        for mode in ("full", "incremental"):
            r = row[mode]
            phase = r.get("contacts_phase")
            if phase:
                print(
                    f"| {row['backend']} | {row['contacts']:,} | {mode} | {phase:.1f} s "
                    f"| {r['contacts'] / phase:,.0f} |"
                )
    if paced is not None:
        print(
            f"\nLimits on ({small:,} contacts, 190 requests / 10 s): {paced['requests']:,} "
            f"requests in {paced['wall']:.1f} s = {paced['ceiling_share']:.0%} of the "
            f"ceiling; 429s: {paced['rate_limited']} seen by the client, "
            f"{paced['sandbox_429']} sent; sync CPU {paced['cpu']:.1f} s."
        )
    print(
        "HTTP wait is summed over the threads that wait in parallel (it can exceed the wall "
        "time); parsing is building records from the JSON; DB is the time in the store "
        "(change-detection reads and the page transactions: rows built, written, committed); "
        "sync CPU is the sync process alone (the sandbox runs in the parent)."
    )


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        _, _, url, base, token, mode, pacing = sys.argv
        child(url, base, token, mode == "--full", pacing == "--paced")
        return
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--contacts", type=str, default="20000", help="sizes, comma-separated")
    parser.add_argument("--small", type=int, default=2_000, help="portal size for limits on")
    parser.add_argument("--postgres", default=os.environ.get("TEST_POSTGRES_URL"))
    parser.add_argument("--sqlite-only", action="store_true", help="skip PostgreSQL")
    parser.add_argument("--postgres-only", action="store_true", help="skip SQLite")
    parser.add_argument("--no-paced", action="store_true", help="skip the limits-on run")
    parser.add_argument("--no-models", action="store_true", help="skip the SDK model timing")
    parser.add_argument("--paced-only", action="store_true", help="only the limits-on run")
    options = parser.parse_args()
    backends = [] if options.postgres_only else ["sqlite"]
    if options.postgres and not options.sqlite_only:
        backends.append("postgresql")
    print(
        f"slaguard sync bench: {os.cpu_count()} CPUs, sandbox in-process on loopback, "
        f"load average {os.getloadavg()[0]:.1f} at start"
    )
    rows = []
    sizes = [] if options.paced_only else options.contacts.split(",")
    for size in (int(part) for part in sizes):
        rows += measure_unpaced(size, backends, options.postgres)
    paced = None if options.no_paced else measure_paced(options.small)
    print_tables(rows, paced, options.small)
    print(f"load average {os.getloadavg()[0]:.1f} at the end")
    if not options.no_models:
        print(measure_models())


if __name__ == "__main__":
    main()
