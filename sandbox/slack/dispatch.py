"""One Web API call from request to answer, in Slack's order: method, faults, auth, limits, work."""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import JSONResponse

from sandbox.slack.faults import FAULT_STATUS, Fault
from sandbox.slack.methods import METHOD_SCOPES, METHODS, CallContext
from sandbox.slack.state import CallRecord, SlackEmulatorState
from sandbox.slack.wire import (
    ApiRequest,
    SlackApiCallError,
    SlackRateLimitedError,
    failure_response,
    ok_response,
    read_api_request,
    slack_headers,
)


async def answer_call(state: SlackEmulatorState, method: str, request: Request) -> JSONResponse:
    with state.lock:
        fault = state.faults.draw()
        outage = state.outages.meet(method) if method in METHODS else None
    fault_name = fault.value if fault is not None else None
    if outage is not None:
        fault_name = f"outage_{outage.status}" if outage.status else "outage_late_answer"
    headers = slack_headers(",".join(sorted(state.scopes)), METHOD_SCOPES.get(method, ""))
    try:
        if fault is Fault.SLOW:
            await asyncio.sleep(state.faults.slow_seconds)
        elif fault is not None:
            raise SlackApiCallError(fault.value, status=FAULT_STATUS[fault])
        failure = outage.failure() if outage is not None else None
        if failure is not None:
            raise failure
        response = await _answer(state, method, request, headers)
    except SlackApiCallError as failure:
        state.record_call(CallRecord(method, failure.status, failure.error, fault_name))
        return failure_response(failure, headers)
    state.record_call(CallRecord(method, response.status_code, None, fault_name))
    if outage is not None and outage.answer_after_seconds:
        # The work is done and recorded; only the answer is late (a caller killed now has
        # posted without knowing it).
        await asyncio.sleep(outage.answer_after_seconds)
    return response


def _check_token(state: SlackEmulatorState, call: ApiRequest, method: str) -> None:
    if call.token is None:
        raise SlackApiCallError("not_authed")
    if call.token in state.revoked_tokens:
        raise SlackApiCallError("token_revoked")
    if call.token not in state.tokens:
        raise SlackApiCallError("invalid_auth")
    needed = METHOD_SCOPES.get(method)
    if needed is not None and needed not in state.scopes:
        provided = ",".join(sorted(state.scopes))
        raise SlackApiCallError("missing_scope", needed=needed, provided=provided)


async def _answer(
    state: SlackEmulatorState, method: str, request: Request, headers: dict[str, str]
) -> JSONResponse:
    handler = METHODS.get(method)
    if handler is None:
        raise SlackApiCallError("unknown_method", status=404, req_method=method)
    call = await read_api_request(request)
    with state.lock:
        _check_token(state, call, method)
        if state.rate_limits:
            retry_after = state.limiter.method_wait(method)
            if retry_after is not None:
                raise SlackRateLimitedError(retry_after)
        payload = handler(CallContext(state=state, params=call.params))
    return ok_response(payload, call.warnings, headers)
