"""What-if: a candidate rules file evaluated over the stored history, beside the rules in force,
without putting it in force and without writing anything.

Both rule sets are judged the same way, from scratch: every cycle of every clock rule as if the
rules had been in force all along (the engine's `evaluate_clock_rule` on each record, with no
stored instance to settle or hint it), which is what a full `evaluate` writes into an empty
SLA state. Comparing with the stored instances instead would compare a rule's history under
earlier rules and data with a fresh judgement, and a finished cycle keeps its verdict when a
rule changes (app/evaluation/reconcile.py), so a stricter goal would show no difference at all.

A rule whose fingerprint is the same in both files is evaluated once and shown on both sides.
Everything runs in one read-only transaction (`read_only`): a write would fail, not leak.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from app.evaluation import repository
from app.evaluation.backtest_periods import Counts, PeriodTally, period_tally
from app.evaluation.context import PortalContext, build_context
from app.evaluation.repository import Selector
from app.evaluation.rules_store import rules_in_force
from app.evaluation.service import BATCH_SIZE, cyclic_gc_paused, widen_sqlite_cache
from app.sla.rules import evaluate_clock_rule
from app.sla.schema import RulesFile
from app.sla.states import SlaState

ON_TIME = frozenset({SlaState.MET})
LATE = frozenset({SlaState.MET_LATE, SlaState.BREACHED, SlaState.MISSED})
OBJECT_TYPES = ("contact", "deal")
PERIOD_KINDS = ("quota", "rate")


@contextmanager
def read_only(session: Session) -> Iterator[None]:
    """A transaction in which the database refuses every write, rolled back at the end, and
    whose reads all see one snapshot.

    Whatever the session had open is ended first: PostgreSQL takes READ ONLY and REPEATABLE
    READ only as the first statement of a transaction. On SQLite `query_only` belongs to the
    connection, so it is switched off again before the connection goes back to the pool; and
    the driver begins no transaction for reads, so BEGIN is sent here."""
    session.rollback()
    if session.get_bind().dialect.name != "sqlite":
        session.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"))
        try:
            yield
        finally:
            session.rollback()
        return
    session.execute(text("PRAGMA query_only = ON"))
    driver: Any = session.connection().connection.dbapi_connection
    driver.execute("BEGIN")
    try:
        yield
    finally:
        try:
            driver.rollback()  # the snapshot ends; the connection is still this session's
            session.execute(text("PRAGMA query_only = OFF"))
        finally:
            session.rollback()


@dataclass(slots=True)
class ClockTally:
    """One clock rule's cycles started in the window, as a full evaluation would store them."""

    kind: str
    counts: Counter[str] = field(default_factory=Counter)
    breaches: Counter[str] = field(default_factory=Counter)  # owner id ("" for none) -> cycles
    paused: int = 0

    @property
    def compliance(self) -> float | None:
        """Met on time / (met + late + breached), as app.evaluation.reports counts it."""
        on_time = sum(self.counts[state] for state in ON_TIME)
        total = on_time + sum(self.counts[state] for state in LATE)
        return on_time / total if total else None

    @property
    def breached(self) -> int:
        return sum(self.breaches.values())

    def merge(self, other: ClockTally) -> None:
        self.counts.update(other.counts)
        self.breaches.update(other.breaches)
        self.paused += other.paused


Tallies = dict[str, ClockTally]


def merge_tallies(into: Tallies, other: Tallies) -> None:
    for rule_id, tally in other.items():
        if rule_id in into:
            into[rule_id].merge(tally)
        else:
            into[rule_id] = tally


def only_rules(context: PortalContext, rule_ids: set[str]) -> PortalContext:
    """The context with only the clock rules named (its calendars and fingerprints kept)."""
    clock = {
        object_type: [rule for rule in rules if rule.id in rule_ids]
        for object_type, rules in context.clock_rules.items()
    }
    return replace(context, clock_rules=clock)


