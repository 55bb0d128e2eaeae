"""Which records still count: neither archived nor merged into another. Read on its own where
a rule has no scope to test, instead of loading each record with its history."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Contact, Deal

_CHUNK = 2000


def live_ids(session: Session, portal_id: int, object_type: str, ids: Sequence[str]) -> set[str]:
    model = Contact if object_type == "contact" else Deal
    wanted = sorted(ids)
    live: set[str] = set()
    for start in range(0, len(wanted), _CHUNK):
        query = select(model.id).where(
            model.portal_id == portal_id,
            model.id.in_(wanted[start : start + _CHUNK]),
            model.archived.is_(False),
            model.merged_into_id.is_(None),
        )
        live.update(session.scalars(query))
    return live
