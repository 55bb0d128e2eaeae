from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base


class Portal(Base):
    """A HubSpot account slaguard syncs; its id comes from the account details."""

    __tablename__ = "portals"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC")
    currency: Mapped[str] = mapped_column(String(8), default="USD")
    ui_domain: Mapped[str] = mapped_column(String(255), default="app.hubspot.com")
    updated_at: Mapped[datetime | None]
