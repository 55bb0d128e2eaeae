"""The Slack emulator's routes: the Web API under `/api/` and the pages under `/slack/`."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from starlette.requests import Request
from starlette.responses import JSONResponse

from sandbox.slack.dispatch import answer_call
from sandbox.slack.pages import add_page_routes
from sandbox.slack.state import SlackEmulatorState


def create_slack_router(state: SlackEmulatorState) -> APIRouter:
    """Routes for one emulated workspace; point `SLACK_API_URL` at `http://host:port/api/`."""
    router = APIRouter()

    # Slack answers every method on GET and POST alike; slack_sdk always POSTs.
    @router.api_route("/api/{method}", methods=["GET", "POST"], include_in_schema=False)
    async def slack_web_api(method: str, request: Request) -> JSONResponse:
        return await answer_call(state, method, request)

    add_page_routes(router, state)
    return router


def create_slack_app(state: SlackEmulatorState) -> FastAPI:
    """An app with only the Slack emulator, for tests and for running it on its own."""
    app = FastAPI(title="Slack emulator", docs_url=None, redoc_url=None)
    app.include_router(create_slack_router(state))
    return app
