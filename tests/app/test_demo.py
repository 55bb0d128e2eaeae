"""`slaguard demo` as a user runs it: a real subprocess on free ports with a small portal.

It must print its URLs and admin token, serve a healthy slaguard that has synced the sandbox,
leave SLA instances that `slaguard status` lists, take the sandbox's webhooks into the store,
and stop cleanly on Ctrl-C. A port in use is refused with one sentence naming the flag.
"""

from __future__ import annotations

import json
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, func, select, text

import app.demo
from alerts.config import check_alerts
from alerts.model import ReceiverKind
from app.cli.demo import alert_places
from app.models import Contact, WebhookEvent
from app.store import migrate
from sandbox.server import free_port
from sandbox.slack.workspace import DEFAULT_CHANNELS
from tests.fixtures.slaguard_process import slaguard_environ
from tests.fixtures.waiting import wait_for

STARTUP_TIMEOUT = 180.0  # generous: a loaded 2-core CI machine
WAIT_TIMEOUT = 60.0
LAUNCH = "from app.cli import main; main()"


def slaguard(*args: str) -> list[str]:
    return [sys.executable, "-c", LAUNCH, *args]


class DemoProcess:
    """`slaguard demo` in a subprocess, its stdout read line by line in a thread."""

    def __init__(self, args: list[str], cwd: Path, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            slaguard("demo", *args),
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        self.stdout_closed = threading.Event()
        self.stderr_closed = threading.Event()
        self.stderr: list[str] = []
        threading.Thread(target=self._pump, daemon=True).start()
        threading.Thread(target=self._drain_stderr, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.stdout_closed.set()

    def _drain_stderr(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:  # keeps the pipe from filling up with log lines
            self.stderr.append(line)
        self.stderr_closed.set()

    def all_stderr(self, timeout: float = WAIT_TIMEOUT) -> str:
        """Everything the process wrote to stderr, once the pipe is closed (it has exited)."""
        if not self.stderr_closed.wait(timeout):
            raise AssertionError(f"stderr still open after {timeout} s")
        return "".join(self.stderr)

    def wait_for_line(self, startswith: str, timeout: float = STARTUP_TIMEOUT) -> str:
        deadline = time.monotonic() + timeout
        for line in self.seen:
            if line.startswith(startswith):
                return line
        while time.monotonic() < deadline:
            if self.stdout_closed.is_set() and self.lines.empty():
                break
            try:
                line = self.lines.get(timeout=0.5)
            except queue.Empty:
                continue
            self.seen.append(line)
            if line.startswith(startswith):
                return line
        raise AssertionError(
            f"no line starting {startswith!r}; stdout so far:\n"
            + "\n".join(self.seen)
            + "\nstderr tail:\n"
            + "".join(self.stderr[-30:])
        )

    def value(self, label: str) -> str:
        return self.wait_for_line(f"{label}: ").split(": ", 1)[1].split(" ", 1)[0]

    def interrupt(self, timeout: float = WAIT_TIMEOUT) -> int:
        self.proc.send_signal(signal.SIGINT)
        return self.proc.wait(timeout=timeout)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)


@pytest.fixture
def run_demo(tmp_path: Path) -> Iterator[Callable[..., DemoProcess]]:
    started: list[DemoProcess] = []

    def start(*args: str, env: dict[str, str] | None = None) -> DemoProcess:
        process = DemoProcess(list(args), tmp_path, env or slaguard_environ())
        started.append(process)
        return process

    yield start
    for process in started:
        process.kill()


def count(database_url: str, model: type) -> int:
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(model)).scalar_one())
    finally:
        engine.dispose()


def demo_args(*extra: str) -> list[str]:
    # --speed 0.01: the ticker waits 1,000 s, so only the test's own tick makes activity.
    return [
        "--port", str(free_port()), "--sandbox-port", str(free_port()),
        "--contacts", "300", "--seed", "3", "--speed", "0.01", *extra,
    ]  # fmt: skip


def check_running_demo(demo: DemoProcess, database_url: str) -> None:
    """What a user sees and can check while the demo runs."""
    slaguard_url = demo.value("slaguard")
    sandbox_url = demo.value("HubSpot sandbox")
    assert demo.value("Slack sandbox") == f"{sandbox_url}/slack/"
    assert demo.value("Admin health") == f"{slaguard_url}/admin/health"
    assert demo.value("Dashboard") == f"{slaguard_url}/"
    token = demo.value("Admin token")
    alerts_line = demo.wait_for_line("Alerts: ")
    assert alerts_line.startswith(f"Alerts: {sandbox_url}/slack/ (DMs to the owners, #")
    demo.wait_for_line("Press Ctrl-C to stop.")

    assert httpx.get(f"{slaguard_url}/health").json()["status"] == "ok"
    assert httpx.get(f"{slaguard_url}/admin/health").status_code == 401
    signin = httpx.get(f"{slaguard_url}/", follow_redirects=True)
    assert signin.url.path == "/signin" and "Admin token" in signin.text
    health = httpx.get(
        f"{slaguard_url}/admin/health", headers={"Authorization": f"Bearer {token}"}
    ).json()
    assert health["sync"]["last_runs"]["full"]["status"] == "succeeded"
    assert health["sync"]["scheduled"] is True
    assert count(database_url, Contact) >= 300

    status = subprocess.run(
        slaguard("status", "--format", "json"),
        env=slaguard_environ(DATABASE_URL=database_url),
        capture_output=True,
        text=True,
        timeout=WAIT_TIMEOUT,
        check=True,
    )
    instances = [json.loads(line) for line in status.stdout.splitlines()]
    assert {"mql-first-touch", "deal-stage-age"} <= {i["rule_id"] for i in instances}

    before = count(database_url, WebhookEvent)
    tick = httpx.post(f"{sandbox_url}/_sandbox/tick").json()
    assert tick["created"] > 0
    wait_for(
        lambda: count(database_url, WebhookEvent) > before,
        "the sandbox's webhooks for the new leads are stored",
        WAIT_TIMEOUT,
        interval=0.5,
    )
    check_alerts_reach_slack(sandbox_url)


