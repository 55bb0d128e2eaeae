"""POST /webhooks/hubspot: verify, store once, answer fast; the worker applies the events later.

The body is read bounded (Content-Length is checked first, then the bytes actually read); the
endpoint verifies and parses on the event loop and awaits the ingest writer's commit (a thread
of its own, so the database work never blocks the event loop). Events are committed before
the 2xx.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

from fastapi import APIRouter, HTTPException, Request, Response, status
from fastapi.responses import JSONResponse
from starlette.datastructures import State

from app.api import hubspot_webhooks_openapi as openapi
from app.config import Settings
from app.webhooks.body import BodyError, decode_events
from app.webhooks.events import text_flags
from app.webhooks.ingest import (
    INGEST_ACTIVITY,
    MAX_DEAD_LETTERS_PER_REQUEST,
    IngestResult,
    split_batch,
)
from app.webhooks.portals import PortalsUnknown, ServedPortals
from app.webhooks.writer import IngestWriter
from integrations.hubspot.signature import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    RequestTarget,
    SignatureError,
    public_request_uri,
    verify_signature_v3,
)

log = logging.getLogger(__name__)
router = APIRouter(tags=["webhooks"])

MAX_BODY_BYTES = 1024 * 1024
_LOG_INTERVAL_S = 60.0


class ThrottledLog:
    """A warning per kind at most once a minute: a flood must not flood the logs. What is held
    back is counted, and the next line of that kind says how much."""

    def __init__(
        self, interval_s: float = _LOG_INTERVAL_S, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self._interval_s = interval_s
        self._monotonic = monotonic
        # kind -> (when its last line went out, requests held back since, their count)
        self._state: dict[str, tuple[float, int, int]] = {}
        self._lock = threading.Lock()

    def warn(self, kind: str, message: str, *args: object, count: int = 1) -> None:
        now = self._monotonic()
        with self._lock:
            state = self._state.get(kind)
            if state is not None and now - state[0] < self._interval_s:
                self._state[kind] = (state[0], state[1] + 1, state[2] + count)
                return
            self._state[kind] = (now, 0, 0)
        if state is not None and state[1]:
            message += " (and %d more in %d request(s) since the previous line, %.0f s ago)"
            args = (*args, state[2], state[1], now - state[0])
        log.warning(message, *args)


def _throttled_log(request: Request) -> ThrottledLog:
    # One per application, so that each app (and each test) starts with a fresh allowance.
    state = request.app.state
    throttled: ThrottledLog | None = getattr(state, "webhook_throttled_log", None)
    if throttled is None:
        throttled = ThrottledLog()
        state.webhook_throttled_log = throttled
    return throttled


def _check_content_type(request: Request) -> None:
    """HubSpot posts `application/json`; anything else is not one of its deliveries."""
    media_type, *parameters = request.headers.get("content-type", "").split(";")
    charset = next(
        (
            value
            for name, _, value in (p.strip().partition("=") for p in parameters)
            if name.lower() == "charset"
        ),
        "utf-8",
    )
    if media_type.strip().lower() != "application/json" or charset.strip('"').lower() not in (
        "utf-8",
        "utf8",
    ):
        raise HTTPException(
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            "Content-Type must be application/json (UTF-8)",
        )


async def read_bounded_body(request: Request) -> bytes:
    """The raw body, refused with 413 past 1 MB without ever buffering more than that."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            declared_length = int(declared)
        except ValueError:
            raise HTTPException(
                status.HTTP_400_BAD_REQUEST, "Content-Length is not a number"
            ) from None
        if declared_length > MAX_BODY_BYTES:
            raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, "body is over 1 MB")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, "body is over 1 MB")
    return bytes(body)


