"""Silences (muting alerts for a while) and acknowledgements (someone has an instance in hand).

A silence narrows by every field given: a rule, an owner, a record, an instance, and a
matcher (the route matcher's fields, as JSON) for the rest. Ending a silence early sets
`ended_at`; rows are kept so a suppressed delivery can always name the silence behind it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, BigIntPK, JSONType


class AlertSilence(Base):
    __tablename__ = "alert_silences"
    __table_args__ = (Index("ix_alert_silences_ends_at", "ends_at"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    rule_id: Mapped[str | None] = mapped_column(String(128))
    owner_id: Mapped[str | None] = mapped_column(String(64))
    object_type: Mapped[str | None] = mapped_column(String(32))
    object_id: Mapped[str | None] = mapped_column(String(64))
    instance_id: Mapped[int | None] = mapped_column(BigInteger)
    # {"rules": [...], "kinds": [...], "events": [...], "teams": [...], "objects": [...]}
    matcher: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    reason: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]


class AlertAcknowledgement(Base):
    """`via` is where it came from: slack, api or cli."""

    __tablename__ = "alert_acknowledgements"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    instance_id: Mapped[int] = mapped_column(BigInteger, index=True)
    acknowledged_by: Mapped[str] = mapped_column(String(200))
    acknowledged_at: Mapped[datetime]
    via: Mapped[str] = mapped_column(String(16))
