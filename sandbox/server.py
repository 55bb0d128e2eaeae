"""The combined sandbox: HubSpot at the root, Slack under /api/ (pages under /slack/), and
the control API under /_sandbox/.

`SandboxServer` runs it with uvicorn on a real loopback socket in a background thread, for
tests, benchmarks and the demo:

    with SandboxServer(SandboxOptions(contacts=300)) as sandbox:
        HubSpot(access_token=sandbox.token, host=sandbox.hubspot_url)
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from types import TracebackType

import uvicorn
from fastapi import FastAPI

from sandbox.hubspot import HubSpotEmulator, create_hubspot_app
from sandbox.hubspot.control import build_control_router
from sandbox.hubspot.state import (
    EmulatorSettings,
    FaultSettings,
    LimitSettings,
    make_token,
)
from sandbox.portal import Portal, PortalConfig
from sandbox.portal.calendar import WorkingHours
from sandbox.portal.owners import Owner
from sandbox.slack import SlackEmulatorState, create_slack_router
from sandbox.slack.workspace import people_from_owners

DEFAULT_WORKING_HOURS = WorkingHours()


@dataclass(frozen=True)
class SandboxOptions:
    contacts: int = 300
    seed: int = 1
    limits: bool = True
    fault_rate: float = 0.0
    slow_rate: float = 0.0
    webhook_target: str | None = None
    hubspot_token: str | None = None
    client_secret: str | None = None
    slack_token: str | None = None
    same_timestamp_block: int = 10_500
    anchor_ms: int | None = None
    # The reps' working hours (the demo picks them so its reps are at work when it runs).
    working_hours: WorkingHours = DEFAULT_WORKING_HOURS
    search_lag_seconds: float = 0.0
    # "manual": tests call `sandbox.emulator.webhooks.flush()`; "background": a thread sends.
    webhook_delivery: str = "manual"
    # Seconds between activity ticks in a background thread; None: only explicit ticks.
    tick_seconds: float | None = None

    def emulator_settings(self) -> EmulatorSettings:
        settings = EmulatorSettings(
            portal=PortalConfig(
                contacts=self.contacts,
                seed=self.seed,
                same_timestamp_block=self.same_timestamp_block,
                anchor_ms=self.anchor_ms,
                time_zone=self.working_hours.time_zone,
                work_days=self.working_hours.days,
                open_hour=self.working_hours.open_hour,
                close_hour=self.working_hours.close_hour,
            ),
            limits=LimitSettings(enabled=self.limits),
            faults=FaultSettings(
                error_rate=self.fault_rate, slow_rate=self.slow_rate, seed=self.seed
            ),
            webhook_target=self.webhook_target,
            search_lag_ms=int(self.search_lag_seconds * 1000),
        )
        if self.hubspot_token:
            settings.access_token = self.hubspot_token
        if self.client_secret:
            settings.client_secret = self.client_secret
        return settings


@dataclass
class Sandbox:
    """What the combined app serves: the HubSpot emulator and the Slack emulator's state."""

    app: FastAPI
    hubspot: HubSpotEmulator
    slack: SlackEmulatorState
    slack_token: str


def _slack_state(
    options: SandboxOptions, token: str, owners: Iterable[Owner]
) -> SlackEmulatorState:
    """The Slack workspace whose members are the portal's owners (same emails)."""
    return SlackEmulatorState(
        {token},
        seed=options.seed,
        fault_rate=options.fault_rate,
        rate_limits=options.limits,
        users=people_from_owners(owners),
    )


def build_sandbox(options: SandboxOptions, portal: Portal | None = None) -> Sandbox:
    emulator = HubSpotEmulator(options.emulator_settings(), portal)
    slack_token = options.slack_token or make_token("xoxb")
    slack = _slack_state(options, slack_token, emulator.portal.owners)
    app = FastAPI(title="slaguard sandbox", docs_url=None, redoc_url=None, openapi_url=None)
    app.include_router(build_control_router(emulator), prefix="/_sandbox")
    app.include_router(create_slack_router(slack))
    # Mounted last: everything not matched above is a HubSpot API path.
    app.mount("/", create_hubspot_app(emulator))
    return Sandbox(app, emulator, slack, slack_token)


class ActivityTicker:
    """Calls `emulator.tick()` every `seconds` in a daemon thread until stopped."""

    def __init__(self, emulator: HubSpotEmulator, seconds: float) -> None:
        self.emulator = emulator
        self.seconds = seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sandbox-ticker", daemon=True)

    def start(self) -> ActivityTicker:
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.seconds):
            self.emulator.tick()

    def stop(self) -> None:
        self._stop.set()


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


class SandboxServer:
    """The combined sandbox on a real socket, served from a background thread."""

    def __init__(
        self, options: SandboxOptions, host: str = "127.0.0.1", port: int | None = None
    ) -> None:
        self.options = options
        self.sandbox = build_sandbox(options)
        self.host = host
        self.port = port or free_port(host)
        config = uvicorn.Config(
            self.sandbox.app, host=host, port=self.port, log_level="warning", lifespan="off"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="sandbox", daemon=True)
        self._ticker: ActivityTicker | None = None

    @property
    def root_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def hubspot_url(self) -> str:
        return self.root_url

    @property
    def slack_url(self) -> str:
        return f"{self.root_url}/api/"

    @property
    def slack_pages_url(self) -> str:
        return f"{self.root_url}/slack/"

    @property
    def control_url(self) -> str:
        return f"{self.root_url}/_sandbox"

    @property
    def token(self) -> str:
        return self.sandbox.hubspot.settings.access_token

    @property
    def slack_token(self) -> str:
        return self.sandbox.slack_token

    @property
    def client_secret(self) -> str:
        return self.sandbox.hubspot.settings.client_secret

    @property
    def emulator(self) -> HubSpotEmulator:
        return self.sandbox.hubspot

    @property
    def portal(self) -> Portal:
        return self.sandbox.hubspot.portal

    @property
    def slack(self) -> SlackEmulatorState:
        return self.sandbox.slack

    def start(self, timeout: float = 20.0) -> SandboxServer:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the sandbox did not start on {self.root_url}")
            time.sleep(0.01)
        webhooks = self.emulator.webhooks
        if webhooks is not None and self.options.webhook_delivery == "background":
            webhooks.start()
        if self.options.tick_seconds:
            self._ticker = ActivityTicker(self.emulator, self.options.tick_seconds).start()
        return self

    def stop(self) -> None:
        if self._ticker is not None:
            self._ticker.stop()
        if self.emulator.webhooks is not None:
            self.emulator.webhooks.stop()
        self.server.should_exit = True
        self.thread.join(timeout=10)

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
