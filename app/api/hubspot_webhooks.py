"""POST /webhooks/hubspot: verify, store once, answer fast; the worker applies the events later.

The body is read bounded (Content-Length is checked first, then the bytes actually read); the
endpoint verifies and parses on the event loop and awaits the ingest writer's commit (a thread
of its own, so the database work never blocks the event loop). Events are committed before
the 2xx.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response, status
from fastapi.responses import JSONResponse
from starlette.datastructures import State

from app.config import Settings
from app.webhooks.ingest import INGEST_ACTIVITY, split_batch
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
_REFUSAL_LOG_INTERVAL_S = 60.0


class RefusalLog:
    """A warning per kind of refusal at most once a minute: a flood must not flood the logs."""

    def __init__(self) -> None:
        self._last: dict[str, float] = {}
        self._lock = threading.Lock()

    def warn(self, kind: str, message: str, *args: object) -> None:
        now = time.monotonic()
        with self._lock:
            last = self._last.get(kind)
            if last is not None and now - last < _REFUSAL_LOG_INTERVAL_S:
                return
            self._last[kind] = now
        log.warning(message, *args)


def _refusal_log(request: Request) -> RefusalLog:
    # One per application, so that each app (and each test) starts with a fresh allowance.
    state = request.app.state
    refusals: RefusalLog | None = getattr(state, "webhook_refusal_log", None)
    if refusals is None:
        refusals = RefusalLog()
        state.webhook_refusal_log = refusals
    return refusals


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


@router.post("/webhooks/hubspot", response_class=JSONResponse)
async def receive_hubspot_webhook(request: Request) -> Response:
    """Store a signed batch of HubSpot events; 200 once they are committed."""
    # Verification and parsing are a few microseconds of CPU: done on the event loop. Storing
    # goes to the writer thread, which commits the batches queued meanwhile in one transaction.
    # No dependencies and no response model: each costs a thread-pool hop or a validation on
    # a path HubSpot calls thousands of times a minute.
    with INGEST_ACTIVITY.request():
        body = await read_bounded_body(request)
        state = request.app.state
        settings: Settings = state.settings
        _verify(request, body, settings)
        items = _parse_array(body)
        batch = split_batch(items, may_contain_nul=b"\\u0000" in body)
        result = await _writer(state).store(batch, datetime.now(UTC))
    if result.dead_letters:
        log.warning(
            "webhook batch: %d event(s) did not parse and went to webhook_dead_letters",
            result.dead_letters,
        )
    content = (
        f'{{"stored":{result.stored},"duplicates":{result.duplicates},'
        f'"dead_letters":{result.dead_letters}}}'
    )
    return Response(content, media_type="application/json")


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
        _refusal_log(request).warn(
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
        _refusal_log(request).warn(
            "signature", "refused a HubSpot webhook: %s (URI %s)", exc.reason, uri
        )
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, exc.reason) from None


def _parse_array(body: bytes) -> list[Any]:
    try:
        items = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "body is not JSON") from None
    if not isinstance(items, list):
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "body is not a JSON array of events")
    return items
