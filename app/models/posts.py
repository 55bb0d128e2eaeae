"""Scheduled posts: the weekly scorecard and the reps' morning digests.

One row per (portal, kind, period, target) is what makes a post go out once: two schedulers,
a restart or a retry of the job all try to insert the same row, and only the first insert
wins. The message is rendered when the row is written (a snapshot of the figures at the due
time), and its delivery goes through the alert outbox like any alert: an `alert_deliveries`
row naming the post instead of an SLA event.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, BigIntPK, JSONType


class AlertPost(Base):
    """`kind` is scorecard | digest; `period` the ISO week (2026-W49) or the rep's local day
    (2026-12-07); `target` the channel or the HubSpot owner id; `message` the Slack message as
    {"text": ..., "blocks": [...]}, or None when there was nothing to say (a rep with nothing
    due today: decided once for the day, nothing sent)."""

    __tablename__ = "alert_posts"
    __table_args__ = (UniqueConstraint("portal_id", "kind", "period", "target"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    portal_id: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(16))
    period: Mapped[str] = mapped_column(String(32))
    target: Mapped[str] = mapped_column(String(80))
    message: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    created_at: Mapped[datetime]
