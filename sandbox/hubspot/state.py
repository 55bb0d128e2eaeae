"""One emulator's state: the portal, the token, the switches and what it has served."""

from __future__ import annotations

import secrets
import threading
from collections import Counter
from dataclasses import dataclass, field, replace

from sandbox.hubspot.guard import Guard
from sandbox.hubspot.webhooks import WebhookSender
from sandbox.portal import Portal, PortalConfig
from sandbox.portal.activity import ActivitySimulator, TickReport
from sandbox.portal.writer import PortalWriter


@dataclass
class LimitSettings:
    """Like a Professional private app. `enabled=False` turns every limit off."""

    enabled: bool = True
    per_ten_seconds: int = 190
    search_per_second: int = 5
    daily: int = 650_000


@dataclass
class FaultSettings:
    """A seeded share of 502/503/504 answers and of slow answers."""

    error_rate: float = 0.0
    slow_rate: float = 0.0
    slow_seconds: float = 2.0
    seed: int = 1


@dataclass
class RequestStats:
    """Counts of requests by (method, route) and by status, for the control API."""

    by_route: Counter[str] = field(default_factory=Counter)
    by_status: Counter[int] = field(default_factory=Counter)
    rate_limited: int = 0
    faults: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, route: str, status: int) -> None:
        with self.lock:
            self.by_route[route] += 1
            self.by_status[status] += 1

    def snapshot(self) -> dict[str, object]:
        with self.lock:
            return {
                "total": sum(self.by_status.values()),
                "byRoute": dict(self.by_route),
                "byStatus": {str(k): v for k, v in self.by_status.items()},
                "rateLimited": self.rate_limited,
                "faults": self.faults,
            }

    def clear(self) -> None:
        with self.lock:
            self.by_route.clear()
            self.by_status.clear()
            self.rate_limited = 0
            self.faults = 0


def make_token(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(16)}"


@dataclass
class EmulatorSettings:
    portal: PortalConfig = field(default_factory=PortalConfig)
    access_token: str = field(default_factory=lambda: make_token("pat-na1"))
    client_secret: str = field(default_factory=lambda: secrets.token_hex(16))
    app_id: int = 1_234_567
    limits: LimitSettings = field(default_factory=LimitSettings)
    faults: FaultSettings = field(default_factory=FaultSettings)
    webhook_target: str | None = None
    # How long a change takes to show in search results (HubSpot: seconds; 0 = at once).
    search_lag_ms: int = 0


class HubSpotEmulator:
    """Shared by the routes, the control API, the activity ticker and tests (in-process).

    `portal` is the ground truth, `writer` changes it (and feeds `webhooks`), `activity`
    simulates a working sales team, `guard` applies the rate limits and faults.
    """

    def __init__(self, settings: EmulatorSettings, portal: Portal | None = None) -> None:
        self.settings = settings
        self.stats = RequestStats()
        self.guard = Guard(self)
        self.webhooks: WebhookSender | None = None
        self._attach(portal or Portal(settings.portal))
        if settings.webhook_target:
            self.set_webhook_target(settings.webhook_target)

    def _attach(self, portal: Portal) -> None:
        self.portal = portal
        self.writer = PortalWriter(portal)
        self.activity = ActivitySimulator(portal, self.writer, self.settings.portal.seed)
        if self.webhooks is not None:
            self.writer.listeners.append(self.webhooks.on_changes)

    def set_webhook_target(self, url: str | None) -> WebhookSender | None:
        """Points webhooks at `url` (None: stop sending). Events queued before are dropped."""
        if self.webhooks is not None:
            self.webhooks.stop()
            self.writer.listeners.remove(self.webhooks.on_changes)
            self.webhooks = None
        self.settings.webhook_target = url
        if url:
            self.webhooks = WebhookSender(
                url, self.settings.client_secret, self.portal.portal_id, self.settings.app_id
            )
            self.writer.listeners.append(self.webhooks.on_changes)
        return self.webhooks

    def tick(self, at_ms: int | None = None) -> TickReport:
        return self.activity.tick(at_ms)

    def reset_portal(self) -> None:
        """Back to the seed's portal: every change since start is forgotten."""
        config = replace(self.settings.portal, anchor_ms=self.portal.generator.anchor_ms)
        self._attach(Portal(config, self.portal.clock))
        self.guard.reset()
