"""Writing an evaluation's changes in bulk, and counting what was written."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from app.evaluation import repository
from app.evaluation.reconcile import Changes, Subject, event_row


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


def write_changes(session: Session, changes: Changes) -> EvaluationReport:
    """Bulk insert new instances (then their events), bulk update the rest."""
    report = EvaluationReport()
    if changes.new:
        ids = repository.insert_instances(session, [row for row, _ in changes.new])
        for row, events in changes.new:
            key = (
                row["portal_id"],
                row["rule_id"],
                row["object_type"],
                row["object_id"],
                row["cycle"],
            )
            instance_id = ids[key]
            subject = Subject(
                row["portal_id"],
                row["rule_id"],
                row["kind"],
                row["object_type"],
                row["object_id"],
                row["rule_fingerprint"],
            )
            for kind, at in events:
                changes.events.append(
                    event_row(
                        subject,
                        instance_id,
                        row["cycle"],
                        row["owner_id"],
                        kind,
                        at,
                        row["updated_at"],
                    )
                )
        report.created = len(ids)
    repository.update_instances(session, changes.updates)
    report.updated = len(changes.updates)
    report.events = repository.insert_events(session, changes.events)
    return report
