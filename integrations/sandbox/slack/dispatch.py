"""One Web API call from request to answer, in Slack's order: method, faults, auth, limits, work."""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import JSONResponse

from integrations.sandbox.slack.faults import FAULT_STATUS, Fault
from integrations.sandbox.slack.methods import METHODS, CallContext
from integrations.sandbox.slack.state import CallRecord, SlackEmulatorState
from integrations.sandbox.slack.wire import (
    SlackApiCallError,
    SlackRateLimitedError,
    failure_response,
    ok_response,
    read_api_request,
)


async def answer_call(state: SlackEmulatorState, method: str, request: Request) -> JSONResponse:
    with state.lock:
        fault = state.faults.draw()
    fault_name = fault.value if fault is not None else None
    try:
        if fault is Fault.SLOW:
            await asyncio.sleep(state.faults.slow_seconds)
        elif fault is not None:
            raise SlackApiCallError(fault.value, status=FAULT_STATUS[fault])
        response = await _answer(state, method, request)
    except SlackApiCallError as failure:
        response = failure_response(failure)
        state.record_call(CallRecord(method, failure.status, failure.error, fault_name))
        return response
    state.record_call(CallRecord(method, response.status_code, None, fault_name))
    return response


async def _answer(state: SlackEmulatorState, method: str, request: Request) -> JSONResponse:
    handler = METHODS.get(method)
    if handler is None:
        raise SlackApiCallError("unknown_method", status=404, req_method=method)
    call = await read_api_request(request)
    if call.token is None:
        raise SlackApiCallError("not_authed")
    if call.token not in state.tokens:
        raise SlackApiCallError("invalid_auth")
    with state.lock:
        if state.rate_limits:
            retry_after = state.limiter.method_wait(method)
            if retry_after is not None:
                raise SlackRateLimitedError(retry_after)
        payload = handler(CallContext(state=state, params=call.params))
    return ok_response(payload, call.warnings)
