"""CRM v3 object endpoints: list, read one, batch read and search."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request

from sandbox.hubspot import params
from sandbox.hubspot.errors import bad_request, not_found
from sandbox.hubspot.responses import FastJSONResponse as JSONResponse
from sandbox.hubspot.responses import batch_answer
from sandbox.hubspot.search_engine import run_search
from sandbox.hubspot.search_request import parse_search
from sandbox.hubspot.serialize import public_object
from sandbox.hubspot.state import HubSpotEmulator
from sandbox.portal import Record
from sandbox.portal.catalog import DEFAULT_PROPERTIES
from sandbox.portal.generator import needs_detail
from sandbox.portal.shapes import SINGULAR

LIST_LIMIT = 100
LIST_HISTORY_LIMIT = 50
BATCH_LIMIT = 100


def _inline_name(object_type: str) -> str:
    # HubSpot names a meeting "meeting_event" in its v3 association type names
    return "meeting_event" if object_type == "meetings" else SINGULAR[object_type]


def _with_associations(
    emulator: HubSpotEmulator, body: dict[str, Any], record: Record, to_types: list[str]
) -> dict[str, Any]:
    links: dict[str, Any] = {}
    for raw in to_types:
        to_type = params.object_type(raw)
        ids = emulator.portal.associated_ids(record.object_type, record.id, to_type)
        if ids:
            label = f"{_inline_name(record.object_type)}_to_{_inline_name(to_type)}"
            links[raw] = {"results": [{"id": str(i), "type": label} for i in ids]}
    if links:
        body["associations"] = links
    return body


def build_router(emulator: HubSpotEmulator) -> APIRouter:
    router = APIRouter()

    @router.get("/crm/v3/objects/{object_type}")
    async def list_objects(object_type: str, request: Request) -> JSONResponse:
        kind = params.object_type(object_type)
        with_history = params.name_list(request, "propertiesWithHistory")
        ceiling = LIST_HISTORY_LIMIT if with_history else LIST_LIMIT
        limit = params.integer(request, "limit", 10, 1, ceiling)
        after = params.record_id(request.query_params.get("after"))
        archived = params.flag(request, "archived")
        properties = params.name_list(request, "properties")
        to_types = params.name_list(request, "associations")
        detail = needs_detail(kind, properties or DEFAULT_PROPERTIES[kind], with_history)
        records, next_after = emulator.portal.list_page(kind, after, limit, archived, detail)
        results = [
            _with_associations(
                emulator, public_object(r, properties or None, with_history), r, to_types
            )
            for r in records
        ]
        answer: dict[str, Any] = {"results": results}
        if next_after is not None:
            query = [(k, v) for k, v in request.query_params.multi_items() if k != "after"]
            link = f"{request.url.path}?{urlencode([*query, ('after', str(next_after))])}"
            answer["paging"] = {"next": {"after": str(next_after), "link": link}}
        return JSONResponse(answer)

    @router.get("/crm/v3/objects/{object_type}/{record_id}")
    async def read_object(object_type: str, record_id: str, request: Request) -> JSONResponse:
        kind = params.object_type(object_type)
        wanted = params.record_id(record_id, "id")
        archived = params.flag(request, "archived")
        record = emulator.portal.resolve(kind, wanted) if wanted is not None else None
        if record is None or record.archived != archived:
            raise not_found(f"Object not found.  objectId are usually numeric. id={record_id}")
        body = public_object(
            record,
            params.name_list(request, "properties") or None,
            params.name_list(request, "propertiesWithHistory"),
        )
        return JSONResponse(
            _with_associations(emulator, body, record, params.name_list(request, "associations"))
        )

    @router.post("/crm/v3/objects/{object_type}/batch/read")
    async def batch_read(object_type: str, request: Request) -> JSONResponse:
        kind = params.object_type(object_type)
        body = await params.json_body(request)
        inputs = body.get("inputs")
        if not isinstance(inputs, list):
            raise bad_request("'inputs' must be a list of {\"id\": ...} objects.")
        if len(inputs) > BATCH_LIMIT:
            raise bad_request(f"Batch read takes at most {BATCH_LIMIT} inputs; got {len(inputs)}.")
        if body.get("idProperty"):
            raise bad_request("idProperty is not supported by the sandbox; read by record id.")
        archived = params.flag(request, "archived")
        properties = [str(p) for p in body.get("properties") or []]
        with_history = [str(p) for p in body.get("propertiesWithHistory") or []]
        started = params.now_iso()
        results, missing, seen = [], [], set()
        for item in inputs:
            raw = str(item.get("id")) if isinstance(item, dict) else ""
            wanted = int(raw) if raw.isdigit() else None
            record = emulator.portal.resolve(kind, wanted) if wanted is not None else None
            if record is None or record.archived != archived:
                missing.append(raw)
            elif record.id not in seen:
                seen.add(record.id)
                results.append(public_object(record, properties or None, with_history))
        message = (
            f"Could not get some {SINGULAR[kind].upper()} objects, they may be "
            "deleted or not exist. Check that ids are valid."
        )
        return batch_answer(results, started, params.now_iso(), missing, message)

    @router.post("/crm/v3/objects/{object_type}/search")
    async def search(object_type: str, request: Request) -> JSONResponse:
        kind = params.object_type(object_type)
        search_request = parse_search(await params.json_body(request), kind)
        lag_ms = emulator.settings.search_lag_ms
        page = run_search(emulator.portal, kind, search_request, lag_ms)
        answer: dict[str, Any] = {
            "total": page.total,
            "results": [public_object(r, search_request.properties) for r in page.records],
        }
        if page.next_after is not None:
            answer["paging"] = {"next": {"after": str(page.next_after)}}
        return JSONResponse(answer)

    return router
