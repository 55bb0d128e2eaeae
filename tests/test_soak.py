"""Soak (issue #12, "Done when"): `slaguard serve` as an operator runs it, with the sandbox as
HubSpot, under a signed webhook load, killed with -9 in the middle and restarted, while
`slaguard evaluate` runs beside it. Afterwards the store must be exact:

- every event the service acknowledged with a 2xx is applied;
- no SLA hand-off failure went unnoticed (each one is counted where an operator looks, and
  none is left to do);
- a fresh `slaguard evaluate` creates and updates no SLA instance: the hand-offs had already
  brought every clock where a full evaluation puts it.

Once on SQLite (a file) and once on PostgreSQL (a throw-away database).
"""

from __future__ import annotations

import contextlib
import re
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from app.models import SlaInstance, WebhookEvent
from app.store.db import create_db_engine
from app.webhooks.events import parse_event
from sandbox.portal.shapes import CONTACTS, DEALS
from sandbox.server import SandboxServer
from tests.fixtures.slaguard_process import Service, SlaguardEnv
from tests.fixtures.store import PostgresDatabases
from tests.fixtures.waiting import wait_for
from tests.fixtures.webhook_load import PortalChanges, WebhookLoad, existing_ids

RULES = Path(__file__).parents[1] / "app" / "demo" / "rules.yaml"
ADMIN_TOKEN = "soak-admin-token-0123456789"
CONTACTS_IN_PORTAL = 300
CHANGES = 700  # portal changes during the load, about 1.2 webhook events each
CHANGE_PAUSE_S = 0.02
SENDERS = 3
KILL_POINTS = (0.3, 0.5, 0.7)  # shares of the changes made when serve is killed with -9
# The jobs that may still be handing records to the SLA engine once every event is applied.
HANDOFF_JOBS = ("webhook_worker", "sla-reevaluate")
SETTLE_TIMEOUT_S = 60.0
# The defect's signatures in the service's log (one line each, whatever the backend).
HANDOFF_FAILED = re.compile(r"app\.[\w.]*handoff: SLA evaluation of (\d+) \w+ record\(s\).* failed")
JOB_FAILED = re.compile(r"ERROR app\.scheduler: job (\S+) failed: (.*)")
# Its console wraps lines at 80 columns when not on a terminal, so any space may be a newline.
EVALUATE_SUMMARY = re.compile(r"(\d+)\s+instances\s+created,\s+(\d+)\s+updated")


@dataclass
class Store:
    url: str
    backend: str


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    if request.param == "postgresql":
        databases: PostgresDatabases = request.getfixturevalue("postgres_databases")
        return Store(databases.create(), "postgresql")
    return Store(f"sqlite:///{tmp_path / 'slaguard.db'}", "sqlite")


@pytest.fixture
def slaguard(sandbox: SandboxServer, store: Store, tmp_path: Path) -> SlaguardEnv:
    rules = tmp_path / "sla.yaml"
    shutil.copyfile(RULES, rules)
    return SlaguardEnv(
        tmp_path,
        {
            "DATABASE_URL": store.url,
            "HUBSPOT_BASE_URL": sandbox.hubspot_url,
            "HUBSPOT_ACCESS_TOKEN": sandbox.token,
            "HUBSPOT_CLIENT_SECRET": sandbox.client_secret,
            "HUBSPOT_PORTAL_IDS": str(sandbox.portal.portal_id),
            "SLAGUARD_ADMIN_TOKEN": ADMIN_TOKEN,
            "SLAGUARD_RULES": str(rules),
            "SLAGUARD_LOG_LEVEL": "WARNING",
        },
    )


@pytest.fixture
def service(slaguard: SlaguardEnv) -> Iterator[Service]:
    service = Service(slaguard, ADMIN_TOKEN)
    yield service
    service.stop()


class Changer(threading.Thread):
    """Changes the portal at a steady pace while the test does the rest."""

    def __init__(self, changes: PortalChanges, count: int) -> None:
        super().__init__(name="portal-changes", daemon=True)
        self.changes, self.count, self.done = changes, count, 0

    def run(self) -> None:
        for _ in range(self.count):
            self.changes.step()
            self.done += 1
            time.sleep(CHANGE_PAUSE_S)  # pacing of the load, not a wait for an outcome

    def reached(self, share: float) -> Callable[[], bool]:
        return lambda: self.done >= self.count * share


