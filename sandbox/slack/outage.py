"""An outage a test switches on: Web API calls answer 429 or 5xx, or answer late, for a while.

Where `faults.FaultInjector` draws random faults at a rate for a whole run, an outage is a
scripted episode: "the next 3 `chat.postMessage` calls get 429 with Retry-After 1", "every
call fails with 500 for the next 4 seconds". Set over HTTP (`POST /slack/api/faults`) so a
test can turn it on against a sandbox that serves another process, and read back (`GET`) with
how many calls each episode has failed.

An episode with `answer_after_seconds` does not fail the call: the work is done (the message
is posted) and the answer is held back, which is the moment a test kills the caller in to
find out whether it posts again after a restart.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sandbox.slack.faults import FAULT_STATUS
from sandbox.slack.wire import SlackApiCallError, SlackRateLimitedError

FAILURE_STATUSES = (429, 500, 503)
_ERRORS = {status: fault.value for fault, status in FAULT_STATUS.items()}


class OutageSpecError(ValueError):
    """A faults request the sandbox cannot act on; its message says which field and why."""


@dataclass
class Outage:
    """One episode. It ends when `calls` calls have met it or `seconds` have passed (both
    may be given: whichever comes first); with neither it lasts until cleared."""

    status: int | None = None  # 429, 500 or 503; None with answer_after_seconds
    retry_after: int = 1  # the Retry-After of a 429, whole seconds as Slack sends
    calls: int | None = None
    seconds: float | None = None
    methods: frozenset[str] | None = None  # None: every Web API method
    answer_after_seconds: float = 0.0
    started: float = 0.0
    met: int = 0  # calls this episode has acted on so far

    def applies(self, method: str, now: float) -> bool:
        if self.methods is not None and method not in self.methods:
            return False
        return not self.over(now)

    def over(self, now: float) -> bool:
        if self.calls is not None and self.met >= self.calls:
            return True
        return self.seconds is not None and now - self.started >= self.seconds

    def failure(self) -> SlackApiCallError | None:
        if self.status is None:
            return None
        if self.status == 429:
            return SlackRateLimitedError(self.retry_after)
        return SlackApiCallError(_ERRORS[self.status], status=self.status)

    def as_json(self, now: float) -> dict[str, Any]:
        return {
            "status": self.status,
            "retry_after": self.retry_after,
            "calls": self.calls,
            "seconds": self.seconds,
            "methods": sorted(self.methods) if self.methods is not None else None,
            "answer_after_seconds": self.answer_after_seconds,
            "met": self.met,
            "over": self.over(now),
        }


@dataclass
class OutageSwitch:
    """The episodes in force, in the order given: a call meets the first that applies."""

    clock: Callable[[], float] = time.monotonic
    outages: list[Outage] = field(default_factory=list)

    def replace(self, outages: list[Outage]) -> None:
        now = self.clock()
        for outage in outages:
            outage.started = now
        self.outages = outages

    def meet(self, method: str) -> Outage | None:
        """The episode this call meets (and counts against), if any. Hold the state's lock."""
        now = self.clock()
        for outage in self.outages:
            if outage.applies(method, now):
                outage.met += 1
                return outage
        return None

    def as_json(self) -> dict[str, Any]:
        now = self.clock()
        return {"outages": [outage.as_json(now) for outage in self.outages]}


def parse_outages(body: Any) -> list[Outage]:
    """`{"outages": [{"status": 429, "retry_after": 1, "calls": 3, "methods": [...]}, ...]}`;
    an empty list ends every episode."""
    if not isinstance(body, Mapping) or not isinstance(body.get("outages"), list):
        raise OutageSpecError('expected a JSON object {"outages": [...]}')
    return [_outage(item, index) for index, item in enumerate(body["outages"])]


def _outage(item: Any, index: int) -> Outage:
    where = f"outages[{index}]"
    if not isinstance(item, Mapping):
        raise OutageSpecError(f"{where} must be an object")
    unknown = set(item) - {
        "status",
        "retry_after",
        "calls",
        "seconds",
        "methods",
        "answer_after_seconds",
    }
    if unknown:
        raise OutageSpecError(f"{where} has unknown fields: {', '.join(sorted(unknown))}")
    status = item.get("status")
    delay = _number(item, "answer_after_seconds", where, default=0.0)
    if status is None and not delay:
        raise OutageSpecError(f"{where} needs a status (429, 500, 503) or answer_after_seconds")
    if status is not None and status not in FAILURE_STATUSES:
        raise OutageSpecError(f"{where}.status must be one of 429, 500, 503, got {status!r}")
    retry_after = item.get("retry_after", 1)
    if not isinstance(retry_after, int) or isinstance(retry_after, bool) or retry_after < 1:
        raise OutageSpecError(f"{where}.retry_after must be a whole number of seconds >= 1")
    calls = item.get("calls")
    if calls is not None and (not isinstance(calls, int) or isinstance(calls, bool) or calls < 1):
        raise OutageSpecError(f"{where}.calls must be a whole number >= 1")
    seconds = item.get("seconds")
    if seconds is not None:
        seconds = _number(item, "seconds", where, default=0.0)
    return Outage(
        status=status,
        retry_after=retry_after,
        calls=calls,
        seconds=seconds,
        methods=_methods(item.get("methods"), where),
        answer_after_seconds=delay,
    )


def _number(item: Mapping[str, Any], name: str, where: str, default: float) -> float:
    value = item.get(name, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise OutageSpecError(f"{where}.{name} must be a number of seconds >= 0")
    return float(value)


def _methods(value: Any, where: str) -> frozenset[str] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not value or not all(isinstance(m, str) for m in value):
        raise OutageSpecError(f"{where}.methods must be a non-empty list of method names")
    return frozenset(value)
