"""The dashboard's pre-aggregated figures: each stopped response cycle's time to first touch
(wall and business hours), so the Sales page reads numbers instead of walking a calendar per
cycle; and per rule the mark up to which the rollup has taken in the SLA event log.

`object_type`/`object_id` name the record, so a privacy erasure removes its rows with the rest.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Float, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, BigIntPK


class DashboardTouchTime(Base):
    __tablename__ = "dashboard_touch_times"
    __table_args__ = (
        # The page's read: one rule's cycles started since a time, covered by the index.
        Index(
            "ix_dashboard_touch_times_rule_started",
            "portal_id",
            "rule_id",
            "started_at",
            "owner_id",
            "wall_hours",
            "business_hours",
            "instance_id",
        ),
    )

    instance_id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=False)
    portal_id: Mapped[int] = mapped_column(BigInteger)
    rule_id: Mapped[str] = mapped_column(String(128))
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[str] = mapped_column(String(64))
    owner_id: Mapped[str | None] = mapped_column(String(64))
    started_at: Mapped[datetime]
    wall_hours: Mapped[float] = mapped_column(Float)
    business_hours: Mapped[float] = mapped_column(Float)


class DashboardRollupMark(Base):
    """`through_event_id`: every SLA event up to it is reflected in the rollup (later ones are
    read live by the page). `fingerprint`: the calendars the business hours were counted in;
    a different one makes the rollup void until the job has rebuilt it."""

    __tablename__ = "dashboard_rollup_marks"

    portal_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    rule_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    through_event_id: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime]
