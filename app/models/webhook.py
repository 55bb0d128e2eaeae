from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, BigIntPK

# A stored event is applied at most this many times; after that it stays unprocessed with its
# error. The worker stops picking it up and the admin counts it as failed: both read this one
# value, so the two can never disagree about which events are still being retried.
MAX_ATTEMPTS = 5


class WebhookEvent(Base):
    """One inbound HubSpot webhook event, committed before the request is acknowledged.

    `dedupe_key` is a hash of (subscriptionType, objectId, propertyName, occurredAt,
    propertyValue): HubSpot's eventId alone is not guaranteed unique.
    """

    __tablename__ = "webhook_events"
    __table_args__ = (
        Index("ix_webhook_events_pending", "processed_at", "occurred_at"),
        Index("ix_webhook_events_object", "portal_id", "object_type", "object_id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    dedupe_key: Mapped[str] = mapped_column(String(64), unique=True)
    portal_id: Mapped[int] = mapped_column(BigInteger)
    event_id: Mapped[int | None] = mapped_column(BigInteger)
    subscription_type: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[str] = mapped_column(String(32))
    property_name: Mapped[str | None] = mapped_column(String(128))
    property_value: Mapped[str | None] = mapped_column(Text)
    occurred_at: Mapped[datetime]
    received_at: Mapped[datetime]
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    processed_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(Text)


class WebhookDeadLetter(Base):
    """A raw inbound event that did not parse, kept for the admin to inspect or replay."""

    __tablename__ = "webhook_dead_letters"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    received_at: Mapped[datetime] = mapped_column(index=True)
    raw: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
