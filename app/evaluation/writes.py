"""Writing an evaluation's changes in bulk, and counting what was written."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from alerts.outbox.enqueue import enqueue_events
from app.evaluation import bulk, repository
from app.evaluation.columns import EVENT_COLUMNS
from app.evaluation.reconcile import Changes


@dataclass(slots=True)
class EvaluationReport:
    records: int = 0
    created: int = 0
    updated: int = 0
    events: int = 0

    def add(self, other: EvaluationReport) -> None:
        self.records += other.records
        self.created += other.created
        self.updated += other.updated
        self.events += other.events


def _new_events(changes: Changes) -> tuple[list[int], list[tuple[Any, ...]]]:
    """The events of the new instances, in EVENT_COLUMNS order with no instance id yet, and
    for each the position of its instance in `changes.new`."""
    owners: list[int] = []
    events: list[tuple[Any, ...]] = []
    for position, (row, new_events) in enumerate(changes.new):
        if not new_events:
            continue
        # EVENT_COLUMNS: instance, portal, rule, kind, object type and id, cycle, owner,
        # type, occurred, recorded, details, follow-up
        head = (
            None,
            row["portal_id"],
            row["rule_id"],
            row["kind"],
            row["object_type"],
            row["object_id"],
            row["cycle"],
            row["owner_id"],
        )
        recorded = row["updated_at"]
        for kind, at in new_events:
            owners.append(position)
            events.append((*head, kind, at, recorded, "{}", ""))  # no details: their JSON
    return owners, events


def write_changes(session: Session, changes: Changes) -> EvaluationReport:
    """Bulk insert new instances (then their events), bulk update the rest.

    Every value is converted before the first write: on SQLite a transaction holds the single
    write lock from its first insert to its commit, and in a parallel full pass another
    process is waiting for it."""
    report = EvaluationReport()
    events = bulk.tuples(session, EVENT_COLUMNS, bulk.dict_values(EVENT_COLUMNS, changes.events))
    owners, staged = _new_events(changes)
    staged = bulk.tuples(session, EVENT_COLUMNS, staged)
    if changes.new:
        ids = repository.insert_instances(session, [row for row, _ in changes.new])
        events += [(ids[at], *values[1:]) for at, values in zip(owners, staged, strict=True)]
        report.created = len(ids)
    repository.update_instances(session, changes.updates)
    report.updated = len(changes.updates)
    report.events = repository.insert_converted_events(session, events)
    if report.events:
        # In this transaction: an alert exists exactly when its cause does.
        # EVENT_COLUMNS: instance id, ..., type, occurred at, recorded at, details
        enqueue_events(session, [(row[0], row[8], row[9], row[10]) for row in events])
    return report
