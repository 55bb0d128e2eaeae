"""The 10,000-result search cap: an incremental window holding more than 10,500 contacts that
share one modification time is read completely, without looping and without ever paging
past the cap (the sandbox answers 400 there, as HubSpot does)."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from pydantic import SecretStr

from app import hubspot_client
from app.config import Settings
from app.store.db import SessionFactory, session_scope
from app.sync.checkpoints import Checkpoint, save_checkpoint
from app.sync.service import SyncService
from app.sync.windows import from_epoch_ms
from tests.app.sync.activity import make_activity
from tests.app.sync.truth import store_differences

CONTACT_SYNC = ["owners", "pipelines", "lifecycle_stages", "contacts"]


@pytest.mark.slow
@pytest.mark.sandbox(contacts=12_000, limits=False)
def test_a_window_past_the_search_cap_is_read_exactly(sqlite_engine, sandbox) -> None:
    from app.store.db import create_session_factory

    factory: SessionFactory = create_session_factory(sqlite_engine)
    settings = Settings(
        database_url=str(sqlite_engine.url),
        hubspot_access_token=SecretStr(sandbox.token),
        hubspot_base_url=sandbox.hubspot_url,
        _env_file=None,  # type: ignore[call-arg]
    )
    service = SyncService(settings, factory, hubspot_client.from_settings(settings))
    service.run(full=True, objects=CONTACT_SYNC)

    modified = Counter(t.modified_ms for t in sandbox.portal.truth("contacts"))
    shared_ms, sharing = modified.most_common(1)[0]
    assert sharing > 10_000  # the trap is there
    make_activity(sandbox.portal, seed=3)

    # a checkpoint from before the block: the next window holds all of it
    with session_scope(factory) as session:
        old = Checkpoint(synced_through=from_epoch_ms(shared_ms) - timedelta(hours=1))
        save_checkpoint(session, sandbox.portal.portal_id, "contacts", old, old.synced_through)
    sandbox.emulator.stats.clear()
    report = service.run(objects=CONTACT_SYNC)

    assert report.counts["contacts"]["read"] >= sharing
    with factory() as session:
        assert store_differences(session, sandbox.portal, ("contacts",)) == []
    stats = sandbox.emulator.stats.snapshot()
    assert stats["byStatus"].get("400", 0) == 0
    searches = sum(n for route, n in stats["byRoute"].items() if "search" in route)
    # one request per 200 records of the window, plus the probe: no loop
    assert searches <= report.counts["contacts"]["read"] / 200 + 3
