"""Alerts end to end: SLA events from the evaluation, through the outbox and `SlackDeliverer`,
to the sandbox Slack with its rate limits on, in real time.

    .venv/bin/python bench/alerts.py [--burst N]

Prints one table, with a baseline in the same run:
- one breach routed to 200 idle channels: event -> Slack post latency p50/p99 (from the
  delivery row's creation to `chat.postMessage` answered), deliveries/s and the 429s Slack
  answered, for the paced deliverer and for an unpaced baseline that only honours Retry-After;
- a burst of N breaches (10,000 by default) to one channel: the time to drain it and how many
  Slack messages it became after grouping;
- peak RSS.
SQLite in a temporary file.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func, select

from alerts.delivery import Deliverer
from alerts.model import TargetKind
from alerts.outbox.slack_refs import StoredSlackMessageRefs
from alerts.outbox.worker import Worker
from alerts.slack_delivery import SlackDeliverer
from app.models import AlertDelivery
from app.store import migrate
from app.store.db import SessionFactory, create_db_engine, create_session_factory
from bench.outbox import evaluate, percentile, reset, seed
from bench.slack_delivery import UNPACED, serve
from integrations.slack import SlackClient
from integrations.slack.pacing import SlackPacer
from sandbox.slack import SlackEmulatorState

CHANNELS = [f"alerts-{n:03d}" for n in range(200)]
BURST_CHANNEL = "sales"
# A second or so of group_wait: the burst's first alert goes at once, the rest fold into digests.
FANOUT = """alerts:
  group_wait: 1s
  routes:
    - name: fanout
      match: {{events: [breached]}}
      receivers: [{receivers}]
"""


def route(channels: list[str]) -> str:
    return FANOUT.format(receivers=", ".join(f'"#{name}"' for name in channels))


def worker(factory: SessionFactory, state: SlackEmulatorState, url: str, paced: bool) -> Worker:
    client = SlackClient(next(iter(state.tokens)), base_url=url)
    pacer = SlackPacer() if paced else SlackPacer(UNPACED)
    slack = SlackDeliverer(client, StoredSlackMessageRefs(factory), pacer=pacer)
    deliverers: dict[TargetKind, Deliverer] = {
        TargetKind.SLACK_CHANNEL: slack,
        TargetKind.SLACK_USER: slack,
    }
    return Worker(factory, deliverers, name="bench")


def pending(factory: SessionFactory) -> int:
    with factory() as session:
        query = select(func.count()).where(AlertDelivery.state.in_(["pending", "delivering"]))
        return int(session.scalar(query) or 0)


def drain(factory: SessionFactory, crew: Worker) -> float:
    """Runs the worker until nothing is pending: grouped deliveries wait out group_wait."""
    started = time.perf_counter()
    while pending(factory):
        crew.deliver_due()
        time.sleep(0.1)
    return time.perf_counter() - started


def latencies(factory: SessionFactory) -> list[float]:
    with factory() as session:
        query = select(AlertDelivery.latency_seconds).where(AlertDelivery.state == "delivered")
        return [float(x) for x in session.scalars(query) if x is not None]


def fresh(url: str) -> None:
    """No deliveries, events or instances, and no stored Slack message refs: a new workspace
    must not be answered with `chat.update`s of the last run's messages."""
    reset(url)
    engine = create_db_engine(url)
    with engine.begin() as db:
        db.exec_driver_sql("DELETE FROM alert_slack_messages")
    engine.dispose()


def fanout(url: str, folder: Path, paced: bool) -> list[tuple[str, str]]:
    state = SlackEmulatorState(channels=CHANNELS)
    api, server = serve(state)
    fresh(url)
    evaluate(url, folder, route(CHANNELS))
    engine = create_db_engine(url)
    factory = create_session_factory(engine)
    spent = drain(factory, worker(factory, state, api, paced))
    took = latencies(factory)
    refused = sum(1 for call in state.calls if call.status == 429)
    server.should_exit = True
    engine.dispose()
    name = "paced" if paced else "unpaced baseline"
    return [
        (
            f"1 breach -> {len(CHANNELS)} idle channels, {name}: event -> post p50 / p99",
            f"{percentile(took, 0.5):.2f} s / {percentile(took, 0.99):.2f} s",
        ),
        (
            "the same: deliveries/s, 429s",
            f"{len(took) / spent:.1f}/s ({len(took)} in {spent:.1f} s), {refused} x 429",
        ),
    ]


def burst(url: str, folder: Path, breaches: int) -> list[tuple[str, str]]:
    state = SlackEmulatorState(channels=[BURST_CHANNEL])
    api, server = serve(state)
    fresh(url)
    evaluate(url, folder, route([BURST_CHANNEL]))
    engine = create_db_engine(url)
    factory = create_session_factory(engine)
    spent = drain(factory, worker(factory, state, api, paced=True))
    messages = len(state.messages(BURST_CHANNEL))
    delivered = len(latencies(factory))
    server.should_exit = True
    engine.dispose()
    return [
        (
            f"{breaches:,}-breach burst -> #{BURST_CHANNEL}: time to drain",
            f"{spent:.1f} s ({delivered:,} deliveries delivered)",
        ),
        ("the same: Slack messages after grouping", f"{messages:,}"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--burst", type=int, default=10_000)
    args = parser.parse_args()
    rows: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory(prefix="slaguard-bench-") as tmp:
        folder = Path(tmp)
        url = f"sqlite:///{folder / 'alerts.db'}"
        migrate.upgrade(url)
        seed(url, 1)
        for paced in (False, True):
            rows += fanout(url, folder, paced)
        fresh(url)
        seed_more(url, args.burst)
        rows += burst(url, folder, args.burst)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rows.append(("peak RSS", f"{rss:.0f} MB"))
    print()
    print(f"Alerts to the sandbox Slack, limits on ({os.cpu_count()} cores)")
    print("| measure | result |")
    print("| --- | --- |")
    for measure, result in rows:
        print(f"| {measure} | {result} |")


def seed_more(url: str, breaches: int) -> None:
    """A fresh database file for the burst: the 1-breach portal is replaced by N breaches."""
    engine = create_db_engine(url)
    with engine.begin() as db:
        for table in ("transitions", "contacts", "portals"):
            db.exec_driver_sql(f"DELETE FROM {table}")
    engine.dispose()
    seed(url, breaches)


if __name__ == "__main__":
    main()
