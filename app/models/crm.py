"""One row per HubSpot record, keyed by (portal_id, id), with the columns the SLA engine reads.

`properties` keeps every synced HubSpot property as HubSpot sent it (strings); the typed
columns beside it are derived from those properties on write and indexed for the engine.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base


def _portal_fk() -> Mapped[int]:
    return mapped_column(BigInteger, ForeignKey("portals.id", ondelete="CASCADE"), primary_key=True)


class Owner(Base):
    __tablename__ = "owners"

    portal_id: Mapped[int] = _portal_fk()
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    email: Mapped[str | None] = mapped_column(String(320), index=True)
    first_name: Mapped[str | None] = mapped_column(String(255))
    last_name: Mapped[str | None] = mapped_column(String(255))
    user_id: Mapped[str | None] = mapped_column(String(32))
    # [{"id": "...", "name": "...", "primary": bool}] as HubSpot lists them
    teams: Mapped[list[Any]] = mapped_column(default=list)
    primary_team_id: Mapped[str | None] = mapped_column(String(32), index=True)
    archived: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime | None]
    updated_at: Mapped[datetime | None]


class Contact(Base):
    __tablename__ = "contacts"
    __table_args__ = (
        Index("ix_contacts_portal_lifecycle", "portal_id", "lifecycle_stage"),
        Index("ix_contacts_portal_owner", "portal_id", "owner_id"),
    )

    portal_id: Mapped[int] = _portal_fk()
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    archived: Mapped[bool] = mapped_column(Boolean, default=False)
    properties: Mapped[dict[str, Any]] = mapped_column(default=dict)
    email: Mapped[str | None] = mapped_column(String(320))
    lifecycle_stage: Mapped[str | None] = mapped_column(String(64))
    owner_id: Mapped[str | None] = mapped_column(String(32))
    owner_assigned_at: Mapped[datetime | None]
    lead_status: Mapped[str | None] = mapped_column(String(64))
    lead_source: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime | None]
    modified_at: Mapped[datetime | None]
    # set when HubSpot merged this contact into another one (the survivor's id)
    merged_into_id: Mapped[str | None] = mapped_column(String(32))
    synced_at: Mapped[datetime | None]


class Deal(Base):
    __tablename__ = "deals"
    __table_args__ = (
        Index("ix_deals_portal_stage", "portal_id", "pipeline", "deal_stage"),
        Index("ix_deals_portal_owner", "portal_id", "owner_id"),
    )

    portal_id: Mapped[int] = _portal_fk()
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    archived: Mapped[bool] = mapped_column(Boolean, default=False)
    properties: Mapped[dict[str, Any]] = mapped_column(default=dict)
    name: Mapped[str | None] = mapped_column(String(512))
    pipeline: Mapped[str | None] = mapped_column(String(64))
    deal_stage: Mapped[str | None] = mapped_column(String(64))
    amount: Mapped[Decimal | None] = mapped_column(Numeric(18, 2))
    close_date: Mapped[datetime | None]
    owner_id: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime | None]
    modified_at: Mapped[datetime | None]
    merged_into_id: Mapped[str | None] = mapped_column(String(32))
    synced_at: Mapped[datetime | None]


class Engagement(Base):
    """A call, email, meeting, note or task: the evidence that a rep touched a record."""

    __tablename__ = "engagements"
    __table_args__ = (
        Index("ix_engagements_portal_owner_time", "portal_id", "owner_id", "occurred_at"),
    )

    portal_id: Mapped[int] = _portal_fk()
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    archived: Mapped[bool] = mapped_column(Boolean, default=False)
    properties: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # call | email | meeting | note | task
    type: Mapped[str] = mapped_column(String(16))
    occurred_at: Mapped[datetime | None]
    owner_id: Mapped[str | None] = mapped_column(String(32))
    # INBOUND / OUTBOUND for calls and emails (EMAIL, INCOMING_EMAIL, FORWARDED_EMAIL ...)
    direction: Mapped[str | None] = mapped_column(String(32))
    # hs_call_status, hs_meeting_outcome, hs_task_status ... whichever applies
    status: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime | None]
    modified_at: Mapped[datetime | None]
    synced_at: Mapped[datetime | None]


class Association(Base):
    """A directed link between two records (engagement -> contact, engagement -> deal,
    deal -> contact). Stored once per direction slaguard reads."""

    __tablename__ = "associations"
    __table_args__ = (Index("ix_associations_to", "portal_id", "to_type", "to_id"),)

    portal_id: Mapped[int] = _portal_fk()
    from_type: Mapped[str] = mapped_column(String(16), primary_key=True)
    from_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    to_type: Mapped[str] = mapped_column(String(16), primary_key=True)
    to_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    type_id: Mapped[int | None]
    label: Mapped[str | None] = mapped_column(String(128))