def slack_messages(sandbox_url: str) -> list[dict[str, Any]]:
    """What the sandbox Slack's pages show: every message posted, with its edits."""
    messages: list[dict[str, Any]] = httpx.get(f"{sandbox_url}/slack/api/messages").json()[
        "messages"
    ]
    return messages


def check_alerts_reach_slack(sandbox_url: str) -> None:
    """The demo's rules send what happens while it runs to the sandbox Slack: at startup the
    rate and quota verdicts reached now (on weekdays, the latest breaches too), each to a place
    its rules name."""
    wait_for(
        lambda: bool(slack_messages(sandbox_url)),
        "an alert message arrives in the sandbox Slack",
        WAIT_TIMEOUT,
        interval=1.0,
    )
    channels = httpx.get(f"{sandbox_url}/slack/api/channels").json()["channels"]
    titles = {c["id"]: c["title"] for c in channels}
    places = {titles[m["channel"]] for m in slack_messages(sandbox_url)}
    named = {"#marketing", "#sales", "#revops-alerts"}
    assert all(place in named or not place.startswith("#") for place in places), places


def test_demo_runs_end_to_end_on_its_own_sqlite_file_and_stops_on_ctrl_c(
    tmp_path: Path, run_demo: Callable[..., DemoProcess]
) -> None:
    # A user's own settings are in the shell: the demo must not touch them.
    real_db = tmp_path / "production.db"
    env = slaguard_environ(DATABASE_URL=f"sqlite:///{real_db}", HUBSPOT_ACCESS_TOKEN="pat-na1-real")
    demo = run_demo(*demo_args(), env=env)
    demo_db = tmp_path / "slaguard-demo.db"
    assert str(demo_db) in demo.wait_for_line("Database: ")

    check_running_demo(demo, f"sqlite:///{demo_db}")

    assert demo.interrupt() == 0
    demo.wait_for_line("Demo stopped.", timeout=10)
    assert not real_db.exists()


def test_a_second_demo_starts_from_an_empty_demo_file(
    tmp_path: Path, run_demo: Callable[..., DemoProcess]
) -> None:
    demo_db = tmp_path / "slaguard-demo.db"
    engine = create_engine(f"sqlite:///{demo_db}")
    migrate.upgrade(f"sqlite:///{demo_db}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE leftover (x INTEGER)"))
    engine.dispose()
    demo = run_demo(*demo_args())
    demo.wait_for_line("Press Ctrl-C to stop.")
    engine = create_engine(f"sqlite:///{demo_db}")
    with engine.connect() as conn:
        tables = set(
            conn.execute(text("SELECT name FROM sqlite_master WHERE type='table'")).scalars()
        )
    engine.dispose()
    assert "leftover" not in tables and "contacts" in tables
    assert demo.interrupt() == 0


def test_demo_on_postgresql_given_with_database_url(
    postgres_databases: object, run_demo: Callable[..., DemoProcess]
) -> None:
    url = postgres_databases.create()  # type: ignore[attr-defined]
    migrate.upgrade(url)
    demo = run_demo(*demo_args("--database-url", url))
    assert "kept as it is" in demo.wait_for_line("Database: ")
    check_running_demo(demo, url)
    assert demo.interrupt() == 0


def test_ctrl_c_during_the_first_sync_stops_cleanly(
    tmp_path: Path, run_demo: Callable[..., DemoProcess]
) -> None:
    args = demo_args()
    args[args.index("--contacts") + 1] = "2000"  # a sync long enough to be interrupted
    demo = run_demo(*args)
    demo.wait_for_line("Database: ")
    assert demo.interrupt() == 0
    demo.wait_for_line("Demo stopped.", timeout=10)
    errors = demo.all_stderr()
    assert "Traceback" not in errors and "Exception ignored" not in errors


@pytest.mark.parametrize("flag", ["--port", "--sandbox-port"])
def test_a_port_in_use_is_one_sentence_naming_the_flag(
    flag: str, run_demo: Callable[..., DemoProcess]
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        args = demo_args()
        args[args.index(flag) + 1] = str(port)
        demo = run_demo(*args)
        code = demo.proc.wait(timeout=WAIT_TIMEOUT)
    errors = demo.all_stderr()
    assert code != 0
    assert re.search(rf"Port {port} is already in use; choose another with {flag} PORT\.", errors)
    assert "Traceback" not in errors


def test_the_demo_rules_alert_channels_the_sandbox_slack_has_with_its_bot() -> None:
    rules = Path(app.demo.__file__).with_name("rules.yaml")
    config = check_alerts(rules.read_text(), check_environment=False)
    assert config is not None and config.routes
    receivers = [r for route in config.routes for r in (*route.receivers, *route.fallback)]
    channels = {r.name.lstrip("#") for r in receivers if r.kind == ReceiverKind.CHANNEL}
    assert channels and channels <= set(DEFAULT_CHANNELS)
    assert alert_places(rules).startswith("DMs to the owners, #")
