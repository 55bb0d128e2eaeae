"""`slaguard sync [--full] [--objects ...]`: pull HubSpot into the store once."""

from __future__ import annotations

from dataclasses import dataclass
from types import TracebackType

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)
from rich.text import Text
from sqlalchemy.exc import SQLAlchemyError

from app import hubspot_client
from app.cli.common import console, fail, store_from_env
from app.config import Settings
from app.hubspot_client import HubSpotApi
from app.store.db import SessionFactory, create_session_factory
from app.sync.progress import LogProgress, SyncProgress
from app.sync.service import SYNCABLE, SyncReport, SyncService

# A full sync of a large portal takes a while; waiting longer than that means something is stuck.
DEFAULT_WAIT_SECONDS = 3600.0


class _RateColumn(ProgressColumn):
    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("" if speed is None else f"{speed:,.0f} rec/s", style="cyan")


class RichProgress:
    """One bar per object type, with records/s and the time left."""

    def __init__(self, out: Console) -> None:
        self._progress = Progress(
            TextColumn("{task.description:<16}"),
            BarColumn(),
            MofNCompleteColumn(),
            _RateColumn(),
            TimeRemainingColumn(),
            console=out,
        )
        self._tasks: dict[str, TaskID] = {}

    def __enter__(self) -> RichProgress:
        self._progress.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._progress.stop()

    def begin(self, object_type: str, total: int | None) -> None:
        self._tasks[object_type] = self._progress.add_task(object_type, total=total)

    def advance(self, object_type: str, records: int) -> None:
        task = self._tasks.get(object_type)
        if task is not None:
            self._progress.advance(task, records)

    def end(self, object_type: str) -> None:
        task_id = self._tasks.get(object_type)
        task = next((t for t in self._progress.tasks if t.id == task_id), None)
        if task_id is not None and task is not None:
            # the estimate came from search totals; the bar ends full at what was read
            self._progress.update(
                task_id, total=max(task.completed, 1), completed=task.completed or 1
            )


def _split(objects: list[str] | None) -> list[str] | None:
    if not objects:
        return None
    return [part.strip() for item in objects for part in item.split(",") if part.strip()]


def _summary(report: SyncReport) -> str:
    read = sum(c.get("read", 0) for c in report.counts.values())
    changed = sum(c.get("changed", 0) for c in report.counts.values())
    return (
        f"sync done in {report.seconds:.1f}s: {read} records read, {changed} changed, "
        f"{report.requests} requests, {report.rate_limited} rate-limited, "
        f"{report.retries} retries (portal {report.portal_id})"
    )


def register(cli: typer.Typer) -> None:
    @cli.command()
    def sync(
        full: bool = typer.Option(
            False, "--full", help="Re-read everything instead of what changed since last time."
        ),
        objects: list[str] | None = typer.Option(
            None,
            "--objects",
            help=f"Only these (repeat or comma-separate): {', '.join(SYNCABLE)}.",
        ),
        wait: bool = typer.Option(
            False,
            "--wait",
            help="If another sync of the portal is running, wait for it to end "
            "(instead of stopping at once).",
        ),
        wait_timeout: float = typer.Option(
            DEFAULT_WAIT_SECONDS,
            "--wait-timeout",
            min=0,
            help="With --wait: the longest wait, in seconds.",
        ),
    ) -> None:
        """Pull owners, pipelines, contacts, deals and engagements from HubSpot."""
        settings, engine = store_from_env()
        wait_seconds = wait_timeout if wait else None
        try:
            client = hubspot_client.from_settings(settings)
            factory = create_session_factory(engine)
            run = SyncRequest(settings, factory, client, full, _split(objects), wait_seconds)
            if console.is_terminal:
                with RichProgress(console) as bars:
                    report = run(bars)
            else:
                report = run(LogProgress())
        except SQLAlchemyError as exc:
            fail(
                f"The store refused the sync's writes ({type(exc).__name__}); nothing was lost, "
                "run the sync again once the database is healthy."
            )
        finally:
            engine.dispose()
        console.print(_summary(report), highlight=False)


@dataclass(frozen=True)
class SyncRequest:
    """What the command asked for; called with the progress display."""

    settings: Settings
    factory: SessionFactory
    client: HubSpotApi
    full: bool
    objects: list[str] | None
    wait_seconds: float | None

    def __call__(self, progress: SyncProgress) -> SyncReport:
        service = SyncService(self.settings, self.factory, self.client, progress=progress)
        return service.run(full=self.full, objects=self.objects, wait_seconds=self.wait_seconds)
