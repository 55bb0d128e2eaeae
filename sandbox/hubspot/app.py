"""The HubSpot emulator as an ASGI app: auth, limits and faults in front of the CRM routes."""

from __future__ import annotations

from fastapi import FastAPI

from sandbox.hubspot import meta_routes, objects_routes, write_routes
from sandbox.hubspot.errors import HubSpotError, hubspot_error_handler
from sandbox.hubspot.front_door import FrontDoor
from sandbox.hubspot.state import HubSpotEmulator


def create_hubspot_app(emulator: HubSpotEmulator) -> FastAPI:
    app = FastAPI(title="slaguard sandbox: HubSpot", docs_url=None, redoc_url=None)
    app.add_exception_handler(HubSpotError, hubspot_error_handler)
    # Writes first: they extend the property listing the read routes also answer.
    app.include_router(write_routes.build_router(emulator))
    app.include_router(objects_routes.build_router(emulator))
    app.include_router(meta_routes.build_router(emulator))

    app.add_middleware(FrontDoor, emulator=emulator)
    return app