def tally_selection(
    session: Session,
    contexts: Iterable[PortalContext],
    object_type: str,
    selector: Selector,
    now: datetime,
    since: datetime | None,
) -> tuple[int, list[Tallies]]:
    """Load the selection's records once and tally each context's clock rules on them."""
    contexts = list(contexts)
    records = repository.load_records(
        session,
        contexts[0].portal_id,
        object_type,
        selector,
        with_properties=any(c.needs_properties(object_type) for c in contexts),
        with_touches=any(c.needs_touches(object_type) for c in contexts),
    )
    results: list[Tallies] = []
    for context in contexts:
        tallies: Tallies = {}
        directory, book = context.directory, context.book
        for rule in context.clock_rules.get(object_type, []):
            tally = tallies[rule.id] = ClockTally(rule.kind)
            for record in records:
                for outcome in evaluate_clock_rule(rule, record, directory, book, now):
                    if since is not None and outcome.started_at < since:
                        continue
                    tally.counts[outcome.state] += 1
                    tally.paused += outcome.paused
                    if outcome.breached_at is not None:
                        tally.breaches[outcome.owner_id or ""] += 1
        results.append(tallies)
    return len(records), results


@dataclass(slots=True)
class Plan:
    """Which clock rules each side evaluates: a rule unchanged between the files once."""

    candidate: RulesFile
    in_force: RulesFile | None
    shared: set[str]  # rule ids whose fingerprint is the same in both

    def contexts(self, session: Session, portal_id: int) -> tuple[PortalContext, ...]:
        """(candidate context, in-force context restricted to the rules that differ)."""
        candidate = build_context(session, portal_id, self.candidate)
        if self.in_force is None:
            return (candidate,)
        current = build_context(session, portal_id, self.in_force)
        return candidate, only_rules(current, current.rule_ids - self.shared)


def plan(session: Session, candidate: RulesFile) -> Plan:
    in_force = rules_in_force(session)
    shared: set[str] = set()
    pids = repository.portal_ids(session)
    if in_force is not None and pids:
        mine = build_context(session, pids[0], candidate).fingerprints
        theirs = build_context(session, pids[0], in_force).fingerprints
        shared = {rule_id for rule_id, value in mine.items() if theirs.get(rule_id) == value}
    return Plan(candidate, in_force, shared)


def clock_tallies(
    session: Session,
    the_plan: Plan,
    now: datetime,
    since: datetime | None,
    batch_size: int = BATCH_SIZE,
) -> tuple[int, Tallies, Tallies]:
    """Records read, and the candidate's and the in-force rules' tallies (in this process)."""
    candidate: Tallies = {}
    current: Tallies = {}
    records = 0
    widen_sqlite_cache(session)
    with cyclic_gc_paused():
        for pid in repository.portal_ids(session):
            contexts = the_plan.contexts(session, pid)
            for object_type in OBJECT_TYPES:
                after: str | None = None
                while (
                    selection := repository.next_id_range(
                        session, pid, object_type, after, batch_size
                    )
                ) is not None:
                    count, found = tally_selection(
                        session, contexts, object_type, selection, now, since
                    )
                    records += count
                    merge_tallies(candidate, found[0])
                    if len(found) > 1:
                        merge_tallies(current, found[1])
                    after = selection.last
    return records, candidate, current


Outcome = ClockTally | PeriodTally


@dataclass(slots=True)
class BacktestResult:
    """Per rule id, what each rule set would have produced in [since, now]."""

    now: datetime
    since: datetime
    records: int
    candidate: dict[str, Outcome]
    in_force: dict[str, Outcome] | None  # None: no rules in force yet
    unchanged: set[str]  # rule ids the same in both files (evaluated once)

    @property
    def rule_ids(self) -> list[str]:
        """The candidate's rules in its order, then the rules it would drop."""
        dropped = [rule_id for rule_id in self.in_force or {} if rule_id not in self.candidate]
        return [*self.candidate, *dropped]


