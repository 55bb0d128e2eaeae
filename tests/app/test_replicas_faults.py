"""Issue 16, "Done when": replicas on PostgreSQL under a signed webhook load, with the scheduler
leader and a worker killed with -9 mid-run.

1 api, 2 worker and 2 scheduler processes (`slaguard serve --role ...`) share a store; the
sandbox is HubSpot (the first full sync) and the source of the webhook load; a real HTTP
receiver takes the alerts. A response rule with a 20-second calendar goal turns the load's
MQL hand-overs into breaches (and late stops into met_late), and so into alerts. Afterwards:

- the other scheduler leads within 30 s of the leader's death;
- every acknowledged event is applied exactly once (a trigger logs each application), and
  per record in time order (no round applied an event while an older one of its record had
  been visible, pending, before that round began);
- every alert the store holds reached the receiver, once per idempotency key, and nothing else
  did;
- the SLA instances equal those of a single `--role all` process fed the same events on a
  store synced from the same portal.

The serving processes get no HubSpot token: the events are their only input, as in the
single-process run they are compared with.
"""

from __future__ import annotations

import json
import signal
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, func, select, text

from app.models import AlertDelivery, SlaInstance, WebhookEvent
from app.store.db import create_db_engine
from app.webhooks.events import parse_event
from sandbox.hubspot.webhooks import sign_v3
from sandbox.portal.shapes import CONTACTS, DEALS
from sandbox.server import SandboxServer, free_port
from tests.alerts.outbox.test_worker import SECRET
from tests.fixtures.slaguard_process import SlaguardEnv
from tests.fixtures.store import PostgresDatabases
from tests.fixtures.waiting import wait_for
from tests.fixtures.webhook_load import PortalChanges, WebhookLoad, existing_ids
from tests.integrations.webhooks.receiver import Receiver
from tests.test_soak import comparable

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

ADMIN_TOKEN = "replicas-admin-token-0123456789"
CONTACTS_IN_PORTAL = 200
CHANGED_CONTACTS = 80
CHANGES = 500
CHANGE_PAUSE_S = 0.03
GOAL_S = 20
LEADER_TAKEOVER_S = 30
SETTLE_S = 90
# A round began this long after an event's insert committed saw that event.
VISIBLE_AFTER_S = 0.5

RULES = """version: 1
calendars:
  default:
    time_zone: UTC
    hours: {{mon: ["09:00-18:00"], tue: ["09:00-18:00"], wed: ["09:00-18:00"],
             thu: ["09:00-18:00"], fri: ["09:00-18:00"]}}
assignments:
  default: default
rules:
  - id: mql-first-touch
    kind: response
    object: contact
    start: {{entered_stage: [marketingqualifiedlead]}}
    stop:
      lead_status_in: [CONNECTED]
      stage_advanced: true
    goal: {goal}s
    time: calendar
alerts:
  webhooks:
    crm:
      url: {url}
      secret_env: SLAGUARD_TEST_WEBHOOK_SECRET
      events: [breached, met_late]
  routes:
    - name: crm
      match: {{rules: [mql-first-touch], events: [breached, met_late]}}
      receivers: ["webhook:crm"]
"""

# Each application of an event (processed_at set), logged when its round commits: the round's
# transaction, when it began and when it committed; each stored event, when its insert committed.
AUDIT = """
CREATE TABLE applied_log (event_id bigint, tx bigint, round_began timestamptz,
                          committed timestamptz);
CREATE TABLE stored_log (event_id bigint, committed timestamptz);
CREATE FUNCTION log_applied() RETURNS trigger AS $$
BEGIN
  INSERT INTO applied_log VALUES
    (NEW.id, txid_current(), transaction_timestamp(), clock_timestamp());
  RETURN NEW;
END $$ LANGUAGE plpgsql;
CREATE FUNCTION log_stored() RETURNS trigger AS $$
BEGIN
  INSERT INTO stored_log VALUES (NEW.id, clock_timestamp());
  RETURN NEW;
END $$ LANGUAGE plpgsql;
CREATE CONSTRAINT TRIGGER log_applied AFTER UPDATE OF processed_at ON webhook_events
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
  WHEN (OLD.processed_at IS NULL AND NEW.processed_at IS NOT NULL)
  EXECUTE FUNCTION log_applied();
CREATE CONSTRAINT TRIGGER log_stored AFTER INSERT ON webhook_events
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION log_stored();
"""


