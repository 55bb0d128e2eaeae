"""JSON answers rendered with orjson: the same bytes shape as Starlette's JSONResponse (compact,
UTF-8), several times faster on 100-record pages, so the emulator takes less of the CPU a
benchmark shares with the client it serves."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi.responses import JSONResponse


class FastJSONResponse(JSONResponse):
    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def batch_answer(
    results: list[Any], started: str, completed: str, missing: list[str], message: str
) -> FastJSONResponse:
    """A batch endpoint's answer as HubSpot gives it: 200 COMPLETE, or 207 with one
    OBJECT_NOT_FOUND error naming the ids it could not find beside the results it has."""
    answer: dict[str, Any] = {
        "status": "COMPLETE",
        "results": results,
        "startedAt": started,
        "completedAt": completed,
    }
    if not missing:
        return FastJSONResponse(answer)
    answer["numErrors"] = 1
    answer["errors"] = [
        {
            "status": "error",
            "category": "OBJECT_NOT_FOUND",
            "message": message,
            "context": {"ids": missing},
        }
    ]
    return FastJSONResponse(answer, status_code=207)
