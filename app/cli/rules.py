"""`slaguard rules check FILE`: validate a rules file and summarize what it will enforce."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import typer
from rich.table import Table

from alerts.config import AlertsConfig, check_alerts
from alerts.config_schema import WEEKDAYS
from app.cli.common import console, err_console, settings_from_env
from app.errors import ConfigError
from app.evaluation.backtest import BacktestResult
from app.evaluation.backtest_parallel import backtest_store, default_workers
from app.evaluation.backtest_view import rep_rows, rule_rows
from app.sla.durations import parse_goal
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
from app.store.connect import open_store

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


def _print_problems(exc: RulesFileError) -> None:
    for problem in exc.problems:
        err_console.print(f"[bold red]error:[/] {problem}", highlight=False, soft_wrap=True)
    if any(problem.message == NO_RULES for problem in exc.problems):
        err_console.print(
            "(--allow-empty accepts a file without rules)", highlight=False, soft_wrap=True
        )


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
        _print_problems(exc)
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


def _window(text: str) -> datetime:
    try:
        span = parse_goal(text).as_calendar_time()
    except ValueError:
        raise ConfigError(f"--since expects a duration such as 90d or 12h, got {text!r}") from None
    return datetime.now(UTC) - span


def print_backtest(result: BacktestResult) -> None:
    since = result.since.strftime("%Y-%m-%d %H:%M UTC")
    console.print(
        f"Backtest over {result.records} records, cycles and periods since {since}; "
        "both rule sets judged from scratch, nothing written.",
        highlight=False,
    )
    if result.in_force is None:
        console.print("No rules are in force yet: only the candidate's column is filled.")
    table = Table(title="Per rule: in force → candidate")
    for column in ("rule", "kind", "change", "measure", "in force", "candidate", "detail"):
        table.add_column(column)
    for row in rule_rows(result):
        detail = f"{row.in_force_detail} → {row.candidate_detail}"
        table.add_row(
            row.rule_id, row.kind, row.status, row.measure, row.in_force, row.candidate, detail
        )
    console.print(table)
    reps = rep_rows(result)
    if reps:
        by_rep = Table(title="Breached cycles per rep: in force → candidate")
        for column in ("rule", "owner", "in force", "candidate"):
            by_rep.add_column(column)
        for rep in reps:
            by_rep.add_row(rep.rule_id, rep.owner, _count(rep.in_force), _count(rep.candidate))
        console.print(by_rep)


def _count(value: int | None) -> str:
    return "—" if value is None else str(value)


@app.command()
def backtest(
    file: Path = typer.Argument(..., help="The candidate rules file (YAML)."),
    since: str = typer.Option(
        "90d", "--since", help="How far back: cycles and periods started in the last SINCE."
    ),
    workers: int | None = typer.Option(
        None,
        "--workers",
        min=1,
        help="Processes that judge the record batches (default as for `evaluate`).",
    ),
) -> None:
    """What FILE would have said over the stored history, beside the rules in force.

    Nothing is put in force and nothing is written: the store is read in a read-only
    transaction. FILE gets the same checks, with file and line, as `rules check`."""
    window = _window(since)
    try:
        checked, _ = _check_rules_and_alerts(file, allow_empty=False)
    except RulesFileError as exc:
        _print_problems(exc)
        raise typer.Exit(1) from None
    engine = open_store(settings_from_env(), upgrade_sqlite=False)  # a backtest writes nothing
    database_url = engine.url.render_as_string(hide_password=False)
    engine.dispose()
    chosen = workers if workers is not None else default_workers(database_url)
    now = datetime.now(UTC)
    result = backtest_store(database_url, checked.rules, now, window, workers=chosen)
    print_backtest(result)


def register(cli: typer.Typer) -> None:
    cli.add_typer(app, name="rules")
