"""A Prometheus collector that reads the store at scrape time.

No counter lives in process memory (except the scheduler's own, labelled by the process's
leadership): every replica behind a load balancer reports the same sync runs, backlog and SLA
figures because they all come from the shared store. Counters here are counts of rows, so they
only go down if someone deletes history, which Prometheus treats as a reset.
"""

from __future__ import annotations

import platform
from collections.abc import Iterator
from datetime import datetime

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from alerts.outbox.status import LATENCY_BUCKETS, OutboxStatus
from app import __version__
from app.admin.snapshot import MetricsSnapshot, read_everything, read_for_metrics
from app.config import Settings
from app.scheduler import SchedulerStatus
from app.store.db import SessionFactory


class StoreCollector(Collector):
    """Pass it to `prometheus_client.generate_latest` (anything with `collect()` will do)."""

    def __init__(
        self,
        settings: Settings,
        session_factory: SessionFactory,
        scheduler: SchedulerStatus | None,
        now: datetime,
    ) -> None:
        self._settings = settings
        self._session_factory = session_factory
        self._scheduler = scheduler
        self._now = now

    def collect(self) -> Iterator[Metric]:
        build = GaugeMetricFamily(
            "slaguard_build_info", "slaguard's version (always 1)", labels=["version", "python"]
        )
        build.add_metric([__version__, platform.python_version()], 1)
        yield build
        now = self._now
        _, store = read_everything(
            self._settings, self._session_factory, lambda session: read_for_metrics(session, now)
        )
        yield GaugeMetricFamily(
            "slaguard_store_up",
            "1 when the store is reachable and at the schema this code needs",
            value=1 if store is not None else 0,
        )
        yield from _scheduler_metrics(self._scheduler)
        if store is not None:
            yield from _sync_metrics(store)
            yield from _webhook_metrics(store, self._now)
            yield from _sla_metrics(store, self._now)
            if store.alerts is not None:
                yield from alert_metrics(store.alerts, self._now)


def _scheduler_metrics(status: SchedulerStatus | None) -> Iterator[Metric]:
    leader = status is not None and status.running and status.leader
    yield GaugeMetricFamily(
        "slaguard_scheduler_leader",
        "1 when this process holds the scheduler's leader lock and runs the jobs",
        value=1 if leader else 0,
    )
    failures = CounterMetricFamily(
        "slaguard_scheduler_job_failures",
        "Failed runs of each scheduled job in this process since it started",
        labels=["job"],
    )
    last_success = GaugeMetricFamily(
        "slaguard_scheduler_job_last_success_timestamp_seconds",
        "When each scheduled job last finished without error in this process",
        labels=["job"],
    )
    for job in status.jobs if status is not None else ():
        failures.add_metric([job.id], job.failures)
        if job.last_succeeded_at is not None:
            last_success.add_metric([job.id], job.last_succeeded_at.timestamp())
    yield failures
    yield last_success


def _sync_metrics(store: MetricsSnapshot) -> Iterator[Metric]:
    runs = CounterMetricFamily(
        "slaguard_sync_runs", "Sync runs recorded in the store", labels=["mode", "status"]
    )
    for total in store.run_totals:
        runs.add_metric([total.mode, total.status], total.runs)
    yield runs
    yield CounterMetricFamily(
        "slaguard_sync_rate_limited",
        "HubSpot answers of 429 seen by all sync runs",
        value=sum(total.rate_limited for total in store.run_totals),
    )
    yield _last_success_per_object_type(store)


def _last_success_per_object_type(store: MetricsSnapshot) -> GaugeMetricFamily:
    """When each object type's last complete pass was committed. While a pass is in progress
    that moment is unknown, so the end of the last successful run stands in. With several
    portals the oldest is reported: it is the one an alert should fire on."""
    family = GaugeMetricFamily(
        "slaguard_sync_last_success_timestamp_seconds",
        "When the store last completed a sync pass of each object type",
        labels=["object_type"],
    )
    last_run = store.latest_successful_run
    fallback = last_run.finished_at if last_run is not None else None
    oldest: dict[str, float] = {}
    for point in store.checkpoints:
        moment = point.updated_at if point.phase is None else fallback
        if moment is None:
            continue
        stamp = moment.timestamp()
        oldest[point.object_type] = min(stamp, oldest.get(point.object_type, stamp))
    for object_type, stamp in sorted(oldest.items()):
        family.add_metric([object_type], stamp)
    return family


