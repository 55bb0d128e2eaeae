"""`slaguard demo`: see slaguard work with no HubSpot or Slack account.

The sandbox (HubSpot and Slack emulators over a synthetic portal) comes up first, then a first
full sync into a throw-away SQLite file, the demo rules put in force and evaluated, and the
service with its scheduler (incremental sync, webhook worker, SLA clocks). Once the service
answers, the sandbox's activity starts and its signed webhooks go to the service.
"""

from __future__ import annotations

import socket
import tempfile
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import typer
from sqlalchemy import Engine

from alerts.config import check_alerts
from alerts.model import ReceiverKind
from alerts.outbox.actions import StoredSlackActions
from app import hubspot_client
from app.cli.common import console, fail
from app.cli.demo_portal import (
    REPLAY_HOURS,
    demo_rules_text,
    replay_working_hours,
    sandbox_options,
)
from app.cli.sandbox import MAX_CONTACTS
from app.cli.status_view import print_status
from app.cli.sync import RichProgress
from app.config import Settings
from app.demo.interrupt import InterruptibleProgress, StopRequest
from app.demo.ports import bind_port, ensure_free
from app.demo.service import ServiceServer
from app.demo.settings import (
    SandboxCredentials,
    demo_database_url,
    demo_settings,
    new_admin_token,
    remove_demo_database,
)
from app.demo.workweek import Workweek, choose_workweek
from app.evaluation.rules_store import activate_rules
from app.evaluation.service import evaluate_all
from app.leader import leader_lock_for
from app.logging import configure_logging
from app.main import create_app
from app.store.connect import open_store
from app.store.db import create_session_factory, session_scope
from app.sync.progress import LogProgress, SyncProgress
from app.sync.service import SyncReport, SyncService
from sandbox.server import ActivityTicker, SandboxOptions, SandboxServer

HOST = "127.0.0.1"
# At --speed 1 the sandbox's reps and marketing act every 10 s, as `slaguard sandbox` does.
BASE_TICK_SECONDS = 10.0
MAX_SPEED = 100.0


def _say(text: str) -> None:
    """One line on stdout, never wrapped or styled, so it can be copied (and parsed)."""
    console.print(text, highlight=False, markup=False, soft_wrap=True)


@contextmanager
def _rules_file(explicit: Path | None, week: Workweek) -> Iterator[Path]:
    """The rules file in force: the user's, or the demo's own with its calendar set to the
    reps' working week, written to a temporary folder for the run."""
    if explicit is not None:
        yield explicit
        return
    with tempfile.TemporaryDirectory(prefix="slaguard-demo-") as folder:
        path = Path(folder) / "rules.yaml"
        path.write_text(demo_rules_text(week), encoding="utf-8")
        yield path


def _start_sandbox(options: SandboxOptions, port: int) -> SandboxServer:
    try:
        sandbox = SandboxServer(options, host=HOST, port=port).start()
    except RuntimeError:
        # Taken between the check and uvicorn's bind.
        fail(f"Port {port} is already in use; choose another with --sandbox-port PORT.")
    _say(f"HubSpot sandbox: {sandbox.hubspot_url}")
    _say(f"Slack sandbox: {sandbox.slack_pages_url}")
    _say(f"Sandbox control: {sandbox.control_url}/stats")
    return sandbox


def alert_places(rules_path: Path) -> str:
    """Where the rules file sends alerts, in words: the Slack channels and whether owners get
    DMs; empty when it has no `alerts:` section."""
    config = check_alerts(rules_path.read_text(encoding="utf-8"), check_environment=False)
    if config is None:
        return ""
    receivers = [r for route in config.routes for r in (*route.receivers, *route.fallback)]
    channels = sorted(
        {f"#{r.name.lstrip('#')}" for r in receivers if r.kind == ReceiverKind.CHANNEL}
    )
    places = ["DMs to the owners"] if any(r.kind == ReceiverKind.OWNER for r in receivers) else []
    return ", ".join(places + channels)


def _credentials(sandbox: SandboxServer) -> SandboxCredentials:
    return SandboxCredentials(
        hubspot_url=sandbox.hubspot_url,
        hubspot_token=sandbox.token,
        client_secret=sandbox.client_secret,
        slack_url=sandbox.slack_url,
        slack_token=sandbox.slack_token,
    )


