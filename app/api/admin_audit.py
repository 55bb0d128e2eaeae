"""`/admin/api/audit`: the audit log, newest first."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from app.admin import audit
from app.api.admin_auth import AdminDep
from app.api.admin_models import (
    DEFAULT_PAGE,
    AuditOut,
    AuditPage,
    Cursor,
    Limit,
    as_utc,
)
from app.api.deps import SessionDep
from app.api.responses import ADMIN_REFUSALS

router = APIRouter(prefix="/admin/api", tags=["admin"])


@router.get("/audit", responses={**ADMIN_REFUSALS})
def audit_log(
    _: AdminDep,
    session: SessionDep,
    since: Annotated[
        datetime | None, Query(description="At or after (UTC unless an offset is given).")
    ] = None,
    action: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_PAGE,
) -> AuditPage:
    """Every admin action (API, dashboard, Slack buttons): who, what, when, from where."""
    rows = audit.entries(session, since=as_utc(since), before=cursor, limit=limit, action=action)
    following = rows[-1].id if len(rows) == limit else None
    return AuditPage(items=[AuditOut.of(row) for row in rows], next_cursor=following)
