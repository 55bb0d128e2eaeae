from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, BigIntPK


class Transition(Base):
    """One value a tracked property held on a record, and when.

    Lifecycle-stage changes of contacts (`property='lifecyclestage'`), stage changes of deals
    (`dealstage`), owner and lead-status changes (`hubspot_owner_id`, `hs_lead_status`).
    `exited_at` is null while the value is current. `source` says where the fact came from:
    `history` (propertiesWithHistory), `webhook`, `date_property` (hs_v2_date_entered_*), ...
    """

    __tablename__ = "transitions"
    # A record's timeline is read through the unique constraint's index (its leading columns
    # are portal, type, record, property).
    __table_args__ = (
        UniqueConstraint(
            "portal_id", "object_type", "object_id", "property", "entered_at", "value"
        ),
        Index("ix_transitions_entered", "portal_id", "property", "value", "entered_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    portal_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("portals.id", ondelete="CASCADE"))
    # contact | deal
    object_type: Mapped[str] = mapped_column(String(16))
    object_id: Mapped[str] = mapped_column(String(32))
    property: Mapped[str] = mapped_column(String(64))
    value: Mapped[str | None] = mapped_column(String(255))
    entered_at: Mapped[datetime]
    exited_at: Mapped[datetime | None]
    source: Mapped[str] = mapped_column(String(32))
    source_id: Mapped[str | None] = mapped_column(String(64))
