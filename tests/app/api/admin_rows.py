"""Rows written through the models, as the sync and the webhook endpoint write them, for the
admin health and metrics tests (SLA instances: tests/fixtures/sla.py)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from app.models import SyncCheckpoint, SyncRun, WebhookDeadLetter, WebhookEvent
from tests.fixtures.crm import PORTAL, add_portal


def sync_run(
    session: Session,
    *,
    mode: str,
    status: str,
    started_at: datetime,
    seconds: float | None = 30.0,
    requests: int = 0,
    rate_limited: int = 0,
    retries: int = 0,
    counts: dict[str, Any] | None = None,
    error: str | None = None,
) -> SyncRun:
    run = SyncRun(
        portal_id=PORTAL,
        mode=mode,
        status=status,
        started_at=started_at,
        finished_at=started_at + timedelta(seconds=seconds) if seconds is not None else None,
        counts=counts or {},
        requests=requests,
        rate_limited=rate_limited,
        retries=retries,
        error=error,
    )
    session.add(run)
    session.flush()
    return run


def checkpoint(
    session: Session,
    object_type: str,
    *,
    synced_through: datetime,
    updated_at: datetime,
    state: dict[str, Any] | None = None,
) -> None:
    add_portal(session)
    session.add(
        SyncCheckpoint(
            portal_id=PORTAL,
            object_type=object_type,
            state=state or {},
            synced_through=synced_through,
            updated_at=updated_at,
        )
    )
    session.flush()


def webhook_event(
    session: Session,
    number: int,
    *,
    received_at: datetime,
    processed_at: datetime | None = None,
    attempts: int = 0,
    error: str | None = None,
) -> None:
    session.add(
        WebhookEvent(
            dedupe_key=f"key-{number}",
            portal_id=PORTAL,
            event_id=number,
            subscription_type="contact.propertyChange",
            object_type="contact",
            object_id=str(1000 + number),
            property_name="hs_lead_status",
            property_value="NEW",
            occurred_at=received_at - timedelta(seconds=2),
            received_at=received_at,
            payload={"eventId": number},
            processed_at=processed_at,
            attempts=attempts,
            error=error,
        )
    )
    session.flush()


def dead_letter(session: Session, *, received_at: datetime) -> None:
    session.add(WebhookDeadLetter(received_at=received_at, raw="{not json", reason="not JSON"))
    session.flush()
