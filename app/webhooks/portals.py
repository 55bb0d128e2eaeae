"""Which HubSpot portals' webhook events this slaguard accepts.

A signed event is still only worth storing if it is about a portal slaguard serves: a
HubSpot app installed in several portals signs them all with one secret, and an event for
another portal would create its records (and SLA clocks) from nowhere. The portals are
HUBSPOT_PORTAL_IDS when set, else the one HUBSPOT_ACCESS_TOKEN belongs to (read once from
the account details). Until one of them is known, webhooks are refused with 503, which
HubSpot retries for 24 hours.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from app import hubspot_client
from app.config import Settings

# HubSpot gives up on a request after 5 s: the first request waits this long for the read.
READ_WAIT_S = 3.0
# After a failed read, requests are refused at once for this long before the next try.
RETRY_AFTER_FAILURE_S = 30.0

NOT_CONFIGURED = (
    "slaguard does not know which HubSpot portal it serves: set HUBSPOT_PORTAL_IDS (or "
    "HUBSPOT_ACCESS_TOKEN, whose portal is then read from HubSpot)"
)


class PortalsUnknown(Exception):  # noqa: N818 (a state, not a failure of the caller)
    """The served portals are not known (yet); the message says why."""


def account_portal_reader(settings: Settings) -> Callable[[], int]:
    """Reads the portal id of HUBSPOT_ACCESS_TOKEN from HubSpot's account details."""

    def read() -> int:
        return hubspot_client.from_settings(settings).account_details().portal_id

    return read


class ServedPortals:
    """The accepted portal ids, read from HubSpot at most once per success.

    One per application; only its event loop calls `get`.
    """

    def __init__(self, settings: Settings, read_portal: Callable[[], int] | None = None) -> None:
        listed = frozenset(settings.hubspot_portal_ids)
        self._known: frozenset[int] | None = listed or None
        self._read: Callable[[], int] | None = None
        if not listed and settings.hubspot_access_token is not None:
            self._read = read_portal or account_portal_reader(settings)
        self._reading: asyncio.Future[int] | None = None
        self._failure: tuple[float, str] | None = None

    async def get(self) -> frozenset[int]:
        """The served portal ids; raises `PortalsUnknown` while they cannot be known."""
        if self._known is not None:
            return self._known
        if self._read is None:
            raise PortalsUnknown(NOT_CONFIGURED)
        if (
            self._failure is not None
            and time.monotonic() - self._failure[0] < RETRY_AFTER_FAILURE_S
        ):
            raise PortalsUnknown(self._failure[1])
        if self._reading is None:
            self._reading = asyncio.ensure_future(asyncio.to_thread(self._read))
            # Settles the outcome even when no request is left waiting for it.
            self._reading.add_done_callback(self._settle)
        # The outcome, failure included, is recorded by _settle; only the wait is ours.
        done, _ = await asyncio.wait({self._reading}, timeout=READ_WAIT_S)  # no cancel
        if not done:
            raise PortalsUnknown(
                "reading the HubSpot portal of HUBSPOT_ACCESS_TOKEN is taking long; "
                "webhooks are accepted once it is known"
            )
        if self._known is None:
            raise PortalsUnknown(self._failure[1] if self._failure else NOT_CONFIGURED)
        return self._known

    def _settle(self, reading: asyncio.Future[int]) -> None:
        self._reading = None
        if reading.cancelled():
            return
        error = reading.exception()
        if error is None:
            self._known = frozenset({reading.result()})
            return
        self._failure = (
            time.monotonic(),
            f"the HubSpot portal of HUBSPOT_ACCESS_TOKEN could not be read ({error}); "
            "set HUBSPOT_PORTAL_IDS or fix the token",
        )
