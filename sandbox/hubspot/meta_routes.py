"""Owners, pipelines, property definitions, account details and v4 associations."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from sandbox.hubspot import params
from sandbox.hubspot.errors import bad_request, not_found
from sandbox.hubspot.responses import FastJSONResponse as JSONResponse
from sandbox.hubspot.state import HubSpotEmulator
from sandbox.portal.catalog import DEFINITIONS, PropertyDefinition
from sandbox.portal.owners import Owner
from sandbox.portal.shapes import ASSOCIATION_TYPE_IDS, PIPELINES, Pipeline
from sandbox.portal.timeline import iso_ms

OWNERS_LIMIT = 500
ASSOCIATION_BATCH_LIMIT = 1000
CATALOG_CREATED_MS = 1_546_300_800_000  # 2019-01-01: when the portal was set up


def owner_json(owner: Owner) -> dict[str, Any]:
    return {
        "id": owner.id,
        "email": owner.email,
        "type": "PERSON",
        "firstName": owner.first_name,
        "lastName": owner.last_name,
        # A deactivated user keeps userIdIncludingInactive but loses userId.
        "userId": None if owner.archived else owner.user_id,
        "userIdIncludingInactive": owner.user_id,
        "createdAt": iso_ms(owner.created_ms),
        "updatedAt": iso_ms(owner.updated_ms),
        "archived": owner.archived,
        "teams": [{"id": owner.team.id, "name": owner.team.name, "primary": True}],
    }


def pipeline_json(pipeline: Pipeline, order: int) -> dict[str, Any]:
    stamp = iso_ms(CATALOG_CREATED_MS)
    stages = [
        {
            "id": stage.id,
            "label": stage.label,
            "displayOrder": position,
            # HubSpot sends stage metadata values as strings.
            "metadata": {
                "isClosed": "true" if stage.is_closed else "false",
                "probability": str(stage.probability),
            },
            "createdAt": stamp,
            "updatedAt": stamp,
            "archived": False,
            "writePermissions": "CRUD_ALL",
        }
        for position, stage in enumerate(pipeline.stages)
    ]
    return {
        "id": pipeline.id,
        "label": pipeline.label,
        "displayOrder": order,
        "stages": stages,
        "createdAt": stamp,
        "updatedAt": stamp,
        "archived": False,
    }


def property_json(definition: PropertyDefinition, order: int) -> dict[str, Any]:
    stamp = iso_ms(CATALOG_CREATED_MS)
    return {
        "name": definition.name,
        "label": definition.label,
        "type": definition.type,
        "fieldType": definition.field_type,
        "description": "",
        "groupName": definition.group,
        "options": [
            {"label": label, "value": value, "displayOrder": i, "hidden": False}
            for i, (value, label) in enumerate(definition.options)
        ],
        "displayOrder": order,
        "calculated": False,
        "externalOptions": False,
        "hasUniqueValue": False,
        "hidden": False,
        "hubspotDefined": definition.hubspot_defined,
        "formField": definition.type != "datetime",
        "createdAt": stamp,
        "updatedAt": stamp,
        "archived": False,
        "modificationMetadata": {
            "archivable": False,
            "readOnlyDefinition": True,
            "readOnlyValue": False,
        },
    }


def build_router(emulator: HubSpotEmulator) -> APIRouter:
    router = APIRouter()

    @router.get("/crm/v3/owners")
    @router.get("/crm/v3/owners/")
    async def owners(request: Request) -> JSONResponse:
        limit = params.integer(request, "limit", 100, 1, OWNERS_LIMIT)
        archived = params.flag(request, "archived")
        email = request.query_params.get("email")
        chosen = [
            o
            for o in emulator.portal.owners
            if o.archived == archived and (email is None or o.email == email.lower())
        ]
        after = params.integer(request, "after", 0, 0, 10**9)
        page = chosen[after : after + limit]
        answer: dict[str, Any] = {"results": [owner_json(o) for o in page]}
        if after + limit < len(chosen):
            answer["paging"] = {"next": {"after": str(after + limit)}}
        return JSONResponse(answer)

    @router.get("/crm/v3/owners/{owner_id}")
    async def owner(owner_id: str, request: Request) -> JSONResponse:
        archived = params.flag(request, "archived")
        for candidate in emulator.portal.owners:
            if candidate.id == owner_id and candidate.archived == archived:
                return JSONResponse(owner_json(candidate))
        raise not_found(f"Owner {owner_id} not found.")

    @router.get("/crm/v3/pipelines/{object_type}")
    async def pipelines(object_type: str) -> JSONResponse:
        if params.object_type(object_type) != "deals":
            return JSONResponse({"results": []})
        return JSONResponse({"results": [pipeline_json(p, i) for i, p in enumerate(PIPELINES)]})

    @router.get("/crm/v3/pipelines/{object_type}/{pipeline_id}")
    async def pipeline(object_type: str, pipeline_id: str) -> JSONResponse:
        if params.object_type(object_type) == "deals":
            for order, candidate in enumerate(PIPELINES):
                if candidate.id == pipeline_id:
                    return JSONResponse(pipeline_json(candidate, order))
        raise not_found(f"Pipeline {pipeline_id} not found.")

    @router.get("/crm/v3/properties/{object_type}")
    async def properties(object_type: str) -> JSONResponse:
        kind = params.object_type(object_type)
        return JSONResponse(
            {"results": [property_json(d, i) for i, d in enumerate(DEFINITIONS[kind])]}
        )

    @router.get("/crm/v3/properties/{object_type}/{name}")
    async def property_definition(object_type: str, name: str) -> JSONResponse:
        for order, definition in enumerate(DEFINITIONS[params.object_type(object_type)]):
            if definition.name == name:
                return JSONResponse(property_json(definition, order))
        raise not_found(f"Property {name} does not exist.")

    @router.get("/account-info/v3/details")
    async def account() -> JSONResponse:
        config = emulator.portal.config
        return JSONResponse(
            {
                "portalId": emulator.portal.portal_id,
                "accountType": "STANDARD",
                "timeZone": config.time_zone,
                "companyCurrency": config.currency,
                "additionalCurrencies": [],
                "utcOffset": "",
                "utcOffsetMilliseconds": 0,
                "uiDomain": "app.hubspot.com",
                "dataHostingLocation": "na1",
            }
        )

    @router.post("/crm/v4/associations/{from_type}/{to_type}/batch/read")
    async def associations(from_type: str, to_type: str, request: Request) -> JSONResponse:
        source, target = params.object_type(from_type), params.object_type(to_type)
        inputs = (await params.json_body(request)).get("inputs")
        if not isinstance(inputs, list):
            raise bad_request("'inputs' must be a list of {\"id\": ...} objects.")
        if len(inputs) > ASSOCIATION_BATCH_LIMIT:
            raise bad_request(
                f"Association batch read takes at most {ASSOCIATION_BATCH_LIMIT} inputs; "
                f"got {len(inputs)}."
            )
        started = params.now_iso()
        type_id = ASSOCIATION_TYPE_IDS.get((source, target), 0)
        spec = [{"category": "HUBSPOT_DEFINED", "typeId": type_id, "label": None}]
        results = []
        for item in inputs:
            raw = str(item.get("id")) if isinstance(item, dict) else ""
            record = emulator.portal.get(source, int(raw)) if raw.isdigit() else None
            if record is None or not record.active:
                continue
            linked = emulator.portal.associated_ids(source, record.id, target)
            if linked:
                results.append(
                    {
                        "from": {"id": raw},
                        "to": [{"toObjectId": i, "associationTypes": spec} for i in linked],
                    }
                )
        answer = {
            "status": "COMPLETE",
            "results": results,
            "startedAt": started,
            "completedAt": params.now_iso(),
        }
        return JSONResponse(answer)

    return router
