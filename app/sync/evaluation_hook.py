"""The single place where a sync tells the SLA engine which records changed.

The engine (app/evaluation/) is built alongside the sync; when it offers
`evaluate_records(session, portal_id, object_type, ids, now)`, every committed page of changed
records is handed to it in its own transaction ("contact" or "deal"; a page of engagements
hands over the contacts they touch, whose first-touch clocks they may stop). A failing
evaluation is logged and does not undo or stop the sync: the records are safely stored and
the next evaluation pass sees them.
"""

from __future__ import annotations

import functools
import importlib
import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from app.db import SessionFactory, session_scope

log = logging.getLogger(__name__)


@functools.cache
def _hook() -> Callable[..., Any] | None:
    for name in ("app.evaluation", "app.evaluation.service"):
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        hook: Callable[..., Any] | None = getattr(module, "evaluate_records", None)
        if callable(hook):
            return hook
    return None


def rules_exist(session: Session) -> bool:
    """Whether a rule set is in force: asked inside a page's own transaction, so that pages
    open no evaluation session of their own while there are no rules (a first sync, usually)."""
    try:
        from app.evaluation.repository import latest_rule_set_fingerprint
    except ImportError:
        return False
    return latest_rule_set_fingerprint(session) is not None


def notify_changed(
    session_factory: SessionFactory,
    portal_id: int,
    object_type: str,
    ids: Sequence[str],
    now: datetime,
) -> None:
    if not ids:
        return
    hook = _hook()
    if hook is None:
        return
    try:
        with session_scope(session_factory) as session:
            hook(session, portal_id, object_type, list(ids), now)
    except Exception:
        log.exception("evaluating %d changed %s records failed", len(ids), object_type)