def _prepare_store(settings: Settings, own_file: bool) -> Engine:
    """Opens (and on SQLite migrates) the store; the demo's own file starts empty each time."""
    if own_file:
        lock = leader_lock_for(settings.database_url)
        if not lock.hold():
            fail(
                f"Another slaguard is using {settings.safe_database_url}; stop it first, "
                "or run the demo from another directory or with --database-url."
            )
        lock.release()
        remove_demo_database(settings.database_url)
    engine = open_store(settings)
    note = (
        "the demo's own file, emptied at each start"
        if own_file
        else "given with --database-url; kept as it is"
    )
    _say(f"Database: {settings.safe_database_url} ({note}; DATABASE_URL is not used)")
    return engine


def _first_sync(settings: Settings, engine: Engine, stop: StopRequest) -> SyncReport:
    factory = create_session_factory(engine)
    service_args = (settings, factory, hubspot_client.from_settings(settings))
    bars: AbstractContextManager[object]
    progress: SyncProgress
    if console.is_terminal:
        bars = progress = RichProgress(console)
    else:
        progress, bars = LogProgress(), nullcontext()
    with bars:
        watched = InterruptibleProgress(progress, stop)
        report = SyncService(*service_args, progress=watched).run(full=True)
    read = sum(counts.get("read", 0) for counts in report.counts.values())
    _say(
        f"First sync: {read:,} records in {report.seconds:.1f} s "
        f"({report.requests} requests, {report.rate_limited} rate-limited)"
    )
    return report


def _evaluate(settings: Settings, engine: Engine, stop: StopRequest) -> None:
    factory = create_session_factory(engine)
    now = datetime.now(UTC)
    started = time.perf_counter()
    with session_scope(factory) as session:
        rules, _ = activate_rules(session, settings.slaguard_rules, now)
    with session_scope(factory) as session:
        # progress is reported after each batch is committed: a safe point to stop
        report = evaluate_all(
            session, now=now, after_batch=session.commit, progress=lambda _: stop.check()
        )
    _say(
        f"Rules: {settings.slaguard_rules} ({len(rules.active_rules)} in force); "
        f"{report.records:,} records evaluated in {time.perf_counter() - started:.1f} s, "
        f"{report.created:,} SLA instances"
    )


class _Announcer:
    """What happens once the service answers: the sandbox's webhooks and activity start, and
    the URLs, the admin token and the SLA summary are printed."""

    def __init__(
        self,
        sandbox: SandboxServer,
        settings: Settings,
        admin_token: str,
        tick_seconds: float,
        rules_path: Path,
        week: Workweek,
    ) -> None:
        self.sandbox = sandbox
        self.week = week
        self.rules_path = rules_path
        self.settings = settings
        self.admin_token = admin_token
        self.tick_seconds = tick_seconds
        self.server: ServiceServer | None = None
        self.ticker: ActivityTicker | None = None

    def __call__(self) -> None:
        assert self.server is not None
        url = self.server.url
        sender = self.sandbox.emulator.set_webhook_target(f"{url}/webhooks/hubspot")
        if sender is not None:
            sender.start()
        self.ticker = ActivityTicker(self.sandbox.emulator, self.tick_seconds).start()
        _say(f"slaguard: {url}")
        _say(f"Dashboard: {url}/ (sign in with the admin token below)")
        _say(f"Admin health: {url}/admin/health")
        _say(f"Admin token: {self.admin_token}")
        _say(f"  curl -H 'Authorization: Bearer {self.admin_token}' {url}/admin/health")
        self._summary()
        _say(
            f"The sandbox's reps and marketing act every {self.tick_seconds:g} s: new leads "
            "and MQLs reach slaguard as signed webhooks within seconds; calls and emails "
            f"(HubSpot sends no webhooks for them) with the sync every minute. Reps work "
            f"{self.week.describe()}."
        )
        places = alert_places(self.rules_path)
        if places:
            _say(
                f"Alerts: {self.sandbox.slack_pages_url} ({places}); only what happens while "
                "the demo runs, not its history, and DMs wait for the rep's working hours."
            )
        _say(f"SLA state any time: DATABASE_URL={self.settings.database_url} slaguard status")
        _say("Press Ctrl-C to stop.")

    def _summary(self) -> None:
        engine = open_store(self.settings)
        try:
            with session_scope(create_session_factory(engine)) as session:
                print_status(session, console)
        finally:
            engine.dispose()

    def stop(self) -> None:
        if self.ticker is not None:
            self.ticker.stop()


