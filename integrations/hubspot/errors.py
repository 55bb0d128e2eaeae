"""Typed errors for everything that can go wrong talking to HubSpot.

Each carries the HTTP status (0 when no response came back) and HubSpot's correlation id when
there was one, so a log line or a support ticket can point at the exact request. Messages are
one sentence and never contain the access token: an application can show one to a person as
it is.
"""

from __future__ import annotations


class HubSpotError(Exception):
    """Base of every HubSpot failure."""

    def __init__(self, message: str, *, status: int = 0, correlation_id: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.correlation_id = correlation_id

    def __str__(self) -> str:
        return self.message


class HubSpotAuthError(HubSpotError):
    """The token was rejected (401) or lacks a scope (403): retrying cannot help."""


class HubSpotBadRequest(HubSpotError):  # noqa: N818 (named by the design)
    """A 4xx other than 401/403/404/429: the request itself is wrong, retrying cannot help."""


class HubSpotNotFound(HubSpotError):  # noqa: N818 (named by the design)
    """404: the object or endpoint does not exist."""


class HubSpotRateLimited(HubSpotError):  # noqa: N818 (named by the design)
    """429 that outlived the retries. `retry_after` is in seconds (None if not given)."""

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None,
        policy: str | None = None,
        status: int = 429,
        correlation_id: str | None = None,
    ) -> None:
        super().__init__(message, status=status, correlation_id=correlation_id)
        self.retry_after = retry_after
        self.policy = policy


class HubSpotServerError(HubSpotError):
    """5xx that outlived the retries."""


class HubSpotUnavailable(HubSpotError):  # noqa: N818 (named by the design)
    """No answer at all (connection refused, reset, timeout) after the retries."""


class HubSpotResponseError(HubSpotError):
    """A 2xx answer whose body is not the JSON shape HubSpot documents."""
