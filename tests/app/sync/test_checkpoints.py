"""Checkpoints load as typed state, including those stored by the untyped state before it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from app.models import Portal, SyncCheckpoint
from app.models.sync import SyncMode
from app.sync.checkpoints import (
    Checkpoint,
    SyncPhase,
    SyncState,
    load_checkpoint,
    save_checkpoint,
)

NOW = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
PORTAL = 4411

# States exactly as the untyped dict stored them (nulls and false flags included).
OLD_FULL_LIST = {
    "mode": "full",
    "phase": "list",
    "after": "200",
    "end_ms": 1763600000000,
    "total": 812,
    "links_from_ms": 1763630000000,
    "first": True,
    "history_inline": False,
    "archived_read_ms": 1763500000000,
}
OLD_INCREMENTAL_SEARCH = {
    "mode": "incremental",
    "phase": "search",
    "start_ms": 1763599880000,
    "end_ms": 1763620000000,
    "live_total": None,
    "last_id": "9041",
    "after": None,
    "total": None,
    "links_read_ms": 1763400000000,
}
OLD_FINISHED = {"archived_read_ms": 1763500000000, "links_read_ms": 1763400000000}


def _stored(session_factory: Any, object_type: str, state: dict[str, Any]) -> Checkpoint:
    with session_factory() as session:
        session.merge(Portal(id=PORTAL))
        session.merge(
            SyncCheckpoint(portal_id=PORTAL, object_type=object_type, state=state, updated_at=NOW)
        )
        session.commit()
        return load_checkpoint(session, PORTAL, object_type)


def test_an_untyped_full_list_checkpoint_resumes_its_list(session_factory) -> None:
    loaded = _stored(session_factory, "contacts", OLD_FULL_LIST)
    assert loaded.state == SyncState(
        mode=SyncMode.FULL,
        phase=SyncPhase.LIST,
        after="200",
        end_ms=1763600000000,
        total=812,
        links_from_ms=1763630000000,
        first=True,
        archived_read_ms=1763500000000,
    )


def test_an_untyped_incremental_checkpoint_resumes_its_window(session_factory) -> None:
    loaded = _stored(session_factory, "deals", OLD_INCREMENTAL_SEARCH)
    assert loaded.state.phase is SyncPhase.SEARCH
    assert (loaded.state.start_ms, loaded.state.end_ms) == (1763599880000, 1763620000000)
    assert loaded.state.last_id == "9041"
    assert loaded.state.live_total is None and loaded.state.after is None
    assert loaded.state.links_read_ms == 1763400000000


def test_an_untyped_finished_checkpoint_keeps_when_lists_were_last_read(session_factory) -> None:
    loaded = _stored(session_factory, "calls", OLD_FINISHED)
    assert loaded.state == SyncState(archived_read_ms=1763500000000, links_read_ms=1763400000000)
    assert loaded.state.phase is None


@pytest.mark.parametrize("old", [OLD_FULL_LIST, OLD_INCREMENTAL_SEARCH, OLD_FINISHED])
def test_a_saved_state_is_stored_as_the_untyped_state_stored_it(session_factory, old) -> None:
    loaded = _stored(session_factory, "contacts", old)
    with session_factory() as session:
        save_checkpoint(session, PORTAL, "contacts", loaded, NOW)
        session.commit()
    with session_factory() as session:
        row = session.get(SyncCheckpoint, (PORTAL, "contacts"))
        assert row is not None
        unset = {key for key, value in old.items() if value is None or value is False}
        assert row.state == {key: value for key, value in old.items() if key not in unset}
        assert load_checkpoint(session, PORTAL, "contacts") == loaded


def test_keys_a_newer_version_added_are_dropped(session_factory) -> None:
    loaded = _stored(session_factory, "contacts", {**OLD_FINISHED, "shard": 3})
    assert loaded.state == SyncState(archived_read_ms=1763500000000, links_read_ms=1763400000000)


def test_a_checkpoint_never_saved_starts_from_nothing(session_factory) -> None:
    with session_factory() as session:
        assert load_checkpoint(session, PORTAL, "tickets") == Checkpoint()
