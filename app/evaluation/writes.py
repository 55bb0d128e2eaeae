"""Writing an evaluation's changes in bulk, and counting what was written."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from app.evaluation import bulk, repository
from app.evaluation.reconcile import Changes
from app.evaluation.repository import EVENT_COLUMNS


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


def _new_events(changes: Changes, ids: list[int] | range, events: list[tuple[Any, ...]]) -> None:
    """Append the events of the new instances (numbered `ids`) to `events`."""
    for instance_id, (row, new_events) in zip(ids, changes.new, strict=True):
        if not new_events:
            continue
        # EVENT_COLUMNS: instance, portal, rule, kind, object type and id, cycle, owner,
        # type, occurred, recorded, details
        head = (
            instance_id,
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
            events.append((*head, kind, at, recorded, "{}"))  # no details: their JSON


def write_changes(session: Session, changes: Changes) -> EvaluationReport:
    """Bulk insert new instances (then their events), bulk update the rest."""
    report = EvaluationReport()
    events = bulk.dict_values(EVENT_COLUMNS, changes.events)
    if changes.new:
        ids = repository.insert_instances(session, [row for row, _ in changes.new])
        _new_events(changes, ids, events)
        report.created = len(ids)
    repository.update_instances(session, changes.updates)
    report.updated = len(changes.updates)
    report.events = repository.insert_events(session, events)
    return report
