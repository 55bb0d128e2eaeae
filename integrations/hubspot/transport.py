"""One request to HubSpot: paced, retried, timed, and turned into JSON or a typed error.

The SDK raises each sub-package's own `ApiException`; they all carry `.status`, `.headers` and
`.body`, so errors are classified by status, never by class. Connection errors and timeouts
come from urllib3 directly (its own retries are switched off in the client so that every
attempt is paced and counted here).
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import orjson
import urllib3

from integrations.hubspot.errors import (
    HubSpotAuthError,
    HubSpotBadRequest,
    HubSpotError,
    HubSpotNotFound,
    HubSpotRateLimited,
    HubSpotResponseError,
    HubSpotServerError,
    HubSpotUnavailable,
)
from integrations.hubspot.limiter import RequestPacer, SystemTime, TimeSource
from integrations.hubspot.retry import RetryPolicy

log = logging.getLogger(__name__)

JSONObject = dict[str, Any]


@dataclass
class RequestStats:
    """What the client did; the sync run records it. Guarded by a lock (threads share it)."""

    requests: int = 0
    rate_limited: int = 0
    retries: int = 0
    http_seconds: float = 0.0
    parse_seconds: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, **deltas: float) -> None:
        with self._lock:
            for name, delta in deltas.items():
                setattr(self, name, getattr(self, name) + delta)

    def snapshot(self) -> dict[str, float]:
        with self._lock:
            return {
                "requests": self.requests,
                "rate_limited": self.rate_limited,
                "retries": self.retries,
                "http_seconds": self.http_seconds,
                "parse_seconds": self.parse_seconds,
            }


def _header(headers: Any, name: str) -> str | None:
    if headers is None:
        return None
    try:
        value = headers.get(name)
    except AttributeError:
        return None
    return None if value is None else str(value)


def _error_body(body: Any) -> JSONObject:
    if isinstance(body, bytes | str):
        try:
            parsed = json.loads(body)
        except ValueError:
            return {}
        return parsed if isinstance(parsed, dict) else {}
    return {}


def _retry_after(headers: Any) -> float | None:
    value = _header(headers, "Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def shown_url(base_url: str) -> str:
    """The API root as it may be printed: no user, password, query or fragment (a token could
    hide in any of them)."""
    parts = urlsplit(base_url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"  # an IPv6 literal
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))


def _no_answer_reason(exc: BaseException) -> str:
    """Why no answer came, in words: the OS error behind urllib3's wrapper when there is one
    (urllib3's own classes are no guide: a refused connection is a subclass of its timeout)."""
    chain: list[BaseException] = []
    seen: BaseException | None = exc
    while seen is not None and len(chain) < 10:
        chain.append(seen)
        seen = seen.__cause__ or seen.__context__
    words: list[tuple[type[BaseException] | tuple[type[BaseException], ...], str]] = [
        (
            (urllib3.exceptions.NameResolutionError, socket.gaierror),
            "its host name does not resolve",
        ),
        (ConnectionRefusedError, "connection refused"),
        (ConnectionResetError, "connection reset"),
        ((TimeoutError, urllib3.exceptions.TimeoutError), "no answer within the timeout"),
    ]
    for kinds, text in words:
        if any(isinstance(error, kinds) for error in chain):
            return text
    return type(exc).__name__


def classify(status: int, headers: Any, body: Any, what: str) -> HubSpotError:
    """A typed error for a non-2xx answer; the message names the call, never the token."""
    details = _error_body(body)
    correlation_id = details.get("correlationId") or _header(headers, "X-HubSpot-Correlation-Id")
    reason = str(details.get("message") or "").strip().rstrip(".")
    suffix = f": {reason}" if reason else ""
    if status in (401, 403):
        return HubSpotAuthError(
            "HubSpot rejected the access token (HTTP "
            f"{status}) while {what}; check HUBSPOT_ACCESS_TOKEN and the app's scopes.",
            status=status,
            correlation_id=correlation_id,
        )
    if status == 404:
        return HubSpotNotFound(
            f"HubSpot answered 404 while {what}{suffix}.",
            status=status,
            correlation_id=correlation_id,
        )
    if status == 429:
        return HubSpotRateLimited(
            f"HubSpot kept rate-limiting slaguard while {what} "
            f"({details.get('policyName') or 'unknown policy'}).",
            retry_after=_retry_after(headers),
            policy=details.get("policyName"),
            correlation_id=correlation_id,
        )
    if status >= 500:
        return HubSpotServerError(
            f"HubSpot failed with HTTP {status} while {what}{suffix}.",
            status=status,
            correlation_id=correlation_id,
        )
    return HubSpotBadRequest(
        f"HubSpot refused the request with HTTP {status} while {what}{suffix}.",
        status=status,
        correlation_id=correlation_id,
    )


class Transport:
    """Runs SDK calls that return raw urllib3 responses, with pacing and retries."""

    def __init__(
        self,
        pacer: RequestPacer,
        policy: RetryPolicy | None = None,
        *,
        time_source: TimeSource | None = None,
        stats: RequestStats | None = None,
        base_url: str = "",
    ) -> None:
        self.pacer = pacer
        # named in "did not answer" errors, so the user sees where slaguard looked
        self.where = f"HubSpot at {shown_url(base_url)}" if base_url else "HubSpot"
        self.policy = policy or RetryPolicy()
        self.time_source = time_source or SystemTime()
        self.stats = stats or RequestStats()

    def call(self, what: str, send: Callable[[], Any], *, search: bool = False) -> JSONObject:
        """`send()` performs one HTTP request through the SDK with `_preload_content=False`."""
        attempt = 0
        while True:
            slot = self.pacer.acquire(search=search)
            try:
                error = self._attempt(what, send)
            finally:
                self.pacer.release(slot)
            if isinstance(error, dict):
                return error
            if not self.policy.is_retryable(error) or attempt + 1 >= self.policy.max_attempts:
                raise error
            retry_after = error.retry_after if isinstance(error, HubSpotRateLimited) else None
            delay = self.policy.delay(attempt, retry_after)
            if isinstance(error, HubSpotRateLimited):
                # Everyone sharing this pacer waits, not only this thread.
                self.pacer.hold(delay)
            log.info("retrying in %.2fs after: %s", delay, error)
            self.stats.add(retries=1)
            self.time_source.sleep(delay)
            attempt += 1

    def _attempt(self, what: str, send: Callable[[], Any]) -> JSONObject | HubSpotError:
        started = time.perf_counter()
        self.stats.add(requests=1)
        try:
            response = send()
            raw = response.data
        except urllib3.exceptions.HTTPError as exc:
            self.stats.add(http_seconds=time.perf_counter() - started)
            return HubSpotUnavailable(
                f"{self.where} did not answer while {what} ({_no_answer_reason(exc)})."
            )
        except Exception as exc:
            status = getattr(exc, "status", None)
            if not isinstance(status, int) or not hasattr(exc, "body"):
                raise
            self.stats.add(http_seconds=time.perf_counter() - started)
            if status == 0:
                return HubSpotUnavailable(f"{self.where} could not be reached while {what}.")
            if status == 429:
                self.stats.add(rate_limited=1)
            return classify(status, getattr(exc, "headers", None), exc.body, what)
        parsed_at = time.perf_counter()
        self.stats.add(http_seconds=parsed_at - started)
        try:
            # Several times faster than json on 100-record pages. orjson reads an integer past
            # 64 bits as a float; CRM answers carry ids and values as strings and their numbers
            # (totals, v4 `toObjectId`, user ids) are far below that.
            body = orjson.loads(raw)
        except ValueError:
            return HubSpotResponseError(
                f"HubSpot answered with something other than JSON while {what}."
            )
        finally:
            self.stats.add(parse_seconds=time.perf_counter() - parsed_at)
        if not isinstance(body, dict):
            return HubSpotResponseError(f"HubSpot answered with unexpected JSON while {what}.")
        return body