class Evaluation(threading.Thread):
    """A `slaguard evaluate` in the background; counts the events the service acknowledged
    while it ran (the load it overlapped)."""

    def __init__(self, slaguard: SlaguardEnv, load: WebhookLoad, n: int) -> None:
        super().__init__(name=f"evaluate-{n}", daemon=True)
        self.log = slaguard.workdir / f"evaluate-{n}.log"
        self.load = load
        self.process = slaguard.start("evaluate", log=self.log)
        self.acknowledged_at_start = len(load.acknowledged)
        self.overlap: int | None = None
        self.start()

    def run(self) -> None:
        self.process.wait()
        self.overlap = len(self.load.acknowledged) - self.acknowledged_at_start

    def finished(self) -> bool:
        return self.overlap is not None


class Evaluations:
    """`slaguard evaluate` back to back while the load lasts: a new one starts whenever the
    last one ended."""

    def __init__(self, slaguard: SlaguardEnv, load: WebhookLoad) -> None:
        self.slaguard, self.load = slaguard, load
        self.runs: list[Evaluation] = []

    def keep_going(self, condition: Callable[[], bool]) -> Callable[[], bool]:
        """`condition`, probed while evaluations follow each other."""

        def probe() -> bool:
            if not self.runs or self.runs[-1].finished():
                self.runs.append(Evaluation(self.slaguard, self.load, len(self.runs) + 1))
            return condition()

        return probe

    def all_finished(self) -> bool:
        return all(run.finished() for run in self.runs)

    def kill_running(self) -> None:
        for run in self.runs:
            if run.process.poll() is None:
                run.process.kill()


def under_load(
    slaguard: SlaguardEnv, service: Service, load: WebhookLoad, changer: Changer
) -> list[Evaluation]:
    """The portal changes while the service is killed with -9 and restarted at the kill
    points, and `slaguard evaluate` runs beside it, one after the other, all along (so also
    while the restarted service runs its start-up sweep and its backlog)."""
    evaluations = Evaluations(slaguard, load)
    load.start(SENDERS)
    changer.start()
    try:
        for share in KILL_POINTS:
            reached = evaluations.keep_going(changer.reached(share))
            wait_for(reached, f"{share:.0%} of the changes", 60)
            service.kill_9()  # mid-load: requests and a worker round are in flight
            service.start()
        wait_for(evaluations.keep_going(changer.reached(1)), "every change was made", 120)
        wait_for(load.drained, "HubSpot's deliveries were all acknowledged", SETTLE_TIMEOUT_S)
        wait_for(evaluations.all_finished, "evaluate ended", SETTLE_TIMEOUT_S)
    finally:
        load.stop()
        evaluations.kill_running()  # only when the test failed before they ended
    return evaluations.runs


@pytest.mark.slow
@pytest.mark.sandbox(contacts=CONTACTS_IN_PORTAL, limits=False)
def test_after_kill_9_and_concurrent_evaluate_under_webhook_load_the_sla_state_is_exact(
    sandbox: SandboxServer, store: Store, slaguard: SlaguardEnv, service: Service
) -> None:
    started = time.monotonic()
    if store.backend == "postgresql":
        slaguard.run("db", "upgrade")
    slaguard.run("sync", "--full")
    slaguard.run("evaluate")  # the rules in force, every record evaluated once
    contacts = existing_ids(sandbox, CONTACTS, CONTACTS_IN_PORTAL)
    deals = existing_ids(sandbox, DEALS, CONTACTS_IN_PORTAL)
    service.start()
    load = WebhookLoad(sandbox, f"{service.url}/webhooks/hubspot")
    changer = Changer(PortalChanges(sandbox, contacts, deals), CHANGES)
    evaluations = under_load(slaguard, service, load, changer)
    figures = load_figures(store, len(contacts) + len(deals), changer, load, evaluations)
    figures["seconds_loaded"] = round(time.monotonic() - started)
    assert any(e.overlap for e in evaluations), f"no evaluate ran under load: {figures}"
    assert changer.done == CHANGES, figures

    unapplied = wait_until_applied(store.url, load.acknowledged)
    wait_for_quiet_jobs(service)
    seen = Observed.read(service)
    fresh = fresh_evaluation(slaguard, store.url)
    figures.update(seen.figures(), unapplied_acknowledged=unapplied)
    figures["fresh_evaluate"] = {**fresh, "changed": len(fresh["changed"])}
    figures["seconds_total"] = round(time.monotonic() - started)
    print(f"soak figures: {figures}")

    problems = [
        *evaluate_problems(evaluations),
        *([f"{unapplied} acknowledged event(s) never applied"] if unapplied else []),
        *seen.problems(),
        *fresh_problems(fresh),
    ]
    assert not problems, "\n".join([*problems, f"figures: {figures}"])


