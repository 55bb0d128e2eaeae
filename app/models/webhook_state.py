"""What the webhook worker needs beyond the raw events to apply them in any order.

- `property_clocks` (`PropertyVersion`: the table keeps its first name): for each record
  property a webhook set, the last-written time (and value): the newest change applied. An
  older event never overwrites it, whatever order events arrive in.
  Pseudo-properties `:archived` and `:merged_into` order deletions, restores and merges.
- `record_refresh_queue`: records to re-read from HubSpot (created, restored, associations
  changed), one row per record however many events asked, so reads coalesce into batches.
- `erased_records`: contacts erased on a privacy deletion, so that a late or retried event
  about them is dropped instead of bringing their personal data back. Only HubSpot's id is kept.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base


class PropertyVersion(Base):
    __tablename__ = "property_clocks"

    portal_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    object_type: Mapped[str] = mapped_column(String(16), primary_key=True)
    object_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    property: Mapped[str] = mapped_column(String(128), primary_key=True)
    set_at: Mapped[datetime]
    value: Mapped[str | None] = mapped_column(Text)


class RecordRefresh(Base):
    __tablename__ = "record_refresh_queue"
    __table_args__ = (Index("ix_record_refresh_queue_due", "due_at"),)

    portal_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    object_type: Mapped[str] = mapped_column(String(16), primary_key=True)
    object_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    requested_at: Mapped[datetime]
    due_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(Text)


class ErasedRecord(Base):
    __tablename__ = "erased_records"

    portal_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    object_type: Mapped[str] = mapped_column(String(16), primary_key=True)
    object_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    erased_at: Mapped[datetime]
