"""Reading a Web API request the way Slack does, and Slack's answer envelopes.

Slack takes arguments from the query string and from a form (`application/x-www-form-urlencoded`)
or JSON body. The token comes from `Authorization: Bearer …`, or from a `token` argument in the
query or form; a JSON body cannot carry it. API errors are HTTP 200 with `{"ok": false, "error"}`.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import JSONResponse


class SlackApiCallError(Exception):
    """A Slack API error answer; `extra` holds fields Slack sends beside `error`."""

    def __init__(self, error: str, status: int = 200, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.status = status
        self.extra = extra


class SlackRateLimitedError(SlackApiCallError):
    def __init__(self, retry_after: int) -> None:
        super().__init__("ratelimited", status=429)
        self.retry_after = retry_after


@dataclass
class ApiRequest:
    token: str | None
    params: dict[str, Any]
    warnings: list[str] = field(default_factory=list)


def _bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    return None


def _parse_json_body(body: bytes) -> dict[str, Any]:
    try:
        parsed = json.loads(body)
    except (ValueError, UnicodeDecodeError) as error:
        raise SlackApiCallError("invalid_json") from error
    if not isinstance(parsed, dict):
        raise SlackApiCallError("json_not_object")
    return parsed


async def read_api_request(request: Request) -> ApiRequest:
    """The token and arguments of a call, or SlackApiCallError for a body Slack would refuse."""
    params: dict[str, Any] = dict(request.query_params)
    warnings: list[str] = []
    body = await request.body()
    content_type = request.headers.get("content-type", "")
    media_type = content_type.split(";", 1)[0].strip().lower()
    body_token: str | None = None
    if body and media_type == "application/json":
        if "charset" not in content_type.lower():
            warnings.append("missing_charset")
        params.update(_parse_json_body(body))
        # Slack ignores a token inside a JSON body: it must come as a bearer token.
        params.pop("token", None)
    elif body and media_type in ("application/x-www-form-urlencoded", "text/plain", ""):
        try:
            form = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        except UnicodeDecodeError as error:
            raise SlackApiCallError("invalid_form_data") from error
        params.update(form)
        body_token = form.get("token")
    elif body:
        # multipart/form-data is only needed for file uploads, which this emulator lacks.
        raise SlackApiCallError(
            "invalid_form_data" if "form-data" in media_type else "invalid_post_type"
        )
    query_token = request.query_params.get("token")
    token = _bearer_token(request) or body_token or query_token
    params.pop("token", None)
    return ApiRequest(token=token, params=params, warnings=warnings)


def slack_headers(scopes: str, accepted: str = "") -> dict[str, str]:
    """Slack tells every caller the token's scopes and the ones the method accepts."""
    headers = {
        "x-oauth-scopes": scopes,
        "x-accepted-oauth-scopes": accepted,
        "x-slack-req-id": uuid.uuid4().hex,
    }
    return headers


def ok_response(
    payload: dict[str, Any], warnings: list[str], headers: dict[str, str]
) -> JSONResponse:
    body: dict[str, Any] = {"ok": True, **payload}
    if warnings:
        body["warning"] = ",".join(warnings)
        body["response_metadata"] = {"warnings": warnings}
    return JSONResponse(body, headers=headers)


def failure_response(failure: SlackApiCallError, headers: dict[str, str]) -> JSONResponse:
    body: dict[str, Any] = {"ok": False, "error": failure.error, **failure.extra}
    if isinstance(failure, SlackRateLimitedError):
        headers = {**headers, "Retry-After": str(failure.retry_after)}
    return JSONResponse(body, status_code=failure.status, headers=headers)


def string_param(params: dict[str, Any], name: str) -> str | None:
    """An argument as text; JSON numbers and booleans become text as Slack reads them."""
    value = params.get(name)
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, str)):
        return str(value)
    raise SlackApiCallError("invalid_arguments", errors=[f"{name} must be a string"])


def _json_param(params: dict[str, Any], name: str, error: str, kind: type) -> Any:
    """A JSON value of `kind`, given as one (JSON body) or as text (form); None when absent."""
    value = params.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError as parse_error:
            raise SlackApiCallError(error) from parse_error
    if not isinstance(value, kind):
        raise SlackApiCallError(error)
    return value


def json_list_param(params: dict[str, Any], name: str, error: str) -> list[Any] | None:
    """`blocks` or `attachments`: a JSON array."""
    value: list[Any] | None = _json_param(params, name, error, list)
    return value


def json_object_param(params: dict[str, Any], name: str, error: str) -> dict[str, Any] | None:
    """`metadata`: a JSON object."""
    value: dict[str, Any] | None = _json_param(params, name, error, dict)
    return value
