"""Sync of one CRM object type: full list or incremental windows, then the archived list.

Phases, each resumable from its checkpoint:
  list      (full)         GET /crm/v3/objects/{type}, 100 per page, cursor `after`
  search    (incremental)  the window [start, end] read in id order (see windows.py)
  archived  (both)         GET ...?archived=true, cursor `after` (search never shows archives)
Each page is stored in one transaction together with the checkpoint that follows it.
Only records whose (modification time, archived flag) differ from the store count as changed;
only those get their property history read (batch read, 100 per request) and their
associations re-read.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from app.db import SessionFactory, session_scope
from app.sync import repository
from app.sync.apply import apply_associations, apply_records
from app.sync.checkpoints import Checkpoint, load_checkpoint, save_checkpoint
from app.sync.evaluation_hook import notify_changed
from app.sync.mapping import modified_at
from app.sync.objects import ObjectSpec
from app.sync.progress import SyncProgress
from app.sync.windows import (
    epoch_ms,
    from_epoch_ms,
    newest_request,
    window_request,
    window_start,
)
from integrations.hubspot.client import SEARCH_PAGE_SIZE, HubSpotClient
from integrations.hubspot.records import CrmRecord, Page


@dataclass
class SyncContext:
    client: HubSpotClient
    session_factory: SessionFactory
    portal_id: int
    progress: SyncProgress
    clock: Callable[[], datetime]
    counts: dict[str, dict[str, int]] = field(default_factory=dict)


def _count(ctx: SyncContext, object_type: str, **deltas: int) -> None:
    bucket = ctx.counts.setdefault(object_type, {"read": 0, "changed": 0, "history_read": 0})
    for name, delta in deltas.items():
        bucket[name] = bucket.get(name, 0) + delta


class ObjectSync:
    def __init__(self, ctx: SyncContext, spec: ObjectSpec, properties: list[str]) -> None:
        self.ctx = ctx
        self.spec = spec
        self.properties = properties

    # -- planning ----------------------------------------------------------------------

    def run(self, *, full: bool) -> None:
        with session_scope(self.ctx.session_factory) as session:
            checkpoint = load_checkpoint(session, self.ctx.portal_id, self.spec.name)
        state = checkpoint.state
        resuming = bool(state) and (not full or state.get("mode") == "full")
        if not resuming:
            if full or checkpoint.synced_through is None:
                state = self._plan_full()
            else:
                state = self._plan_incremental(checkpoint.synced_through)
        else:
            self.ctx.progress.begin(self.spec.name, state.get("total"))
        checkpoint.state = state
        if state["phase"] == "list":
            self._read_list(checkpoint, archived=False)
        if state["phase"] == "search":
            self._read_window(checkpoint)
        if state["phase"] == "archived":
            self._read_list(checkpoint, archived=True)
        self.ctx.progress.end(self.spec.name)

    def _newest(self, since: datetime | None) -> tuple[int | None, int]:
        page = self.ctx.client.search_page(
            self.spec.name, newest_request(self.spec.modified_property, since)
        )
        newest = modified_at(page.results[0]) if page.results else None
        total = page.total if page.total is not None else len(page.results)
        return (epoch_ms(newest) if newest else None), total

    def _plan_full(self) -> dict[str, Any]:
        end_ms, total = self._newest(None)
        self.ctx.progress.begin(self.spec.name, total)
        return {"mode": "full", "phase": "list", "after": None, "end_ms": end_ms, "total": total}

    def _plan_incremental(self, synced_through: datetime) -> dict[str, Any]:
        start = window_start(synced_through)
        end_ms, total = self._newest(start)
        self.ctx.progress.begin(self.spec.name, total)
        return {
            "mode": "incremental",
            "phase": "search" if end_ms is not None else "archived",
            "start_ms": epoch_ms(start),
            "end_ms": end_ms if end_ms is not None else epoch_ms(synced_through),
            "last_id": None,
            "after": None,
            "total": total,
        }

    # -- reading -----------------------------------------------------------------------

    def _read_list(self, checkpoint: Checkpoint, *, archived: bool) -> None:
        state = checkpoint.state
        while True:
            page = self.ctx.client.list_page(
                self.spec.name, self.properties, after=state.get("after"), archived=archived
            )
            if page.next_after is None:
                if archived:
                    self._finish(checkpoint)
                else:
                    state.update(phase="archived", after=None)
            else:
                state["after"] = page.next_after
            self._store_page(page, checkpoint, archived=archived)
            if page.next_after is None:
                return

    def _read_window(self, checkpoint: Checkpoint) -> None:
        state = checkpoint.state
        while True:
            request = window_request(
                self.spec.modified_property,
                self.properties,
                start_ms=state["start_ms"],
                end_ms=state["end_ms"],
                last_id=state.get("last_id"),
                limit=SEARCH_PAGE_SIZE,
            )
            page = self.ctx.client.search_page(self.spec.name, request)
            done = page.next_after is None or not page.results
            if page.results:
                state["last_id"] = page.results[-1].id
            if done:
                state.update(phase="archived", after=None)
            self._store_page(page, checkpoint, archived=False)
            if done:
                return

    def _finish(self, checkpoint: Checkpoint) -> None:
        end_ms = checkpoint.state.get("end_ms")
        if end_ms is not None:
            checkpoint.synced_through = from_epoch_ms(end_ms)
        elif checkpoint.synced_through is None:
            checkpoint.synced_through = self.ctx.clock()
        checkpoint.state = {}

    # -- storing -----------------------------------------------------------------------

    def _changed(self, records: list[CrmRecord]) -> list[CrmRecord]:
        with session_scope(self.ctx.session_factory) as session:
            stored = repository.stored_versions(
                session, self.spec.store_type, self.ctx.portal_id, [r.id for r in records]
            )
        return [r for r in records if stored.get(r.id) != (modified_at(r), r.archived)]

    def _with_history(self, changed: list[CrmRecord], *, archived: bool) -> list[CrmRecord]:
        if not changed or not self.spec.history_properties:
            return changed
        fresh = self.ctx.client.batch_read(
            self.spec.name,
            [r.id for r in changed],
            properties=self.properties,
            properties_with_history=self.spec.history_properties,
            archived=archived,
        )
        _count(self.ctx, self.spec.name, history_read=len(fresh))
        by_id = {r.id: r for r in changed}
        # A merged-away id answers with its survivor: that record is stored too.
        by_id.update({r.id: r for r in fresh})
        return list(by_id.values())

    def _store_page(self, page: Page[CrmRecord], checkpoint: Checkpoint, *, archived: bool) -> None:
        ctx = self.ctx
        changed = self._with_history(self._changed(page.results), archived=archived)
        live_ids = [r.id for r in changed if not r.archived]
        links = []
        if not archived:
            for to_type, _ in self.spec.associations:
                links.append((to_type, ctx.client.associations(self.spec.name, to_type, live_ids)))
        now = ctx.clock()
        with session_scope(ctx.session_factory) as session:
            apply_records(session, ctx.portal_id, changed, synced_at=now)
            for to_type, sets in links:
                apply_associations(session, ctx.portal_id, self.spec.name, to_type, live_ids, sets)
            save_checkpoint(session, ctx.portal_id, self.spec.name, checkpoint, now)
        _count(ctx, self.spec.name, read=len(page.results), changed=len(changed))
        ctx.progress.advance(self.spec.name, len(page.results))
        notify_changed(
            ctx.session_factory, ctx.portal_id, self.spec.store_type, [r.id for r in changed], now
        )
