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
from functools import partial
from typing import TypeVar

from alerts.config import AlertsConfig
from alerts.delivery import Deliverer, DeliveryResult, Outcome
from alerts.hubspot_jobs import build_hubspot_job, hubspot_target
from alerts.model import DEFAULT_GROUP_WAIT, TargetKind, endpoint_name
from alerts.outbox import leases
from alerts.outbox.config import alerts_in_force
from alerts.outbox.hours import may_wait, not_before
from alerts.outbox.jobs import JobError, build_digest_job, build_job
from alerts.outbox.leases import Claimed
from alerts.outbox.posts import settle_unsent
from alerts.outbox.resolve import EmailLookup, Target, resolve
from alerts.outbox.suppress import suppress_silenced
from app.store.db import SessionFactory, session_scope

log = logging.getLogger(__name__)
_T = TypeVar("_T")


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass(slots=True)
class PassReport:
    """Deliveries claimed in a pass and the state each ended in (`held`: waiting for its
    target's group_wait, to go out with others as one message)."""

    claimed: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)

    def add(self, states: list[str]) -> None:
        for state in states:
            self.claimed += 1
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
            going = suppress_silenced(self.factory, claimed, self.clock())
            report.add(["suppressed"] * (len(claimed) - len(going)))
            claimed = going
            with self.factory() as session:
                config = alerts_in_force(session)
            ready: list[Claimed] = []
            for delivery in claimed:
                prepared = self._guarded([delivery], partial(self._prepare, delivery, config))
                if isinstance(prepared, Claimed):
                    ready.append(prepared)
                else:
                    report.add(self._record([delivery], prepared))
            ready = self._outside_working_hours_held(ready, config, report)
            for group in _groups(ready):
                report.add(self._send(group, config))
        return report

    def _outside_working_hours_held(
        self, ready: list[Claimed], config: AlertsConfig | None, report: PassReport
    ) -> list[Claimed]:
        """DMs wait for their recipient's working hours, channel posts when their route says
        so (`quiet_hours: true`); the rest goes on."""
        now = self.clock()
        going: list[Claimed] = []
        for item in ready:
            if not may_wait(item, config):
                going.append(item)
                continue
            with self.factory() as session:
                start = not_before(session, item, now)
            if start is None:
                settle_unsent(self.factory, item, "the digest's day ended before it could go out")
                report.add(["suppressed"])
            elif start > now:
                leases.postpone(self.factory, [item], start)
                report.add(["held"])
            else:
                going.append(item)
        return going

    def _prepare(self, claimed: Claimed, config: AlertsConfig | None) -> Claimed | DeliveryResult:
        if config is None:
            return DeliveryResult(Outcome.DEAD, "the rules in force have no alerts: section")
        if claimed.target_kind is None:
            return self._resolve(claimed, config, self.clock())
        return claimed

    def _send(self, group: list[Claimed], config: AlertsConfig | None) -> list[str]:
        """A webhook delivery alone; a Slack target's due deliveries as one message, sent at
        once if the target heard nothing within group_wait, else held until then."""
        first = group[0]
        if first.target_kind == TargetKind.HUBSPOT_PROPERTIES and first.target is not None:
            # One batch update for everything due: HubSpot takes 100 records per request.
            return self._deliver(group + self._more_for(group), config)
        # Webhooks, HubSpot writes and scheduled posts (which stand alone, at their time) are
        # not grouped for a receiver's quiet moment.
        ungrouped = first.target_kind == TargetKind.WEBHOOK or hubspot_target(first.target_kind)
        if ungrouped or config is None or first.target is None or first.post_id is not None:
            return self._deliver(group, config)
        kind, target = first.target_kind or "", first.target
        wait = min((_group_wait(config, item.route) for item in group), default=DEFAULT_GROUP_WAIT)
        last = leases.last_sent_at(self.factory, kind, target)
        now = self.clock()
        if last is not None and last + wait > now:
            leases.postpone(self.factory, group, last + wait)
            return ["held"] * len(group)
        return self._deliver(group + self._more_for(group), config)

    def _more_for(self, group: list[Claimed]) -> list[Claimed]:
        """The target's other due deliveries, claimed to go out with `group`."""
        kind, target = group[0].target_kind or "", group[0].target or ""
        taken = {item.id for item in group}
        more = leases.claim_for_target(
            self.factory,
            kind=kind,
            target=target,
            worker=self.name,
            now=self.clock(),
            lease=self.lease,
        )
        return [item for item in more if item.id not in taken]

    def _deliver(self, group: list[Claimed], config: AlertsConfig | None) -> list[str]:
        started_at = self.clock()
        began = time.monotonic()
        result = self._guarded(group, partial(self._try, group, config, started_at))
        if not result.duration:
            result = _with_duration(result, time.monotonic() - began)
        return self._record(group, result, started_at)

    def _guarded(self, group: list[Claimed], action: Callable[[], _T]) -> _T | DeliveryResult:
        try:
            return action()
        except Exception as error:  # a bug or an outage must not stop the other deliveries
            log.exception("deliveries %s failed unexpectedly", [item.id for item in group])
            return DeliveryResult(Outcome.RETRY, f"{type(error).__name__}: {error}")

    def _record(
        self, group: list[Claimed], result: DeliveryResult, started_at: datetime | None = None
    ) -> list[str]:
        return [
            leases.record_result(
                self.factory,
                item,
                result,
                worker=self.name,
                started_at=started_at or self.clock(),
                now=self.clock(),
                rng=self.rng,
            )
            for item in group
        ]

    def _try(
        self, group: list[Claimed], config: AlertsConfig | None, now: datetime
    ) -> DeliveryResult:
        first = group[0]
        if config is None:
            return DeliveryResult(Outcome.DEAD, "the rules in force have no alerts: section")
        gone = self._disabled(first)
        if gone is not None:
            return DeliveryResult(Outcome.DEAD, gone)
        deliverer = self.deliverers.get(TargetKind(first.target_kind or ""))
        if deliverer is None:
            return DeliveryResult(Outcome.RETRY, f"no deliverer for {first.target_kind}")
        with self.factory() as session:
            try:
                if hubspot_target(first.target_kind):
                    job = build_hubspot_job(session, group)
                elif len(group) == 1:
                    job = build_job(session, first, config, now)
                else:
                    job = build_digest_job(session, group, now)
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
        # Each kind checks its own switch: a HubSpot scope missing says nothing about Slack.
        if hubspot_target(claimed.target_kind):
            name = endpoint_name(claimed.target_kind, claimed.target)
            reason = leases.disabled_reason(self.factory, name)
            return f"{name} disabled: {reason}" if reason else None
        if claimed.target_kind == TargetKind.WEBHOOK:
            reason = leases.disabled_reason(self.factory, f"webhook:{claimed.target}")
            return f"endpoint disabled: {reason}" if reason else None
        reason = leases.disabled_reason(self.factory, "slack")
        return f"Slack disabled: {reason}" if reason else None


def _groups(ready: list[Claimed]) -> list[list[Claimed]]:
    """Webhook deliveries and scheduled posts one by one; Slack alerts per target."""
    groups: dict[tuple[str, str], list[Claimed]] = {}
    alone: list[list[Claimed]] = []
    for item in ready:
        if item.target_kind in _ALONE or item.target is None or item.post_id is not None:
            alone.append([item])
        else:
            groups.setdefault((item.target_kind or "", item.target), []).append(item)
    return alone + list(groups.values())


_ALONE = frozenset({TargetKind.WEBHOOK, TargetKind.HUBSPOT_TASK})


def _group_wait(config: AlertsConfig, route_name: str) -> timedelta:
    route = next((r for r in config.routes if r.name == route_name), None)
    return route.group_wait if route is not None else DEFAULT_GROUP_WAIT


def _with_duration(result: DeliveryResult, seconds: float) -> DeliveryResult:
    return replace(result, duration=seconds)
