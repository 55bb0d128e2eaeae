"""The control API under /_sandbox/ (no token; the sandbox is local):

GET  truth/{type}?offset=&limit=   every record (archived, merged included) with history
GET  truth/{type}/{id}             one record's truth
GET  stats                         requests by route and status, 429s, injected faults
POST reset                         back to the seed's portal, statistics cleared
POST tick        {"at": ms?}       one step of simulated activity
POST mutate      {"type", "count"} change N random active records now
GET|POST limits  {"enabled", "perTenSeconds", "searchPerSecond"}
GET|POST faults  {"errorRate", "slowRate", "slowSeconds", "seed"}
GET|POST webhooks {"target", "background"}  delivery log / point webhooks somewhere
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, HTTPException, Request

from sandbox.hubspot import params
from sandbox.hubspot.errors import HubSpotError
from sandbox.hubspot.serialize import history_json
from sandbox.hubspot.state import HubSpotEmulator
from sandbox.portal import TruthRecord
from sandbox.portal.timeline import iso_ms

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
        kind = _kind(object_type)
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

    @router.get("/truth/{object_type}/{record_id}")
    async def truth_one(object_type: str, record_id: int) -> dict[str, Any]:
        kind = _kind(object_type)
        record = emulator.portal.get(kind, record_id)
        if record is None:
            raise HTTPException(404, f"{kind} {record_id} never existed")
        return truth_json(emulator.portal.truth_of(kind, record))

    @router.get("/stats")
    async def stats() -> dict[str, Any]:
        return emulator.stats.snapshot()

    @router.post("/reset")
    async def reset() -> dict[str, Any]:
        emulator.reset_portal()
        emulator.stats.clear()
        return {"reset": True}

    @router.post("/tick")
    async def tick(request: Request) -> dict[str, Any]:
        body = await _body(request)
        at_ms = body.get("at")
        report = emulator.tick(int(at_ms) if at_ms is not None else None)
        return asdict(report)

    @router.post("/work-lead")
    async def work_lead(request: Request) -> dict[str, Any]:
        """The lead's owner logs its first touch now (a rep answering a breach alert)."""
        body = await _body(request)
        contact_id = int(_number(body, "contact_id", 0, 1, 2**53))
        owner_id = emulator.activity.work_lead(contact_id)
        if owner_id is None:
            raise HTTPException(409, f"contact {contact_id} is not waiting for a first touch")
        return {"contact_id": str(contact_id), "owner_id": owner_id}

    @router.post("/mutate")
    async def mutate(request: Request) -> dict[str, Any]:
        body = await _body(request)
        kind = _kind(str(body.get("type", "contacts")))
        count = _number(body, "count", 1, 0, 100_000)
        changed = emulator.activity.mutate(kind, int(count))
        return {"type": kind, "changed": [str(i) for i in changed]}

    @router.get("/limits")
    async def get_limits() -> dict[str, Any]:
        return asdict(emulator.settings.limits)

    @router.post("/limits")
    async def set_limits(request: Request) -> dict[str, Any]:
        body = await _body(request)
        limits = emulator.settings.limits
        limits.enabled = bool(body.get("enabled", limits.enabled))
        limits.per_ten_seconds = int(
            _number(body, "perTenSeconds", limits.per_ten_seconds, 1, 10**6)
        )
        limits.search_per_second = int(
            _number(body, "searchPerSecond", limits.search_per_second, 1, 10**6)
        )
        emulator.guard.reset()
        return asdict(limits)

    @router.get("/faults")
    async def get_faults() -> dict[str, Any]:
        return asdict(emulator.settings.faults)

    @router.post("/faults")
    async def set_faults(request: Request) -> dict[str, Any]:
        body = await _body(request)
        faults = emulator.settings.faults
        faults.error_rate = _number(body, "errorRate", faults.error_rate, 0, 1)
        faults.slow_rate = _number(body, "slowRate", faults.slow_rate, 0, 1)
        faults.slow_seconds = _number(body, "slowSeconds", faults.slow_seconds, 0, 60)
        faults.seed = int(_number(body, "seed", faults.seed, 0, 2**32))
        return asdict(faults)

    @router.get("/webhooks")
    async def webhooks() -> dict[str, Any]:
        sender = emulator.webhooks
        if sender is None:
            return {"target": None, "pending": 0, "deliveries": []}
        return {
            "target": sender.target_url,
            "pending": sender.pending(),
            "deliveredEvents": sender.delivered_events,
            "deadEvents": sender.dead_events,
            "deliveries": [asdict(d) for d in sender.deliveries[-200:]],
        }

    @router.post("/webhooks")
    async def set_webhook_target(request: Request) -> dict[str, Any]:
        body = await _body(request)
        target = body.get("target")
        sender = emulator.set_webhook_target(str(target) if target else None)
        if sender is not None and body.get("background", True):
            sender.start()
        return {"target": emulator.settings.webhook_target}

    return router


def _kind(raw: str) -> str:
    try:
        return params.object_type(raw)
    except HubSpotError:
        raise HTTPException(404, f"unknown object type {raw!r}") from None


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw:
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        raise HTTPException(400, "the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise HTTPException(400, "the body must be a JSON object")
    return body


def _number(body: dict[str, Any], name: str, default: float, low: float, high: float) -> float:
    value = body.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise HTTPException(400, f"{name!r} must be a number between {low} and {high}")
    return float(value) if isinstance(value, float) else value
