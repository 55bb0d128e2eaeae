"""The dashboard's routes: sign-in and sign-out, the pages, and the acknowledge action.

Who may do what:
- SLAGUARD_DASHBOARD_READONLY=true: anyone who reaches the service reads every page; nobody
  acts (every action answers 403), signed in or not.
- Otherwise a page wants the signed session cookie that signing in with the admin token gives;
  without SLAGUARD_ADMIN_TOKEN nobody can sign in (as the admin API refuses everyone).
- Every POST carries a CSRF token: the session's own once signed in, a double-submit cookie on
  the sign-in form. A POST without the right one answers 403.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from app.admin.audit import token_fingerprint
from app.admin.health import check_health
from app.api.deps import SessionDep, SessionFactoryDep, SettingsDep
from app.config import Settings
from app.dashboard import backtest_page, repository, service
from app.dashboard import session as dashboard_session
from app.dashboard.cache import ReportCache
from app.dashboard.service import PERIODS, SORT_KEYS, Filters
from app.evaluation.rules_store import rules_in_force
from app.scheduler import Scheduler

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
templates.env.globals["duration_text"] = service.duration_text
templates.env.globals["PERIODS"] = PERIODS

LOGIN_CSRF_COOKIE = "slaguard_signin_csrf"
ACTOR = "admin token (dashboard)"
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
NAV = (
    ("/", "Agreement"),
    ("/sales", "Sales response"),
    ("/marketing", "Marketing delivery"),
    ("/funnel", "Funnel and revenue"),
    ("/instances", "Instances"),
    ("/alerts", "Alerts"),
    ("/system", "System"),
    ("/backtest", "What-if"),
)


@dataclass(frozen=True, slots=True)
class Viewer:
    signed_in: bool
    can_act: bool
    csrf_token: str | None


class SignInRequiredError(Exception):
    """A page was asked for without a session: the handler in app.main redirects to sign-in."""

    def __init__(self, next_path: str) -> None:
        self.next_path = next_path


def _viewer(request: Request, settings: Settings) -> Viewer:
    token = settings.slaguard_admin_token
    found = dashboard_session.decode(request.cookies.get(dashboard_session.COOKIE_NAME), token)
    readonly = settings.slaguard_dashboard_readonly
    if found is not None:
        return Viewer(True, not readonly, found.csrf_token)
    if readonly:
        return Viewer(False, False, None)
    raise SignInRequiredError(
        request.url.path + (f"?{request.url.query}" if request.url.query else "")
    )


def sign_in_redirect(next_path: str) -> RedirectResponse:
    return RedirectResponse(f"/signin?next={quote(next_path)}", status.HTTP_303_SEE_OTHER)


def _filters(request: Request) -> Filters:
    params = request.query_params
    period = params.get("period", service.DEFAULT_PERIOD)
    sort = params.get("sort", "median")
    return Filters(
        period=period if period in PERIODS else service.DEFAULT_PERIOD,
        owner=params.get("owner") or None,
        team=params.get("team") or None,
        sort=sort if sort in SORT_KEYS else "median",
    )


def _page(
    request: Request, template: str, viewer: Viewer, context: dict[str, Any], code: int = 200
) -> HTMLResponse:
    response = templates.TemplateResponse(
        request,
        template,
        {"viewer": viewer, "nav": NAV, "path": request.url.path, **context},
        status_code=code,
        headers=SECURITY_HEADERS,
    )
    return response


async def _form(request: Request) -> dict[str, str]:
    body = (await request.body()).decode("utf-8", errors="replace")
    return {key: values[0] for key, values in parse_qs(body).items()}


def _common(
    request: Request, session: SessionDep, settings: Settings
) -> tuple[Viewer, Filters, dict[str, Any]]:
    viewer = _viewer(request, settings)
    filters = _filters(request)
    portal = repository.first_portal(session)
    known = repository.owners(session, portal.id) if portal else {}
    teams = sorted({o.team_id for o in known.values() if o.team_id})
    context = {
        "filters": filters,
        "portal": portal,
        "owners": sorted(known.values(), key=lambda o: o.name.lower()),
        "teams": teams,
    }
    return viewer, filters, context


# -- sign-in ---------------------------------------------------------------------------------


@router.get("/signin")
def sign_in_form(request: Request, settings: SettingsDep) -> HTMLResponse:
    csrf = secrets.token_urlsafe(24)
    viewer = Viewer(False, False, None)
    response = _page(request, "signin.html", viewer, _sign_in_context(request, settings, csrf))
    _set_cookie(response, request, LOGIN_CSRF_COOKIE, csrf, max_age=3600)
    return response


def _sign_in_context(
    request: Request, settings: Settings, csrf: str, error: str | None = None
) -> dict[str, Any]:
    return {
        "csrf": csrf,
        "next": _safe_next(request.query_params.get("next")),
        "error": error,
        "disabled": settings.slaguard_admin_token is None,
        "readonly": settings.slaguard_dashboard_readonly,
    }


@router.post("/signin")
async def sign_in(request: Request, settings: SettingsDep) -> Response:
    form = await _form(request)
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE)
    presented = form.get("csrf", "")
    if (
        not cookie
        or not presented
        or not secrets.compare_digest(presented.encode(), cookie.encode())
    ):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "The form is missing its CSRF token.")
    token = settings.slaguard_admin_token
    if token is None:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Set SLAGUARD_ADMIN_TOKEN to sign in.")
    if not dashboard_session.token_matches(form.get("token", ""), token):
        csrf = secrets.token_urlsafe(24)
        context = _sign_in_context(request, settings, csrf, "That is not the admin token.")
        context["next"] = _safe_next(form.get("next"))
        viewer = Viewer(False, False, None)
        response = _page(request, "signin.html", viewer, context, code=401)
        _set_cookie(response, request, LOGIN_CSRF_COOKIE, csrf, max_age=3600)
        return response
    new = dashboard_session.new_session()
    redirect = RedirectResponse(_safe_next(form.get("next")), status.HTTP_303_SEE_OTHER)
    _set_cookie(
        redirect,
        request,
        dashboard_session.COOKIE_NAME,
        dashboard_session.encode(new, token),
        max_age=dashboard_session.MAX_AGE_SECONDS,
    )
    redirect.delete_cookie(LOGIN_CSRF_COOKIE, path="/")
    return redirect


@router.post("/signout")
async def sign_out(request: Request, settings: SettingsDep) -> Response:
    form = await _form(request)
    _require_session_csrf(request, settings, form)
    response = RedirectResponse("/signin", status.HTTP_303_SEE_OTHER)
    response.delete_cookie(dashboard_session.COOKIE_NAME, path="/")
    return response


def _require_session_csrf(
    request: Request, settings: Settings, form: dict[str, str]
) -> dashboard_session.DashboardSession:
    found = dashboard_session.decode(
        request.cookies.get(dashboard_session.COOKIE_NAME), settings.slaguard_admin_token
    )
    if found is None:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Sign in first.")
    if not dashboard_session.csrf_matches(form.get("csrf"), found):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "The form is missing its CSRF token.")
    return found


def _safe_next(value: str | None) -> str:
    """Only a path on this site: never `//host` or a full URL (no open redirect)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


