"""SLA evaluation benchmark: full pass, incremental per record, breach-detection latency.

Generates a portal with 200,000 contacts and their history (lifecycle, owner and lead-status
transitions, engagements) straight into a temporary SQLite file, then measures:
- full evaluation of 3 rules (response, cadence, stage age) over every contact, from empty
  (every instance and event written) and again with nothing changed;
- incremental evaluation of single changed records (a new call each): queued in the change's
  transaction and handed off in a transaction of its own, as the webhook worker does;
- breach-detection latency with 50,000 running clocks: deadlines fall due in real time while
  the due-clock job ticks every second; latency = stored event's recorded_at - deadline.
Medians over repeated runs. Usage: python bench/evaluate.py [--contacts N] [--runs R]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import select, text

from app.evaluation import handoff
from app.evaluation.due import process_due
from app.evaluation.parallel import evaluate_all_parallel
from app.evaluation.rules_store import activate_rules
from app.evaluation.service import evaluate_all
from app.evaluation.writes import EvaluationReport
from app.models import SlaEvent
from app.store import migrate
from app.store.db import create_db_engine, create_session_factory, session_scope

PORTAL = 1
STAGES = [
    "subscriber",
    "lead",
    "marketingqualifiedlead",
    "salesqualifiedlead",
    "opportunity",
    "customer",
]
OWNERS = [str(100 + i) for i in range(40)]

RULES = """calendars:
  default:
    time_zone: America/New_York
    hours: {mon: ["09:00-12:00", "13:00-18:00"], tue: ["09:00-12:00", "13:00-18:00"],
            wed: ["09:00-12:00", "13:00-18:00"], thu: ["09:00-12:00", "13:00-18:00"],
            fri: ["09:00-17:00"]}
    holidays: {country: US, subdivision: NY}
rules:
  - id: mql-first-touch
    kind: response
    start: {entered_stage: marketingqualifiedlead}
    stop: {engagement: {types: [call, email, meeting]}, stage_advanced: true}
    pause: {lead_status_in: [BAD_TIMING]}
    goal: 4h
  - id: cadence
    kind: cadence
    start: {owner_assigned: true}
    touches: {count: 3, within: 5d}
    counts: {types: [call, email]}
    stop: {lead_status_in: [CONNECTED]}
  - id: lead-age
    kind: stage_age
    object: contact
    stages: [lead]
    max: 10d
"""

# `--alerts`: every event routed to its owner and a channel, so the outbox rows are written
# in the evaluation's transactions (the cost of alerting on top of the evaluation).
ALERTS = """alerts:
  routes:
    - name: everyone
      receivers: [owner, "#sales"]
"""

LEAD = 60  # seconds from generating the clocks to the first deadline

LATENCY_RULES = """rules:
  - id: one-hour-touch
    kind: response
    start: {entered_stage: marketingqualifiedlead}
    stop: {engagement: {types: [call]}}
    goal: 1h
    time: calendar
    warning_at: null
