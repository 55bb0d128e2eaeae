"""Full and incremental syncs against the HubSpot sandbox end equal to its ground truth."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.config import Settings
from app.db import SessionFactory
from app.models import SyncRun
from app.sync.service import SyncService
from integrations.hubspot.client import HubSpotClient
from integrations.hubspot.retry import RetryPolicy
from tests.app.sync.truth import store_differences


def _service(settings: Settings, session_factory: SessionFactory, sandbox: object) -> SyncService:
    configured = settings.model_copy(
        update={
            "hubspot_access_token": __import__("pydantic").SecretStr(sandbox.token),  # type: ignore[attr-defined]
            "hubspot_base_url": sandbox.hubspot_url,  # type: ignore[attr-defined]
        }
    )
    client = HubSpotClient.from_settings(
        configured, retry_policy=RetryPolicy(base_delay=0.05, max_attempts=8)
    )
    return SyncService(configured, session_factory, client)


@pytest.mark.sandbox(contacts=400, limits=False)
def test_full_sync_equals_the_portal(settings, session_factory, sandbox) -> None:
    report = _service(settings, session_factory, sandbox).run(full=True)
    with session_factory() as session:
        assert store_differences(session, sandbox.portal) == []
        run = session.scalars(select(SyncRun)).one()
    assert run.status == "succeeded"
    assert run.requests == report.requests > 0
    assert run.counts["contacts"]["read"] > 0
