"""Issue 14's "Done when", idempotence: a second full sync of the same portal enqueues and
sends nothing new (outbox rows, Slack messages and their versions, webhook requests), on
SQLite and on PostgreSQL, with real processes against the sandbox (its HubSpot and its Slack)
and a local webhook receiver. (A second `slaguard evaluate` is checked at the end of
test_end_to_end_faults.py, on the alerts that scene sent.)"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox.server import SandboxServer
from tests.alerts.outbox.end_to_end_scene import Scene, Sent, nothing_to_deliver
from tests.integrations.webhooks.receiver import Receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver().start()
    yield server
    server.stop()


@pytest.mark.slow  # about 45 s a store: two full syncs and evaluations as processes
@pytest.mark.sandbox(contacts=300, limits=False)
def test_a_second_full_sync_of_the_same_portal_enqueues_and_sends_nothing_new(
    sandbox: SandboxServer, database_url: str, tmp_path: Path, receiver: Receiver
) -> None:
    hubspot = {
        "HUBSPOT_BASE_URL": sandbox.hubspot_url,
        "HUBSPOT_ACCESS_TOKEN": sandbox.token,
        "HUBSPOT_PORTAL_IDS": str(sandbox.portal.portal_id),
    }
    scene = Scene(
        database_url,
        tmp_path,
        sandbox.sandbox.slack,
        sandbox.root_url,
        receiver,
        channel_match="objects: [contact]",
        more_environment=hubspot,
    )
    scene.env.run("sync", "--full")
    scene.env.run("evaluate")
    scene.deliver_until_settled()
    first = Sent.now(scene)

    scene.env.run("sync", "--full")
    scene.env.run("evaluate")
    nothing_to_deliver(scene)

    # The portal's recent breaches alerted: a DM, #sales and the webhook for each.
    assert first.outbox_rows >= 3 and first.webhook_requests >= 1 and first.slack_versions >= 2
    assert Sent.now(scene) == first
