"""One pass of the delivery worker: claim what is due, resolve, build, deliver, record.

Each claimed delivery is one attempt: resolved to a target if it has none yet, built into a
`DeliveryJob`, handed to the deliverer for its target kind, and its `DeliveryResult` written
as an attempt row plus the delivery's next state (delivered, retry at the schedule, dead).
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from alerts.config import AlertsConfig
from alerts.delivery import Deliverer, DeliveryResult, Outcome
from alerts.model import TargetKind
from alerts.outbox import leases
from alerts.outbox.config import alerts_in_force
from alerts.outbox.jobs import JobError, build_job
from alerts.outbox.leases import Claimed
from alerts.outbox.resolve import EmailLookup, Target, resolve
from app.store.db import SessionFactory, session_scope

log = logging.getLogger(__name__)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass(slots=True)
class PassReport:
    claimed: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)

    def count(self, state: str) -> None:
        self.outcomes[state] = self.outcomes.get(state, 0) + 1


@dataclass(slots=True)
class Worker:
    factory: SessionFactory
    deliverers: Mapping[TargetKind, Deliverer]
    lookup: EmailLookup | None = None
    name: str = field(default_factory=worker_name)
    lease: timedelta = leases.DEFAULT_LEASE
    batch: int = 10  # see leases.DEFAULT_LEASE
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    rng: random.Random = field(default_factory=random.Random)

    def deliver_due(self, stopping: threading.Event | None = None) -> PassReport:
        """Deliver what is due now, batch after batch, until nothing is left (or `stopping`
        is set: the claimed batch is finished first)."""
        report = PassReport()
        while stopping is None or not stopping.is_set():
            claimed = leases.claim_due(
                self.factory, worker=self.name, now=self.clock(), limit=self.batch, lease=self.lease
            )
            if not claimed:
                return report
            with self.factory() as session:
                config = alerts_in_force(session)
            for delivery in claimed:
                report.claimed += 1
                report.count(self.attempt(delivery, config))
        return report

    def attempt(self, claimed: Claimed, config: AlertsConfig | None) -> str:
        started_at = self.clock()
        began = time.monotonic()
        try:
            result = self._try(claimed, config, started_at)
        except Exception as error:  # a bug or an outage must not stop the other deliveries
            log.exception("delivery %s failed unexpectedly", claimed.id)
            result = DeliveryResult(Outcome.RETRY, f"{type(error).__name__}: {error}")
        if not result.duration:
            result = _with_duration(result, time.monotonic() - began)
        return leases.record_result(
            self.factory,
            claimed,
            result,
            worker=self.name,
            started_at=started_at,
            now=self.clock(),
            rng=self.rng,
        )

    def _try(self, claimed: Claimed, config: AlertsConfig | None, now: datetime) -> DeliveryResult:
        if config is None:
            return DeliveryResult(Outcome.DEAD, "the rules in force have no alerts: section")
        if claimed.target_kind is None:
            found = self._resolve(claimed, config, now)
            if not isinstance(found, Claimed):
                return found
            claimed = found
        gone = self._disabled(claimed)
        if gone is not None:
            return DeliveryResult(Outcome.DEAD, gone)
        deliverer = self.deliverers.get(TargetKind(claimed.target_kind or ""))
        if deliverer is None:
            return DeliveryResult(Outcome.RETRY, f"no deliverer for {claimed.target_kind}")
        with self.factory() as session:
            try:
                job = build_job(session, claimed, config, now)
            except JobError as error:
                return DeliveryResult(Outcome.DEAD, str(error))
        return deliverer.deliver(job)

    def _resolve(
        self, claimed: Claimed, config: AlertsConfig, now: datetime
    ) -> Claimed | DeliveryResult:
        # Not write_scope: a Slack look-up may happen here, and SQLite's write lock is taken
        # only when the answer is cached, at the commit.
        with session_scope(self.factory) as session:
            found = resolve(session, claimed, config, self.lookup, now)
        if not isinstance(found, Target):
            return DeliveryResult(Outcome.DEAD, f"{found.detail} ({found.reason})")
        return leases.resolve_target(self.factory, claimed, found.kind, found.id, found.reason)

    def _disabled(self, claimed: Claimed) -> str | None:
        if claimed.target_kind == TargetKind.WEBHOOK:
            reason = leases.disabled_reason(self.factory, f"webhook:{claimed.target}")
            return f"endpoint disabled: {reason}" if reason else None
        reason = leases.disabled_reason(self.factory, "slack")
        return f"Slack disabled: {reason}" if reason else None


def _with_duration(result: DeliveryResult, seconds: float) -> DeliveryResult:
    return replace(result, duration=seconds)
