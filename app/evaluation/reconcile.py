"""Turning freshly computed outcomes and stored instances into the writes that make the
store agree: new instances, changed instances, events not logged yet. Pure; no I/O.

Finished instances (met, met_late, cancelled, and periods that ended met or missed) are never
rewritten: they keep the goal and fingerprint they ran under when a rule changes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from app.evaluation.columns import COMPARED
from app.sla.clocks import CycleOutcome
from app.sla.states import FINISHED_CLOCK_STATES, SlaEventType, SlaState

FINISHED_STATES = FINISHED_CLOCK_STATES | {SlaState.MISSED, SlaState.MET}


@dataclass(slots=True)
class Subject:
    """Whose instances these are (treated as immutable; not declared frozen, which makes
    building one, once per record and rule, four times dearer)."""

    portal_id: int
    rule_id: str
    kind: str
    object_type: str
    object_id: str
    fingerprint: str


@dataclass(slots=True)
class Changes:
    new: list[tuple[dict[str, Any], list[tuple[SlaEventType, datetime]]]] = field(
        default_factory=list
    )
    updates: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.new or self.updates or self.events)


def outcome_row(outcome: CycleOutcome, subject: Subject) -> dict[str, Any]:
    return {
        "state": outcome.state,
        "paused": outcome.paused,
        "owner_id": outcome.owner_id,
        "started_at": outcome.started_at,
        "warning_at": outcome.warning_at,
        "due_at": outcome.due_at,
        "stopped_at": outcome.stopped_at,
        "breached_at": outcome.breached_at,
        "next_due_at": outcome.next_due_at,
        "goal": outcome.goal,
        "rule_fingerprint": subject.fingerprint,
        "metrics": dict(outcome.details),
    }


def new_row(outcome: CycleOutcome, subject: Subject, now: datetime) -> dict[str, Any]:
    """A new instance: `outcome_row` with its key and time."""
    row = outcome_row(outcome, subject)
    row["portal_id"] = subject.portal_id
    row["rule_id"] = subject.rule_id
    row["kind"] = subject.kind
    row["object_type"] = subject.object_type
    row["object_id"] = subject.object_id
    row["cycle"] = outcome.cycle
    row["updated_at"] = now
    return row


def new_events(outcome: CycleOutcome) -> list[tuple[SlaEventType, datetime]]:
    """The events a new instance is written with."""
    if outcome.state in FINISHED_CLOCK_STATES:
        # First seen already over (history, or a late sync): its outcome is the news;
        # warnings about a clock nobody could still act on are not.
        return list(outcome.events[-1:])
    return list(outcome.events)


def event_row(
    subject: Subject,
    instance_id: int,
    cycle: int,
    owner_id: str | None,
    kind: str,
    at: datetime,
    now: datetime,
    details: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "instance_id": instance_id,
        "portal_id": subject.portal_id,
        "rule_id": subject.rule_id,
        "kind": subject.kind,
        "object_type": subject.object_type,
        "object_id": subject.object_id,
        "cycle": cycle,
        "owner_id": owner_id,
        "type": kind,
        "occurred_at": at,
        "recorded_at": now,
        "details": dict(details or {}),
        "follow_up": "",
    }


def reconcile(
    subject: Subject,
    outcomes: Iterable[CycleOutcome],
    stored: Mapping[int, Any],
    now: datetime,
    changes: Changes,
) -> None:
    """Add to `changes` what makes the stored cycles of `subject` match `outcomes`."""
    seen: set[int] = set()
    for outcome in outcomes:
        seen.add(outcome.cycle)
        previous = stored.get(outcome.cycle)
        if previous is not None and previous.state in FINISHED_STATES:
            continue
        if previous is None:
            changes.new.append((new_row(outcome, subject, now), new_events(outcome)))
            continue
        row = outcome_row(outcome, subject)
        if all(getattr(previous, name) == row[name] for name in COMPARED):
            continue
        changes.updates.append({"id": previous.id, "updated_at": now, **row})
        if previous.state != outcome.state or previous.breached_at != outcome.breached_at:
            for kind, at in outcome.events:
                changes.events.append(
                    event_row(subject, previous.id, outcome.cycle, outcome.owner_id, kind, at, now)
                )
    for cycle, previous in stored.items():
        if cycle not in seen and previous.state not in FINISHED_STATES:
            cancel(subject, previous, now, changes, reason="out_of_scope")


def cancel(subject: Subject, previous: Any, now: datetime, changes: Changes, reason: str) -> None:
    """End a running instance whose record left the rule (scope, archive, merge, rule gone)."""
    changes.updates.append(
        {
            "id": previous.id,
            "state": SlaState.CANCELLED,
            "paused": False,
            "stopped_at": now,
            "next_due_at": None,
            "updated_at": now,
        }
    )
    changes.events.append(
        event_row(
            subject,
            previous.id,
            previous.cycle,
            previous.owner_id,
            SlaEventType.CANCELLED,
            now,
            now,
            {"reason": reason},
        )
    )