def _webhook_metrics(store: MetricsSnapshot, now: datetime) -> Iterator[Metric]:
    backlog = store.webhooks
    oldest = backlog.oldest_pending_received_at
    yield GaugeMetricFamily(
        "slaguard_webhook_events_pending",
        "Stored HubSpot webhook events the worker has not applied yet",
        value=backlog.pending,
    )
    yield GaugeMetricFamily(
        "slaguard_webhook_oldest_pending_age_seconds",
        "How long the oldest pending webhook event has waited (0 when none)",
        value=max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0,
    )
    yield GaugeMetricFamily(
        "slaguard_webhook_events_failed",
        "Webhook events that failed every attempt and were left with their error",
        value=backlog.failed,
    )
    yield GaugeMetricFamily(
        "slaguard_webhook_dead_letters",
        "Raw webhook events that did not parse, kept for the admin",
        value=backlog.dead_letters,
    )
    yield GaugeMetricFamily(
        "slaguard_webhook_unserved_portal_events_recent",
        "Webhook events of portals this slaguard does not serve, received in the last hour",
        value=store.unserved_portals.count,
    )


def _sla_metrics(store: MetricsSnapshot, now: datetime) -> Iterator[Metric]:
    instances = GaugeMetricFamily(
        "slaguard_sla_instances", "SLA instances per rule and state", labels=["rule", "state"]
    )
    for row in store.sla_counts:
        instances.add_metric([row.rule_id, row.state], row.count)
    yield instances
    overdue = store.sla_overdue
    yield GaugeMetricFamily(
        "slaguard_sla_overdue_clocks",
        "SLA instances past their next due time that the due-clock job has not advanced yet",
        value=overdue.count,
    )
    oldest = overdue.oldest_due_at
    yield GaugeMetricFamily(
        "slaguard_sla_detection_lag_seconds",
        "How far past its due time the most overdue SLA instance is (0 when none)",
        value=max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0,
    )
    yield from _reevaluation_metrics(store, now)


def _reevaluation_metrics(store: MetricsSnapshot, now: datetime) -> Iterator[Metric]:
    queue = store.reevaluations
    yield CounterMetricFamily(
        "slaguard_sla_handoff_failures",
        "Records whose SLA evaluation after a change failed (each failed attempt counts; "
        "the record stays queued and is retried)",
        value=queue.failures_total,
    )
    yield GaugeMetricFamily(
        "slaguard_sla_reevaluations_pending",
        "Records queued for SLA re-evaluation and not evaluated yet",
        value=queue.pending,
    )
    yield GaugeMetricFamily(
        "slaguard_sla_reevaluations_retrying",
        "Queued records whose SLA evaluation failed at least once",
        value=queue.retrying,
    )
    oldest = queue.oldest_enqueued_at
    yield GaugeMetricFamily(
        "slaguard_sla_reevaluation_oldest_age_seconds",
        "How long the oldest queued record has waited for its SLA re-evaluation (0 when none)",
        value=max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0,
    )


def alert_metrics(outbox: OutboxStatus, now: datetime) -> Iterator[Metric]:
    yield GaugeMetricFamily(
        "slaguard_alert_outbox_depth", "Alert deliveries still to go out", value=outbox.depth
    )
    yield GaugeMetricFamily(
        "slaguard_alert_outbox_oldest_pending_age_seconds",
        "Age of the oldest alert delivery still to go out (0 when none)",
        value=outbox.oldest_pending_age(now) or 0.0,
    )
    deliveries = GaugeMetricFamily(
        "slaguard_alert_deliveries",
        "Alert deliveries in the store by target kind and state (dead = dead letters)",
        labels=["kind", "state"],
    )
    for (kind, state), count in sorted(outbox.by_kind_and_state.items()):
        deliveries.add_metric([kind, state], count)
    yield deliveries
    yield GaugeMetricFamily(
        "slaguard_alert_dead_letters", "Alert deliveries that failed for good", value=outbox.dead
    )
    disabled = GaugeMetricFamily(
        "slaguard_alert_endpoint_disabled",
        "1 for each alert endpoint switched off (a webhook that answered 410, Slack's token)",
        labels=["endpoint"],
    )
    for name in sorted(outbox.disabled):
        disabled.add_metric([name], 1)
    yield disabled
    buckets = [
        (f"{bound:g}", count)
        for bound, count in zip(LATENCY_BUCKETS, outbox.latency_buckets, strict=True)
    ]
    yield HistogramMetricFamily(
        "slaguard_alert_delivery_latency_seconds",
        "From the SLA event being recorded to its alert being delivered",
        buckets=[*buckets, ("+Inf", outbox.latency_count)],
        sum_value=outbox.latency_sum,
    )
