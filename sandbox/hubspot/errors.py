"""HubSpot's error answers: one exception carrying the status and HubSpot's JSON body."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse


class HubSpotError(Exception):
    """Raised inside a handler; the app turns it into HubSpot's error body."""

    def __init__(
        self,
        status: int,
        message: str,
        category: str = "VALIDATION_ERROR",
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.category = category
        self.extra = extra or {}
        self.headers = headers or {}


def error_body(message: str, category: str, **extra: Any) -> dict[str, Any]:
    return {
        "status": "error",
        "message": message,
        "correlationId": str(uuid.uuid4()),
        "category": category,
        **extra,
    }


def bad_request(message: str) -> HubSpotError:
    return HubSpotError(400, message, "VALIDATION_ERROR")


def not_found(message: str) -> HubSpotError:
    return HubSpotError(404, message, "OBJECT_NOT_FOUND")


async def hubspot_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HubSpotError)
    return JSONResponse(
        error_body(exc.message, exc.category, **exc.extra),
        status_code=exc.status,
        headers=exc.headers,
    )
