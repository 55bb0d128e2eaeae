"""Admin API benchmark: how long each list endpoint of /admin/api/ takes on a large SQLite store.

Builds bench/dashboard.py's store (200,000 contacts, about 770,000 SLA instances and 1,000,000
SLA events), gives the owners four teams, and adds alert deliveries (200,000 delivered, 20,000
dead) and 10,000 audit rows. Then requests each list in-process (routing, validation, the
query and the JSON; no network) with the admin token: the first page, and a page deep in the
list reached by its cursor. Prints the median and slowest of R requests per case, beside
`GET /health` measured the same way (the floor of any request through the app).
With --index-cost N: instead, what the two indexes the admin API added (ix_sla_instances_owner,
ix_sla_events_recorded_at) cost the SLA engine: a full evaluation from empty of N generated
contacts in one process, alternating with and without them on copies of one store, R rounds.
Usage: python bench/admin_api.py [--contacts N] [--instances N] [--runs R] [--store FILE]
       python bench/admin_api.py --index-cost 50000 [--runs R]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import dashboard as dashboard_bench  # bench/dashboard.py: the large SLA store
import evaluate as contacts_bench  # bench/evaluate.py: the contacts and owners
from fastapi.testclient import TestClient
from pydantic import SecretStr

from app.config import Settings
from app.evaluation.rules_store import activate_rules
from app.main import create_app
from app.store import migrate
from app.store.db import create_db_engine, create_session_factory, session_scope

TOKEN = "bench-admin-api-token-Jf4Qm7Xs2"
DELIVERED, DEAD, AUDIT = 200_000, 20_000, 10_000


def add_admin_rows(path: Path, now: datetime) -> None:
    """Teams for the owners, alert deliveries (most delivered, some dead) and audit rows."""
    t = contacts_bench.sqlite_time
    db = sqlite3.connect(path)
    for n, owner in enumerate(contacts_bench.OWNERS):
        db.execute("UPDATE owners SET primary_team_id = ? WHERE id = ?", (f"team-{n % 4}", owner))
    events = [row[0] for row in db.execute(f"SELECT id FROM sla_events LIMIT {DELIVERED + DEAD}")]
    rows = []
    for n, event_id in enumerate(events):
        dead = n % 11 == 0 and n // 11 < DEAD
        at = now - timedelta(minutes=len(events) - n)
        rows.append(
            (
                event_id, contacts_bench.PORTAL, event_id, "reps", "webhook:crm",
                "dead" if dead else "delivered", 8 if dead else 1, f"key-{event_id}",
                "webhook", "crm", "HTTP 503" if dead else None, t(at),
                None if dead else t(at),
            )
        )  # fmt: skip
    db.executemany(
        contacts_bench.insert_sql(
            "alert_deliveries",
            "event_id, portal_id, instance_id, route, receiver, state, attempts, "
            "idempotency_key, target_kind, target, last_error, created_at, delivered_at",
        ),
        rows,
    )
    audit = [
        (t(now - timedelta(minutes=AUDIT - n)), "token:0123456789ab", "api", "create_silence",
         f"alert_silence:{n}", "127.0.0.1", json.dumps({"reason": "bench"}))
        for n in range(AUDIT)
    ]  # fmt: skip
    db.executemany(
        contacts_bench.insert_sql(
            "audit_log", "at, actor, source, action, target, remote, details"
        ),
        audit,
    )
    db.commit()
    db.execute("ANALYZE")
    db.close()
    dead = sum(1 for row in rows if row[5] == "dead")
    print(
        f"added {len(rows) - dead:,} delivered and {dead:,} dead deliveries, {AUDIT:,} audit rows"
    )


def timed(client: TestClient, path: str, params: dict[str, Any], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(path, params=params, headers={"Authorization": f"Bearer {TOKEN}"})
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (path, params, response.text[:200])
    return times


def deep_cursor(client: TestClient, path: str, params: dict[str, Any], pages: int) -> Any:
    """The cursor `pages` pages of 500 into the list (or of its last page)."""
    cursor = None
    for _ in range(pages):
        query = {**params, "limit": 500, **({"cursor": cursor} if cursor else {})}
        body = client.get(path, params=query, headers={"Authorization": f"Bearer {TOKEN}"}).json()
        if body["next_cursor"] is None:
            break
        cursor = body["next_cursor"]
    return cursor


def cases(client: TestClient, now: datetime) -> list[tuple[str, str, dict[str, Any]]]:
    month_ago = (now - timedelta(days=30)).isoformat()
    day_ago = (now - timedelta(days=1)).isoformat()
    half_year = (now - timedelta(days=200)).isoformat()
    listed = [
        ("instances, no filter", "/admin/api/instances", {}),
        ("instances, rule + state", "/admin/api/instances",
         {"rule": "cadence", "state": "breached"}),
        ("instances, owner", "/admin/api/instances", {"owner": "107"}),
        ("instances, owner with none", "/admin/api/instances", {"owner": "999"}),
        ("instances, team", "/admin/api/instances", {"team": "team-2"}),
        ("instances, since 30 days", "/admin/api/instances", {"since": month_ago}),
        ("instances, object type deal (none)", "/admin/api/instances", {"object_type": "deal"}),
        ("instances, team with no owners", "/admin/api/instances", {"team": "team-9"}),
        ("instances, owner + state", "/admin/api/instances", {"owner": "107", "state": "met"}),
        ("events since 200 days", "/admin/api/events", {"since": half_year}),
        ("events since 1 day", "/admin/api/events", {"since": day_ago}),
        ("dead letters", "/admin/api/dead-letters", {}),
        ("audit log", "/admin/api/audit", {}),
    ]  # fmt: skip
    deep = []
    wanted = ("instances, no filter", "instances, team", "events since 200 days", "dead letters")
    for name, path, params in (case for case in listed if case[0] in wanted):
        cursor = deep_cursor(client, path, params, pages=20)
        deep.append((f"{name}, 20 pages deep", path, {**params, "cursor": cursor}))
    return listed + deep


def index_cost(contacts: int, rounds: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        url, path = contacts_bench.new_store(folder, "generated.db")
        now = datetime.now(UTC).replace(microsecond=0)
        contacts_bench.generate(path, contacts, now)
        engine = create_db_engine(url)
        rules = folder / "sla.yaml"
        rules.write_text(contacts_bench.RULES)
        with session_scope(create_session_factory(engine)) as session:
            activate_rules(session, rules, now)
        engine.dispose()
        times: dict[str, list[float]] = {"with the indexes": [], "without": []}
        for n in range(rounds * 2):
            name = list(times)[(n + n // 2) % 2]  # with, without, without, with, ...
            copy = folder / "pass.db"
            shutil.copyfile(path, copy)
            if name == "without":
                db = sqlite3.connect(copy)
                db.execute("DROP INDEX ix_sla_instances_owner")
                db.execute("DROP INDEX ix_sla_events_recorded_at")
                db.commit()
                db.close()
            seconds, _, _ = contacts_bench.full_passes(f"sqlite:///{copy}", now, 1)
            times[name].append(seconds)
            print(f"{name}: {seconds:.2f} s (load {os.getloadavg()[0]:.1f})", flush=True)
        for name, values in times.items():
            print(f"median {name}: {statistics.median(values):.2f} s over {len(values)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=200_000)
    parser.add_argument("--instances", type=int, default=770_000)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument(
        "--store", type=Path, help="keep the generated store in this file and reuse it next time"
    )
    parser.add_argument("--index-cost", type=int, metavar="CONTACTS")
    args = parser.parse_args()
    if args.index_cost:
        index_cost(args.index_cost, args.runs)
        return
    with tempfile.TemporaryDirectory() as folder:
        path = args.store or Path(folder) / "admin.db"
        url = f"sqlite:///{path}"
        if not path.exists():
            dashboard_bench.generate_store(path, args.contacts, args.instances)
            add_admin_rows(path, datetime.now(UTC))
        else:
            print(f"reusing {path}")
        migrate.upgrade(url)
        settings = Settings(  # type: ignore[call-arg]
            database_url=url, slaguard_admin_token=SecretStr(TOKEN), _env_file=None
        )
        app = create_app(settings, start_scheduler=False)
        with TestClient(app) as client:
            now = datetime.now(UTC)
            load = ", ".join(f"{n:.2f}" for n in os.getloadavg())
            print(f"\n{platform.node()}: {os.cpu_count()} CPUs, load average {load}")
            print(f"requests in-process with the admin token, 100 rows a page ({args.runs} runs)")
            print(f"{'case':<46}{'median ms':>11}{'slowest ms':>12}")
            rows = [("GET /health (baseline)", "/health", {}), *cases(client, now)]
            for name, path, params in rows:
                times = timed(client, path, params, args.runs)
                print(f"{name:<46}{statistics.median(times):>11.1f}{max(times):>12.1f}", flush=True)


if __name__ == "__main__":
    main()
