"""`/admin/api/dead-letters`: alert deliveries that gave up, and replaying them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, status
from pydantic import BaseModel, ConfigDict, Field

from app.admin import dead_letters
from app.api.admin_actor import ActorDep
from app.api.admin_auth import AdminDep
from app.api.admin_models import (
    DEFAULT_PAGE,
    MAX_ID,
    Cursor,
    DeadLetterOut,
    DeadLetterPage,
    Limit,
    ReplayOut,
    as_utc,
)
from app.api.deps import SessionDep
from app.api.responses import ADMIN_REFUSALS, error

router = APIRouter(prefix="/admin/api", tags=["admin"])


class ReplaySince(BaseModel):
    """Every dead letter created at or after `since` (UTC unless an offset is given)."""

    model_config = ConfigDict(extra="forbid")

    since: Annotated[datetime, Field(examples=["2026-12-01T09:00:00Z"])]


@router.get("/dead-letters", responses={**ADMIN_REFUSALS})
def list_dead_letters(
    _: AdminDep, session: SessionDep, cursor: Cursor = None, limit: Limit = DEFAULT_PAGE
) -> DeadLetterPage:
    """Deliveries that ran out of attempts, newest first, with their last error."""
    rows = dead_letters.dead_letters(session, before=cursor, limit=limit)
    following = rows[-1].id if len(rows) == limit else None
    return DeadLetterPage(items=[DeadLetterOut.of(row) for row in rows], next_cursor=following)


@router.post(
    "/dead-letters/{delivery_id}/replay",
    responses={404: error("no alert delivery has this id"), **ADMIN_REFUSALS},
)
def replay_one(
    actor: ActorDep, delivery_id: Annotated[int, Path(ge=1, le=MAX_ID)], session: SessionDep
) -> ReplayOut:
    """Queue the dead letter again, due now; one no longer dead (already replayed, or never
    dead) is left as it is and `replayed` is 0."""
    if dead_letters.delivery(session, delivery_id) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no alert delivery {delivery_id}")
    ids = dead_letters.replay_one(session, delivery_id, actor, datetime.now(UTC))
    return ReplayOut(replayed=len(ids), ids=ids)


@router.post(
    "/dead-letters/replay", responses={400: error("the body is not JSON"), **ADMIN_REFUSALS}
)
def replay_since(actor: ActorDep, body: ReplaySince, session: SessionDep) -> ReplayOut:
    """Queue again every dead letter created since the time."""
    since = as_utc(body.since)
    assert since is not None
    ids = dead_letters.replay_since(session, since, actor, datetime.now(UTC))
    return ReplayOut(replayed=len(ids), ids=ids)
