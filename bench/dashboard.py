"""Dashboard benchmark: how long each page takes to build on a large SQLite store, now and
(with --baseline) at another commit, measured in the same run.

Generates 200,000 contacts with their history (bench/evaluate.py's generator), then SLA
instances of three clock rules and their events (about 1,000,000) straight into the tables
with bulk inserts, and puts the matching rules in force (plus a weekly quota and an acceptance
rate). The generated store is kept (--store) and never changed: each side measures a copy of
it, migrated by that side's own code, after running that side's `dashboard-rollups` job once
if it has one (as the running service would have).

Each round runs each side in a fresh process of its own, importing `app` from its own tree
(--baseline REF is exported with `git archive` to a temporary folder), the sides alternating
round by round so that the machine's load falls on both. A process first loads every page once
uncounted (imports, holiday tables, file cache: what a running service has paid already), then
starts a fresh app (nothing cached) and requests every page once, in-process (routing, queries
and template rendering; no network), signed in: the "first loads"; then the same pages again:
the "repeated loads" (the reports a page reuses while the store is unchanged). Printed: per
page and period, the median over the rounds of each, per side, and the load average.

Usage: python bench/dashboard.py [--store FILE] [--baseline GIT_REF] [--rounds N]
                                 [--contacts N] [--instances N]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# A worker imports `app` from the tree it measures: that tree goes first on the path, and
# so does its own bench/evaluate.py (the contact generator, which puts its tree first too).
_TREE = sys.argv[sys.argv.index("--tree") + 1] if "--tree" in sys.argv else str(ROOT)
sys.path.insert(0, str(Path(_TREE) / "bench"))
sys.path.insert(0, _TREE)

TOKEN = "bench-dashboard-token-5Yp2Kq8Rw"
EXTRA_RULES = """  - id: weekly-mqls
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
PAGES = ("/", "/sales", "/marketing", "/funnel", "/instances", "/alerts", "/system")


PERIODS = ("30d", "quarter")


def generate_sla(path: Path, contacts: int, instances: int, now: datetime, seed: int = 11) -> int:
    """SLA instances and events as the engine writes them; returns the number of events."""
    rng = random.Random(seed)
    import evaluate as contacts_bench  # bench/evaluate.py: the contact generator

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
    deliveries = generate_deliveries(db, event_rows, rng)
    db.commit()
    db.execute("ANALYZE")
    db.close()
    print(
        f"generated {len(instance_rows):,} SLA instances, {len(event_rows):,} SLA events, "
        f"{deliveries:,} alert deliveries"
    )
    return len(event_rows)


# An alert per warning and breach, to the sales channel, settled as the outbox leaves them.
DELIVERY_STATES = ("delivered", "suppressed", "dead", "pending")
DELIVERY_WEIGHTS = (90, 5, 3, 2)


def generate_deliveries(db: sqlite3.Connection, events: list[Any], rng: random.Random) -> int:
    """Outbox rows for the events above (their ids follow the insert order: the table was
    empty); returns how many."""
    import evaluate as contacts_bench

    rows = []
    for event_id, event in enumerate(events, start=1):
        if event[8] not in ("warning", "breached"):
            continue
        state = rng.choices(DELIVERY_STATES, DELIVERY_WEIGHTS)[0]
        created = event[10]
        rows.append(
            (
                event_id, event[1], event[0], "sales-channel", "channel:sales", state,
                8 if state == "dead" else 1, created if state == "pending" else None,
                f"{event_id}:sales-channel:channel:sales", "slack", "C0SALES",
                "silenced by silence 1" if state == "suppressed" else None,
                "slack answered channel_not_found" if state == "dead" else None,
                created, created if state == "delivered" else None,
                0.8 if state == "delivered" else None,
            )
        )  # fmt: skip
    db.executemany(
        contacts_bench.insert_sql(
            "alert_deliveries",
            "event_id, portal_id, instance_id, route, receiver, state, attempts, "
            "next_attempt_at, idempotency_key, target_kind, target, reason, last_error, "
            "created_at, delivered_at, latency_seconds",
        ),
        rows,
    )
    return len(rows)


def generate_store(path: Path, contacts: int, instances: int) -> None:
    import evaluate as contacts_bench

    from app.evaluation.rules_store import activate_text
    from app.sla.loader import parse_stored_rules
    from app.store.db import create_db_engine, create_session_factory, session_scope

    now = datetime.now(UTC)
    url, _ = contacts_bench.new_store(path.parent, path.name)
    contacts_bench.generate(path, contacts, now)
    generate_sla(path, contacts, instances, now)
    engine = create_db_engine(url)
    with session_scope(create_session_factory(engine)) as session:
        source = Path("bench/dashboard.py")
        activate_text(session, source, _rules(), parse_stored_rules(_rules(), str(source)), now)
    engine.dispose()


def _rules() -> str:
    import evaluate as contacts_bench

    return contacts_bench.RULES + EXTRA_RULES


# -- a worker: one side, in its own process ----------------------------------------------------


def signed_in(client: Any) -> None:
    form = client.get("/signin").text
    match = re.search(r'name="csrf" value="([^"]+)"', form)
    assert match
    response = client.post("/signin", data={"csrf": match.group(1), "token": TOKEN})
    assert response.status_code == 303, response.text


def _run_rollup_job(url: str, settings: Any) -> None:
    """This side's `dashboard-rollups` job once, if it has one."""
    import logging

    from app.jobs import all_jobs
    from app.scheduler import JobContext
    from app.store.db import create_db_engine, create_session_factory

    for job in all_jobs(settings):
        if job.id == "dashboard-rollups":
            engine = create_db_engine(url)
            started = time.perf_counter()
            job.func(JobContext(settings, create_session_factory(engine), logging.getLogger()))
            engine.dispose()
            print(f"rollup job: {time.perf_counter() - started:.1f} s", file=sys.stderr)


