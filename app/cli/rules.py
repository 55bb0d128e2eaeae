"""`slaguard rules check FILE`: validate a rules file and summarize what it will enforce."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import typer
from rich.table import Table

from alerts.config import AlertsConfig, check_alerts
from alerts.config_schema import WEEKDAYS
from app.cli.common import console, err_console
from app.sla.loader import (
    NO_RULES,
    CheckedRules,
    Problem,
    RulesFileError,
    check_rules_file,
)
from app.sla.schema import (
    CadenceRule,
    QuotaRule,
    RateRule,
    ResponseRule,
    Rule,
    RulesFile,
    StageAgeRule,
)

app = typer.Typer(help="Work with the SLA rules file.", no_args_is_help=True)


def describe(rule: Rule) -> str:
    """One line a manager understands: what the rule promises."""
    basis = "business" if rule.time == "business" else "calendar"
    if isinstance(rule, ResponseRule):
        return f"respond within {rule.goal} ({basis} time)"
    if isinstance(rule, CadenceRule):
        return f"{rule.touches.count} touches within {rule.touches.within} ({basis} time)"
    if isinstance(rule, StageAgeRule):
        stages = "any open stage" if rule.stages == "open" else ", ".join(rule.stages)
        return f"at most {rule.max} in {stages} ({basis} time)"
    if isinstance(rule, QuotaRule):
        return f"at least {rule.target} per {rule.period}"
    if isinstance(rule, RateRule):
        what = rule.metric or "rate"
        bounds = " ".join(
            text
            for text in (
                f">= {rule.minimum:g}" if rule.minimum is not None else "",
                f"<= {rule.maximum:g}" if rule.maximum is not None else "",
            )
            if text
        )
        span = f"rolling {rule.window}" if rule.window else f"per {rule.period}"
        return f"{what} {bounds} ({span}, min sample {rule.min_sample})"
    raise AssertionError(rule)


def summary_table(rules: RulesFile) -> Table:
    table = Table(title=None, show_lines=False)
    for column in ("id", "kind", "object", "promise", "enabled"):
        table.add_column(column)
    for rule in rules.rules:
        table.add_row(
            rule.id, rule.kind, rule.object, describe(rule), "yes" if rule.enabled else "no"
        )
    return table


def _check_rules_and_alerts(
    file: Path, allow_empty: bool
) -> tuple[CheckedRules, AlertsConfig | None]:
    """Both checks in one pass: the alerts section's problems are listed beside the rules'."""
    problems: list[Problem] = []
    checked: CheckedRules | None = None
    routing: AlertsConfig | None = None
    try:
        checked = check_rules_file(file, allow_empty=allow_empty)
    except RulesFileError as exc:
        problems.extend(exc.problems)
    rule_ids = {rule.id for rule in checked.rules.rules} if checked else None
    try:
        routing = check_alerts(file.read_text(encoding="utf-8"), str(file), rule_ids=rule_ids)
    except RulesFileError as exc:
        problems.extend(p for p in exc.problems if p not in problems)
    except (OSError, UnicodeDecodeError):
        pass  # the rules check has already said the file cannot be read
    if problems or checked is None:
        raise RulesFileError(sorted(problems, key=lambda p: p.line or 0))
    return checked, routing


@app.command()
def check(
    file: Path = typer.Argument(..., help="The rules file (YAML)."),
    allow_empty: bool = typer.Option(
        False, "--allow-empty", help="Accept a file without rules (e.g. calendars only, for now)."
    ),
) -> None:
    """Validate FILE; on success print a summary, on failure every problem with its line."""
    try:
        checked, routing = _check_rules_and_alerts(file, allow_empty)
    except RulesFileError as exc:
        for problem in exc.problems:
            err_console.print(f"[bold red]error:[/] {problem}", highlight=False, soft_wrap=True)
        if any(problem.message == NO_RULES for problem in exc.problems):
            err_console.print(
                "(--allow-empty accepts a file without rules)", highlight=False, soft_wrap=True
            )
        raise typer.Exit(1) from None
    for warning in checked.warnings:
        err_console.print(f"[bold yellow]warning:[/] {warning}", highlight=False, soft_wrap=True)
    rules = checked.rules
    kinds = Counter(rule.kind for rule in rules.rules)
    by_kind = ", ".join(f"{kind} {count}" for kind, count in sorted(kinds.items()))
    what = f"{len(rules.rules)} rules ({by_kind})" if rules.rules else "no rules"
    console.print(
        f"{file}: OK — {what}, {len(rules.calendars)} calendars ({', '.join(rules.calendars)})",
        highlight=False,
    )
    if rules.rules:
        console.print(summary_table(rules))
    if routing is not None:
        console.print(
            f"alerts: {len(routing.routes)} routes, {len(routing.webhooks)} webhook endpoints",
            highlight=False,
        )
        for line in scheduled_posts(routing):
            console.print(line, highlight=False)


def scheduled_posts(routing: AlertsConfig) -> list[str]:
    lines = []
    card = routing.scorecard
    if card is not None:
        day = WEEKDAYS[card.weekday].capitalize()
        lines.append(f"scorecard: to #{card.channel} on {day} at {card.at:%H:%M} {card.time_zone}")
    if routing.digest is not None:
        rules = ", ".join(sorted(routing.digest.rule_ids)) or "every rule"
        lines.append(f"morning digest: to each rep at the start of their day ({rules})")
    return lines


def register(cli: typer.Typer) -> None:
    cli.add_typer(app, name="rules")
