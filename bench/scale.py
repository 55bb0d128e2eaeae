"""Replicas benchmark: webhook events applied and alerts delivered per second by 1, 2 and 3
`slaguard serve --role worker` processes on one PostgreSQL store, with one `--role all`
process (the single-process deployment) as the baseline, in the same run.

    .venv/bin/python bench/scale.py \
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test \
        [--contacts 500] [--events-per-contact 3] [--repeats 3]

Each measurement starts the processes on a fresh copy of one seeded database (contacts read
long ago, a response rule with an `alerts:` route to a local webhook receiver), waits until
they answer, then commits a backlog of webhook events at once (3 per contact: the hand-over
to MQL two hours ago, then lead status changes). From that commit:

- events/s: the backlog over the time until no event is pending;
- alerts/s: the breach alerts those events caused (one per contact), over the time from the
  commit until the last was delivered (events, hand-offs and deliveries overlap: this is
  what the deployment achieves end to end);
- drain/s: then every delivery is made due again and the same processes drain the outbox
  alone (the delivery work on its own).

Medians of `--repeats` runs. The URL names a server where the user may create databases; the
benchmark's databases are dropped at the end.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app.evaluation.rules_store import activate_text
from app.sla.loader import load_rules
from app.store import migrate
from app.store.db import create_db_engine, create_session_factory, session_scope
from integrations.webhooks.signing import WebhookSecret
from sandbox.server import free_port
from tests.fixtures.crm import add_read_long_ago, seed_portal
from tests.fixtures.webhooks import PORTAL, ingest, property_change
from tests.integrations.webhooks.receiver import Receiver

SLAGUARD = Path(sys.executable).parent / "slaguard"
RULES = """rules:
  - id: first-touch
    kind: response
    object: contact
    start: {{entered_stage: marketingqualifiedlead}}
    stop: {{lead_status_in: [CONNECTED]}}
    goal: 1h
    time: calendar
alerts:
  webhooks:
    crm:
      url: {url}
      secret_env: SLAGUARD_BENCH_WEBHOOK_SECRET
  routes:
    - name: crm
      match: {{events: [breached]}}
      receivers: ["webhook:crm"]
