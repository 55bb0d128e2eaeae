"""CRM v3 writes an integration makes: tasks (with associations), batch property updates, and
property groups and definitions. Every write goes through the portal's writer, so it bumps the
modified time, keeps history and reaches the webhook stream as HubSpot's would (changeSource
INTEGRATION); the front door counts it against the rate limits like any other request.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fastapi import APIRouter, Request

from sandbox.hubspot import params
from sandbox.hubspot.custom_schema import WriteState, invalid_value, missing_scopes, write_state
from sandbox.hubspot.errors import HubSpotError, bad_request, not_found
from sandbox.hubspot.meta_routes import property_json
from sandbox.hubspot.responses import FastJSONResponse as JSONResponse
from sandbox.hubspot.responses import batch_answer
from sandbox.hubspot.serialize import public_object
from sandbox.hubspot.state import HubSpotEmulator
from sandbox.portal import Record
from sandbox.portal.catalog import DEFINITIONS
from sandbox.portal.shapes import ASSOCIATION_TYPE_IDS, CONTACTS, DEALS

BATCH_LIMIT = 100
SOURCE = "INTEGRATION"
TASK_STATUSES = frozenset({"NOT_STARTED", "IN_PROGRESS", "WAITING", "COMPLETED", "DEFERRED"})
# Engagements are written under the contacts scope in HubSpot's scope model.
OBJECT_WRITE_SCOPE = {
    CONTACTS: "crm.objects.contacts.write",
    DEALS: "crm.objects.deals.write",
    "tasks": "crm.objects.contacts.write",
}
TASK_LINK_TYPES = {
    type_id: to for (src, to), type_id in ASSOCIATION_TYPE_IDS.items() if src == "tasks"
}


def _require(state: WriteState, scope: str) -> None:
    with state.lock:
        granted = scope in state.scopes
    if not granted:
        raise missing_scopes([scope])


def _property_errors(
    state: WriteState, object_type: str, record: Record | None, values: dict[str, Any]
) -> list[dict[str, Any]]:
    errors: list[dict[str, Any]] = []
    for name, value in values.items():
        definition = state.definition(object_type, name)
        if definition is None and (record is None or name not in record.properties):
            errors.append(
                {
                    "isValid": False,
                    "message": f'Property "{name}" does not exist',
                    "error": "PROPERTY_DOESNT_EXIST",
                    "name": name,
                }
            )
            continue
        problem = invalid_value(definition, _text(value)) if definition else None
        if problem:
            errors.append(
                {"isValid": False, "message": problem, "error": "INVALID_OPTION", "name": name}
            )
    return errors


def _invalid_properties(errors: list[dict[str, Any]]) -> HubSpotError:
    return HubSpotError(
        400,
        f"Property values were not valid: {errors}",
        "VALIDATION_ERROR",
        {"errors": [{"message": e["message"], "code": e["error"]} for e in errors]},
    )


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _values(raw: Any) -> dict[str, str | None]:
    if not isinstance(raw, dict):
        raise bad_request("'properties' must be an object of property names to values.")
    return {str(k): _text(v) for k, v in raw.items()}


def build_router(emulator: HubSpotEmulator) -> APIRouter:
    router = APIRouter()
    state = write_state(emulator)
    _task_routes(router, emulator, state)
    _batch_routes(router, emulator, state)
    _schema_routes(router, state)
    return router


def _task_routes(router: APIRouter, emulator: HubSpotEmulator, state: WriteState) -> None:
    @router.post("/crm/v3/objects/tasks", status_code=201)
    async def create_task(request: Request) -> JSONResponse:
        _require(state, OBJECT_WRITE_SCOPE["tasks"])
        body = await params.json_body(request)
        values = _values(body.get("properties"))
        _check_task(emulator, state, values)
        links = _task_links(emulator, body.get("associations") or [])
        values.setdefault("hs_task_status", "NOT_STARTED")
        record = emulator.writer.create("tasks", values, links, source=SOURCE)
        return JSONResponse(public_object(record, list(values)), status_code=201)

    @router.patch("/crm/v3/objects/tasks/{task_id}")
    async def update_task(task_id: str, request: Request) -> JSONResponse:
        _require(state, OBJECT_WRITE_SCOPE["tasks"])
        values = _values((await params.json_body(request)).get("properties"))
        wanted = params.record_id(task_id, "taskId")
        record = emulator.portal.get("tasks", wanted) if wanted is not None else None
        if record is None or not record.active:
            raise not_found(f"Object not found.  objectId are usually numeric. id={task_id}")
        _check_task(emulator, state, values, record)
        updated = emulator.writer.update("tasks", record.id, values, source=SOURCE)
        return JSONResponse(public_object(updated, list(values)))


def _check_task(
    emulator: HubSpotEmulator,
    state: WriteState,
    values: dict[str, str | None],
    record: Record | None = None,
) -> None:
    if record is None and not values.get("hs_timestamp"):
        raise bad_request("Property 'hs_timestamp' is required to create a task.")
    status = values.get("hs_task_status")
    if status is not None and status not in TASK_STATUSES:
        raise bad_request(f"{status} was not one of the allowed options: {sorted(TASK_STATUSES)}")
    owner = values.get("hubspot_owner_id")
    if owner and not any(o.id == owner and not o.archived for o in emulator.portal.owners):
        raise bad_request(f"{owner} is not a valid owner id")
    other = {k: v for k, v in values.items() if not k.startswith(("hs_task_", "hs_timestamp"))}
    errors = _property_errors(
        state, "tasks", record, {k: v for k, v in other.items() if k != "hubspot_owner_id"}
    )
    if errors:
        raise _invalid_properties(errors)


def _task_links(emulator: HubSpotEmulator, raw: Any) -> dict[str, Iterable[int]]:
    if not isinstance(raw, list):
        raise bad_request("'associations' must be a list.")
    links: dict[str, list[int]] = {}
    for item in raw:
        to_id = str((item.get("to") or {}).get("id", "")) if isinstance(item, dict) else ""
        types = item.get("types") if isinstance(item, dict) else None
        if not to_id.isdigit() or not isinstance(types, list) or not types:
            raise bad_request("Each association needs 'to': {'id'} and a non-empty 'types'.")
        for spec in types:
            type_id = spec.get("associationTypeId") if isinstance(spec, dict) else None
            to_type = TASK_LINK_TYPES.get(type_id) if isinstance(type_id, int) else None
            if to_type is None:
                raise bad_request(f"{type_id} is not a valid association type id for tasks.")
            target = emulator.portal.get(to_type, int(to_id))
            if target is None or not target.active:
                raise bad_request(f"No {to_type} with id {to_id} exists to associate with.")
            links.setdefault(to_type, []).append(int(to_id))
    return dict(links)


def _batch_routes(router: APIRouter, emulator: HubSpotEmulator, state: WriteState) -> None:
    @router.post("/crm/v3/objects/{object_type}/batch/update")
    async def batch_update(object_type: str, request: Request) -> JSONResponse:
        kind = params.object_type(object_type)
        if kind not in (CONTACTS, DEALS):
            raise bad_request(f"The sandbox updates contacts and deals in batches, not {kind}.")
        _require(state, OBJECT_WRITE_SCOPE[kind])
        inputs = (await params.json_body(request)).get("inputs")
        if not isinstance(inputs, list) or not inputs:
            raise bad_request('\'inputs\' must be a non-empty list of {"id", "properties"}.')
        if len(inputs) > BATCH_LIMIT:
            raise bad_request(
                f"Batch input size must be between 1 and {BATCH_LIMIT}, but was {len(inputs)}."
            )
        started = params.now_iso()
        planned, missing = _plan_batch(emulator, state, kind, inputs)
        results = [
            public_object(
                emulator.writer.update(kind, record.id, values, source=SOURCE), list(values)
            )
            for record, values in planned
        ]
        message = "Could not find some of the objects to update."
        return batch_answer(results, started, params.now_iso(), missing, message)


def _plan_batch(
    emulator: HubSpotEmulator, state: WriteState, kind: str, inputs: list[Any]
) -> tuple[list[tuple[Record, dict[str, str | None]]], list[str]]:
    """Every input checked before anything is written: one bad property fails the request."""
    planned: list[tuple[Record, dict[str, str | None]]] = []
    missing: list[str] = []
    seen: set[str] = set()
    errors: list[dict[str, Any]] = []
    for item in inputs:
        if not isinstance(item, dict) or not str(item.get("id", "")).isdigit():
            raise bad_request("Each input needs a numeric 'id' and 'properties'.")
        raw = str(item["id"])
        if raw in seen:
            raise bad_request(f"Duplicate IDs found in batch input: [{raw}].")
        seen.add(raw)
        values = _values(item.get("properties"))
        record = emulator.portal.resolve(kind, int(raw))
        if record is None or not record.active:
            missing.append(raw)
            continue
        errors += _property_errors(state, kind, record, values)
        planned.append((record, values))
    if errors:
        raise _invalid_properties(errors)
    return planned, missing


def _schema_routes(router: APIRouter, state: WriteState) -> None:
    # Registered before meta_routes so custom properties and groups are listed too.
    @router.get("/crm/v3/properties/{object_type}/groups")
    async def groups(object_type: str) -> JSONResponse:
        kind = params.object_type(object_type)
        return JSONResponse({"results": [g.json() for g in state.list_groups(kind)]})

    @router.post("/crm/v3/properties/{object_type}/groups", status_code=201)
    async def create_group(object_type: str, request: Request) -> JSONResponse:
        kind = params.object_type(object_type)
        _require(state, f"crm.schemas.{kind}.write")
        group = state.add_group(kind, await params.json_body(request))
        return JSONResponse(group.json(), status_code=201)

    @router.get("/crm/v3/properties/{object_type}")
    async def properties(object_type: str) -> JSONResponse:
        kind = params.object_type(object_type)
        every = [*DEFINITIONS[kind], *state.custom_properties(kind)]
        return JSONResponse({"results": [property_json(d, i) for i, d in enumerate(every)]})

    @router.post("/crm/v3/properties/{object_type}", status_code=201)
    async def create_property(object_type: str, request: Request) -> JSONResponse:
        kind = params.object_type(object_type)
        _require(state, f"crm.schemas.{kind}.write")
        definition = state.add_property(kind, await params.json_body(request))
        order = len(DEFINITIONS[kind]) + len(state.custom_properties(kind)) - 1
        return JSONResponse(_custom_json(property_json(definition, order)), status_code=201)

    @router.get("/crm/v3/properties/{object_type}/{name}")
    async def definition(object_type: str, name: str) -> JSONResponse:
        kind = params.object_type(object_type)
        found = state.definition(kind, name)
        if found is None:
            raise not_found(f"Property {name} does not exist.")
        return JSONResponse(_custom_json(property_json(found, 0)))


def _custom_json(body: dict[str, Any]) -> dict[str, Any]:
    if body.get("hubspotDefined"):
        return body
    meta = {"archivable": True, "readOnlyDefinition": False, "readOnlyValue": False}
    return {**body, "modificationMetadata": meta}
