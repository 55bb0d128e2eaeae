"""The HubSpot emulator as an ASGI app: auth, limits and faults in front of the CRM routes."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from integrations.sandbox.hubspot import meta_routes, objects_routes
from integrations.sandbox.hubspot.errors import HubSpotError, error_body, hubspot_error_handler
from integrations.sandbox.hubspot.state import HubSpotEmulator

AUTH_MESSAGE = (
    "Authentication credentials not found. This API supports OAuth 2.0 authentication and you "
    "can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview"
)

Next = Callable[[Request], Awaitable[Response]]


def _authorised(request: Request, token: str) -> bool:
    header = request.headers.get("authorization", "")
    scheme, _, presented = header.partition(" ")
    if scheme.lower() != "bearer" or not presented:
        return False
    return hmac.compare_digest(presented.strip().encode(), token.encode())


def create_hubspot_app(emulator: HubSpotEmulator) -> FastAPI:
    app = FastAPI(title="slaguard sandbox: HubSpot", docs_url=None, redoc_url=None)
    app.add_exception_handler(HubSpotError, hubspot_error_handler)
    app.include_router(objects_routes.build_router(emulator))
    app.include_router(meta_routes.build_router(emulator))

    @app.middleware("http")
    async def in_front(request: Request, call_next: Next) -> Response:
        route = f"{request.method} {request.url.path}"
        if not _authorised(request, emulator.settings.access_token):
            body = error_body(AUTH_MESSAGE, "INVALID_AUTHENTICATION")
            emulator.stats.record(route, 401)
            return JSONResponse(body, status_code=401)
        refusal, headers = await emulator.guard.admit(request)
        response = refusal if refusal is not None else await call_next(request)
        for name, value in headers.items():
            response.headers[name] = value
        emulator.stats.record(route, response.status_code)
        return response

    return app
