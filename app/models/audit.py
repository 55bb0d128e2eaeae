"""The audit log: every action an admin took (from the dashboard, the admin API or Slack)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, BigIntPK


class AuditLog(Base):
    """One admin action. Rows are only ever inserted.

    `actor` says who in words a reader can follow (`admin token`, a Slack user id), never the
    credential itself; `source` is where the action came from (dashboard | api | slack);
    `remote` is the client address as the server saw it; `target` names what was acted on,
    such as `sla_instance:42`.
    """

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_at", "at"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(128))
    source: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(128))
    remote: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
