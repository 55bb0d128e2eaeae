"""A backtest as rows a person reads, the same in the terminal and on the dashboard page."""

from __future__ import annotations

from dataclasses import dataclass

from app.evaluation.backtest import BacktestResult, ClockTally, Outcome
from app.evaluation.backtest_periods import PeriodTally

MISSING = "—"


def percent(share: float | None) -> str:
    return f"{share:.0%}" if share is not None else MISSING


@dataclass(frozen=True, slots=True)
class RuleRow:
    rule_id: str
    kind: str
    status: str  # unchanged / changed / new / dropped
    measure: str  # what the two figures are
    in_force: str
    candidate: str
    in_force_detail: str
    candidate_detail: str


@dataclass(frozen=True, slots=True)
class RepRow:
    rule_id: str
    owner: str
    in_force: int | None
    candidate: int | None


def _figures(outcome: Outcome | None, absent: str) -> tuple[str, str, str]:
    """(measure, headline figure, detail) of one side of one rule."""
    if outcome is None:
        return "", MISSING, absent
    if isinstance(outcome, ClockTally):
        verdicts = sum(outcome.counts.values())
        return (
            "on time",
            percent(outcome.compliance),
            f"{outcome.breached} breached of {verdicts} cycles",
        )
    assert isinstance(outcome, PeriodTally)
    judged = len(outcome.judged)
    measure = "attainment" if outcome.kind == "quota" else "periods in bounds"
    return measure, percent(outcome.attainment), f"{outcome.met} of {judged} periods met"


def _status(result: BacktestResult, rule_id: str) -> str:
    if result.in_force is None or rule_id not in result.in_force:
        return "new"
    if rule_id not in result.candidate:
        return "dropped"
    return "unchanged" if rule_id in result.unchanged else "changed"


def rule_rows(result: BacktestResult) -> list[RuleRow]:
    rows = []
    for rule_id in result.rule_ids:
        current = (result.in_force or {}).get(rule_id)
        proposed = result.candidate.get(rule_id)
        measure, before, before_detail = _figures(current, "not in force")
        measure_now, after, after_detail = _figures(proposed, "not in the candidate")
        either = proposed or current
        kind = either.kind if either is not None else ""
        rows.append(
            RuleRow(
                rule_id,
                kind,
                _status(result, rule_id),
                measure_now or measure,
                before,
                after,
                before_detail,
                after_detail,
            )
        )
    return rows


def rep_rows(result: BacktestResult) -> list[RepRow]:
    """Breached cycles per owner and clock rule, on either side; owners without any left out."""
    rows = []
    for rule_id in result.rule_ids:
        current = (result.in_force or {}).get(rule_id)
        proposed = result.candidate.get(rule_id)
        sides = [s for s in (current, proposed) if isinstance(s, ClockTally)]
        if not sides:
            continue
        owners = sorted({owner for side in sides for owner in side.breaches})
        for owner in owners:
            rows.append(
                RepRow(
                    rule_id,
                    owner or "(no owner)",
                    current.breaches[owner] if isinstance(current, ClockTally) else None,
                    proposed.breaches[owner] if isinstance(proposed, ClockTally) else None,
                )
            )
    return rows