def _set_cookie(
    response: Response, request: Request, name: str, value: str, *, max_age: int
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="strict",
        secure=_served_over_https(request),
    )


def _served_over_https(request: Request) -> bool:
    """HTTPS as the browser sees it: this request's scheme, or the public URL slaguard is
    reached at (behind a proxy that ends TLS, the request itself may arrive over HTTP)."""
    settings: Settings = request.app.state.settings
    public = settings.slaguard_public_url or ""
    return request.url.scheme == "https" or public.startswith("https://")


# -- pages -----------------------------------------------------------------------------------


def _this_minute() -> datetime:
    """Pages compute at minute resolution, so that reports cached for a page stay valid for
    the minute (and a figure does not shift between two loads a second apart)."""
    return datetime.now(UTC).replace(second=0, microsecond=0)


def _cache(request: Request) -> ReportCache:
    cache: ReportCache | None = getattr(request.app.state, "dashboard_reports", None)
    if cache is None:
        cache = request.app.state.dashboard_reports = ReportCache()
    return cache


@router.get("/")
def agreement(request: Request, session: SessionDep, settings: SettingsDep) -> HTMLResponse:
    viewer, filters, context = _common(request, session, settings)
    portal = context["portal"]
    now = _this_minute()
    rules = rules_in_force(session)
    page = (
        service.overview(session, portal, rules, filters, now, _cache(request)) if portal else None
    )
    return _page(request, "overview.html", viewer, {**context, "page": page})


