"""`/admin/api/runs`: trigger a HubSpot sync or a full SLA evaluation (202 with a run id), and
poll the run. One run at a time: a trigger while one runs answers 409 naming it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Request, Response, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

from app.admin import runs
from app.admin.audit import Actor
from app.admin.run_work import RunExecutor, Work, evaluation_work, sync_work
from app.admin.runs import RunBusyError, RunRequest
from app.api.admin_actor import ActorDep
from app.api.admin_auth import AdminDep
from app.api.admin_models import MAX_ID
from app.api.deps import SessionDep, SessionFactoryDep, SettingsDep
from app.api.responses import ADMIN_REFUSALS, error
from app.errors import ConfigError
from app.models import AdminRun

router = APIRouter(prefix="/admin/api", tags=["admin"])


class RunAccepted(BaseModel):
    id: int
    kind: str
    full: bool
    status: str


class RunBusy(BaseModel):
    detail: str
    running_id: int | None


BUSY: dict[int | str, dict[str, Any]] = {
    409: {
        "description": "another run is still running (`running_id`), or, for a sync, HubSpot "
        "is not configured (HUBSPOT_ACCESS_TOKEN)",
        "model": RunBusy,
    }
}


class SyncIn(BaseModel):
    """`full`: re-read everything instead of what changed since the last checkpoint."""

    model_config = ConfigDict(extra="forbid")

    full: bool = False


class RunOut(BaseModel):
    """`status`: running | succeeded | failed | abandoned (its process stopped mid-run)."""

    id: int
    kind: str
    full: bool
    status: str
    requested_by: str
    started_at: datetime
    heartbeat_at: datetime
    finished_at: datetime | None
    result: dict[str, Any]
    error: str | None

    @classmethod
    def of(cls, row: AdminRun) -> RunOut:
        return cls.model_validate(row, from_attributes=True)


def executor(request: Request) -> RunExecutor:
    found: RunExecutor | None = getattr(request.app.state, "admin_runs", None)
    if found is None:
        found = RunExecutor(request.app.state.session_factory)
        request.app.state.admin_runs = found
    return found


def _start(request: Request, run: RunRequest, work: Work, actor: Actor) -> JSONResponse:
    try:
        run_id = executor(request).start(run, work, actor)
    except RunBusyError as busy:
        refusal = RunBusy(detail=str(busy), running_id=busy.running_id)
        return JSONResponse(refusal.model_dump(), status.HTTP_409_CONFLICT)
    location = f"/admin/api/runs/{run_id}"
    body = RunAccepted(id=run_id, kind=run.kind, full=run.full, status=runs.RUNNING)
    return JSONResponse(body.model_dump(), status.HTTP_202_ACCEPTED, headers={"Location": location})


ACCEPTED: dict[int | str, dict[str, Any]] = {
    202: {
        "description": "started; poll `Location` (GET /admin/api/runs/{id})",
        "model": RunAccepted,
    }
}


@router.post(
    "/runs/sync",
    status_code=status.HTTP_202_ACCEPTED,
    response_class=Response,
    responses={**ACCEPTED, **BUSY, 400: error("the body is not JSON"), **ADMIN_REFUSALS},
)
def trigger_sync(
    actor: ActorDep,
    request: Request,
    settings: SettingsDep,
    factory: SessionFactoryDep,
    body: SyncIn | None = None,
) -> Response:
    """Start a HubSpot sync in the background (incremental unless `full`)."""
    full = body.full if body is not None else False
    try:
        work = sync_work(settings, factory, full)
    except ConfigError as missing:
        refusal = RunBusy(detail=str(missing), running_id=None)
        return JSONResponse(refusal.model_dump(), status.HTTP_409_CONFLICT)
    return _start(request, RunRequest("sync", full), work, actor)


@router.post(
    "/runs/evaluation",
    status_code=status.HTTP_202_ACCEPTED,
    response_class=Response,
    responses={**ACCEPTED, **BUSY, **ADMIN_REFUSALS},
)
def trigger_evaluation(actor: ActorDep, request: Request, factory: SessionFactoryDep) -> Response:
    """Start a full SLA evaluation (every rule in force on every record) in the background."""
    return _start(request, RunRequest("evaluation", True), evaluation_work(factory), actor)


@router.get("/runs/{run_id}", responses={404: error("no admin run has this id"), **ADMIN_REFUSALS})
def get_run(
    _: AdminDep, run_id: Annotated[int, Path(ge=1, le=MAX_ID)], session: SessionDep
) -> RunOut:
    """The run as it stands (a run whose process stopped shows `abandoned`)."""
    row = runs.get(session, run_id, datetime.now(UTC))
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no admin run {run_id}")
    return RunOut.of(row)
