"""Alert outbox benchmark: a burst of breaches enqueued in the evaluation's transaction and
drained to a local webhook receiver (loopback HTTP, signed, 200 at once).

    .venv/bin/python bench/outbox.py [--breaches N] [--database-url URL]

Prints, in one run:
- the evaluation that logs N fresh breaches, without an `alerts:` section (the baseline) and
  with a route to a webhook (each breach also enqueues its delivery);
- the time to drain the N deliveries with 1 worker and with 2 workers (threads, each with its
  own claims), deliveries per second, and p50/p99 of the SLA event -> delivered latency;
- whether every alert reached the receiver exactly once (counted by `webhook-id`);
- peak RSS.
SQLite in a temporary file by default; `--database-url` points it at an empty PostgreSQL
database instead (its tables are created and left for you to drop).
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import select, text

from alerts.model import TargetKind
from alerts.outbox.runtime import WebhookEndpointFinder
from alerts.outbox.worker import Worker
from alerts.webhook_delivery import WebhookDeliverer
from app.evaluation.rules_store import activate_text
from app.evaluation.service import evaluate_all
from app.models import AlertDelivery
from app.sla.loader import load_rules
from app.store import migrate
from app.store.db import create_db_engine, create_session_factory, session_scope
from integrations.webhooks.sender import WebhookSender
from integrations.webhooks.signing import WebhookSecret
from tests.integrations.webhooks.receiver import Receiver

PORTAL = 1
RULES = """rules:
  - id: first-touch
    kind: response
    start: {entered_stage: marketingqualifiedlead}
    stop: {engagement: {types: [call]}}
    goal: 1h
    time: calendar
    warning_at: null
"""
ALERTS = """alerts:
  webhooks:
    crm:
      url: {url}
      secret_env: SLAGUARD_BENCH_WEBHOOK_SECRET
  routes:
    - name: crm
      match: {{events: [breached]}}
      receivers: ["webhook:crm"]
"""


def seed(url: str, breaches: int) -> None:
    engine = create_db_engine(url)
    entered = datetime.now(UTC) - timedelta(hours=2)
    with engine.begin() as db:
        db.execute(
            text(
                "INSERT INTO portals (id, time_zone, currency, ui_domain) "
                "VALUES (:p, 'UTC', 'USD', 'app.hubspot.com')"
            ),
            {"p": PORTAL},
        )
        db.execute(
            text(
                "INSERT INTO contacts (portal_id, id, archived, properties, lifecycle_stage, "
                "created_at) VALUES (:p, :id, false, '{}', 'marketingqualifiedlead', :at)"
            ),
            [{"p": PORTAL, "id": f"{n:08d}", "at": entered} for n in range(breaches)],
        )
        db.execute(
            text(
                "INSERT INTO transitions (portal_id, object_type, object_id, property, value, "
                "entered_at, source) VALUES (:p, 'contact', :id, 'lifecyclestage', "
                "'marketingqualifiedlead', :at, 'history')"
            ),
            [{"p": PORTAL, "id": f"{n:08d}", "at": entered} for n in range(breaches)],
        )
    engine.dispose()


def evaluate(url: str, folder: Path, alerts: str) -> float:
    engine = create_db_engine(url)
    factory = create_session_factory(engine)
    path = folder / "sla.yaml"
    path.write_text(RULES + alerts)
    with session_scope(factory) as session:
        activate_text(session, path, path.read_text(), load_rules(path), datetime.now(UTC))
    started = time.perf_counter()
    with session_scope(factory) as session:
        evaluate_all(session, now=datetime.now(UTC))
    spent = time.perf_counter() - started
    engine.dispose()
    return spent


def reset(url: str) -> None:
    engine = create_db_engine(url)
    with engine.begin() as db:
        for table in ("alert_delivery_attempts", "alert_deliveries", "sla_events"):
            db.execute(text(f"DELETE FROM {table}"))
        db.execute(text("DELETE FROM sla_instances"))
    engine.dispose()


def drain(url: str, workers: int) -> tuple[float, list[float]]:
    engine = create_db_engine(url)
    factory = create_session_factory(engine)
    with session_scope(factory) as session:  # due now, as the evaluation just logged them
        session.execute(AlertDelivery.__table__.update().values(next_attempt_at=datetime.now(UTC)))
    senders = [WebhookSender(allow_private=True) for _ in range(workers)]
    crews = [
        Worker(
            factory,
            {TargetKind.WEBHOOK: WebhookDeliverer(sender, WebhookEndpointFinder(factory))},
            name=f"bench-{n}",
        )
        for n, sender in enumerate(senders)
    ]
    threads = [threading.Thread(target=crew.deliver_due) for crew in crews]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    spent = time.perf_counter() - started
    for sender in senders:
        sender.close()
    with factory() as session:
        latencies = [
            float(x)
            for x in session.scalars(
                select(AlertDelivery.latency_seconds).where(AlertDelivery.state == "delivered")
            )
        ]
    engine.dispose()
    return spent, latencies


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--breaches", type=int, default=2000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    os.environ["SLAGUARD_BENCH_WEBHOOK_SECRET"] = WebhookSecret.generate().text()
    os.environ["SLAGUARD_WEBHOOKS_ALLOW_PRIVATE"] = "true"
    receiver = Receiver().start()
    rows = []
    with tempfile.TemporaryDirectory(prefix="slaguard-bench-") as tmp:
        folder = Path(tmp)
        url = args.database_url or f"sqlite:///{folder / 'outbox.db'}"
        migrate.upgrade(url)
        seed(url, args.breaches)
        evaluate(url, folder, "")  # a warm-up: the first pass pays for imports and caches
        reset(url)
        baseline = evaluate(url, folder, "")
        reset(url)
        routed = evaluate(url, folder, ALERTS.format(url=receiver.url))
        rows.append(
            (
                f"evaluation logging {args.breaches:,} breaches, no alerts: section",
                f"{baseline:.2f} s",
            )
        )
        rows.append(("the same, each breach enqueued to a webhook", f"{routed:.2f} s"))
        for workers in (1, 2):
            if workers == 2:
                reset(url)
                evaluate(url, folder, ALERTS.format(url=receiver.url))
            before = len(receiver.requests)
            spent, latencies = drain(url, workers)
            got = Counter(r.headers["webhook-id"] for r in receiver.requests[before:])
            once = len(got) == args.breaches and set(got.values()) == {1}
            rows.append(
                (
                    f"drain {args.breaches:,} webhook deliveries, {workers} worker(s)",
                    f"{spent:.2f} s ({args.breaches / spent:,.0f}/s)",
                )
            )
            rows.append(
                (
                    f"event -> delivered p50 / p99, {workers} worker(s)",
                    f"{percentile(latencies, 0.5):.2f} s / {percentile(latencies, 0.99):.2f} s",
                )
            )
            rows.append(
                (
                    f"every alert received exactly once, {workers} worker(s)",
                    "yes" if once else f"NO ({len(got)} ids)",
                )
            )
    receiver.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rows.append(("peak RSS", f"{rss:.0f} MB"))
    backend = "PostgreSQL" if args.database_url else "SQLite"
    print()
    print(f"Alert outbox on {backend} ({os.cpu_count()} cores, load {os.getloadavg()[0]:.2f})")
    print("| measure | result |")
    print("| --- | --- |")
    for measure, result in rows:
        print(f"| {measure} | {result} |")


if __name__ == "__main__":
    main()
