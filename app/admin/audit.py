"""The audit log's writes and reads: one row per admin action, whoever took it and wherever.

Who acted is said without the credential: the admin token by its fingerprint (the first
12 hex digits of its SHA-256, enough to tell a rotated token from the old one, useless to
anyone trying to recover it), a Slack user by id.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import AuditLog

API_SOURCE = "api"
SLACK_SOURCE = "slack"
FINGERPRINT_DIGITS = 12


def token_fingerprint(token: str) -> str:
    digest = hashlib.sha256(token.encode()).hexdigest()
    return f"token:{digest[:FINGERPRINT_DIGITS]}"


@dataclass(frozen=True, slots=True)
class Actor:
    """Who took an action and from where (`remote`: the client address the server saw)."""

    who: str
    source: str
    remote: str | None = None


def record(
    session: Session,
    actor: Actor,
    action: str,
    target: str,
    at: datetime,
    details: dict[str, Any] | None = None,
) -> AuditLog:
    """Adds the row to the caller's transaction: the action and its audit commit together."""
    entry = AuditLog(
        at=at,
        actor=actor.who[:128],
        source=actor.source,
        action=action,
        target=target[:128],
        remote=actor.remote[:64] if actor.remote else None,
        details=details or {},
    )
    session.add(entry)
    session.flush()
    return entry


def entries(
    session: Session,
    *,
    since: datetime | None,
    before: int | None,
    limit: int,
    action: str | None = None,
) -> list[AuditLog]:
    """Newest first by id (rows are written as the actions happen); `before` is the last id
    of the previous page."""
    query = select(AuditLog)
    if since is not None:
        query = query.where(AuditLog.at >= since)
    if action is not None:
        query = query.where(AuditLog.action == action)
    if before is not None:
        query = query.where(AuditLog.id < before)
    query = query.order_by(AuditLog.id.desc()).limit(limit)
    return list(session.scalars(query))
