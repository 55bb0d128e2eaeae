"""The due-clock job: move clocks whose warning or deadline has come, and re-judge quota and
rate periods whose pacing line, period end or data asked for it.

A clock's next due time is known when it is evaluated, so a breach needs no data: the stored
instance says when. Run `process_due` every second; it reads one indexed range.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from app.evaluation import conflicts, exclusion, periodic, repository
from app.evaluation.context import cached_context
from app.evaluation.reconcile import Changes, Subject, event_row
from app.evaluation.rules_store import rules_in_force
from app.evaluation.writes import write_changes
from app.sla.schema import QuotaRule, RateRule
from app.sla.states import SlaEventType, SlaState

CLOCK_KINDS = frozenset({"response", "cadence", "stage_age"})


def _advance_clock(row: Any, now: datetime, changes: Changes) -> None:
    subject = Subject(
        row.portal_id, row.rule_id, row.kind, row.object_type, row.object_id, row.rule_fingerprint
    )
    update: dict[str, Any] = {"id": row.id, "updated_at": now, "next_due_at": None}
    if row.state not in (SlaState.RUNNING, SlaState.WARNING) or row.paused:
        changes.updates.append(update)  # nothing left to time
        return
    state = row.state
    if row.warning_at is not None and row.warning_at <= now and state == SlaState.RUNNING:
        state = SlaState.WARNING
        changes.events.append(
            event_row(
                subject, row.id, row.cycle, row.owner_id, SlaEventType.WARNING, row.warning_at, now
            )
        )
    if row.due_at is not None and row.due_at <= now:
        state = SlaState.BREACHED
        update["breached_at"] = row.due_at
        changes.events.append(
            event_row(
                subject, row.id, row.cycle, row.owner_id, SlaEventType.BREACHED, row.due_at, now
            )
        )
    elif row.due_at is not None:
        update["next_due_at"] = row.due_at
    update["state"] = state
    changes.updates.append(update)


def process_due(session: Session, now: datetime, *, limit: int = 5000) -> int:
    """Advance every instance due at `now`; returns how many were processed.

    Read before the write lock (most ticks find nothing due and take no lock); a hand-off
    that committed between that read and the lock may have moved the same instances, so
    they are read again under it (app/evaluation/exclusion.py). On PostgreSQL a full pass
    writes under the same shared lock: a tick that lost a race with it is redone
    (app/evaluation/conflicts.py)."""
    return conflicts.redo_on_conflict(
        session, lambda: _process_due_once(session, now, limit), "the due-clock tick"
    )


def _process_due_once(session: Session, now: datetime, limit: int) -> int:
    seen = exclusion.handoffs_seen(session)
    rows = repository.due_instances(session, now, limit)
    if not rows:
        return 0
    if exclusion.lock_for_batch(session) != seen:
        rows = repository.due_instances(session, now, limit)
    changes = Changes()
    period_rules: set[tuple[int, str]] = set()
    for row in rows:
        if row.kind in CLOCK_KINDS:
            _advance_clock(row, now, changes)
        else:
            period_rules.add((row.portal_id, row.rule_id))
    write_changes(session, changes)
    if period_rules:
        rules = rules_in_force(session)
        for portal_id, rule_id in sorted(period_rules):
            rule = None
            if rules is not None and rule_id in {r.id for r in rules.active_rules}:
                rule = rules.rule(rule_id)
            if isinstance(rule, QuotaRule | RateRule) and rules is not None:
                context = cached_context(session, portal_id, rules, now)
                write_changes(session, periodic.evaluate_period_rule(session, context, rule, now))
            else:
                repository.clear_next_due(session, portal_id, rule_id)
    return len(rows)