@dataclass
class Replica:
    """One `slaguard serve --role ROLE` on its own loopback port."""

    env: SlaguardEnv
    role: str
    name: str
    port: int = field(default_factory=free_port)
    process: Any = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.env.workdir / f"{self.name}.log"

    def start(self) -> Replica:
        args = ("serve", "--role", self.role, "--port", str(self.port))
        self.process = self.env.start(*args, log=self.log)
        return self

    def answers(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"{self.name} exited:\n{self.log.read_text()[-3000:]}")
        try:
            return httpx.get(f"{self.url}/health", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def health(self) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        body: dict[str, Any] = httpx.get(
            f"{self.url}/admin/health", headers=headers, timeout=10
        ).json()
        return body

    def leads(self) -> bool:
        return bool(self.health()["scheduler"]["leader"])

    def kill_9(self) -> None:
        self.process.kill()
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except Exception:
                self.process.kill()


def environment(
    tmp_path: Path, name: str, url: str, sandbox: SandboxServer, rules: str, **more: str
) -> SlaguardEnv:
    workdir = tmp_path / name
    workdir.mkdir()
    (workdir / "sla.yaml").write_text(rules)
    return SlaguardEnv(
        workdir,
        {
            "DATABASE_URL": url,
            "HUBSPOT_CLIENT_SECRET": sandbox.client_secret,
            "HUBSPOT_PORTAL_IDS": str(sandbox.portal.portal_id),
            "SLAGUARD_ADMIN_TOKEN": ADMIN_TOKEN,
            "SLAGUARD_RULES": str(workdir / "sla.yaml"),
            "SLAGUARD_LOG_LEVEL": "WARNING",
            "SLAGUARD_TEST_WEBHOOK_SECRET": SECRET.text(),
            **more,
        },
    )


def prepare(env: SlaguardEnv, sandbox: SandboxServer) -> None:
    """Schema, the full sync of the portal as it is now, the rules in force."""
    env.run("db", "upgrade")
    synced = SlaguardEnv(
        env.workdir,
        {
            **env.variables,
            "HUBSPOT_ACCESS_TOKEN": sandbox.token,
            "HUBSPOT_BASE_URL": sandbox.hubspot_url,
        },
    )
    synced.run("sync", "--full")
    env.run("evaluate")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver().start()
    yield server
    server.stop()


@pytest.fixture
def replicas() -> Iterator[list[Replica]]:
    started: list[Replica] = []
    yield started
    for replica in started:
        replica.stop()


@pytest.mark.sandbox(contacts=CONTACTS_IN_PORTAL, limits=False)
def test_replicas_survive_kill_9_of_the_leader_and_a_worker_with_nothing_lost_or_doubled(
    sandbox: SandboxServer,
    postgres_databases: PostgresDatabases,
    receiver: Receiver,
    replicas: list[Replica],
    tmp_path: Path,
) -> None:
    began = time.monotonic()
    rules = RULES.format(goal=GOAL_S, url=receiver.url)
    shared_url, single_url = postgres_databases.create(), postgres_databases.create()
    shared = environment(
        tmp_path,
        "shared",
        shared_url,
        sandbox,
        rules,
        SLAGUARD_WEBHOOKS_ALLOW_PRIVATE="true",
        SLAGUARD_OUTBOX_LEASE_SECONDS="10",
    )
    # The single process's alerts go nowhere (private addresses refused): the receiver counts
    # the replicas' alone.
    single = environment(tmp_path, "single", single_url, sandbox, rules)
    prepare(shared, sandbox)
    prepare(single, sandbox)
    engine = create_db_engine(shared_url)
    with engine.begin() as connection:
        connection.exec_driver_sql(AUDIT)

    api = Replica(shared, "api", "api").start()
    workers = [Replica(shared, "worker", f"worker-{n}").start() for n in (1, 2)]
    schedulers = [Replica(shared, "scheduler", f"scheduler-{n}").start() for n in (1, 2)]
    replicas += [api, *workers, *schedulers]
    for replica in replicas:
        wait_for(replica.answers, f"{replica.name} answers", 60, interval=0.2)
    leader = wait_for(lambda: next((s for s in schedulers if s.leads()), None), "a leader", 30)
    follower = next(s for s in schedulers if s is not leader)

    load = WebhookLoad(sandbox, f"{api.url}/webhooks/hubspot")
    # Few records, so that each gets several events and rounds often hold events of one record.
    changes = PortalChanges(
        sandbox,
        existing_ids(sandbox, CONTACTS, CONTACTS_IN_PORTAL)[:CHANGED_CONTACTS],
        existing_ids(sandbox, DEALS, CONTACTS_IN_PORTAL),
    )
    changer = Changer(changes, CHANGES)
    load.start(3)
    changer.start()
    appliers = [*workers, leader]  # the leader's webhook job applies events too
    try:
        # A backlog larger than a round (250 events) for the appliers to split when they wake:
        # events of one record land in the rounds of different workers, which is where order
        # per record is at stake.
        wait_for(lambda: changer.done >= CHANGES * 0.1, "10 % of the changes", 120)
        for replica in appliers:
            replica.process.send_signal(signal.SIGSTOP)
        wait_for(lambda: changer.done >= CHANGES * 0.7, "70 % of the changes", 120)
        for replica in appliers:
            replica.process.send_signal(signal.SIGCONT)
        wait_for(lambda: changer.done >= CHANGES * 0.75, "75 % of the changes", 120)
        leader.kill_9()
        killed_at = time.monotonic()
        wait_for(lambda: changer.done >= CHANGES * 0.85, "85 % of the changes", 120)
        workers[0].kill_9()
        wait_for(follower.leads, "the other scheduler leads", LEADER_TAKEOVER_S, interval=0.5)
        takeover_s = time.monotonic() - killed_at
        wait_for(lambda: not changer.is_alive(), "every change was made", 120)
        wait_for(load.drained, "every delivery acknowledged", SETTLE_S)
    finally:
        load.stop()
    acknowledged = list(load.acknowledged)
    settle(engine, acknowledged)
    alerts_received = list(receiver.requests)

    single_engine = create_db_engine(single_url)
    alone = Replica(single, "all", "single").start()
    replicas.append(alone)
    wait_for(alone.answers, "the single process answers", 60, interval=0.2)
    replay(f"{alone.url}/webhooks/hubspot", sandbox.client_secret, acknowledged)
    settle(single_engine, acknowledged)

    figures = {
        "seconds": round(time.monotonic() - began),
        "leader_takeover_s": round(takeover_s, 1),
        "events_acknowledged": len({parse_event(e).dedupe_key for e in acknowledged}),
        "alert_requests": len(alerts_received),
    }
    problems = [
        *application_problems(engine, acknowledged),
        *alert_problems(engine, alerts_received, figures),
        *sla_problems(engine, single_engine, figures),
    ]
    print(f"replicas figures: {json.dumps(figures)}")
    assert not problems, "\n".join([*problems[:30], f"figures: {figures}"])
    assert figures["breaches"] > 0 and figures["alerts"] > 0, figures
    engine.dispose()
    single_engine.dispose()


class Changer(threading.Thread):
    def __init__(self, changes: PortalChanges, count: int) -> None:
        super().__init__(name="portal-changes", daemon=True)
        self.changes, self.count, self.done = changes, count, 0

    def run(self) -> None:
        for _ in range(self.count):
            self.changes.step()
            self.done += 1
            time.sleep(CHANGE_PAUSE_S)  # the pace of the load, not a wait for an outcome


def replay(url: str, secret: str, events: list[dict[str, Any]]) -> None:
    """The acknowledged events, in the order they were acknowledged, signed, 10 a request."""
    with httpx.Client(timeout=10) as client:
        for start in range(0, len(events), 10):
            body = json.dumps(events[start : start + 10])
            stamp = str(time.time_ns() // 1_000_000)
            headers = {
                "Content-Type": "application/json",
                "X-HubSpot-Signature-v3": sign_v3(secret, "POST", url, body, stamp),
                "X-HubSpot-Request-Timestamp": stamp,
            }
            assert client.post(url, content=body, headers=headers).status_code == 200


def settle(engine: Engine, acknowledged: list[dict[str, Any]]) -> None:
    """Every acknowledged event applied, every clock past its goal evaluated, nothing queued
    for re-evaluation, and no alert pending."""
    keys = {parse_event(event).dedupe_key for event in acknowledged}

    def applied() -> bool:
        with engine.connect() as connection:
            done = set(
                connection.scalars(
                    select(WebhookEvent.dedupe_key).where(WebhookEvent.processed_at.is_not(None))
                )
            )
        return keys <= done

    wait_for(applied, "every acknowledged event applied", SETTLE_S, interval=0.5)
    with engine.connect() as connection:
        last = connection.scalar(select(func.max(WebhookEvent.occurred_at)))
    assert last is not None
    pause_until = last + timedelta(seconds=GOAL_S + 3)

    def quiet() -> bool:
        with engine.connect() as connection:
            now = connection.scalar(text("SELECT now()"))
            queued = connection.scalar(text("SELECT count(*) FROM sla_reevaluation_queue"))
            open_due = connection.scalar(
                select(func.count())
                .select_from(SlaInstance)
                .where(SlaInstance.state == "running", SlaInstance.due_at < now)
            )
            sending = connection.scalar(
                select(func.count())
                .select_from(AlertDelivery)
                .where(AlertDelivery.state.in_(("pending", "delivering")))
            )
        return bool(now > pause_until and not queued and not open_due and not sending)

    wait_for(quiet, "clocks past their goal, queues and the outbox empty", SETTLE_S, interval=0.5)


def application_problems(engine: Engine, acknowledged: list[dict[str, Any]]) -> list[str]:
    keys = {parse_event(event).dedupe_key for event in acknowledged}
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT e.id, e.dedupe_key, e.portal_id, e.object_type, e.object_id,"
                " e.occurred_at, a.tx, a.round_began, a.committed AS applied, s.committed"
                " FROM webhook_events e JOIN applied_log a ON a.event_id = e.id"
                " JOIN stored_log s ON s.event_id = e.id"
            )
        ).all()
    problems = []
    times = Counter(row.dedupe_key for row in rows)
    twice = [key for key, n in times.items() if n > 1]
    if twice:
        problems.append(f"{len(twice)} event(s) applied more than once, e.g. {twice[:3]}")
    missing = keys - set(times)
    if missing:
        problems.append(f"{len(missing)} acknowledged event(s) never applied")
    per_record: dict[tuple[Any, ...], list[Any]] = defaultdict(list)
    for row in rows:
        per_record[(row.portal_id, row.object_type, row.object_id)].append(row)
    for record, events in per_record.items():
        by_time = sorted(events, key=lambda r: (r.occurred_at, r.id))
        for i, older in enumerate(by_time):
            for newer in by_time[i + 1 :]:
                if newer.tx != older.tx and applied_while_older_waited(older, newer):
                    problems.append(f"{record}: event {newer.id} applied before older {older.id}")
    return problems


