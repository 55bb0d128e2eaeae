"""Deliverers that write into HubSpot: a task for the record's owner, SLA properties on records.

`hubspot_task`: a warning or a breach makes sure the instance has one open task, assigned to
the record's owner, associated with the record, due at the deadline (at once for a breach);
met, met late or cancelled completes it. The ledger guarantees one task per instance whatever
is replayed or retried.

`hubspot_properties`: the instance's state as it is when the job is built, written with batch
updates of 100 records; writing the same values again is harmless, so a retried or replayed
delivery needs no bookkeeping.

A 403 MISSING_SCOPES is final: the delivery is a dead letter and the receiver kind is
switched off (`auth_broken`), which /admin/health reports with the scope to grant.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Protocol

from alerts.delivery import DeliveryJob, DeliveryResult, HubSpotItem, Outcome
from alerts.hubspot_tasks import Reservation, TaskRow
from app.sla.states import SlaEventType, SlaState
from integrations.hubspot.errors import (
    HubSpotError,
    HubSpotRateLimited,
    HubSpotServerError,
    HubSpotUnavailable,
)
from integrations.hubspot.writes import BatchOutcome, HubSpotMissingScopes, TaskSpec, hubspot_time

OPENS_TASK = frozenset({SlaEventType.WARNING, SlaEventType.BREACHED})
CLOSES_TASK = frozenset({SlaEventType.MET, SlaEventType.MET_LATE, SlaEventType.CANCELLED})
RUNNING = frozenset({SlaState.RUNNING, SlaState.WARNING, SlaState.BREACHED})
# The values of the slaguard_sla_state enumeration (see app/cli/hubspot.py).
STATE_OPTIONS = ("running", "warning", "breached", "met", "met_late")


class TaskWriter(Protocol):
    def create_task(self, spec: TaskSpec) -> str: ...

    def complete_task(self, task_id: str) -> None: ...

    def find_task(self, object_type: str, object_id: str, marker: str) -> str | None: ...


def task_marker(instance_id: int) -> str:
    """Written into the task's body: how a retry recognises a task an earlier attempt made."""
    return f"[slaguard instance {instance_id}]"


class PropertyWriter(Protocol):
    def batch_update(
        self, object_type: str, updates: Mapping[str, Mapping[str, str | None]]
    ) -> BatchOutcome: ...


class TaskLedger(Protocol):
    def reserve(self, item: HubSpotItem, due_at: datetime, now: datetime) -> Reservation: ...

    def opened(self, instance_id: int, task_id: str, now: datetime) -> None: ...

    def release(self, instance_id: int) -> None: ...

    def find(self, instance_id: int) -> TaskRow | None: ...

    def completed(self, instance_id: int, now: datetime) -> None: ...


def _failed(error: HubSpotError) -> DeliveryResult:
    if isinstance(error, HubSpotMissingScopes):
        return DeliveryResult(Outcome.DEAD, str(error), error.status, auth_broken=True)
    if isinstance(error, HubSpotRateLimited):
        return DeliveryResult(Outcome.RETRY, str(error), 429, retry_after=error.retry_after)
    if isinstance(error, HubSpotServerError | HubSpotUnavailable):
        return DeliveryResult(Outcome.RETRY, str(error), error.status or None)
    return DeliveryResult(Outcome.DEAD, str(error), error.status or None)


def _certainly_not_created(error: HubSpotError) -> bool:
    # A 5xx or no answer may hide a task HubSpot did create: keep the reservation until it
    # expires rather than risk a second task.
    return not isinstance(error, HubSpotServerError | HubSpotUnavailable)


