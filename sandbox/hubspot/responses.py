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