"""
STATUSES = ("OPEN", "IN_PROGRESS", "ATTEMPTED_TO_CONTACT")
TIMEOUT_S = 600.0


@dataclass(frozen=True)
class Setup:
    name: str
    role: str
    processes: int


SETUPS = (
    Setup("single process (--role all), baseline", "all", 1),
    Setup("1 worker", "worker", 1),
    Setup("2 workers", "worker", 2),
    Setup("3 workers", "worker", 3),
)


@dataclass
class Figures:
    events_per_s: float
    alerts_per_s: float
    drain_per_s: float


class Databases:
    """Throw-away databases beside the given URL: one seeded template, one copy per run."""

    def __init__(self, url: str) -> None:
        self.url = make_url(url)
        self.admin = create_engine(self.url, isolation_level="AUTOCOMMIT")
        self.made: list[str] = []

    def create(self, template: str | None = None) -> str:
        name = f"slaguard_scale_{uuid.uuid4().hex[:10]}"
        clause = f' TEMPLATE "{template}"' if template else ""
        with self.admin.connect() as db:
            db.execute(text(f'CREATE DATABASE "{name}"{clause}'))
        self.made.append(name)
        return name

    def url_of(self, name: str) -> str:
        return self.url.set(database=name).render_as_string(hide_password=False)

    def drop_all(self) -> None:
        with self.admin.connect() as db:
            for name in self.made:
                db.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self.admin.dispose()


def seed(url: str, contacts: int, rules_path: Path) -> None:
    migrate.upgrade(url)
    engine = create_db_engine(url)
    factory = create_session_factory(engine)
    with session_scope(factory) as session:
        seed_portal(session, time_zone="UTC", portal_id=PORTAL)
        add_read_long_ago(session, "contact", list(range(1, contacts + 1)), portal_id=PORTAL)
        rules = rules_path.read_text()
        activate_text(session, rules_path, rules, load_rules(rules_path), datetime.now(UTC))
    engine.dispose()


def backlog(contacts: int, per_contact: int) -> list[dict[str, object]]:
    """Per contact: MQL two hours ago (breached at once: the goal is 1 h), then status
    changes; in arrival order, interleaved across contacts as HubSpot sends them."""
    start = int((datetime.now(UTC) - timedelta(hours=2)).timestamp() * 1000)
    events = []
    for step in range(per_contact):
        for contact in range(1, contacts + 1):
            at = start + step * 60_000 + contact
            if step == 0:
                events.append(
                    property_change(
                        "contact", contact, at, "lifecyclestage", "marketingqualifiedlead"
                    )
                )
            else:
                status = STATUSES[(contact + step) % len(STATUSES)]
                events.append(property_change("contact", contact, at, "hs_lead_status", status))
    return events


@contextmanager
def serving(setup: Setup, url: str, rules: Path, workdir: Path) -> Iterator[None]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SLAGUARD_", "HUBSPOT_"))},
        "DATABASE_URL": url,
        "SLAGUARD_RULES": str(rules),
        "SLAGUARD_LOG_LEVEL": "WARNING",
        "SLAGUARD_WEBHOOKS_ALLOW_PRIVATE": "true",
        "SLAGUARD_BENCH_WEBHOOK_SECRET": os.environ["SLAGUARD_BENCH_WEBHOOK_SECRET"],
        "SLAGUARD_ROLE": setup.role,
    }
    processes = []
    with (workdir / "serve.log").open("a") as log:
        for _ in range(setup.processes):
            port = free_port()
            command = [str(SLAGUARD), "serve", "--port", str(port)]
            process = subprocess.Popen(command, env=env, cwd=workdir, stdout=log, stderr=log)
            processes.append((process, port))
    try:
        for process, port in processes:
            wait_healthy(process, port)
        yield
    finally:
        for process, _ in processes:
            process.terminate()
        for process, _ in processes:
            process.wait(timeout=30)


def wait_healthy(process: subprocess.Popen[bytes], port: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"slaguard serve exited {process.returncode}; see serve.log")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit("slaguard serve did not answer within 60 s")


def wait_until(url: str, query: str, done: int) -> float:
    """Seconds (monotonic clock) at which `query` first returned `done`."""
    engine = create_engine(url)
    deadline = time.monotonic() + TIMEOUT_S
    try:
        while time.monotonic() < deadline:
            with engine.connect() as db:
                if db.execute(text(query)).scalar_one() == done:
                    return time.monotonic()
            time.sleep(0.05)
    finally:
        engine.dispose()
    raise SystemExit(f"timed out waiting for {query!r} to reach {done}")


PENDING = "SELECT count(*) FROM webhook_events WHERE processed_at IS NULL"
DELIVERED = "SELECT count(*) FROM alert_deliveries WHERE state = 'delivered'"


def measure(
    setup: Setup, url: str, rules: Path, workdir: Path, args: argparse.Namespace
) -> Figures:
    events = backlog(args.contacts, args.events_per_contact)
    engine = create_db_engine(url)
    factory = create_session_factory(engine)
    with serving(setup, url, rules, workdir):
        ingest(factory, events)  # one commit, as the endpoint stores a batch
        began = time.monotonic()
        applied = wait_until(url, PENDING, 0)
        delivered = wait_until(url, DELIVERED, args.contacts)
        with engine.begin() as db:
            db.execute(
                text(
                    "UPDATE alert_deliveries SET state = 'pending', next_attempt_at = now(), "
                    "delivered_at = NULL, attempts = 0"
                )
            )
        drain_began = time.monotonic()
        drained = wait_until(url, DELIVERED, args.contacts)
    engine.dispose()
    return Figures(
        events_per_s=len(events) / (applied - began),
        alerts_per_s=args.contacts / (delivered - began),
        drain_per_s=args.contacts / (drained - drain_began),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True, help="a PostgreSQL server URL")
    parser.add_argument("--contacts", type=int, default=500)
    parser.add_argument("--events-per-contact", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if make_url(args.database_url).get_backend_name() != "postgresql":
        raise SystemExit("replicas need PostgreSQL: give a postgresql+psycopg:// URL")
    os.environ["SLAGUARD_BENCH_WEBHOOK_SECRET"] = WebhookSecret.generate().text()
    receiver = Receiver().start()
    databases = Databases(args.database_url)
    results: dict[str, list[Figures]] = {setup.name: [] for setup in SETUPS}
    try:
        with tempfile.TemporaryDirectory(prefix="slaguard-scale-") as tmp:
            workdir = Path(tmp)
            rules = workdir / "sla.yaml"
            rules.write_text(RULES.format(url=receiver.url))
            template = databases.create()
            seed(databases.url_of(template), args.contacts, rules)
            for repeat in range(args.repeats):
                for setup in SETUPS:  # interleaved, so drift hits every setup alike
                    url = databases.url_of(databases.create(template))
                    figures = measure(setup, url, rules, workdir, args)
                    results[setup.name].append(figures)
                    print(
                        f"  run {repeat + 1} {setup.name}: {figures.events_per_s:,.0f} events/s,"
                        f" {figures.alerts_per_s:,.0f} alerts/s end to end,"
                        f" {figures.drain_per_s:,.0f} alerts/s drain",
                        flush=True,
                    )
    finally:
        receiver.stop()
        databases.drop_all()
    report(results, args)


def report(results: dict[str, list[Figures]], args: argparse.Namespace) -> None:
    events = args.contacts * args.events_per_contact
    print(
        f"\n{events:,} webhook events over {args.contacts:,} contacts, {args.contacts:,} breach "
        f"alerts; medians of {args.repeats}; {os.cpu_count()} CPU(s), "
        f"Python {platform.python_version()}"
    )
    print(f"{'setup':<40} {'events/s':>10} {'alerts/s e2e':>13} {'alerts/s drain':>15}")
    base = None
    for name, runs in results.items():
        median = Figures(
            statistics.median(r.events_per_s for r in runs),
            statistics.median(r.alerts_per_s for r in runs),
            statistics.median(r.drain_per_s for r in runs),
        )
        base = base or median
        print(
            f"{name:<40} {median.events_per_s:>10,.0f} {median.alerts_per_s:>13,.0f} "
            f"{median.drain_per_s:>15,.0f}   (x{median.events_per_s / base.events_per_s:.2f} "
            f"events, x{median.drain_per_s / base.drain_per_s:.2f} drain)"
        )


if __name__ == "__main__":
    main()
