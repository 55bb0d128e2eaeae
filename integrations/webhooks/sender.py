"""Sends one signed webhook request and says what the answer means for the outbox.

- a 2xx within the timeout: delivered;
- a redirect: a failure (never followed: the next hop could be anywhere, inside too);
- 410 Gone: the endpoint is gone, disable it;
- 429 / 503 (and any answer with `Retry-After`): try again, not before that time;
- anything else, a timeout or a network error: try again later;
- an address the guard refuses: refused, not retried (the config must change).
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from enum import StrEnum

import httpx

from integrations.webhooks.guard import (
    AddressRefused,
    ResolutionFailed,
    Resolver,
    system_resolver,
    vetted_addresses,
)
from integrations.webhooks.signing import WebhookSecret, signature_headers

DEFAULT_TIMEOUT = 15.0
EXCERPT_BYTES = 1024
USER_AGENT = "slaguard-webhooks/1"


class Outcome(StrEnum):
    DELIVERED = "delivered"
    RETRY = "retry"
    GONE = "gone"
    REFUSED = "refused"


@dataclass(frozen=True, slots=True)
class SendResult:
    outcome: Outcome
    status: int | None
    duration: float
    retry_after: float | None = None
    excerpt: str = ""
    error: str | None = None


class GuardedTransport(httpx.BaseTransport):
    """Resolves the host itself, checks every address, and connects to the checked one, so
    the name cannot resolve somewhere else between the check and the connection."""

    def __init__(
        self, *, allow_private: bool, resolver: Resolver, inner: httpx.BaseTransport
    ) -> None:
        self._allow_private = allow_private
        self._resolver = resolver
        self._inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        host = request.url.host
        addresses = vetted_addresses(
            str(request.url), allow_private=self._allow_private, resolver=self._resolver
        )
        # The Host header already names the host; TLS checks the certificate against it too.
        request.extensions["sni_hostname"] = host
        request.url = request.url.copy_with(host=str(addresses[0]))
        return self._inner.handle_request(request)

    def close(self) -> None:
        self._inner.close()


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """`Retry-After` as seconds: delta-seconds or an HTTP date; None when absent or garbled."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def classify(status: int) -> Outcome:
    if 200 <= status < 300:
        return Outcome.DELIVERED
    if status == 410:
        return Outcome.GONE
    return Outcome.RETRY


class WebhookSender:
    def __init__(
        self,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        allow_private: bool = False,
        resolver: Resolver = system_resolver,
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        """`verify` is for tests with their own certificate authority; leave it on."""
        self.timeout = timeout
        transport = GuardedTransport(
            allow_private=allow_private,
            resolver=resolver,
            inner=httpx.HTTPTransport(verify=verify),
        )
        self._client = httpx.Client(
            transport=transport,
            timeout=httpx.Timeout(timeout),
            follow_redirects=False,
            headers={"user-agent": USER_AGENT},
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> WebhookSender:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def send(
        self,
        url: str,
        message_id: str,
        body: bytes,
        secrets: Sequence[WebhookSecret],
        *,
        timestamp: int | None = None,
    ) -> SendResult:
        """POST `body` signed with every secret; `message_id` stays the same across retries."""
        signed_at = int(time.time()) if timestamp is None else timestamp
        headers = {
            "content-type": "application/json",
            **signature_headers(secrets, message_id, signed_at, body),
        }
        started = time.monotonic()
        try:
            return self._post(url, body, headers, started)
        except AddressRefused as refused:
            return SendResult(Outcome.REFUSED, None, _since(started), error=str(refused))
        except (ResolutionFailed, httpx.HTTPError) as failure:
            error = f"{type(failure).__name__}: {failure}"
            return SendResult(Outcome.RETRY, None, _since(started), error=error)

    def _post(self, url: str, body: bytes, headers: dict[str, str], started: float) -> SendResult:
        with self._client.stream("POST", url, content=body, headers=headers) as response:
            excerpt = _read_excerpt(response)
        duration = _since(started)
        status = response.status_code
        wait = retry_after_seconds(response.headers.get("retry-after"), datetime.now(UTC))
        outcome = classify(status)
        error = None
        if outcome is Outcome.DELIVERED and duration > self.timeout:
            outcome, error = Outcome.RETRY, f"answered after {duration:.1f} s"
        elif 300 <= status < 400:
            error = "redirects are not followed"
        elif outcome is not Outcome.DELIVERED:
            error = f"HTTP {status}"
        return SendResult(outcome, status, duration, wait, excerpt, error)


def _read_excerpt(response: httpx.Response) -> str:
    taken = bytearray()
    for chunk in response.iter_bytes():
        taken += chunk
        if len(taken) >= EXCERPT_BYTES:
            break
    return bytes(taken[:EXCERPT_BYTES]).decode("utf-8", errors="replace")


def _since(started: float) -> float:
    return time.monotonic() - started
