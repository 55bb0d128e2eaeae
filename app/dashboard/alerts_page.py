"""The Alerts page: deliveries by state, dead letters with their reason and a replay button,
and silences (create, list, end). Every action is refused in read-only mode, wants the
session's CSRF token, and is written to the audit log like the dashboard's other actions."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from alerts.outbox.silences import (
    SilenceError,
    SilenceSpec,
    create_silence,
    end_silence,
    parse_duration,
    parse_record,
)
from alerts.outbox.status import replay
from app.api.deps import SessionDep, SettingsDep
from app.config import Settings
from app.dashboard import alerts_repository, repository
from app.dashboard.router import ACTOR, Viewer, _form, _page, _require_session_csrf, _viewer

router = APIRouter(include_in_schema=False)
MAX_TEXT = 2000


def _context(session: Session, state: str | None, now: datetime) -> dict[str, Any]:
    shown = state if state in alerts_repository.DELIVERY_STATES else None
    return {
        "counts": alerts_repository.counts_by_state(session),
        "deliveries": alerts_repository.deliveries(session, state=shown),
        "dead": alerts_repository.deliveries(session, state="dead"),
        "silences": alerts_repository.silences(session, now),
        "state": shown,
        "now": now,
        "error": None,
        "form": {},
    }


def _render(
    request: Request, session: Session, viewer: Viewer, extra: dict[str, Any], code: int = 200
) -> HTMLResponse:
    now = datetime.now(UTC)
    context = _context(session, request.query_params.get("state") or None, now)
    return _page(request, "alerts.html", viewer, {**context, **extra}, code)


@router.get("/alerts")
def alerts(request: Request, session: SessionDep, settings: SettingsDep) -> HTMLResponse:
    return _render(request, session, _viewer(request, settings), {})


async def _acting(request: Request, settings: Settings) -> dict[str, str]:
    form = await _form(request)
    if settings.slaguard_dashboard_readonly:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "The dashboard is read-only.")
    _require_session_csrf(request, settings, form)
    return form


def _audit(
    session: Session, request: Request, action: str, target: str, details: dict[str, Any]
) -> None:
    repository.record_action(
        session,
        at=datetime.now(UTC),
        actor=ACTOR,
        action=action,
        target=target,
        remote=request.client.host if request.client else None,
        details=details,
    )


@router.post("/alerts/dead/{delivery_id}/replay")
async def replay_dead_letter(
    delivery_id: int, request: Request, session: SessionDep, settings: SettingsDep
) -> Response:
    await _acting(request, settings)
    state = alerts_repository.delivery_state(session, delivery_id)
    if state is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "No such delivery.")
    # A second replay of the same letter finds it no longer dead: a no-op, not a duplicate.
    count = replay(session, datetime.now(UTC), delivery_id=delivery_id)
    _audit(
        session, request, "replay", f"alert_delivery:{delivery_id}", {"was": state, "queued": count}
    )
    return RedirectResponse("/alerts?state=dead", status.HTTP_303_SEE_OTHER)


@router.post("/alerts/silences")
async def add_silence(request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    form = await _acting(request, settings)
    now = datetime.now(UTC)
    try:
        spec = _silence_spec(form, now)
        silence_id = create_silence(session, spec, ACTOR, now)
    except SilenceError as error:
        viewer = _viewer(request, settings)
        extra = {"error": str(error), "form": form}
        return _render(request, session, viewer, extra, status.HTTP_422_UNPROCESSABLE_CONTENT)
    details = {"reason": spec.reason, "ends_at": spec.ends_at.isoformat()}
    _audit(session, request, "silence", f"alert_silence:{silence_id}", details)
    return RedirectResponse("/alerts#silences", status.HTTP_303_SEE_OTHER)


def _silence_spec(form: dict[str, str], now: datetime) -> SilenceSpec:
    reason = form.get("reason", "").strip()
    if len(reason) > MAX_TEXT or any(ord(c) < 32 for c in reason):
        raise SilenceError("the reason must be printable text of at most 2000 characters")
    duration = parse_duration(form.get("duration", "").strip())
    instance_text = form.get("instance", "").strip()
    if instance_text and not instance_text.isdigit():
        raise SilenceError(f"not an instance id: {instance_text!r}")
    record_text = form.get("record", "").strip()
    return SilenceSpec(
        reason=reason,
        starts_at=now,
        ends_at=now + duration,
        rule_id=form.get("rule", "").strip()[:128] or None,
        owner_id=form.get("owner", "").strip()[:64] or None,
        record=parse_record(record_text) if record_text else None,
        instance_id=int(instance_text) if instance_text else None,
    )


@router.post("/alerts/silences/{silence_id}/end")
async def end_silence_now(
    silence_id: int, request: Request, session: SessionDep, settings: SettingsDep
) -> Response:
    await _acting(request, settings)
    if end_silence(session, silence_id, datetime.now(UTC)) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "No such silence.")
    _audit(session, request, "end_silence", f"alert_silence:{silence_id}", {})
    return RedirectResponse("/alerts#silences", status.HTTP_303_SEE_OTHER)
