"""What every HubSpot request passes first: the token, the rate limits, injected faults.

A plain ASGI middleware (not Starlette's BaseHTTPMiddleware, which costs a task and a stream
per request) that also adds the rate-limit headers to every answer and counts the request.
"""

from __future__ import annotations

import hmac
import re

from fastapi import Request
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sandbox.hubspot.errors import error_body
from sandbox.hubspot.state import HubSpotEmulator

AUTH_MESSAGE = (
    "Authentication credentials not found. This API supports OAuth 2.0 authentication and you "
    "can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview"
)
NUMERIC_SEGMENT = re.compile(r"/\d+(?=/|$)")


def _authorised(request: Request, token: str) -> bool:
    header = request.headers.get("authorization", "")
    scheme, _, presented = header.partition(" ")
    if scheme.lower() != "bearer" or not presented:
        return False
    return hmac.compare_digest(presented.strip().encode(), token.encode())


class FrontDoor:
    def __init__(self, app: ASGIApp, emulator: HubSpotEmulator) -> None:
        self.app = app
        self.emulator = emulator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        # Statistics by route shape: /crm/v3/objects/contacts/{id}, not one key per record.
        route = f"{request.method} {NUMERIC_SEGMENT.sub('/{id}', request.url.path)}"
        stats = self.emulator.stats
        if not _authorised(request, self.emulator.settings.access_token):
            body = error_body(AUTH_MESSAGE, "INVALID_AUTHENTICATION")
            stats.record(route, 401)
            await JSONResponse(body, status_code=401)(scope, receive, send)
            return
        refusal, headers = await self.emulator.guard.admit(request)
        extra = [(name.lower().encode(), value.encode()) for name, value in headers.items()]
        status = 500

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        try:
            target = refusal if refusal is not None else self.app
            await target(scope, receive, send_with_headers)
        finally:
            stats.record(route, status)