def evaluate_problems(evaluations: list[Evaluation]) -> list[str]:
    return [
        f"{e.name} exited {e.process.returncode}: ...{e.log.read_text()[-1500:]}"
        for e in evaluations
        if e.process.returncode != 0
    ]


def load_figures(
    store: Store, records: int, changer: Changer, load: WebhookLoad, evaluations: list[Evaluation]
) -> dict[str, Any]:
    return {
        "backend": store.backend,
        "records": records,
        "changes": changer.done,
        "kills": len(KILL_POINTS),
        "events_acknowledged": len(load.acknowledged),
        "requests": load.figures.requests,
        "statuses": dict(load.figures.statuses),
        "connection_errors": load.figures.connection_errors,
        "evaluate_overlap_acks": [e.overlap for e in evaluations],
    }


@dataclass
class Observed:
    """What an operator sees once the load has settled: health, metrics and the log."""

    health: dict[str, Any]
    metrics: dict[str, float]
    log: str

    @classmethod
    def read(cls, service: Service) -> Observed:
        health = service.admin_get("/admin/health").json()
        metrics = metric_values(service.admin_get("/metrics").text)
        return cls(health, metrics, service.log.read_text())

    def figures(self) -> dict[str, Any]:
        return {
            "health": self.health["status"],
            "handoff_failures_logged": len(handoff_failures(self.log)),
            "handoff_failures_counted": self.health["sla"].get("handoff_failures"),
            "job_failures_logged": len(job_failures(self.log)),
        }

    def problems(self) -> list[str]:
        return [
            *webhook_problems(self.health),
            *handoff_problems(self.health, self.metrics, self.log),
            *[f"job failed: {line}" for line in job_failures(self.log)],
        ]


def fresh_evaluation(slaguard: SlaguardEnv, database_url: str) -> dict[str, Any]:
    """`slaguard evaluate` once more: what it says it did, and what changed in the store."""
    before = instances(database_url)
    summary = slaguard.run("evaluate").stdout
    after = instances(database_url)
    created, updated = (int(n) for n in EVALUATE_SUMMARY.findall(summary)[-1])
    return {"created": created, "updated": updated, "changed": diff(before, after)}


def fresh_problems(fresh: dict[str, Any]) -> list[str]:
    changed: list[str] = fresh["changed"]
    if not changed:
        return []
    return [f"a fresh evaluate changed {len(changed)} instance(s):", *changed[:10]]


def wait_until_applied(database_url: str, acknowledged: list[dict[str, Any]]) -> int:
    """Waits until every acknowledged event is stored and applied; returns how many are not
    (0, or the count when the wait timed out)."""
    keys = {parse_event(event).dedupe_key for event in acknowledged}
    engine = create_db_engine(database_url)
    missing: set[str] = set(keys)
    try:

        def all_applied() -> bool:
            nonlocal missing
            with engine.connect() as connection:
                applied = set(
                    connection.scalars(
                        select(WebhookEvent.dedupe_key).where(
                            WebhookEvent.processed_at.is_not(None)
                        )
                    )
                )
            missing = keys - applied
            return not missing

        try:
            wait_for(all_applied, "every acknowledged event was applied", SETTLE_TIMEOUT_S)
        except AssertionError:
            return len(missing)
    finally:
        engine.dispose()
    return 0


def job_runs(service: Service) -> dict[str, int]:
    jobs = service.admin_get("/admin/health").json()["scheduler"]["jobs"]
    return {job["id"]: job["runs"] for job in jobs}


def wait_for_two_more_runs(service: Service, jobs: tuple[str, ...]) -> None:
    """Two more runs of each job (of those the service has) than now: the run in flight now
    has ended, and one more began after it."""
    first = job_runs(service)
    wanted = [job for job in jobs if job in first]
    wait_for(
        lambda: all(job_runs(service)[job] >= first[job] + 2 for job in wanted),
        f"{', '.join(wanted)} ran twice more",
        SETTLE_TIMEOUT_S,
    )


