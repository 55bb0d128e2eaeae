"""OpenAPI descriptions of answers several routes share: errors and the admin token's refusals."""

from __future__ import annotations

from typing import Any

ERROR_BODY: dict[str, Any] = {
    "type": "object",
    "properties": {"detail": {"type": "string", "description": "the reason, in one sentence"}},
    "required": ["detail"],
}


def error(description: str) -> dict[str, Any]:
    """A documented error answer with FastAPI's `{"detail": ...}` body."""
    return {"description": description, "content": {"application/json": {"schema": ERROR_BODY}}}


ADMIN_REFUSALS: dict[int | str, dict[str, Any]] = {
    401: error("the admin token is missing or wrong (Authorization: Bearer <token>)"),
    403: error("the admin API is disabled: SLAGUARD_ADMIN_TOKEN is not set"),
}
