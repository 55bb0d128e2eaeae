"""Sync of one CRM object type: full list or incremental windows, then the archived list.

Phases, each resumable from its checkpoint:
  list      (full)         GET /crm/v3/objects/{type}, 100 per page, cursor `after`
  search    (incremental)  the window [start, end] read in id order (see windows.py)
  deletes   (incremental)  one search for HubSpot's count of live records created up to the
                           window's end, compared with the store's count of the same set: equal
                           means nothing the store holds as live was archived, deleted or merged
                           away, and the archived list is skipped
  archived  (both)         GET ...?archived=true, cursor `after` (search never shows archives)
  links     (incremental,  every live record's links re-read through associations v4, 1,000
             once a day)   records a request: an association added or removed changes neither
                           record's modification time, so no window ever shows it
Each page is stored in one transaction together with the checkpoint that follows it.
Only records whose (modification time, archived flag) differ from the store count as changed;
only those get their property history read (batch read, 100 per request) and their
associations re-read: list pages bring them inline (`associations=`), search pages need an
associations v4 read. Pages are fetched ahead on a background thread (pipeline.py), then
prepared and committed strictly in order.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from app.crm.apply import apply_associations, apply_records
from app.crm.mapping import history_fingerprint, modified_at
from app.crm.objects import ObjectSpec, association_from_type
from app.evaluation import handoff
from app.hubspot_client import HubSpotApi
from app.models.sync import SyncMode
from app.now import Now
from app.store.db import SessionFactory, session_scope
from app.store.sqlite_wal import DedicatedConnection
from app.sync import repository
from app.sync.checkpoints import (
    Checkpoint,
    SyncPhase,
    SyncState,
    load_checkpoint,
    save_checkpoint,
)
from app.sync.pipeline import prefetch
from app.sync.progress import SyncProgress
from app.sync.windows import (
    epoch_ms,
    from_epoch_ms,
    newest_request,
    window_request,
    window_start,
)
from integrations.hubspot.client import SEARCH_PAGE_SIZE
from integrations.hubspot.records import AssociationSet, CrmRecord, RawPage

# Pages fetched ahead of the one being prepared and committed.
PREFETCH_DEPTH = 3
# An incremental run reads the archived lists at least this often, whatever the counts say.
ARCHIVED_LIST_MAX_AGE = timedelta(hours=24)
# An incremental run re-reads every live record's links at least this often (webhooks bring
# association changes within seconds; this pass is for portals without them, or missed ones).
LINKS_MAX_AGE = timedelta(hours=24)
LINKS_BATCH = 1000  # records per associations v4 request (HubSpot's limit)
# Pages after which PostgreSQL's statistics are refreshed (log-spaced: tables grow during a run).
STATISTICS_AFTER_PAGES = frozenset(4**n for n in range(1, 12))


@dataclass
class SyncContext:
    client: HubSpotApi
    session_factory: SessionFactory
    portal_id: int
    progress: SyncProgress
    now_fn: Now
    # the connection every page is committed on (see app/store/sqlite_wal.py); closed by the run
    writer: DedicatedConnection
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    # seconds spent in the store (change-detection reads, and page transactions: rows built,
    # written, committed), for bench/
    db_seconds: float = 0.0

    def add_db_time(self, seconds: float) -> None:
        self.db_seconds += seconds  # pages are prepared and committed on one thread


@dataclass
class _Fetched:
    """A page (records not built yet) and the checkpoint that holds once it is stored."""

    page: RawPage
    checkpoint: Checkpoint
    archived: bool


@dataclass
class _Prepared:
    fetched: _Fetched
    changed: list[CrmRecord]
    live_ids: list[str]
    links: list[tuple[str, list[AssociationSet]]]
    history_read: int


def _groups(portal_id: int, ids: dict[str, set[str]]) -> dict[tuple[int, str], list[str]]:
    return {(portal_id, store_type): sorted(found) for store_type, found in ids.items() if found}


def _count(ctx: SyncContext, object_type: str, **deltas: int) -> None:
    bucket = ctx.counts.setdefault(object_type, {"read": 0, "changed": 0, "history_read": 0})
    for name, delta in deltas.items():
        bucket[name] = bucket.get(name, 0) + delta


class ObjectSync:
    def __init__(self, ctx: SyncContext, spec: ObjectSpec, properties: list[str]) -> None:
        self.ctx = ctx
        self.spec = spec
        self.properties = properties
        self._committed_pages = 0

    # -- planning ----------------------------------------------------------------------

    def run(self, *, full: bool) -> None:
        with session_scope(self.ctx.session_factory) as session:
            checkpoint = load_checkpoint(session, self.ctx.portal_id, self.spec.name)
        state = checkpoint.state
        resuming = state.phase is not None and (not full or state.mode is SyncMode.FULL)
        if not resuming:
            if full or checkpoint.synced_through is None:
                plan = self._plan_full(state.kept())
            else:
                plan = self._plan_incremental(state.kept(), checkpoint.synced_through)
            checkpoint = dataclasses.replace(checkpoint, state=plan)
            with session_scope(self.ctx.session_factory) as session:
                # the plan itself is a resume point (a window with no changes has no pages)
                save_checkpoint(
                    session, self.ctx.portal_id, self.spec.name, checkpoint, self.ctx.now_fn()
                )
        else:
            self.ctx.progress.begin(self.spec.name, state.total)
        self._run_pipeline(self._pages(checkpoint))
        after_check = self._check_deletes()
        if after_check is not None:
            self._run_pipeline(self._pages(after_check))
        self._reread_links()
        self.ctx.progress.end(self.spec.name)

    def _check_deletes(self) -> Checkpoint | None:
        """Phase `deletes`: the archived list is read only when HubSpot's count of live records
        created up to the window's end differs from the store's.

        Every live record created by then was either in the store before this run or modified
        inside the window just read, so the store holds all of them: equal counts mean it holds
        no record HubSpot has since archived, deleted or merged away. Unequal counts, in either
        direction, fall back to the whole archived list. A delete the search index has not
        caught up with yet shows in the next run's count. As a backstop against a coincidence
        (a delete and a record the store lacks cancelling out), the archived list is read
        anyway when the last read is older than `ARCHIVED_LIST_MAX_AGE`. Returns the
        checkpoint to continue from when the archived list is to be read."""
        ctx, spec = self.ctx, self.spec
        with session_scope(ctx.session_factory) as session:
            checkpoint = load_checkpoint(session, ctx.portal_id, spec.name)
        state = checkpoint.state
        if state.phase is not SyncPhase.DELETES:
            return None
        assert state.end_ms is not None  # every incremental plan has a window end
        hubspot_live = state.live_total  # None: HubSpot gave no total
        with session_scope(ctx.session_factory) as session:
            stored = repository.live_count(
                session, spec.store_type, ctx.portal_id, from_epoch_ms(state.end_ms)
            )
            last_read = state.archived_read_ms
            fresh = (
                last_read is not None
                and ctx.now_fn() - from_epoch_ms(last_read) < ARCHIVED_LIST_MAX_AGE
            )
            unchanged = fresh and hubspot_live is not None and hubspot_live == stored
            _count(ctx, spec.name, archived_list_read=0 if unchanged else 1)
            if unchanged:
                checkpoint = self._finish(checkpoint)
            else:
                archived = dataclasses.replace(state, phase=SyncPhase.ARCHIVED, after=None)
                checkpoint = dataclasses.replace(checkpoint, state=archived)
            save_checkpoint(session, ctx.portal_id, spec.name, checkpoint, ctx.now_fn())
        return None if unchanged else checkpoint

    def _newest(self) -> tuple[int | None, int | None]:
        """The newest modification of any live record, and how many live records there are."""
        page = self.ctx.client.search_page(
            self.spec.name, newest_request(self.spec.modified_property)
        )
        newest = modified_at(page.results[0]) if page.results else None
        return (epoch_ms(newest) if newest else None), page.total

    def _plan_full(self, kept: SyncState) -> SyncState:
        end_ms, total = self._newest()
        self.ctx.progress.begin(self.spec.name, total)
        with session_scope(self.ctx.session_factory) as session:
            first = not repository.holds_any(session, self.spec.store_type, self.ctx.portal_id)
        return dataclasses.replace(
            kept,
            mode=SyncMode.FULL,
            phase=SyncPhase.LIST,
            end_ms=end_ms,
            total=total,
            # every live record's links come with its list page: once this run completes,
            # the links are as fresh as its start
            links_from_ms=epoch_ms(self.ctx.now_fn()) if self.spec.associations else None,
            # A first sync: every record listed is new (no change detection against the store).
            first=first,
            # A first sync needs every record's history: list pages bring it along (50 a page,
            # as many requests as list + batch read, each record read and parsed once). Later
            # full syncs read history only for the records that changed.
            history_inline=first and bool(self.spec.history_properties),
        )

    def _plan_incremental(self, kept: SyncState, synced_through: datetime) -> SyncState:
        """The window [last sync - overlap, newest modification now].

        One probe (the newest live record, and the live total) serves both the window and the
        delete check: no live record was created after the newest modification, so the total
        is HubSpot's count of live records created up to the window's end (see
        `_check_deletes`)."""
        start_ms = epoch_ms(window_start(synced_through))
        newest_ms, live_total = self._newest()
        changed = newest_ms is not None and newest_ms >= start_ms
        self.ctx.progress.begin(self.spec.name, None)
        return dataclasses.replace(
            kept,
            mode=SyncMode.INCREMENTAL,
            phase=SyncPhase.SEARCH if changed else SyncPhase.DELETES,
            start_ms=start_ms,
            end_ms=newest_ms if changed else epoch_ms(synced_through),
            live_total=live_total,
        )

    # -- reading (one page after the other, in a background thread) -------------------

    def _pages(self, start: Checkpoint) -> Iterator[_Fetched]:
        checkpoint = start
        client = self.ctx.client
        # a first full sync asks the list pages (live and archived) for the tracked history
        history = self.spec.history_properties if start.state.history_inline else ()

        def moved(**changes: Any) -> Checkpoint:
            state = dataclasses.replace(checkpoint.state, **changes)
            return dataclasses.replace(checkpoint, state=state)

        # Pages are read raw: the next request goes out as soon as the cursor is known, and
        # the records are built when the page is prepared (`_prepare`, on the caller's thread).
        def listed(archived: bool) -> RawPage:
            # live pages bring their records' links inline; archived records keep none
            inline = () if archived else tuple(to for to, _ in self.spec.associations)
            return client.list_page_raw(
                self.spec.name,
                self.properties,
                after=checkpoint.state.after,
                archived=archived,
                associations=inline,
                properties_with_history=history,
            )

        while checkpoint.state.phase is SyncPhase.LIST:
            page = listed(archived=False)
            if page.next_after is None:
                checkpoint = moved(phase=SyncPhase.ARCHIVED, after=None)
            else:
                checkpoint = moved(after=page.next_after)
            yield _Fetched(page, checkpoint, archived=False)
        while checkpoint.state.phase is SyncPhase.SEARCH:
            state = checkpoint.state
            assert state.start_ms is not None and state.end_ms is not None
            request = window_request(
                self.spec.modified_property,
                self.properties,
                start_ms=state.start_ms,
                end_ms=state.end_ms,
                last_id=state.last_id,
                limit=SEARCH_PAGE_SIZE,
            )
            page = client.search_page_raw(self.spec.name, request)
            if page.last_id is not None:
                checkpoint = moved(last_id=page.last_id)
            if page.next_after is None or not page.size:
                checkpoint = moved(phase=SyncPhase.DELETES, after=None)
            yield _Fetched(page, checkpoint, archived=False)
        while checkpoint.state.phase is SyncPhase.ARCHIVED:
            page = listed(archived=True)
            if page.next_after is None:
                checkpoint = self._finish(checkpoint, archived_read=True)
            else:
                checkpoint = moved(after=page.next_after)
            yield _Fetched(page, checkpoint, archived=True)

    def _finish(self, checkpoint: Checkpoint, *, archived_read: bool = False) -> Checkpoint:
        """The run's records are complete: no phase left but, in an incremental run whose
        links were last read more than `LINKS_MAX_AGE` ago, `links`. Kept: when the archived
        list and the links were last read."""
        state = checkpoint.state
        now = self.ctx.now_fn()
        now_ms = epoch_ms(now)
        synced_through = checkpoint.synced_through
        if state.end_ms is not None:
            synced_through = from_epoch_ms(state.end_ms)
        elif synced_through is None:
            synced_through = now
        kept = state.kept()
        if archived_read:
            kept = dataclasses.replace(kept, archived_read_ms=now_ms)
        if state.mode is SyncMode.FULL and state.links_from_ms is not None:
            kept = dataclasses.replace(kept, links_read_ms=state.links_from_ms)
        links_read = kept.links_read_ms
        due = links_read is None or now - from_epoch_ms(links_read) >= LINKS_MAX_AGE
        if state.mode is SyncMode.INCREMENTAL and self.spec.associations and due:
            kept = dataclasses.replace(
                kept, mode=SyncMode.INCREMENTAL, phase=SyncPhase.LINKS, links_from_ms=now_ms
            )
        return Checkpoint(state=kept, synced_through=synced_through)

    def _reread_links(self) -> None:
        """Phase `links`: the live records of this type, 1,000 at a time in id order, get
        their links re-read through associations v4 and replaced, each batch committed with
        the checkpoint after it. A link added or removed in HubSpot moves neither record's
        modification time; webhooks (`associationChange`) bring it within seconds, this pass
        within `LINKS_MAX_AGE` without them. Contacts that gained or lost a link to an
        engagement (a touch) are handed to the SLA engine when rules are in force, and so are
        deals."""
        ctx, spec = self.ctx, self.spec
        if not spec.associations:
            return  # the phase never begins for a type without links
        with session_scope(ctx.session_factory) as session:
            checkpoint = load_checkpoint(session, ctx.portal_id, spec.name)
        while checkpoint.state.phase is SyncPhase.LINKS:
            state = checkpoint.state
            with session_scope(ctx.session_factory) as session:
                ids = repository.live_ids_after(
                    session, spec.store_type, ctx.portal_id, state.after, LINKS_BATCH
                )
            links = [  # the last batch may be empty: the client then sends nothing
                (to_type, ctx.client.associations(spec.name, to_type, ids))
                for to_type, _ in spec.associations
            ]
            if len(ids) < LINKS_BATCH:
                done = dataclasses.replace(state.kept(), links_read_ms=state.links_from_ms)
                checkpoint = dataclasses.replace(checkpoint, state=done)
            else:
                checkpoint = dataclasses.replace(
                    checkpoint, state=dataclasses.replace(state, after=ids[-1])
                )
            now = ctx.now_fn()
            started = time.perf_counter()
            touched: dict[str, set[str]] = {}
            store_types = dict(spec.associations)
            with ctx.writer.unit() as session:
                evaluate = spec.is_engagement and handoff.rules_exist(session)
                for to_type, sets in links:
                    if evaluate:
                        store_type = store_types[to_type]
                        held = repository.stored_links(
                            session, ctx.portal_id, association_from_type(spec), ids, store_type
                        )
                        read = {(s.from_id, link.to_id) for s in sets for link in s.to}
                        found = touched.setdefault(store_type, set())
                        found.update(record for _, record in held ^ read)
                    apply_associations(session, ctx.portal_id, spec.name, to_type, ids, sets)
                save_checkpoint(session, ctx.portal_id, spec.name, checkpoint, now)
                queued = handoff.enqueue(session, _groups(ctx.portal_id, touched), now)
            ctx.add_db_time(time.perf_counter() - started)
            _count(ctx, spec.name, links_reread=len(ids))
            handoff.hand_off(ctx.session_factory, queued, now)

    # -- preparing and storing (in order, one page at a time) ----------------------------

    def _run_pipeline(self, pages: Iterator[_Fetched]) -> None:
        """Pages are read ahead on one background thread (HTTP and JSON decoding: mostly
        waiting for HubSpot); each is prepared and committed here, in order. Not more threads
        sharing the Python work: the store's writes would wait on the interpreter lock behind
        them, and a sync got slower, not faster (docs/benchmarks.md, "Design choices")."""
        with prefetch(pages, PREFETCH_DEPTH) as fetched:
            for item in fetched:
                self._commit(self._prepare(item))

    def _changed(self, records: list[CrmRecord]) -> tuple[list[CrmRecord], list[CrmRecord]]:
        """The records whose (modification time, archived) differ from the store's, and of
        those the ones whose tracked history may have changed: new, (un)archived, or with a
        different history fingerprint (the search answer carries the current values)."""
        started = time.perf_counter()
        with session_scope(self.ctx.session_factory) as session:
            store_type, portal_id = self.spec.store_type, self.ctx.portal_id
            stored = repository.stored_versions(
                session, store_type, portal_id, [r.id for r in records]
            )
            changed = [r for r in records if stored.get(r.id) != (modified_at(r), r.archived)]
            tracked = self.spec.history_properties
            known = [r.id for r in changed if r.id in stored and stored[r.id][1] == r.archived]
            held = (
                repository.stored_properties(session, store_type, portal_id, known)
                if tracked
                else {}
            )
        self.ctx.add_db_time(time.perf_counter() - started)
        if not tracked:
            return changed, []
        stale = [
            r
            for r in changed
            if r.id not in held
            or history_fingerprint(held[r.id], tracked)
            != history_fingerprint(r.properties, tracked)
        ]
        return changed, stale

    def _with_history(
        self, changed: list[CrmRecord], stale: list[CrmRecord], *, archived: bool
    ) -> list[CrmRecord]:
        if not stale:
            return changed
        fresh = self.ctx.client.batch_read(
            self.spec.name,
            [r.id for r in stale],
            properties=self.properties,
            properties_with_history=self.spec.history_properties,
            archived=archived,
        )
        by_id = {r.id: r for r in changed}
        # A merged-away id answers with its survivor: that record is stored too. The batch
        # read carries no links: a record keeps those its list page brought inline.
        for record in fresh:
            listed = by_id.get(record.id)
            if listed is not None and listed.associations is not None:
                record = dataclasses.replace(record, associations=listed.associations)
            by_id[record.id] = record
        return list(by_id.values())

    def _links(self, records: list[CrmRecord], to_type: str) -> list[AssociationSet]:
        """The `to_type` links of the live `records`: from their list page where it brought
        them complete, through associations v4 for the rest (search pages, batch-read
        survivors, records with more links than a page carries)."""
        sets: list[AssociationSet] = []
        unread: list[str] = []
        for record in records:
            inline = record.associations.get(to_type) if record.associations else None
            if inline is not None and inline.complete:
                if inline.to:
                    sets.append(AssociationSet(from_id=record.id, to=inline.to))
            else:
                unread.append(record.id)
        if unread:
            sets.extend(self.ctx.client.associations(self.spec.name, to_type, unread))
        return sets

    def _prepare(self, fetched: _Fetched) -> _Prepared:
        records = self.ctx.client.records_of(fetched.page).results
        if fetched.checkpoint.state.first:
            # A first sync: the store held none of this type when it began and each record
            # is listed once, so every one is new (a copy a webhook stored meanwhile is
            # guarded by the upsert, which never lets an older modification win); no read.
            changed = records
            stale = records if self.spec.history_properties else []
        else:
            changed, stale = self._changed(records)
        history_read = len(stale)
        # records that came with their history need no batch read for it
        unread = [r for r in stale if not r.history]
        with_history = self._with_history(changed, unread, archived=fetched.archived)
        live = [r for r in with_history if not r.archived]
        live_ids = [r.id for r in live]
        links = []
        if not fetched.archived:
            for to_type, _ in self.spec.associations:
                links.append((to_type, self._links(live, to_type)))
        return _Prepared(fetched, with_history, live_ids, links, history_read)

    def _commit(self, prepared: _Prepared) -> None:
        ctx, name = self.ctx, self.spec.name
        now = ctx.now_fn()
        started = time.perf_counter()
        with ctx.writer.unit() as session:
            apply_records(session, ctx.portal_id, prepared.changed, synced_at=now)
            for to_type, sets in prepared.links:
                apply_associations(session, ctx.portal_id, name, to_type, prepared.live_ids, sets)
            save_checkpoint(session, ctx.portal_id, name, prepared.fetched.checkpoint, now)
            # In the page's transaction: once the page is stored, its records are queued.
            queued = handoff.enqueue(session, self._evaluated(prepared), now)
        ctx.add_db_time(time.perf_counter() - started)
        self._committed_pages += 1
        if self._committed_pages in STATISTICS_AFTER_PAGES:
            with session_scope(ctx.session_factory) as session:
                repository.refresh_statistics(session, self.spec.store_type)
        read = prepared.fetched.page.size
        _count(
            ctx,
            name,
            read=read,
            changed=len(prepared.changed),
            history_read=prepared.history_read,
        )
        ctx.progress.advance(name, read)
        handoff.hand_off(ctx.session_factory, queued, now)

    def _evaluated(self, prepared: _Prepared) -> dict[tuple[int, str], list[str]]:
        """The records a page hands to the SLA engine. A touch matters to the SLA through the
        records it reached: a call stops a contact's first-touch clock, a meeting a new deal's."""
        if not self.spec.is_engagement:
            changed = {r.id for r in prepared.changed}
            return _groups(self.ctx.portal_id, {self.spec.store_type: changed})
        touched: dict[str, set[str]] = {}
        for to_type, store_type in self.spec.associations:
            touched[store_type] = {link.to_id for to, sets in prepared.links if to == to_type
                                   for assoc in sets for link in assoc.to}  # fmt: skip
        return _groups(self.ctx.portal_id, touched)