def worker(db: Path, rounds: int) -> None:
    """Prints one JSON line per page: the first loads of each round and the repeated loads.
    A round before them warms the process (imports, the holiday tables, the file cache) and
    is not counted: a running service has paid those once."""
    from fastapi.testclient import TestClient
    from pydantic import SecretStr

    from app.config import Settings
    from app.main import create_app
    from app.store import migrate

    url = f"sqlite:///{db}"
    migrate.upgrade(url)
    settings = Settings(  # type: ignore[call-arg]
        database_url=url, slaguard_admin_token=SecretStr(TOKEN), _env_file=None
    )
    _run_rollup_job(url, settings)
    targets = [f"{page}?period={period}" for page in PAGES for period in PERIODS]
    first: dict[str, list[float]] = {t: [] for t in targets}
    again: dict[str, list[float]] = {t: [] for t in targets}
    for round_number in range(rounds + 1):
        app = create_app(settings, start_scheduler=False)
        with TestClient(app, follow_redirects=False) as client:
            signed_in(client)
            for store in (first, again):
                for target in targets:
                    started = time.perf_counter()
                    response = client.get(target)
                    elapsed = (time.perf_counter() - started) * 1000
                    if response.status_code == 404:
                        continue  # a page this side does not have yet
                    assert response.status_code == 200, (target, response.status_code)
                    if round_number:
                        store[target].append(elapsed)
    for target in targets:
        print(json.dumps({"page": target, "first": first[target], "again": again[target]}))


# -- the driver ---------------------------------------------------------------------------------


def _export(ref: str, folder: Path) -> Path:
    """The tree of `ref`, exported (no checkout, no worktree: the repository is untouched)."""
    tree = folder / "baseline"
    tree.mkdir()
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", ref], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
    return tree


def _measure(tree: Path, copy: Path) -> dict[str, Any]:
    """One measured round of the side in `tree`, in a process of its own."""
    command = [sys.executable, str(HERE / "dashboard.py"), "--worker", str(copy)]
    command += ["--tree", str(tree), "--rounds", "1"]
    done = subprocess.run(command, check=False, capture_output=True, text=True, cwd=tree)
    if done.returncode != 0:
        raise SystemExit(f"measuring {tree} failed:\n{done.stderr[-4000:]}")
    rows = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    return {row["page"]: row for row in rows}


def _rounds(trees: list[tuple[str, Path]], store: Path, rounds: int) -> list[tuple[str, Any]]:
    """Each side on its own copy of the store, the sides alternating round by round, so a
    change in the machine's load falls on both."""
    copies = {name: store.with_name(f"{store.name}.side{n}") for n, (name, _) in enumerate(trees)}
    results: dict[str, dict[str, dict[str, list[float]]]] = {name: {} for name, _ in trees}
    try:
        for name, _ in trees:
            shutil.copyfile(store, copies[name])
        for _ in range(rounds):
            for name, tree in trees:
                for page, row in _measure(tree, copies[name]).items():
                    pooled = results[name].setdefault(page, {"first": [], "again": []})
                    pooled["first"] += row["first"]
                    pooled["again"] += row["again"]
    finally:
        for copy in copies.values():
            copy.unlink(missing_ok=True)
    return list(results.items())


def _report(sides: list[tuple[str, Any]], rounds: int) -> None:
    names = "".join(f"{name + ' first':>18}{name + ' again':>18}" for name, _ in sides)
    print(f"\nmedian ms over {rounds} rounds (first: a fresh app, nothing cached)")
    print(f"{'page':<26}{names}")
    for target in sides[-1][1]:
        cells = "".join(
            f"{_median(r, target, 'first'):>18}{_median(r, target, 'again'):>18}" for _, r in sides
        )
        print(f"{target:<26}{cells}", flush=True)


def _median(result: dict[str, Any], target: str, kind: str) -> str:
    times = result.get(target, {}).get(kind) or []
    return f"{statistics.median(times):.0f}" if times else "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=200_000)
    parser.add_argument("--instances", type=int, default=770_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--store", type=Path, help="keep the generated store here and reuse it")
    parser.add_argument("--baseline", metavar="GIT_REF", help="measure this commit too")
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--tree", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.rounds)
        return
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        baseline = _export(args.baseline, folder) if args.baseline else None
        store = args.store or folder / "dashboard.db"
        if not store.exists():
            _generate_in(baseline or ROOT, store, args)
        else:
            print(f"reusing {store}")
        trees = [(args.baseline[:10], baseline)] if baseline is not None else []
        trees.append(("this tree", ROOT))
        load = os.getloadavg()[0]
        sides = _rounds(trees, store, args.rounds)
        print(f"load average (1 min) {load:.1f} at the start, {os.getloadavg()[0]:.1f} at the end")
        _report(sides, args.rounds)


def _generate_in(tree: Path, store: Path, args: argparse.Namespace) -> None:
    """The store, generated and migrated by the oldest side's code, so both can open it."""
    command = [sys.executable, str(HERE / "dashboard.py"), "--generate", str(store)]
    command += ["--tree", str(tree), "--contacts", str(args.contacts)]
    command += ["--instances", str(args.instances)]
    subprocess.run(command, check=True, cwd=tree)


if __name__ == "__main__":
    if "--generate" in sys.argv:
        options = argparse.ArgumentParser()
        options.add_argument("--generate", type=Path)
        options.add_argument("--tree")
        options.add_argument("--contacts", type=int)
        options.add_argument("--instances", type=int)
        given = options.parse_args()
        generate_store(given.generate, given.contacts, given.instances)
    else:
        main()
