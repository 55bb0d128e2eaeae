"""What slaguard wrote into HubSpot that it must remember: the task of each SLA instance.

One row per instance makes "never two open tasks for one instance" a primary key, not a hope:
a worker reserves the row (state `creating`, with a deadline) before it asks HubSpot for a task,
so a second worker, a replayed evaluation or a retried delivery finds it and creates nothing.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base


class HubSpotTask(Base):
    """`state` is creating | open | completed. `task_id` is HubSpot's, set once created;
    `reserved_until` bounds how long a `creating` row blocks others (a worker killed mid-way
    leaves one behind)."""

    __tablename__ = "hubspot_tasks"
    # The evaluation looks tasks up by HubSpot id to keep them out of the touches.
    __table_args__ = (Index("ix_hubspot_tasks_portal_task", "portal_id", "task_id"),)

    instance_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    portal_id: Mapped[int] = mapped_column(BigInteger)
    object_type: Mapped[str] = mapped_column(String(16))
    object_id: Mapped[str] = mapped_column(String(64))
    owner_id: Mapped[str | None] = mapped_column(String(32))
    task_id: Mapped[str | None] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(16))
    due_at: Mapped[datetime | None]
    reserved_until: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
