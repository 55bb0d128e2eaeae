"""SLA properties on 10,000 records while `slaguard sync` runs in the same process (as the
service runs its sync job and its delivery worker): 100 records per request, and the sandbox,
enforcing HubSpot's limits, never answers 429 to either of them."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from typer.testing import CliRunner, Result

from alerts.delivery import DeliveryJob, HubSpotContent, HubSpotItem, Outcome
from alerts.hubspot_delivery import HubSpotPropertiesDeliverer
from alerts.model import TargetKind
from app.cli import cli
from app.cli.hubspot import ensure_schema
from integrations.hubspot.writes import HubSpotWriter
from sandbox.server import SandboxServer
from tests.fixtures.slaguard_process import sandbox_environ

RECORDS = 10_000
STATES = ("running", "warning", "breached", "met", "met_late")


def _job(ids: list[int]) -> DeliveryJob:
    due = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)
    items = tuple(
        HubSpotItem(
            n,
            "breached",
            n,
            1,
            "contacts",
            str(record_id),
            None,
            STATES[n % 5],
            due + timedelta(minutes=n),
            42 if n % 5 == 3 else None,
            "s",
            "b",
        )
        for n, record_id in enumerate(ids)
    )
    return DeliveryJob(
        tuple(range(len(ids))),
        "load",
        TargetKind.HUBSPOT_PROPERTIES,
        "hubspot",
        1,
        hubspot=HubSpotContent(items),
    )


@pytest.mark.slow
@pytest.mark.sandbox(contacts=RECORDS, limits=True)
def test_ten_thousand_records_in_100_record_batches_beside_a_sync_with_no_429(
    sandbox: SandboxServer, sqlite_url: str
) -> None:
    writer = HubSpotWriter.for_portal(sandbox.token, sandbox.hubspot_url)
    ensure_schema(writer, dry_run=False)
    ids = [r.id for r in sandbox.portal.truth("contacts") if not r.archived][:RECORDS]
    env = sandbox_environ(sqlite_url, sandbox)
    synced: list[Result] = []

    def run_sync() -> None:
        synced.append(CliRunner().invoke(cli, ["sync", "--objects", "contacts"], env=env))

    sync = threading.Thread(target=run_sync)
    sync.start()
    result = HubSpotPropertiesDeliverer(writer).deliver(_job(ids))
    sync.join(timeout=300)

    assert result.outcome is Outcome.DELIVERED, result.detail
    assert result.detail.startswith(f"{len(ids)} records updated in {-(-len(ids) // 100)} ")
    assert synced and synced[0].exit_code == 0, synced[0].output if synced else "no sync"
    stats = sandbox.emulator.stats.snapshot()
    by_route = stats["byRoute"]
    assert isinstance(by_route, dict)
    assert by_route["POST /crm/v3/objects/contacts/batch/update"] == -(-len(ids) // 100)
    assert sum(n for route, n in by_route.items() if "batch/update" not in route) > 50
    assert stats["rateLimited"] == 0
    for n in (0, 3, len(ids) - 1):
        record = sandbox.portal.get("contacts", ids[n])
        assert record is not None
        assert record.properties["slaguard_sla_state"] == STATES[n % 5]
        assert record.properties["slaguard_first_touch_minutes"] == ("42" if n == 3 else "")
