from __future__ import annotations

from decimal import Decimal

from sqlalchemy import BigInteger, Boolean, ForeignKey, ForeignKeyConstraint, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base


class Pipeline(Base):
    __tablename__ = "pipelines"

    portal_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("portals.id", ondelete="CASCADE"), primary_key=True
    )
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    object_type: Mapped[str] = mapped_column(String(16), default="deals")
    label: Mapped[str] = mapped_column(String(255))
    display_order: Mapped[int] = mapped_column(default=0)
    archived: Mapped[bool] = mapped_column(Boolean, default=False)


class PipelineStage(Base):
    __tablename__ = "pipeline_stages"
    __table_args__ = (
        ForeignKeyConstraint(
            ["portal_id", "pipeline_id"],
            ["pipelines.portal_id", "pipelines.id"],
            ondelete="CASCADE",
        ),
    )

    portal_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    pipeline_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    label: Mapped[str] = mapped_column(String(255))
    display_order: Mapped[int] = mapped_column(default=0)
    is_closed: Mapped[bool] = mapped_column(Boolean, default=False)
    is_won: Mapped[bool] = mapped_column(Boolean, default=False)
    probability: Mapped[Decimal | None] = mapped_column(Numeric(5, 4))
    archived: Mapped[bool] = mapped_column(Boolean, default=False)


class LifecycleStage(Base):
    """The portal's lifecycle stages in order, custom ones included (from the property
    definition of `lifecyclestage`)."""

    __tablename__ = "lifecycle_stages"

    portal_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("portals.id", ondelete="CASCADE"), primary_key=True
    )
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    label: Mapped[str] = mapped_column(String(255))
    display_order: Mapped[int] = mapped_column(default=0)
