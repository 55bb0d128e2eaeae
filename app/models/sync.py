from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, BigIntPK


class SyncCheckpoint(Base):
    """Where the next sync of one object type resumes, per portal.

    Written in the same transaction as the page it follows, so a killed run resumes without
    a gap or a duplicate. `state` holds the mode's own cursor, e.g. a full list's `after` or
    an incremental window's (modified_at, last id).
    """

    __tablename__ = "sync_checkpoints"

    portal_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("portals.id", ondelete="CASCADE"), primary_key=True
    )
    object_type: Mapped[str] = mapped_column(String(32), primary_key=True)
    state: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # high-water mark of modification times fully synced
    synced_through: Mapped[datetime | None]
    updated_at: Mapped[datetime]


class SyncMode(StrEnum):
    """How a sync run reads HubSpot (`sync_runs.mode`, and a checkpoint's state)."""

    FULL = "full"
    INCREMENTAL = "incremental"


class SyncRunStatus(StrEnum):
    """Where a sync run stands (`sync_runs.status`)."""

    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    ABANDONED = "abandoned"  # its process ended without finishing it (killed or crashed)


class SyncRun(Base):
    """What one sync run did, for the health endpoint and the dashboard."""

    __tablename__ = "sync_runs"
    __table_args__ = (
        Index("ix_sync_runs_started", "started_at"),
        # the newest run of one mode (the admin health page) and the totals per mode/status
        Index("ix_sync_runs_mode_status_started", "mode", "status", "started_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    portal_id: Mapped[int | None] = mapped_column(BigInteger)
    mode: Mapped[str] = mapped_column(String(16))  # a SyncMode
    status: Mapped[str] = mapped_column(String(16))  # a SyncRunStatus
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    counts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    requests: Mapped[int] = mapped_column(default=0)
    rate_limited: Mapped[int] = mapped_column(default=0)
    retries: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(Text)