def register(cli: typer.Typer) -> None:
    @cli.command()
    def demo(
        port: int = typer.Option(8000, help="slaguard's TCP port.", min=0, max=65535),
        sandbox_port: int = typer.Option(
            8100, help="The HubSpot and Slack sandbox's TCP port.", min=0, max=65535
        ),
        contacts: int = typer.Option(2000, help="Contacts in the sandbox portal."),
        seed: int = typer.Option(7, help="Same seed, same portal."),
        speed: float = typer.Option(
            1.0, help="How much livelier the sandbox's activity is (1: a tick every 10 s)."
        ),
        database_url: str | None = typer.Option(
            None, help="Use this store instead of ./slaguard-demo.db (kept as it is)."
        ),
        rules: Path | None = typer.Option(
            None, help="Rules file to put in force instead of the demo's own."
        ),
    ) -> None:
        """See slaguard work on a local sandbox portal: no HubSpot or Slack account needed.

        Starts the HubSpot and Slack sandbox, syncs it into ./slaguard-demo.db, evaluates the
        demo rules and serves slaguard with its scheduler until Ctrl-C. The environment (and
        .env) is not read: nothing of a real deployment is touched.
        """
        if not 100 <= contacts <= MAX_CONTACTS:
            fail(f"--contacts must be between 100 and {MAX_CONTACTS:,}; got {contacts:,}.")
        if not 0 < speed <= MAX_SPEED:
            fail(f"--speed must be above 0 and at most {MAX_SPEED:g}; got {speed:g}.")
        if rules is not None and not rules.is_file():
            fail(f"--rules {rules} is not a readable file.")
        configure_logging("INFO")
        service_socket = bind_port(HOST, port, "--port")
        stop = StopRequest()
        now = datetime.now(UTC)
        week = choose_workweek(now)
        try:
            options = DemoOptions(
                sandbox_port=ensure_free(HOST, sandbox_port, "--sandbox-port"),
                contacts=contacts,
                seed=seed,
                speed=speed,
                database_url=database_url,
                week=week,
                now=now,
            )
            with stop.installed(), _rules_file(rules, week) as rules_path:
                _run_demo(service_socket, options, rules_path, stop)
        except KeyboardInterrupt:
            pass
        finally:
            service_socket.close()
        _say("Demo stopped.")


@dataclass(frozen=True)
class DemoOptions:
    sandbox_port: int
    contacts: int
    seed: int
    speed: float
    database_url: str | None
    week: Workweek
    now: datetime


def _run_demo(
    service_socket: socket.socket, options: DemoOptions, rules_path: Path, stop: StopRequest
) -> None:
    url, own_file = demo_database_url(options.database_url, Path.cwd())
    portal = sandbox_options(options.week, options.contacts, options.seed, options.now)
    sandbox = _start_sandbox(portal, options.sandbox_port)
    ticks = replay_working_hours(sandbox, options.now)
    _say(
        f"Sandbox reps work {options.week.describe()} (a calendar in which they are at work "
        f"now); its last {REPLAY_HOURS:g} working hours replayed ({ticks} ticks)"
    )
    admin_token = new_admin_token()
    announcer: _Announcer | None = None
    try:
        settings = demo_settings(
            database_url=url,
            rules=rules_path,
            sandbox=_credentials(sandbox),
            admin_token=admin_token,
        )
        stop.check()
        engine = _prepare_store(settings, own_file)
        try:
            stop.check()
            _first_sync(settings, engine, stop)
            stop.check()
            _evaluate(settings, engine, stop)
        finally:
            engine.dispose()
        stop.check()
        tick_seconds = BASE_TICK_SECONDS / options.speed
        announcer = _Announcer(
            sandbox, settings, admin_token, tick_seconds, rules_path, options.week
        )
        server = ServiceServer(
            create_app(settings, slack_actions_factory=StoredSlackActions),
            service_socket,
            announcer,
        )
        announcer.server = server
        server.serve_until_stopped()
    finally:
        if announcer is not None:
            announcer.stop()
        sandbox.stop()
