"""The one query the backtest needs beyond the evaluation's own (app/evaluation/repository.py)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import Contact, Deal


def first_record_at(session: Session, portal_id: int) -> datetime | None:
    """When the portal's oldest contact or deal was created (None: it has none)."""
    found = [
        session.scalar(select(func.min(model.created_at)).where(model.portal_id == portal_id))
        for model in (Contact, Deal)
    ]
    times = [t if t.tzinfo is not None else t.replace(tzinfo=UTC) for t in found if t is not None]
    return min(times) if times else None