@router.get("/sales")
def sales(request: Request, session: SessionDep, settings: SettingsDep) -> HTMLResponse:
    viewer, filters, context = _common(request, session, settings)
    portal = context["portal"]
    rules = rules_in_force(session)
    now = _this_minute()
    tables = (
        service.sales_response(session, portal, rules, filters, now, _cache(request))
        if portal
        else []
    )
    return _page(request, "sales.html", viewer, {**context, "tables": tables})


@router.get("/marketing")
def marketing(request: Request, session: SessionDep, settings: SettingsDep) -> HTMLResponse:
    viewer, filters, context = _common(request, session, settings)
    portal = context["portal"]
    rules = rules_in_force(session)
    now = _this_minute()
    page = (
        service.marketing_delivery(session, portal, rules, filters, now, _cache(request))
        if portal
        else None
    )
    return _page(request, "marketing.html", viewer, {**context, "page": page})


@router.get("/funnel")
def funnel(request: Request, session: SessionDep, settings: SettingsDep) -> HTMLResponse:
    viewer, filters, context = _common(request, session, settings)
    portal = context["portal"]
    rules = rules_in_force(session)
    now = _this_minute()
    page = service.funnel(session, portal, rules, filters, now) if portal else None
    return _page(request, "funnel.html", viewer, {**context, "page": page})


@router.get("/instances")
def instances(request: Request, session: SessionDep, settings: SettingsDep) -> HTMLResponse:
    viewer, filters, context = _common(request, session, settings)
    portal = context["portal"]
    state = request.query_params.get("state") or None
    now = _this_minute()
    rows = service.instances(session, portal, filters, state, now) if portal else []
    return _page(request, "instances.html", viewer, {**context, "rows": rows, "state": state})


@router.get("/instances/{instance_id}")
def instance_detail(
    instance_id: int, request: Request, session: SessionDep, settings: SettingsDep
) -> HTMLResponse:
    viewer, _, context = _common(request, session, settings)
    portal = context["portal"]
    row = repository.instance(session, instance_id)
    if row is None or portal is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "No such SLA instance.")
    known = repository.owners(session, portal.id)
    target = service.instance_target(instance_id)
    acked = repository.acknowledged_targets(session, [target])
    now = _this_minute()
    view = service.instance_row(portal, row, known, acked, now)
    events = repository.instance_events(session, instance_id)
    return _page(request, "instance.html", viewer, {**context, "row": view, "events": events})


@router.post("/instances/{instance_id}/acknowledge")
async def acknowledge(
    instance_id: int, request: Request, session: SessionDep, settings: SettingsDep
) -> Response:
    form = await _form(request)
    if settings.slaguard_dashboard_readonly:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "The dashboard is read-only.")
    _require_session_csrf(request, settings, form)
    row = repository.instance(session, instance_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "No such SLA instance.")
    repository.record_action(
        session,
        at=datetime.now(UTC),
        actor=_actor(settings),
        action="acknowledge",
        target=service.instance_target(instance_id),
        remote=request.client.host if request.client else None,
        details={"rule_id": row.rule_id, "state": row.state, "object_id": row.object_id},
    )
    return RedirectResponse(f"/instances/{instance_id}", status.HTTP_303_SEE_OTHER)


def _actor(settings: Settings) -> str:
    # The token that signed the session, by fingerprint, as the admin API names it.
    token = settings.slaguard_admin_token
    return token_fingerprint(token.get_secret_value()) if token is not None else ACTOR


@router.get("/system")
def system(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    session_factory: SessionFactoryDep,
) -> HTMLResponse:
    viewer, _, context = _common(request, session, settings)
    scheduler: Scheduler | None = getattr(request.app.state, "scheduler", None)
    health = check_health(
        settings, session_factory, scheduler.status() if scheduler else None, datetime.now(UTC)
    )
    return _page(
        request,
        "system.html",
        viewer,
        {
            **context,
            "health": health,
            "runs": repository.recent_sync_runs(session),
            "audit": repository.audit_entries(session),
        },
    )


router.include_router(backtest_page.router)