@router.post(
    "/webhooks/hubspot",
    response_class=JSONResponse,
    responses=openapi.WEBHOOK_RESPONSES,
    openapi_extra=openapi.WEBHOOK_REQUEST_BODY,
)
async def receive_hubspot_webhook(request: Request) -> Response:
    """Store a signed batch of HubSpot events; 200 once they are committed."""
    # Verification and parsing are a few microseconds of CPU: done on the event loop. Storing
    # goes to the writer thread, which commits the batches queued meanwhile in one transaction.
    # No dependencies and no response model: each costs a thread-pool hop or a validation on
    # a path HubSpot calls thousands of times a minute.
    with INGEST_ACTIVITY.request():
        _check_content_type(request)
        body = await read_bounded_body(request)
        state = request.app.state
        settings: Settings = state.settings
        _verify(request, body, settings)
        served = await _served_portals(request, settings)
        try:
            items = decode_events(body)
        except BodyError as exc:
            raise HTTPException(exc.status, exc.reason) from None
        may_contain_nul, may_contain_surrogate = text_flags(body)
        batch = split_batch(
            items,
            may_contain_nul=may_contain_nul,
            may_contain_surrogate=may_contain_surrogate,
            served_portals=served,
            max_dead_letters=MAX_DEAD_LETTERS_PER_REQUEST,
        )
        result = await _writer(state).store(batch, datetime.now(UTC))
    if result.dead_letters:
        _throttled_log(request).warn(
            "dead-letters",
            "webhook batch: %d event(s) did not parse or are not for a served portal; "
            "kept in webhook_dead_letters (up to %d a request)",
            result.dead_letters,
            MAX_DEAD_LETTERS_PER_REQUEST,
            count=result.dead_letters,
        )
    return Response(_answer(result), media_type="application/json")


def _answer(result: IngestResult) -> str:
    not_kept = (
        f',"dead_letters_not_kept":{result.dead_letters_not_kept}'
        if result.dead_letters_not_kept
        else ""
    )
    return (
        f'{{"stored":{result.stored},"duplicates":{result.duplicates},'
        f'"dead_letters":{result.dead_letters}{not_kept}}}'
    )


async def _served_portals(request: Request, settings: Settings) -> frozenset[int]:
    state = request.app.state
    portals: ServedPortals | None = getattr(state, "webhook_served_portals", None)
    if portals is None:
        portals = ServedPortals(settings)
        state.webhook_served_portals = portals
    try:
        return await portals.get()
    except PortalsUnknown as exc:
        _throttled_log(request).warn("portals", "refusing HubSpot webhooks: %s", exc)
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc)) from None


def _writer(state: State) -> IngestWriter:
    # One per application (the session factory is the application's); the event loop is the
    # only caller, so creating it on first use needs no lock.
    writer: IngestWriter | None = getattr(state, "webhook_writer", None)
    if writer is None:
        writer = IngestWriter(state.session_factory)
        state.webhook_writer = writer
    return writer


def _verify(request: Request, body: bytes, settings: Settings) -> None:
    secret = settings.hubspot_client_secret
    if secret is None or not secret.get_secret_value():
        # 503, not 401: the fault is ours, and HubSpot keeps retrying a 5xx for 24 hours.
        _throttled_log(request).warn(
            "no-secret",
            "refusing HubSpot webhooks: HUBSPOT_CLIENT_SECRET is not set, so no signature "
            "can be verified",
        )
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            "webhook verification is not configured (HUBSPOT_CLIENT_SECRET is not set)",
        )
    target = RequestTarget(
        scheme=request.url.scheme,
        host=request.headers.get("host", request.url.netloc),
        path=request.url.path,
        query=request.url.query,
        forwarded_proto=request.headers.get("x-forwarded-proto"),
        forwarded_host=request.headers.get("x-forwarded-host"),
    )
    uri = public_request_uri(target, settings.slaguard_public_url)
    try:
        verify_signature_v3(
            client_secret=secret.get_secret_value(),
            method=request.method,
            uri=uri,
            body=body,
            signature=request.headers.get(SIGNATURE_HEADER),
            timestamp=request.headers.get(TIMESTAMP_HEADER),
            now_ms=time.time_ns() // 1_000_000,
        )
    except SignatureError as exc:
        _throttled_log(request).warn(
            "signature", "refused a HubSpot webhook: %s (URI %s)", exc.reason, uri
        )
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, exc.reason) from None
