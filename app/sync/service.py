"""A whole sync run: portal, owners, pipelines, lifecycle stages, then each CRM object type.

Used by `slaguard sync` and by the scheduled job. Every run leaves a `sync_runs` row saying
what it did (counts, requests, 429s, retries, duration) or why it failed.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from app.config import Settings
from app.db import SessionFactory, session_scope
from app.errors import SlaguardError
from app.sqlite_wal import DedicatedConnection
from app.sync import repository, runs
from app.sync.engine import ObjectSync, SyncContext
from app.sync.mapping import owner_row
from app.sync.objects import CRM_OBJECTS, SYNCABLE, ObjectSpec
from app.sync.progress import LogProgress, SyncProgress
from app.sync.transitions import stage_date_properties
from integrations.hubspot.client import HubSpotClient

log = logging.getLogger(__name__)


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class SyncReport:
    run_id: int
    portal_id: int
    counts: dict[str, dict[str, int]]
    requests: int
    rate_limited: int
    retries: int
    seconds: float
    timings: dict[str, float]


def selected_objects(objects: Sequence[str] | None) -> list[str]:
    """The object types to sync, in dependency order; unknown names are one clear error."""
    if not objects:
        return list(SYNCABLE)
    unknown = [name for name in objects if name not in SYNCABLE]
    if unknown:
        raise SlaguardError(f"Cannot sync {', '.join(unknown)}: choose from {', '.join(SYNCABLE)}.")
    return [name for name in SYNCABLE if name in objects]


class SyncService:
    def __init__(
        self,
        settings: Settings,
        session_factory: SessionFactory,
        client: HubSpotClient,
        *,
        progress: SyncProgress | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.settings = settings
        self.session_factory = session_factory
        self.client = client
        self.progress = progress or LogProgress()
        self.clock = clock
        self._stats_before: dict[str, float] = {}

    def run(self, *, full: bool = False, objects: Sequence[str] | None = None) -> SyncReport:
        names = selected_objects(objects)
        started = time.perf_counter()
        self._stats_before = self.client.stats.snapshot()
        with session_scope(self.session_factory) as session:
            run_id = runs.start_run(session, "full" if full else "incremental", self.clock())
        portal_id: int | None = None
        ctx: SyncContext | None = None
        # pages are large: a checkpoint a second copies the log in fewer, larger steps
        writer = DedicatedConnection(self.session_factory, "sync", checkpoint_interval=1.0)
        try:
            portal_id = self._sync_portal()
            ctx = SyncContext(
                self.client, self.session_factory, portal_id, self.progress, self.clock, writer
            )
            lifecycle_ids, deal_stage_ids = self._sync_metadata(ctx, names)
            if "owners" in names:
                self._sync_owners(ctx)
            for name in names:
                spec = CRM_OBJECTS.get(name)
                if spec is not None:
                    properties = self._properties(spec, lifecycle_ids, deal_stage_ids)
                    ObjectSync(ctx, spec, properties).run(full=full)
        except BaseException as exc:
            with contextlib.suppress(Exception):  # the run's own failure is what matters
                writer.close()
            reason = str(exc) if isinstance(exc, SlaguardError) else type(exc).__name__
            try:
                self._finish(run_id, "failed", portal_id, ctx, error=reason)
            except Exception as record_error:  # e.g. SQLite still locked after a Ctrl-C
                # The run's own failure is what the caller must see; the run row stays
                # 'running' and the health page reports it as unfinished.
                log.warning(
                    "could not record the failed sync run %s: %s",
                    run_id,
                    type(record_error).__name__,
                )
            raise
        writer.close()  # the last of the log is copied before the run counts as done
        self._finish(run_id, "succeeded", portal_id, ctx)
        stats = self._run_stats()
        return SyncReport(
            run_id=run_id,
            portal_id=portal_id,
            counts=ctx.counts,
            requests=int(stats["requests"]),
            rate_limited=int(stats["rate_limited"]),
            retries=int(stats["retries"]),
            seconds=time.perf_counter() - started,
            timings={
                "http": stats["http_seconds"],
                "parse": stats["parse_seconds"],
                "db": ctx.db_seconds,
            },
        )

    def _finish(
        self,
        run_id: int,
        status: str,
        portal_id: int | None,
        ctx: SyncContext | None,
        error: str | None = None,
    ) -> None:
        stats = self._run_stats()
        counts: dict[str, Any] = dict(ctx.counts) if ctx else {}
        with session_scope(self.session_factory) as session:
            runs.finish_run(
                session,
                run_id,
                status=status,
                now=self.clock(),
                portal_id=portal_id,
                counts=counts,
                requests=int(stats["requests"]),
                rate_limited=int(stats["rate_limited"]),
                retries=int(stats["retries"]),
                error=error,
            )

    def _run_stats(self) -> dict[str, float]:
        """This run's share of the client's counters (a scheduled client serves many runs)."""
        now = self.client.stats.snapshot()
        return {name: value - self._stats_before.get(name, 0) for name, value in now.items()}

    def _sync_portal(self) -> int:
        details = self.client.account_details()
        with session_scope(self.session_factory) as session:
            repository.upsert_portal(session, details, self.clock())
        return details.portal_id

    def _sync_metadata(self, ctx: SyncContext, names: list[str]) -> tuple[list[str], list[str]]:
        """Pipelines and lifecycle stages: stored when selected, and always needed to know
        which stage-date properties to read."""
        pipelines = self.client.pipelines("deals")
        definition = self.client.property_definition("contacts", "lifecyclestage")
        with session_scope(self.session_factory) as session:
            if "pipelines" in names:
                repository.replace_pipelines(session, ctx.portal_id, "deals", pipelines)
            if "lifecycle_stages" in names:
                repository.replace_lifecycle_stages(session, ctx.portal_id, definition.options)
        ctx.counts["pipelines"] = {"read": len(pipelines)}
        ctx.counts["lifecycle_stages"] = {"read": len(definition.options)}
        stage_ids = [stage.id for pipeline in pipelines for stage in pipeline.stages]
        return [option.value for option in definition.options], stage_ids

    def _sync_owners(self, ctx: SyncContext) -> None:
        self.progress.begin("owners", None)
        for archived in (False, True):
            after: str | None = None
            while True:
                page = self.client.owners_page(after=after, archived=archived)
                with session_scope(self.session_factory) as session:
                    repository.upsert_owners(
                        session, [owner_row(ctx.portal_id, owner) for owner in page.results]
                    )
                ctx.counts.setdefault("owners", {"read": 0})["read"] += len(page.results)
                self.progress.advance("owners", len(page.results))
                after = page.next_after
                if after is None:
                    break
        self.progress.end("owners")

    def _properties(
        self, spec: ObjectSpec, lifecycle_ids: list[str], deal_stage_ids: list[str]
    ) -> list[str]:
        names = list(spec.base_properties)
        if spec.name == "contacts":
            names += stage_date_properties("contacts", lifecycle_ids)
        elif spec.name == "deals":
            names += stage_date_properties("deals", deal_stage_ids)
        names += self.settings.hubspot_extra_properties
        return list(dict.fromkeys(names))
