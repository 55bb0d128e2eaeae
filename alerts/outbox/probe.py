"""`slaguard alerts test ROUTE`: a test message to each receiver of a route, now, through the
same deliverers the outbox uses, so a wrong channel, a revoked token or an endpoint that
refuses shows before a real breach does. Nothing is written to the outbox: a test is no alert.

Owners and managers depend on a record, which a test has none of; they are reported as
skipped, and the route's fallback (where their alerts go when unreachable) is tested instead.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from alerts.config import AlertsConfig
from alerts.delivery import Deliverer, DeliveryJob, SlackContent, WebhookContent
from alerts.messages import SlackMessage
from alerts.model import Receiver, ReceiverKind, Route, TargetKind

TEST_EVENT_TYPE = "sla.test"


@dataclass(frozen=True, slots=True)
class ProbeResult:
    receiver: str
    outcome: str  # delivered | retry | dead | skipped
    detail: str = ""


def find_route(config: AlertsConfig, name: str) -> Route:
    for route in config.routes:
        if route.name == name:
            return route
    known = ", ".join(route.name for route in config.routes) or "none"
    raise LookupError(f"no route {name!r} in the rules in force (routes: {known})")


def probe_route(
    route: Route, config: AlertsConfig, deliverers: Mapping[TargetKind, Deliverer], now: datetime
) -> list[ProbeResult]:
    results: list[ProbeResult] = []
    fallback_needed = False
    for receiver in route.receivers:
        if receiver.kind in (ReceiverKind.OWNER, ReceiverKind.MANAGER):
            fallback_needed = True
            results.append(ProbeResult(str(receiver), "skipped", "a test has no record"))
            continue
        if receiver.kind in (ReceiverKind.HUBSPOT_TASK, ReceiverKind.HUBSPOT_PROPERTIES):
            # A test writes into no real record; `slaguard hubspot setup` checks the access.
            detail = "a test has no record to write to (`slaguard hubspot setup` checks access)"
            results.append(ProbeResult(str(receiver), "skipped", detail))
            continue
        results.append(_probe(receiver, route, config, deliverers, now))
    if fallback_needed:
        for receiver in route.fallback:
            results.append(_probe(receiver, route, config, deliverers, now))
    return results


def _probe(
    receiver: Receiver,
    route: Route,
    config: AlertsConfig,
    deliverers: Mapping[TargetKind, Deliverer],
    now: datetime,
) -> ProbeResult:
    job = _job(receiver, route, config, now)
    if isinstance(job, ProbeResult):
        return job
    deliverer = deliverers.get(job.target_kind)
    if deliverer is None:
        return ProbeResult(str(receiver), "dead", f"no deliverer for {job.target_kind}")
    result = deliverer.deliver(job)
    return ProbeResult(str(receiver), str(result.outcome), result.detail)


def _job(
    receiver: Receiver, route: Route, config: AlertsConfig, now: datetime
) -> DeliveryJob | ProbeResult:
    key = f"test_{uuid.uuid4().hex}"  # never equal to an alert's, so never taken for a retry
    text = f":test_tube: slaguard test of route {route.name} at {now.isoformat(timespec='seconds')}"
    if receiver.kind is ReceiverKind.CHANNEL:
        message = SlackMessage(
            text, [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]
        )
        return DeliveryJob(
            delivery_ids=(),
            key=key,
            target_kind=TargetKind.SLACK_CHANNEL,
            target=receiver.name,
            attempt=1,
            slack=SlackContent(message, instance_id=None),
        )
    endpoint = config.webhooks.get(receiver.name)
    if endpoint is None:
        return ProbeResult(str(receiver), "dead", f"no webhook endpoint {receiver.name!r}")
    payload = {
        "type": TEST_EVENT_TYPE,
        "test": True,
        "route": route.name,
        "timestamp": now.isoformat(),
    }
    return DeliveryJob(
        delivery_ids=(),
        key=key,
        target_kind=TargetKind.WEBHOOK,
        target=receiver.name,
        attempt=1,
        webhook=WebhookContent(endpoint.name, endpoint.url, payload),
    )
