"""Syncs and full evaluations an admin asked for through the API, run in the background.

At most one runs at a time, across processes: a running row holds `slot = 'busy'` under a
unique constraint (finished rows hold NULL, which the constraint lets repeat), so two
triggers racing in two processes cannot both start. The runner stamps `heartbeat_at` while
it works; a `running` row whose heartbeat is old belongs to a process that died (kill -9)
and is marked `abandoned` by the next reader, so it never blocks later triggers.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, BigIntPK

RUN_SLOT = "busy"


class AdminRun(Base):
    """`kind` is sync | evaluation; `status` is running | succeeded | failed | abandoned."""

    __tablename__ = "admin_runs"
    __table_args__ = (UniqueConstraint("slot"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))
    full: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16))
    slot: Mapped[str | None] = mapped_column(String(8))
    requested_by: Mapped[str] = mapped_column(String(128))
    holder: Mapped[str] = mapped_column(String(160))  # pid@host of the process running it
    started_at: Mapped[datetime]
    heartbeat_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    # what the run did: the sync's counts and requests, the evaluation's records and events
    result: Mapped[dict[str, Any]] = mapped_column(default=dict)
    error: Mapped[str | None] = mapped_column(Text)
