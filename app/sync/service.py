"""A whole sync run: portal, owners, pipelines, lifecycle stages, then each CRM object type.

Used by `slaguard sync` and by the scheduled job. Every run leaves a `sync_runs` row saying
what it did (counts, requests, 429s, retries, duration) or why it failed. Runs of one portal
never overlap (app.sync.lock); one that finds the row of a dead run closes it as abandoned.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from app.config import Settings
from app.crm import repository
from app.crm.history import stage_date_properties
from app.crm.mapping import owner_row
from app.crm.objects import CRM_OBJECTS, ObjectSpec
from app.errors import SlaguardError
from app.hubspot_client import HubSpotApi
from app.models.sync import SyncMode, SyncRunStatus
from app.now import Now, utc_now
from app.reported_errors import REPORTED_ERRORS
from app.store.db import SessionFactory, session_scope
from app.store.sqlite_wal import DedicatedConnection
from app.sync import runs
from app.sync.engine import ObjectSync, SyncContext
from app.sync.lock import portal_sync_lock
from app.sync.progress import LogProgress, SyncProgress
from integrations.hubspot.records import AccountDetails

log = logging.getLogger(__name__)

# Everything `slaguard sync --objects` accepts, in the order a sync runs them.
SYNCABLE = ("owners", "pipelines", "lifecycle_stages", *CRM_OBJECTS)


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


def _reason(exc: BaseException) -> str:
    return str(exc) if isinstance(exc, REPORTED_ERRORS) else type(exc).__name__


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
        client: HubSpotApi,
        *,
        progress: SyncProgress | None = None,
        now_fn: Now = utc_now,
    ) -> None:
        self.settings = settings
        self.session_factory = session_factory
        self.client = client
        self.progress = progress or LogProgress()
        self.now_fn = now_fn
        self._stats_before: dict[str, float] = {}

    def run(
        self,
        *,
        full: bool = False,
        objects: Sequence[str] | None = None,
        wait_seconds: float | None = None,
    ) -> SyncReport:
        """One run under the portal's sync lock. Another process's run of the same portal
        raises SyncInProgressError at once, or after up to `wait_seconds` of waiting."""
        names = selected_objects(objects)
        mode = SyncMode.FULL if full else SyncMode.INCREMENTAL
        started = time.perf_counter()
        self._stats_before = self.client.stats.snapshot()
        try:
            # Which portal the token opens, hence which lock; a run that fails here is
            # recorded at once (it never held the lock, so it is never left `running`).
            details = self.client.account_details()
        except BaseException as exc:
            self._record_failed_start(mode, exc)
            raise
        with portal_sync_lock(
            self.settings.database_url, details.portal_id, wait_seconds=wait_seconds
        ):
            with session_scope(self.session_factory) as session:
                now = self.now_fn()
                abandoned = runs.close_abandoned_runs(session, details.portal_id, now)
                run_id = runs.start_run(session, mode, now, details.portal_id)
            if abandoned:
                log.warning(
                    "closed %d sync run(s) of portal %s as abandoned (ids %s): %s",
                    len(abandoned),
                    details.portal_id,
                    ", ".join(map(str, abandoned)),
                    runs.ABANDONED_REASON,
                )
            return self._run_locked(run_id, details, names, full, started)

    def _run_locked(
        self,
        run_id: int,
        details: AccountDetails,
        names: list[str],
        full: bool,
        started: float,
    ) -> SyncReport:
        portal_id = details.portal_id
        ctx: SyncContext | None = None
        # pages are large: a checkpoint a second copies the log in fewer, larger steps
        writer = DedicatedConnection(self.session_factory, "sync", checkpoint_interval=1.0)
        try:
            self._store_portal(details)
            ctx = SyncContext(
                self.client, self.session_factory, portal_id, self.progress, self.now_fn, writer
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
            try:
                self._finish(run_id, SyncRunStatus.FAILED, portal_id, ctx, error=_reason(exc))
            except Exception as record_error:  # e.g. SQLite still locked after a Ctrl-C
                # The run's own failure is what the caller must see; the row stays `running`
                # until the next run of the portal closes it as abandoned.
                log.warning(
                    "could not record the failed sync run %s: %s",
                    run_id,
                    type(record_error).__name__,
                )
            raise
        writer.close()  # the last of the log is copied before the run counts as done
        self._finish(run_id, SyncRunStatus.SUCCEEDED, portal_id, ctx)
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

    def _record_failed_start(self, mode: SyncMode, exc: BaseException) -> None:
        """A run that could not even read the account still says why, for /admin/health."""
        try:
            with session_scope(self.session_factory) as session:
                run_id = runs.start_run(session, mode, self.now_fn())
            self._finish(run_id, SyncRunStatus.FAILED, None, None, error=_reason(exc))
        except Exception as record_error:
            log.warning("could not record the failed sync run: %s", type(record_error).__name__)

    def _finish(
        self,
        run_id: int,
        status: SyncRunStatus,
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
                now=self.now_fn(),
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

    def _store_portal(self, details: AccountDetails) -> None:
        with session_scope(self.session_factory) as session:
            repository.upsert_portal(session, details, self.now_fn())

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