def nothing_waits_for_reevaluation(service: Service) -> bool:
    sla = service.admin_get("/admin/health").json()["sla"]
    return not sla.get("reevaluations_pending", 0)


def wait_for_quiet_jobs(service: Service) -> None:
    """The worker hands records to the SLA engine after it marks their events applied, and a
    failed hand-off waits in a queue for a job of its own; the hand-offs ask the due-clock job
    to refresh the quotas and rates, so that job settles last. A queue that does not empty
    in time is left for the checks to report."""
    wait_for_two_more_runs(service, HANDOFF_JOBS)
    with contextlib.suppress(AssertionError):
        wait_for(
            lambda: nothing_waits_for_reevaluation(service),
            "no record waits for its SLA re-evaluation",
            SETTLE_TIMEOUT_S,
        )
    wait_for_two_more_runs(service, ("sla-due-clocks",))


def metric_values(text: str) -> dict[str, float]:
    """Prometheus samples by name (labels summed)."""
    values: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            values[sample.name] = values.get(sample.name, 0.0) + sample.value
    return values


def webhook_problems(health: dict[str, Any]) -> list[str]:
    webhooks = health["webhooks"]
    problems = []
    if webhooks["pending"]:
        problems.append(f"{webhooks['pending']} webhook event(s) still pending")
    if webhooks["failed"]:
        problems.append(f"{webhooks['failed']} webhook event(s) failed every attempt")
    return problems


def handoff_failures(log: str) -> list[re.Match[str]]:
    return list(HANDOFF_FAILED.finditer(log))


def handoff_problems(health: dict[str, Any], metrics: dict[str, float], log: str) -> list[str]:
    """Each hand-off failure the log shows is counted where an operator looks (/admin/health
    and /metrics, in records, as the log line counts them), and none is left to redo."""
    failures = handoff_failures(log)
    logged = sum(int(failure.group(1)) for failure in failures)
    sla = health["sla"]
    counted = {
        "health": sla.get("handoff_failures", 0),
        "metrics": metrics.get("slaguard_sla_handoff_failures_total", 0),
    }
    waiting = {
        "health": sla.get("reevaluations_pending", 0),
        "metrics": metrics.get("slaguard_sla_reevaluations_pending", 0),
    }
    problems = []
    if any(value < logged for value in counted.values()):
        problems += [
            f"SLA hand-offs of {logged} record(s) failed in {len(failures)} attempt(s) by the "
            f"log, counted: {counted} (health {health['status']!r}):",
            *[log[f.start() : log.find("\n", f.start())][:300] for f in failures[:5]],
        ]
    if any(waiting.values()):
        problems.append(f"records still wait for their SLA re-evaluation: {waiting}")
    return problems


def job_failures(log: str) -> list[str]:
    return [m.group(0)[:300] for m in JOB_FAILED.finditer(log)]


Instances = dict[tuple[Any, ...], dict[str, Any]]
INSTANCE_KEY = ("portal_id", "rule_id", "object_type", "object_id", "cycle")
NOT_COMPARED = {"id", "updated_at"}
# A rolling window spans a fixed time before the moment it is evaluated: every evaluation
# moves its start and next due time, and cohorts slide out of it (its value, sample and state
# follow), though nothing about the records changed. Only its existence, once, is compared.
ROLLING = "window"


def instances(database_url: str) -> Instances:
    """Every SLA instance, by its key."""
    engine = create_db_engine(database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(select(SlaInstance)).mappings().all()
    finally:
        engine.dispose()
    return {tuple(row[name] for name in INSTANCE_KEY): comparable(dict(row)) for row in rows}


def comparable(row: dict[str, Any]) -> dict[str, Any]:
    """What an exact store must not see change; of a rolling window, only its key."""
    if row["object_type"] == ROLLING:
        return {name: row[name] for name in INSTANCE_KEY}
    return {name: value for name, value in row.items() if name not in NOT_COMPARED}


def diff(before: Instances, after: Instances) -> list[str]:
    """The instances a fresh evaluation created or changed, with the columns that changed."""
    lines = [f"+ {key}: {after[key]}" for key in sorted(after.keys() - before.keys(), key=str)]
    for key in sorted(after.keys() & before.keys(), key=str):
        old, new = before[key], after[key]
        changed = {name: (old[name], new[name]) for name in new if old[name] != new[name]}
        if changed:
            lines.append(f"~ {key}: {changed}")
    return lines