def _empty(rules: RulesFile) -> dict[str, Outcome]:
    """Every active rule, with nothing counted yet (a rule no record reaches shows zeros)."""
    return {
        rule.id: PeriodTally(rule.kind) if rule.kind in PERIOD_KINDS else ClockTally(rule.kind)
        for rule in rules.active_rules
    }


def _add_clock(into: dict[str, Outcome], tallies: Tallies) -> None:
    for rule_id, tally in tallies.items():
        found = into[rule_id]
        assert isinstance(found, ClockTally)
        found.merge(tally)


PeriodTallies = dict[tuple[int, str], tuple[PeriodTally | None, PeriodTally | None]]


def period_rule_ids(the_plan: Plan) -> list[str]:
    """The quota and rate rules of either file, each once."""
    files = [the_plan.candidate, *([the_plan.in_force] if the_plan.in_force else [])]
    found = [r.id for rules in files for r in rules.active_rules if r.kind in PERIOD_KINDS]
    return list(dict.fromkeys(found))


def period_task(
    session: Session,
    contexts: tuple[PortalContext, ...],
    rule_id: str,
    now: datetime,
    since: datetime,
    counts: Counts,
) -> tuple[PeriodTally | None, PeriodTally | None]:
    """One quota or rate rule of one portal, judged per period on each side (None: the side
    has no such rule), sharing what both sides count the same way."""
    sides: list[PeriodTally | None] = [None, None]
    for n, context in enumerate(contexts):
        rule = next((r for r in context.period_rules if r.id == rule_id), None)
        if rule is not None:
            sides[n] = period_tally(session, context, rule, now, since, counts)
    return sides[0], sides[1]


def period_tallies(
    session: Session, the_plan: Plan, now: datetime, since: datetime
) -> PeriodTallies:
    """Every quota and rate rule of every portal, in this process."""
    counts: Counts = {}
    found: PeriodTallies = {}
    for pid in repository.portal_ids(session):
        contexts = the_plan.contexts(session, pid)
        for rule_id in period_rule_ids(the_plan):
            found[(pid, rule_id)] = period_task(session, contexts, rule_id, now, since, counts)
    return found


def _add_periods(into: dict[str, Outcome] | None, rule_id: str, tally: PeriodTally | None) -> None:
    if into is None or tally is None:
        return
    found = into[rule_id]
    assert isinstance(found, PeriodTally)
    found.periods.extend(tally.periods)


def assemble(
    the_plan: Plan,
    now: datetime,
    since: datetime,
    clock: tuple[int, Tallies, Tallies],
    periods: PeriodTallies,
) -> BacktestResult:
    """The clock tallies and the period rules' results (from this process or the workers)."""
    records, candidate_clock, current_clock = clock
    candidate = _empty(the_plan.candidate)
    current = _empty(the_plan.in_force) if the_plan.in_force is not None else None
    _add_clock(candidate, candidate_clock)
    for (_, rule_id), (mine, theirs) in sorted(periods.items()):
        _add_periods(candidate, rule_id, mine)
        _add_periods(current, rule_id, theirs)
    if current is not None:
        _add_clock(current, current_clock)
        for rule_id in the_plan.shared & set(current):
            if isinstance(current[rule_id], ClockTally):
                current[rule_id] = candidate[rule_id]
    return BacktestResult(now, since, records, candidate, current, the_plan.shared)


def backtest(
    session: Session, candidate: RulesFile, now: datetime, since: datetime
) -> BacktestResult:
    """The comparison, in this process, in one read-only transaction of `session`."""
    with read_only(session):
        the_plan = plan(session, candidate)
        clock = clock_tallies(session, the_plan, now, since)
        periods = period_tallies(session, the_plan, now, since)
        return assemble(the_plan, now, since, clock, periods)
