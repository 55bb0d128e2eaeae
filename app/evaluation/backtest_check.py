"""A candidate rules file given as text (pasted or uploaded on the dashboard) checked as
`slaguard rules check` checks a file: every problem of the rules and of their alerts section,
with the line, in file order."""

from __future__ import annotations

from alerts.config import check_alerts
from app.sla.loader import CheckedRules, Problem, RulesFileError, check_rules


def check_candidate(text: str, name: str) -> CheckedRules:
    problems: list[Problem] = []
    checked: CheckedRules | None = None
    try:
        checked = check_rules(text, name)
    except RulesFileError as exc:
        problems.extend(exc.problems)
    rule_ids = {rule.id for rule in checked.rules.rules} if checked else None
    try:
        check_alerts(text, name, rule_ids=rule_ids)
    except RulesFileError as exc:
        problems.extend(p for p in exc.problems if p not in problems)
    if problems or checked is None:
        raise RulesFileError(sorted(problems, key=lambda p: p.line or 0))
    return checked
