"""Handing changed records to the SLA engine: the one call site of `evaluate_records`.

The engine lives in `app.evaluation` (its own issue). Until it is importable, changed records
are simply left for its full evaluation to find.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from app.db import SessionFactory, session_scope
from app.webhooks.clocks import RecordKey

log = logging.getLogger(__name__)


def _find_engine() -> Callable[..., Any] | None:
    try:
        from app.evaluation import evaluate_records  # type: ignore[attr-defined,unused-ignore]
    except ImportError:
        return None
    engine: Callable[..., Any] = evaluate_records
    return engine


def evaluate_changed_later(
    session_factory: SessionFactory, changed: Iterable[RecordKey], now: datetime
) -> None:
    """The same, in a transaction of its own after the events were committed."""
    changed = list(changed)
    if not changed or _find_engine() is None:
        return
    with session_scope(session_factory) as session:
        evaluate_changed(session, changed, now)


def evaluate_changed(session: Session, changed: Iterable[RecordKey], now: datetime) -> None:
    """Re-evaluate the changed records, in a savepoint: a failing evaluation is logged and
    leaves the applied events committed (the engine's full evaluation catches up)."""
    engine = _find_engine()
    if engine is None:
        return
    groups: dict[tuple[int, str], set[str]] = defaultdict(set)
    for key in changed:
        groups[(key.portal_id, key.object_type)].add(key.object_id)
    for (portal_id, object_type), ids in sorted(groups.items()):
        try:
            with session.begin_nested():
                engine(session, portal_id, object_type, sorted(ids), now)
        except Exception:
            log.exception(
                "SLA evaluation of %d %s record(s) after webhooks failed", len(ids), object_type
            )
