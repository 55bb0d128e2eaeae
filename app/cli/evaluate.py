"""`slaguard evaluate` (put the rules file in force, evaluate everything) and `slaguard status`
(rules with their counts, or every SLA instance as JSON lines)."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.cli.common import console, store_from_env
from app.cli.status_view import print_status
from app.errors import ConfigError
from app.evaluation import handoff
from app.evaluation.parallel import evaluate_all_parallel, shareable
from app.evaluation.rules_store import activate_rules
from app.evaluation.service import evaluate_all
from app.models import Contact, Deal, SlaInstance
from app.store.db import create_session_factory, session_scope

INSTANCE_FIELDS = (
    "rule_id",
    "kind",
    "portal_id",
    "object_type",
    "object_id",
    "owner_id",
    "state",
    "paused",
    "cycle",
    "started_at",
    "due_at",
    "stopped_at",
    "breached_at",
)


class OutputFormat(StrEnum):
    table = "table"
    json = "json"


def _record_count(session: Session) -> int:
    contacts = session.scalar(select(func.count()).select_from(Contact)) or 0
    deals = session.scalar(select(func.count()).select_from(Deal)) or 0
    return int(contacts) + int(deals)


# Below this many records, starting worker processes (~1 s) costs more than they save.
PARALLEL_MIN_RECORDS = 20_000


def _default_workers(session: Session, database_url: str) -> int:
    if (os.cpu_count() or 1) < 2 or not shareable(database_url):
        return 1
    return 2 if _record_count(session) > PARALLEL_MIN_RECORDS else 1


def _evaluate_with_progress(
    session: Session, now: datetime, database_url: str, workers: int
) -> Any:
    def run(progress: Any) -> Any:
        if workers > 1:
            session.commit()  # this session's reads end: it holds nothing while workers write
            return evaluate_all_parallel(database_url, now=now, workers=workers, progress=progress)
        return evaluate_all(session, now=now, progress=progress, after_batch=session.commit)

    if not sys.stderr.isatty() and not console.is_terminal:
        return run(None)
    total = _record_count(session)
    columns = (
        TextColumn("evaluating"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("records"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("evaluate", total=total)
        return run(lambda n: progress.advance(task, n))


def register(cli: typer.Typer) -> None:
    @cli.command()
    def evaluate(
        workers: int | None = typer.Option(
            None,
            "--workers",
            min=1,
            help="Processes that evaluate the record batches. Default: 2 when the machine "
            "has 2 or more CPUs and the store holds more than 20,000 records, else 1 "
            "(in this process). Quotas and rates are evaluated once, after the batches.",
        ),
    ) -> None:
        """Put the rules file (SLAGUARD_RULES) in force and evaluate every rule on every record."""
        settings, engine = store_from_env()
        path = settings.slaguard_rules
        if not path.is_file():
            raise ConfigError(
                f"SLAGUARD_RULES points at {path}, which does not exist; "
                "copy sla.example.yaml there and adapt it."
            )
        factory = create_session_factory(engine)
        now = datetime.now(UTC)
        with session_scope(factory) as session:
            rules, changed = activate_rules(session, path, now)
        database_url = engine.url.render_as_string(hide_password=False)
        with session_scope(factory) as session:
            queued = handoff.covered(session)  # the pass covers them: their rows go after it
            chosen = workers if workers is not None else _default_workers(session, database_url)
            report = _evaluate_with_progress(session, now, database_url, chosen)
        with session_scope(factory) as session:
            handoff.clear_covered(session, queued)
        console.print(
            f"{path}: {len(rules.active_rules)} rules in force"
            f"{' (changed)' if changed else ''}; {report.records} records evaluated, "
            f"{report.created} instances created, {report.updated} updated, "
            f"{report.events} events logged",
            highlight=False,
        )
        engine.dispose()

    @cli.command()
    def status(
        output: OutputFormat = typer.Option(
            OutputFormat.table, "--format", help="table: counts per rule; json: every instance."
        ),
    ) -> None:
        """Rules with their running, warning and breached counts, or every SLA instance."""
        _, engine = store_from_env()
        factory = create_session_factory(engine)
        with session_scope(factory) as session:
            if output is OutputFormat.json:
                for line in _instance_lines(session):
                    sys.stdout.write(line + "\n")
            else:
                print_status(session, console)
        engine.dispose()


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _instance_lines(session: Session) -> Iterator[str]:
    columns = [getattr(SlaInstance, name) for name in INSTANCE_FIELDS]
    query = select(*columns).order_by(
        SlaInstance.rule_id, SlaInstance.object_type, SlaInstance.object_id, SlaInstance.cycle
    )
    for row in session.execute(query.execution_options(yield_per=2000)):
        yield json.dumps(
            {name: _iso(value) for name, value in zip(INSTANCE_FIELDS, row, strict=True)}
        )
