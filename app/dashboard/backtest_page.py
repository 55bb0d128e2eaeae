"""The what-if page: paste or upload a candidate rules file and see, per rule, what it would
have said over the stored history beside the rules in force (`slaguard rules backtest`).

Running one reads the whole store, so it wants a signed-in session and the session's CSRF
token even though it writes nothing; a read-only dashboard's visitors see the form, not run it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import Message
from email.policy import HTTP
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from app.api.deps import SessionDep, SettingsDep
from app.dashboard import repository
from app.evaluation.backtest_check import check_candidate
from app.evaluation.backtest_parallel import backtest_store, default_workers
from app.evaluation.backtest_view import rep_rows, rule_rows
from app.sla.loader import RulesFileError

router = APIRouter(include_in_schema=False)

WINDOWS = {"30d": 30, "90d": 90, "180d": 180, "365d": 365}
DEFAULT_WINDOW = "90d"
MAX_BODY = 1024 * 1024  # a rules file is a few KB; a megabyte is plenty and bounds the parse
PASTED = "pasted rules"


@dataclass(frozen=True, slots=True)
class Candidate:
    text: str
    name: str
    window: str


def _pages() -> Any:
    # The page helpers live in the router that includes this one: imported when first used,
    # not at import time, when that module is still being built.
    from app.dashboard import router as pages

    return pages


def _multipart(content_type: str, body: bytes) -> dict[str, tuple[str | None, bytes]]:
    """Form fields of a multipart/form-data body: name -> (file name or None, bytes)."""
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1")
    message = message_from_bytes(head + body, policy=HTTP)
    fields: dict[str, tuple[str | None, bytes]] = {}
    if not message.is_multipart():
        return fields
    for part in message.iter_parts():
        assert isinstance(part, Message)
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str) or name in fields:
            continue
        payload = part.get_payload(decode=True)
        fields[name] = (part.get_filename(), payload if isinstance(payload, bytes) else b"")
    return fields


def _fields(content_type: str, body: bytes) -> dict[str, tuple[str | None, bytes]]:
    if content_type.startswith("multipart/form-data"):
        return _multipart(content_type, body)
    parsed = parse_qs(body.decode("utf-8", errors="replace"))
    return {key: (None, values[0].encode()) for key, values in parsed.items()}


def _candidate(fields: dict[str, tuple[str | None, bytes]]) -> Candidate:
    """The uploaded file when one was chosen, else the pasted text."""
    window = fields.get("since", (None, b""))[1].decode("utf-8", errors="replace")
    window = window if window in WINDOWS else DEFAULT_WINDOW
    filename, content = fields.get("file", (None, b""))
    if filename and content:
        name = filename.replace("\\", "/").rsplit("/", 1)[-1] or "uploaded file"
    else:
        name, content = PASTED, fields.get("rules", (None, b""))[1]
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "The rules file is not UTF-8.") from None
    return Candidate(text.replace("\r\n", "\n"), name, window)


def _owner_names(session: Session) -> dict[str, str]:
    portal = repository.first_portal(session)
    known = repository.owners(session, portal.id) if portal else {}
    return {owner_id: owner.name for owner_id, owner in known.items()}


@router.get("/backtest")
def backtest_form(request: Request, settings: SettingsDep) -> HTMLResponse:
    pages = _pages()
    viewer = pages._viewer(request, settings)
    context = {"windows": WINDOWS, "window": DEFAULT_WINDOW, "text": "", "problems": []}
    response: HTMLResponse = pages._page(request, "backtest.html", viewer, context)
    return response


@router.post("/backtest")
async def backtest_run(request: Request, session: SessionDep, settings: SettingsDep) -> Any:
    pages = _pages()
    body = await request.body()
    if len(body) > MAX_BODY:
        raise HTTPException(status.HTTP_413_REQUEST_ENTITY_TOO_LARGE, "Rules files are small.")
    fields = _fields(request.headers.get("content-type", ""), body)
    csrf = fields.get("csrf", (None, b""))[1].decode("utf-8", errors="replace")
    pages._require_session_csrf(request, settings, {"csrf": csrf})
    viewer = pages._viewer(request, settings)
    candidate = _candidate(fields)
    context: dict[str, Any] = {
        "windows": WINDOWS,
        "window": candidate.window,
        "text": candidate.text if candidate.name == PASTED else "",
        "name": candidate.name,
        "problems": [],
    }
    try:
        checked = check_candidate(candidate.text, candidate.name)
    except RulesFileError as exc:
        context["problems"] = [str(problem) for problem in exc.problems]
        return pages._page(request, "backtest.html", viewer, context, code=422)
    now = datetime.now(UTC)
    since = now - timedelta(days=WINDOWS[candidate.window])
    url = settings.database_url
    workers = default_workers(url)
    result = await run_in_threadpool(
        backtest_store, url, checked.rules, now, since, workers=workers
    )
    context.update(
        result=result,
        rules=rule_rows(result),
        reps=rep_rows(result),
        names=_owner_names(session),
        warnings=[str(warning) for warning in checked.warnings],
    )
    return pages._page(request, "backtest.html", viewer, context)
