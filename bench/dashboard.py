"""Dashboard benchmark: how long each page takes to build on a large SQLite store.

Generates 200,000 contacts with their history (bench/evaluate.py's generator), then SLA
instances of three clock rules and their events (about 1,000,000) straight into the tables
with bulk inserts, puts the matching rules in force (plus a weekly quota and an acceptance
rate), and requests every page in-process (routing, queries and template rendering; no
network) with a signed-in session. Prints per page and period the first load (nothing cached)
and the median and slowest of R more loads (reports reused while the store is unchanged).
Usage: python bench/dashboard.py [--contacts N] [--instances N] [--runs R]
"""

from __future__ import annotations

import argparse
import random
import re
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import evaluate as contacts_bench  # bench/evaluate.py: the contact generator
from fastapi.testclient import TestClient
from pydantic import SecretStr

from app.config import Settings
from app.evaluation.rules_store import activate_text
from app.main import create_app
from app.sla.loader import parse_stored_rules
from app.store import migrate
from app.store.db import create_db_engine, create_session_factory, session_scope

TOKEN = "bench-dashboard-token-5Yp2Kq8Rw"
RULES = (
    contacts_bench.RULES
    + """  - id: weekly-mqls
    kind: quota
    counts: {property: lifecyclestage, equals: marketingqualifiedlead}
    period: week
    target: 4000
  - id: acceptance
    kind: rate
    denominator: {property: lifecyclestage, equals: marketingqualifiedlead}
    numerator: {property: lifecyclestage, equals: salesqualifiedlead}
    period: month
    minimum: 0.3
"""
)
CLOCK_RULES = (("mql-first-touch", "response"), ("cadence", "cadence"), ("lead-age", "stage_age"))
# state -> the event types an instance in that state has written, in order
STATES = {
    "met": ("met",),
    "met_late": ("warning", "breached", "met_late"),
    "breached": ("warning", "breached"),
    "running": (),
    "warning": ("warning",),
    "cancelled": ("cancelled",),
}
STATE_WEIGHTS = (50, 15, 12, 12, 6, 5)
PAGES = ("/", "/sales", "/marketing", "/funnel", "/instances", "/system")


def generate_sla(path: Path, contacts: int, instances: int, now: datetime, seed: int = 11) -> int:
    """SLA instances and events as the engine writes them; returns the number of events."""
    rng = random.Random(seed)
    db = sqlite3.connect(path)
    t = contacts_bench.sqlite_time
    instance_rows, event_rows = [], []
    per_rule = instances // len(CLOCK_RULES)
    next_id = 1
    for rule_id, kind in CLOCK_RULES:
        for n in range(per_rule):
            contact = f"{n % contacts:09d}"
            cycle = n // contacts + 1
            state = rng.choices(list(STATES), STATE_WEIGHTS)[0]
            started = now - timedelta(days=rng.uniform(0, 180))
            goal = timedelta(hours=4)
            due = started + goal
            stopped = started + goal * rng.uniform(0.1, 3) if state.startswith("met") else None
            if stopped is not None and stopped > now:
                stopped = now
            owner = rng.choice(contacts_bench.OWNERS)
            open_clock = state in ("running", "warning", "breached")
            instance_rows.append(
                (
                    next_id, contacts_bench.PORTAL, rule_id, kind, "contact", contact, cycle,
                    owner, state, 0, t(started), t(started + goal * 0.75), t(due),
                    t(stopped) if stopped else None,
                    t(due) if state in ("breached", "met_late") else None,
                    t(due) if open_clock and state != "breached" else None,
                    "4h", "bench", "{}", t(now),
                )
            )  # fmt: skip
            for kind_of_event in STATES[state]:
                at = stopped if kind_of_event in ("met", "met_late") and stopped else due
                event_rows.append(
                    (
                        next_id, contacts_bench.PORTAL, rule_id, kind, "contact", contact, cycle,
                        owner, kind_of_event, t(at), t(at), "{}",
                    )
                )  # fmt: skip
            next_id += 1
    db.executemany(
        contacts_bench.insert_sql(
            "sla_instances",
            "id, portal_id, rule_id, kind, object_type, object_id, cycle, owner_id, state, "
            "paused, started_at, warning_at, due_at, stopped_at, breached_at, next_due_at, goal, "
            "rule_fingerprint, metrics, updated_at",
        ),
        instance_rows,
    )
    db.executemany(
        contacts_bench.insert_sql(
            "sla_events",
            "instance_id, portal_id, rule_id, kind, object_type, object_id, cycle, owner_id, "
            "type, occurred_at, recorded_at, details",
        ),
        event_rows,
    )
    db.commit()
    db.execute("ANALYZE")
    db.close()
    print(f"generated {len(instance_rows):,} SLA instances, {len(event_rows):,} SLA events")
    return len(event_rows)


def signed_in(client: TestClient) -> None:
    form = client.get("/signin").text
    match = re.search(r'name="csrf" value="([^"]+)"', form)
    assert match
    response = client.post("/signin", data={"csrf": match.group(1), "token": TOKEN})
    assert response.status_code == 303, response.text


def measure(client: TestClient, path: str, runs: int) -> tuple[float, float, float]:
    """The first load (nothing cached for the page), then the median and slowest of `runs`
    more (the reports it reuses while the store does not change)."""
    times = []
    for _ in range(runs + 1):
        started = time.perf_counter()
        response = client.get(path)
        times.append(time.perf_counter() - started)
        assert response.status_code == 200, (path, response.status_code)
    again = times[1:]
    return times[0] * 1000, statistics.median(again) * 1000, max(again) * 1000


def generate_store(path: Path, contacts: int, instances: int) -> None:
    now = datetime.now(UTC)
    url, _ = contacts_bench.new_store(path.parent, path.name)
    contacts_bench.generate(path, contacts, now)
    generate_sla(path, contacts, instances, now)
    engine = create_db_engine(url)
    with session_scope(create_session_factory(engine)) as session:
        source = Path("bench/dashboard.py")
        activate_text(session, source, RULES, parse_stored_rules(RULES, str(source)), now)
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=200_000)
    parser.add_argument("--instances", type=int, default=770_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--store", type=Path, help="keep the generated store in this file and reuse it next time"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = args.store or Path(folder) / "dashboard.db"
        url = f"sqlite:///{path}"
        if not path.exists():
            generate_store(path, args.contacts, args.instances)
        else:
            print(f"reusing {path}")
        migrate.upgrade(url)
        settings = Settings(  # type: ignore[call-arg]
            database_url=url, slaguard_admin_token=SecretStr(TOKEN), _env_file=None
        )
        app = create_app(settings, start_scheduler=False)
        with TestClient(app, follow_redirects=False) as client:
            signed_in(client)
            print(f"\npage loads (in-process, signed in; then {args.runs} loads more)")
            print(f"{'page':<28}{'first ms':>10}{'median ms':>11}{'slowest ms':>12}")
            for page in PAGES:
                for period in ("30d", "quarter"):
                    target = f"{page}?period={period}"
                    first, median_ms, slowest_ms = measure(client, target, args.runs)
                    print(
                        f"{target:<28}{first:>10.0f}{median_ms:>11.0f}{slowest_ms:>12.0f}",
                        flush=True,
                    )


if __name__ == "__main__":
    main()
