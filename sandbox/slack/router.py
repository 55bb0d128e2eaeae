"""The Slack emulator's routes: the Web API under `/api/` and the pages under `/slack/`."""

from __future__ import annotations

import json

from fastapi import APIRouter, FastAPI
from starlette.requests import Request
from starlette.responses import JSONResponse

from sandbox.slack.dispatch import answer_call
from sandbox.slack.outage import OutageSpecError, parse_outages
from sandbox.slack.pages import add_page_routes
from sandbox.slack.state import SlackEmulatorState


def create_slack_router(state: SlackEmulatorState) -> APIRouter:
    """Routes for one emulated workspace; point `SLACK_API_URL` at `http://host:port/api/`."""
    router = APIRouter()

    # Slack answers every method on GET and POST alike; slack_sdk always POSTs.
    @router.api_route("/api/{method}", methods=["GET", "POST"], include_in_schema=False)
    async def slack_web_api(method: str, request: Request) -> JSONResponse:
        return await answer_call(state, method, request)

    @router.get("/slack/api/faults")
    def slack_faults() -> JSONResponse:
        """The outage episodes in force and how many calls each has met."""
        with state.lock:
            return JSONResponse(state.outages.as_json())

    @router.post("/slack/api/faults")
    async def set_slack_faults(request: Request) -> JSONResponse:
        """Replaces the episodes: `{"outages": [{"status": 429, "retry_after": 1, "calls": 3,
        "methods": ["chat.postMessage"]}, {"status": 500, "seconds": 4}]}`; `[]` ends them."""
        try:
            outages = parse_outages(json.loads(await request.body()))
        except ValueError as error:  # bad JSON, or OutageSpecError
            message = str(error) if isinstance(error, OutageSpecError) else "invalid JSON"
            return JSONResponse({"error": message}, status_code=400)
        with state.lock:
            state.outages.replace(outages)
            return JSONResponse(state.outages.as_json())

    add_page_routes(router, state)
    return router


def create_slack_app(state: SlackEmulatorState) -> FastAPI:
    """An app with only the Slack emulator, for tests and for running it on its own."""
    app = FastAPI(title="Slack emulator", docs_url=None, redoc_url=None)
    app.include_router(create_slack_router(state))
    return app
