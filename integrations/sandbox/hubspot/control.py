"""The control API under /_sandbox/: ground truth, statistics, reset. No token needed."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request

from integrations.sandbox.hubspot import params
from integrations.sandbox.hubspot.serialize import history_json
from integrations.sandbox.hubspot.state import HubSpotEmulator
from integrations.sandbox.portal import TruthRecord
from integrations.sandbox.portal.timeline import iso_ms

TRUTH_PAGE = 1000


def truth_json(truth: TruthRecord) -> dict[str, Any]:
    return {
        "id": str(truth.id),
        "properties": truth.properties,
        "archived": truth.archived,
        "mergedInto": str(truth.merged_into) if truth.merged_into is not None else None,
        "createdAt": iso_ms(truth.created_ms),
        "updatedAt": iso_ms(truth.modified_ms),
        "associations": {k: [str(i) for i in v] for k, v in truth.associations.items()},
        "history": {k: [history_json(e) for e in v] for k, v in truth.history.items()},
    }


def build_control_router(emulator: HubSpotEmulator) -> APIRouter:
    router = APIRouter()

    @router.get("/truth/{object_type}")
    async def truth(object_type: str, request: Request) -> dict[str, Any]:
        """Every record of the type, archived and merged included, paged by offset."""
        try:
            kind = params.object_type(object_type)
        except Exception:
            raise HTTPException(404, f"unknown object type {object_type!r}") from None
        portal = emulator.portal
        offset = int(request.query_params.get("offset", "0"))
        limit = min(TRUTH_PAGE, int(request.query_params.get("limit", str(TRUTH_PAGE))))
        stop = min(portal.count(kind), offset + limit)
        results = [
            truth_json(portal.truth_of(kind, portal.record_at(kind, i)))
            for i in range(offset, stop)
        ]
        answer: dict[str, Any] = {"total": portal.count(kind), "results": results}
        if stop < portal.count(kind):
            answer["nextOffset"] = stop
        return answer

    @router.get("/stats")
    async def stats() -> dict[str, Any]:
        return emulator.stats.snapshot()

    @router.post("/reset")
    async def reset() -> dict[str, Any]:
        emulator.reset_portal()
        emulator.stats.clear()
        return {"reset": True}

    return router