"""


def insert_sql(table: str, columns: str) -> str:
    marks = ", ".join("?" for _ in columns.split(","))
    return f"INSERT INTO {table} ({columns}) VALUES ({marks})"


def sqlite_time(at: datetime) -> str:
    return at.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def generate(path: Path, contacts: int, now: datetime, seed: int = 7) -> None:
    """Rows written with sqlite3 directly (the format SQLAlchemy's UTC columns read)."""
    rng = random.Random(seed)
    db = sqlite3.connect(path)
    db.execute(
        insert_sql("portals", "id, time_zone, currency, ui_domain"),
        (PORTAL, "America/New_York", "USD", "app.hubspot.com"),
    )
    db.executemany(
        insert_sql("lifecycle_stages", "portal_id, id, label, display_order"),
        [(PORTAL, s, s, i) for i, s in enumerate(STAGES)],
    )
    db.executemany(
        "INSERT INTO owners (portal_id, id, teams, archived) VALUES (?, ?, '[]', 0)",
        [(PORTAL, o) for o in OWNERS],
    )
    contact_rows, transitions, engagements, links = [], [], [], []
    for n in range(contacts):
        cid = f"{n:09d}"
        created = now - timedelta(days=rng.uniform(0, 180))
        owner = rng.choice(OWNERS)
        steps = [("subscriber", created), ("lead", created + timedelta(hours=rng.uniform(0, 48)))]
        if rng.random() < 0.6:
            steps.append(
                ("marketingqualifiedlead", steps[-1][1] + timedelta(hours=rng.uniform(1, 24 * 14)))
            )
            if rng.random() < 0.4:
                steps.append(
                    ("salesqualifiedlead", steps[-1][1] + timedelta(hours=rng.uniform(1, 72)))
                )
        steps = [(v, at) for v, at in steps if at < now]
        for i, (value, at) in enumerate(steps):
            exited = sqlite_time(steps[i + 1][1]) if i + 1 < len(steps) else None
            transitions.append(
                (
                    PORTAL,
                    "contact",
                    cid,
                    "lifecyclestage",
                    value,
                    sqlite_time(at),
                    exited,
                    "history",
                )
            )
        assigned = steps[-1][1]
        transitions.append(
            (
                PORTAL,
                "contact",
                cid,
                "hubspot_owner_id",
                owner,
                sqlite_time(assigned),
                None,
                "history",
            )
        )
        status = "NEW"
        transitions_status = [("NEW", assigned)]
        if rng.random() < 0.3:
            status = rng.choice(["CONNECTED", "BAD_TIMING", "ATTEMPTED_TO_CONTACT"])
            transitions_status.append((status, assigned + timedelta(hours=rng.uniform(1, 100))))
        transitions_status = [(v, at) for v, at in transitions_status if at < now]
        for i, (value, at) in enumerate(transitions_status):
            exited = (
                sqlite_time(transitions_status[i + 1][1])
                if i + 1 < len(transitions_status)
                else None
            )
            transitions.append(
                (
                    PORTAL,
                    "contact",
                    cid,
                    "hs_lead_status",
                    value,
                    sqlite_time(at),
                    exited,
                    "history",
                )
            )
        contact_rows.append(
            (
                PORTAL,
                cid,
                0,
                "{}",
                steps[-1][0],
                owner,
                sqlite_time(assigned),
                transitions_status[-1][0],
                "ORGANIC_SEARCH",
                sqlite_time(created),
            )
        )
        for k in range(rng.choice([0, 1, 1, 2, 3, 4])):
            at = assigned + timedelta(hours=rng.uniform(0.1, 120))
            if at >= now:
                continue
            eid = f"{cid}-{k}"
            engagements.append(
                (
                    PORTAL,
                    eid,
                    0,
                    "{}",
                    rng.choice(["call", "email", "meeting"]),
                    sqlite_time(at),
                    owner,
                    "OUTBOUND",
                )
            )
            links.append((PORTAL, "engagement", eid, "contact", cid))
    db.executemany(
        insert_sql(
            "contacts",
            "portal_id, id, archived, properties, lifecycle_stage, owner_id, owner_assigned_at, "
            "lead_status, lead_source, created_at",
        ),
        contact_rows,
    )
    db.executemany(
        insert_sql(
            "transitions",
            "portal_id, object_type, object_id, property, value, entered_at, exited_at, source",
        ),
        transitions,
    )
    db.executemany(
        insert_sql(
            "engagements",
            "portal_id, id, archived, properties, type, occurred_at, owner_id, direction",
        ),
        engagements,
    )
    db.executemany(
        insert_sql("associations", "portal_id, from_type, from_id, to_type, to_id"),
        links,
    )
    db.commit()
    db.execute("ANALYZE")
    db.close()
    print(
        f"generated {contacts:,} contacts, {len(transitions):,} transitions, "
        f"{len(engagements):,} engagements",
        flush=True,
    )


def new_store(folder: Path, name: str) -> tuple[str, Path]:
    path = folder / name
    url = f"sqlite:///{path}"
    migrate.upgrade(url)
    return url, path


WORKERS = (1, 2)  # the in-process pass and the parallel driver, measured in the same run


def full_passes(url: str, now: datetime, workers: int) -> tuple[float, float, EvaluationReport]:
    """The full pass from empty, then again with nothing changed, with `workers` processes
    (1: in this process, one transaction, as before)."""
    timings, reports = [], []
    for _ in range(2):
        started = time.perf_counter()
        if workers == 1:
            engine = create_db_engine(url)
            with session_scope(create_session_factory(engine)) as session:
                reports.append(evaluate_all(session, now=now))
            engine.dispose()
        else:
            reports.append(evaluate_all_parallel(url, now=now, workers=workers))
        timings.append(time.perf_counter() - started)
    return timings[0], timings[1], reports[0]


def bench_full_and_incremental(
    folder: Path, contacts: int, runs: int, alerts: str = ""
) -> dict[str, float]:
    url, path = new_store(folder, "generated.db")
    now = datetime.now(UTC).replace(microsecond=0)
    generate(path, contacts, now)
    engine = create_db_engine(url)
    factory = create_session_factory(engine)
    rules_path = folder / "sla.yaml"
    rules_path.write_text(RULES + alerts)
    with session_scope(factory) as session:
        activate_rules(session, rules_path, now)
    engine.dispose()  # the last connection checkpoints the WAL: the file alone is the store
    cold: dict[int, list[float]] = {n: [] for n in WORKERS}
    warm: dict[int, list[float]] = {n: [] for n in WORKERS}
    written: dict[int, tuple[int, int]] = {}
    for _ in range(runs):
        for workers in WORKERS:
            # From empty: a fresh copy of the generated store for every pass.
            copy = folder / f"full-{workers}.db"
            shutil.copyfile(path, copy)
            from_empty, unchanged, report = full_passes(f"sqlite:///{copy}", now, workers)
            cold[workers].append(from_empty)
            warm[workers].append(unchanged)
            written[workers] = (report.created, report.events)
            print(
                f"full pass, {workers} worker(s): {from_empty:.1f} s from empty, "
                f"{unchanged:.1f} s unchanged (load average {os.getloadavg()[0]:.2f})",
                flush=True,
            )
    if len(set(written.values())) != 1:
        raise SystemExit(f"the passes wrote different counts: {written}")
    # The incremental measurement runs on the store the in-process pass evaluated.
    engine = create_db_engine(f"sqlite:///{folder / 'full-1.db'}")
    factory = create_session_factory(engine)
    created, events = written[1]
    print(f"full pass wrote {created:,} instances and {events:,} events", flush=True)
    rng = random.Random(3)
    per_record = []
    with session_scope(factory) as session:
        ids = list(
            session.scalars(
                text("SELECT id FROM contacts WHERE lifecycle_stage = 'marketingqualifiedlead'")
            )
        )
    for run in range(runs):
        sample = rng.sample(ids, 300)
        spent = 0.0
        for n, cid in enumerate(sample):
            # The change arrives (a sync page or a webhook applied it) ...
            with session_scope(factory) as session:
                eid = f"bench-{run}-{n}"
                session.execute(
                    text(
                        "INSERT INTO engagements (portal_id, id, archived, properties, type, "
                        "occurred_at, owner_id, direction) "
                        "VALUES (:p, :id, 0, '{}', 'call', :at, NULL, 'OUTBOUND')"
                    ),
                    {"p": PORTAL, "id": eid, "at": sqlite_time(now)},
                )
                session.execute(
                    text(
                        "INSERT INTO associations (portal_id, from_type, from_id, to_type, to_id) "
                        "VALUES (:p, 'engagement', :e, 'contact', :c)"
                    ),
                    {"p": PORTAL, "e": eid, "c": cid},
                )
                # ... the feed queues the record in the change's transaction (timed) ...
                started = time.perf_counter()
                queued = handoff.enqueue(session, {(PORTAL, "contact"): [cid]}, now)
                spent += time.perf_counter() - started
            # ... and hands it off: evaluated and dequeued in its own transaction (timed).
            started = time.perf_counter()
            handoff.hand_off(factory, queued, now)
            spent += time.perf_counter() - started
        per_record.append(spent / len(sample) * 1000)
    engine.dispose()
    results = {"incremental_ms": statistics.median(per_record)}
    for workers in WORKERS:
        results[f"full_{workers}"] = statistics.median(cold[workers])
        results[f"full_unchanged_{workers}"] = statistics.median(warm[workers])
    return results


def bench_latency(
    folder: Path, clocks: int, due_now: int, runs: int, alerts: str = ""
) -> tuple[float, float, int]:
    latencies: list[float] = []
    p50s, p99s = [], []
    for run in range(runs):
        url, path = new_store(folder, f"latency-{run}.db")
        now = datetime.now(UTC)
        db = sqlite3.connect(path)
        db.execute(
            "INSERT INTO portals (id, time_zone, currency, ui_domain) VALUES (1, 'UTC', 'USD', 'x')"
        )
        rows, transitions = [], []
        for n in range(clocks):
            cid = f"{n:09d}"
            if n < due_now:  # deadlines spread over 20 seconds, after the setup below
                entered = now - timedelta(hours=1) + timedelta(seconds=LEAD + 20 * n / due_now)
            else:
                entered = now + timedelta(seconds=n % 600) - timedelta(minutes=30)
            rows.append((1, cid, 0, "{}", "marketingqualifiedlead", sqlite_time(entered)))
            transitions.append(
                (
                    1,
                    "contact",
                    cid,
                    "lifecyclestage",
                    "marketingqualifiedlead",
                    sqlite_time(entered),
                    None,
                    "history",
                )
            )
        db.executemany(
            insert_sql(
                "contacts", "portal_id, id, archived, properties, lifecycle_stage, created_at"
            ),
            rows,
        )
        db.executemany(
            insert_sql(
                "transitions",
                "portal_id, object_type, object_id, property, value, entered_at, exited_at, source",
            ),
            transitions,
        )
        db.commit()
        db.close()
        engine = create_db_engine(url)
        factory = create_session_factory(engine)
        rules_path = folder / "latency.yaml"
        rules_path.write_text(LATENCY_RULES + alerts)
        with session_scope(factory) as session:
            activate_rules(session, rules_path, now)
            report = evaluate_all(session, now=datetime.now(UTC))
            running = session.scalar(
                text("SELECT count(*) FROM sla_instances WHERE state = 'running'")
            )
        # The due-clock job: a tick every second, as the scheduler runs it. Only deadlines
        # after its first tick count (setup may eat into the lead on a slow machine).
        ticking_since = datetime.now(UTC)
        deadline = time.monotonic() + max(10.0, (now - ticking_since).total_seconds() + LEAD + 30)
        while time.monotonic() < deadline:
            tick = time.monotonic()
            with session_scope(factory) as session:
                process_due(session, datetime.now(UTC))
            time.sleep(max(0.0, 1.0 - (time.monotonic() - tick)))
        with session_scope(factory) as session:
            rows_ = session.execute(
                select(SlaEvent.occurred_at, SlaEvent.recorded_at).where(
                    SlaEvent.type == "breached", SlaEvent.occurred_at >= ticking_since
                )
            ).all()
        run_latencies = [(recorded - occurred).total_seconds() for occurred, recorded in rows_]
        latencies.extend(run_latencies)
        quantiles = statistics.quantiles(run_latencies, n=100)
        p50s.append(statistics.median(run_latencies))
        p99s.append(quantiles[98])
        print(
            f"latency run {run + 1}: {report.created:,} instances, {running:,} running, "
            f"{len(run_latencies):,} breaches",
            flush=True,
        )
        engine.dispose()
    return statistics.median(p50s), statistics.median(p99s), len(latencies)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=200_000)
    parser.add_argument("--clocks", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--alerts", action="store_true", help="route every event (outbox rows)")
    args = parser.parse_args()
    alerts = ALERTS if args.alerts else ""
    with tempfile.TemporaryDirectory(prefix="slaguard-bench-") as tmp:
        folder = Path(tmp)
        print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        results = bench_full_and_incremental(folder, args.contacts, args.runs, alerts)
        p50, p99, _breaches = bench_latency(folder, args.clocks, 2000, args.runs, alerts)
    cores = os.cpu_count()
    print()
    print(
        f"SLA evaluation on SQLite ({cores} cores, Python {sys.version.split()[0]}), "
        f"{'every event routed to the outbox, ' if args.alerts else ''}"
        f"medians of {args.runs} runs; load average after: "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    print("| measure | result | target |")
    print("| --- | --- | --- |")
    for workers in WORKERS:
        how = "in one process" if workers == 1 else f"{workers} worker processes"
        print(
            f"| full evaluation, 3 rules x {args.contacts:,} contacts, from empty, {how} "
            f"| {results[f'full_{workers}']:.1f} s | <= 20 s |"
        )
        print(
            f"| full evaluation again, nothing changed, {how} "
            f"| {results[f'full_unchanged_{workers}']:.1f} s | |"
        )
    print(
        f"| incremental evaluation per changed record (own transaction) "
        f"| {results['incremental_ms']:.2f} ms | <= 5 ms |"
    )
    print(f"| breach detection latency p50, {args.clocks:,} running clocks | {p50:.2f} s | |")
    print(
        f"| breach detection latency p99, {args.clocks:,} running clocks | {p99:.2f} s | <= 5 s |"
    )


if __name__ == "__main__":
    main()