def applied_while_older_waited(older: Any, newer: Any) -> bool:
    """The round that applied `newer` began after `older` was stored and before `older`'s
    own round committed: it saw `older` pending and applied `newer` anyway (with a margin
    either side for the gap between a commit and its trigger, and a round's start and claim)."""
    margin = timedelta(seconds=VISIBLE_AFTER_S)
    return bool(older.committed + margin < newer.round_began < older.applied - margin)


def alert_problems(engine: Engine, received: list[Any], figures: dict[str, Any]) -> list[str]:
    with engine.connect() as connection:
        rows = connection.execute(select(AlertDelivery.idempotency_key, AlertDelivery.state)).all()
        breaches = connection.scalar(
            text("SELECT count(*) FROM sla_events WHERE type = 'breached'")
        )
    keys = Counter(request.headers["webhook-id"] for request in received)
    stored = {row.idempotency_key for row in rows}
    figures.update(
        alerts=len(rows),
        breaches=breaches,
        alerts_resent_same_key=sum(n - 1 for n in keys.values()),
    )
    problems = []
    undelivered = [row for row in rows if row.state != "delivered"]
    if undelivered:
        problems.append(f"{len(undelivered)} alert(s) not delivered: {undelivered[:3]}")
    if set(keys) != stored:
        problems.append(
            f"receiver keys differ from the outbox: {len(stored - set(keys))} never arrived, "
            f"{len(set(keys) - stored)} unknown arrived"
        )
    return problems


def sla_problems(shared: Engine, single: Engine, figures: dict[str, Any]) -> list[str]:
    def instances(engine: Engine) -> dict[tuple[Any, ...], dict[str, Any]]:
        key = ("portal_id", "rule_id", "object_type", "object_id", "cycle")
        with engine.connect() as connection:
            rows = connection.execute(select(SlaInstance)).mappings().all()
        return {tuple(row[name] for name in key): comparable(dict(row)) for row in rows}

    replicas_state, alone = instances(shared), instances(single)
    figures["sla_instances"] = len(replicas_state)
    figures["states"] = dict(Counter(row["state"] for row in replicas_state.values()))
    problems = []
    for key in sorted(replicas_state.keys() | alone.keys(), key=str):
        mine, theirs = replicas_state.get(key), alone.get(key)
        if mine is None or theirs is None:
            problems.append(f"{key}: only in {'the single run' if mine is None else 'replicas'}")
            continue
        differ = {k: (mine[k], theirs[k]) for k in mine if mine[k] != theirs.get(k)}
        if differ:
            problems.append(f"{key}: replicas vs single process {differ}")
    return problems
