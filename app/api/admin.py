"""`GET /admin/health`: the detailed health of a running slaguard, behind the admin token.

Answers 200 when the verdict is ok or degraded, 503 when failing, so a load balancer or an
uptime probe that only reads the status code still notices a store it cannot use.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from app.admin.health import FAILING, check_health
from app.api.admin_auth import AdminDep
from app.api.deps import SessionFactoryDep, SettingsDep
from app.api.responses import ADMIN_REFUSALS
from app.scheduler import Scheduler

router = APIRouter(prefix="/admin", tags=["admin"])


@router.get(
    "/health",
    responses={
        200: {"description": "the verdict is ok or degraded", "content": {"application/json": {}}},
        503: {
            "description": "the verdict is failing (the store cannot be used)",
            "content": {"application/json": {"schema": {"type": "object"}}},
        },
        **ADMIN_REFUSALS,
    },
)
def admin_health(
    _: AdminDep, request: Request, settings: SettingsDep, session_factory: SessionFactoryDep
) -> JSONResponse:
    scheduler: Scheduler | None = getattr(request.app.state, "scheduler", None)
    status = scheduler.status() if scheduler is not None else None
    body: dict[str, Any] = check_health(settings, session_factory, status, datetime.now(UTC))
    code = 503 if body["status"] == FAILING else 200
    return JSONResponse(body, status_code=code, headers={"Cache-Control": "no-store"})