class HubSpotTaskDeliverer:
    def __init__(
        self,
        writer: TaskWriter,
        ledger: TaskLedger,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._writer = writer
        self._ledger = ledger
        self._clock = clock

    def deliver(self, job: DeliveryJob) -> DeliveryResult:
        if job.hubspot is None or len(job.hubspot.items) != 1:
            return DeliveryResult(Outcome.DEAD, "a task job carries exactly one SLA instance")
        item = job.hubspot.items[0]
        try:
            if item.event_type in OPENS_TASK:
                return self._open(item)
            if item.event_type in CLOSES_TASK:
                return self._close(item)
        except HubSpotError as error:
            return _failed(error)
        return DeliveryResult(Outcome.DELIVERED, f"nothing to do in HubSpot on {item.event_type}")

    def _open(self, item: HubSpotItem) -> DeliveryResult:
        if item.state not in RUNNING:
            return DeliveryResult(Outcome.DELIVERED, f"no task: the instance is {item.state}")
        now = self._clock()
        due = (
            now if item.event_type == SlaEventType.BREACHED or item.due_at is None else item.due_at
        )
        taken = self._ledger.reserve(item, due, now)
        if taken is Reservation.EXISTS:
            return DeliveryResult(Outcome.DELIVERED, "the instance already has its task")
        if taken is Reservation.BUSY:
            return DeliveryResult(Outcome.RETRY, "another worker is creating this task")
        marker = task_marker(item.instance_id)
        if taken is Reservation.TAKEN_OVER:
            earlier = self._writer.find_task(item.object_type, item.object_id, marker)
            if earlier is not None:
                self._ledger.opened(item.instance_id, earlier, self._clock())
                return DeliveryResult(Outcome.DELIVERED, f"task {earlier} found, made earlier")
        body = f"{item.body}\n\n{marker}"
        spec = TaskSpec(item.subject, body, item.owner_id, due, item.object_type, item.object_id)
        try:
            task_id = self._writer.create_task(spec)
        except HubSpotError as error:
            if _certainly_not_created(error):
                self._ledger.release(item.instance_id)
            raise
        self._ledger.opened(item.instance_id, task_id, self._clock())
        return DeliveryResult(Outcome.DELIVERED, f"task {task_id} due {hubspot_time(due)}")

    def _close(self, item: HubSpotItem) -> DeliveryResult:
        row = self._ledger.find(item.instance_id)
        if row is None or row.state == "completed":
            return DeliveryResult(Outcome.DELIVERED, "no open task to complete")
        if row.state == "creating" or row.task_id is None:
            return DeliveryResult(Outcome.RETRY, "the task is still being created")
        self._writer.complete_task(row.task_id)
        self._ledger.completed(item.instance_id, self._clock())
        return DeliveryResult(Outcome.DELIVERED, f"task {row.task_id} completed")


def record_properties(item: HubSpotItem) -> dict[str, str | None]:
    """The slaguard_* values for the instance's record; an empty value clears one."""
    finished = item.state in (SlaState.MET, SlaState.MET_LATE)
    minutes = item.first_touch_minutes if finished else None
    return {
        "slaguard_sla_state": item.state if item.state in STATE_OPTIONS else "",
        "slaguard_first_touch_due": hubspot_time(item.due_at) if item.due_at else "",
        "slaguard_first_touch_minutes": "" if minutes is None else str(minutes),
    }


class HubSpotPropertiesDeliverer:
    def __init__(self, writer: PropertyWriter) -> None:
        self._writer = writer

    def deliver(self, job: DeliveryJob) -> DeliveryResult:
        if job.hubspot is None or not job.hubspot.items:
            return DeliveryResult(Outcome.DEAD, "a properties job carries no SLA instance")
        by_type: dict[str, dict[str, dict[str, str | None]]] = {}
        # Items come in delivery order: the latest delivery for a record wins.
        for item in sorted(job.hubspot.items, key=lambda i: i.delivery_id):
            by_type.setdefault(item.object_type, {})[item.object_id] = record_properties(item)
        updated, requests, missing = 0, 0, 0
        try:
            for object_type, updates in by_type.items():
                outcome = self._writer.batch_update(object_type, updates)
                updated += len(outcome.updated)
                requests += outcome.requests
                missing += len(outcome.missing)
        except HubSpotError as error:
            return _failed(error)
        gone = f"; {missing} no longer in HubSpot" if missing else ""
        detail = f"{updated} records updated in {requests} requests{gone}"
        return DeliveryResult(Outcome.DELIVERED, detail)
