"""Sends portal changes to a webhook target the way HubSpot does.

JSON arrays of at most 100 events, signed with signature v3:
    X-HubSpot-Signature-v3 = base64(HMAC-SHA256(client_secret, method + uri + body + timestamp))
    X-HubSpot-Request-Timestamp = milliseconds since the epoch
A delivery fails on a connection error, on no answer within 5 s, or on any status other than
2xx; it is retried (attemptNumber goes up, the signature is made anew) with growing pauses.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from sandbox.portal.shapes import SINGULAR
from sandbox.portal.writer import Change

BATCH_SIZE = 100
TIMEOUT_SECONDS = 5.0
DEFAULT_RETRY_PAUSES = (0.2, 0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0, 60.0)
WEBHOOK_TYPES = frozenset({"contacts", "deals"})
SUBSCRIPTION_IDS = {
    "creation": 1001,
    "deletion": 1002,
    "propertyChange": 1003,
    "merge": 1004,
    "associationChange": 1005,
}


def sign_v3(secret: str, method: str, uri: str, body: str, timestamp_ms: str) -> str:
    source = f"{method}{uri}{body}{timestamp_ms}".encode()
    digest = hmac.new(secret.encode(), source, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


@dataclass(frozen=True)
class Delivery:
    """One POST attempt, as the control API and tests see it (never the secret)."""

    attempt: int
    events: int
    status: int | None  # None: no answer (connection error or timeout)
    error: str | None
    at_ms: int


@dataclass
class WebhookSender:
    target_url: str
    client_secret: str
    portal_id: int
    app_id: int
    retry_pauses: tuple[float, ...] = DEFAULT_RETRY_PAUSES
    sleep: Callable[[float], None] = time.sleep
    deliveries: list[Delivery] = field(default_factory=list)
    delivered_events: int = 0
    dead_events: int = 0

    def __post_init__(self) -> None:
        self._event_ids = itertools.count(int(time.time()) * 1000)
        self._queue: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = False
        self._worker: threading.Thread | None = None
        self._client = httpx.Client(timeout=TIMEOUT_SECONDS)

    # --- collecting ---------------------------------------------------------------------------

    def on_changes(self, changes: list[Change]) -> None:
        events = [self.event_for(change) for change in changes]
        with self._lock:
            self._queue += [e for e in events if e is not None]
        self._wake.set()

    def event_for(self, change: Change) -> dict[str, Any] | None:
        """HubSpot's event for a change, or None: webhook subscriptions exist for contacts and
        deals (and objects the sandbox does not have), not for calls, emails and the like."""
        if change.object_type not in WEBHOOK_TYPES:
            return None
        singular = SINGULAR[change.object_type]
        event: dict[str, Any] = {
            "eventId": next(self._event_ids),
            "subscriptionId": SUBSCRIPTION_IDS[change.kind],
            "portalId": self.portal_id,
            "appId": self.app_id,
            "occurredAt": change.occurred_ms,
            "subscriptionType": f"{singular}.{change.kind}",
            "attemptNumber": 0,
            "objectId": change.object_id,
            "changeSource": change.change_source,
        }
        if change.kind == "propertyChange":
            event["propertyName"] = change.property_name
            event["propertyValue"] = change.property_value or ""
        if change.kind == "merge":
            event["primaryObjectId"] = change.object_id
            event["mergedObjectIds"] = list(change.merged_object_ids)
            event["newObjectId"] = change.object_id
        if change.kind == "associationChange":
            to_type = SINGULAR.get(change.to_object_type or "", "")
            event["associationType"] = f"{singular.upper()}_TO_{to_type.upper()}"
            event["fromObjectId"] = change.object_id
            event["toObjectId"] = change.to_object_id
            event["associationRemoved"] = False
        return event

    def pending(self) -> int:
        with self._lock:
            return len(self._queue)

    # --- sending --------------------------------------------------------------------------------

    def flush(self) -> int:
        """Sends everything queued now, in batches, retrying each; returns events delivered."""
        delivered = 0
        while True:
            with self._lock:
                batch, self._queue = self._queue[:BATCH_SIZE], self._queue[BATCH_SIZE:]
            if not batch:
                return delivered
            if self._deliver(batch):
                delivered += len(batch)

    def _deliver(self, batch: list[dict[str, Any]]) -> bool:
        for attempt, pause in enumerate((*self.retry_pauses, None)):
            if self._post(batch, attempt):
                self.delivered_events += len(batch)
                return True
            if pause is None or self._stopping:
                break
            self.sleep(pause)
        self.dead_events += len(batch)
        return False

    def _post(self, batch: list[dict[str, Any]], attempt: int) -> bool:
        body = json.dumps([{**event, "attemptNumber": attempt} for event in batch])
        timestamp = str(time.time_ns() // 1_000_000)
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "HubSpot Connect 2.0 (http://dev.hubspot.com/) (namespace: webhooks-nio)",
            "X-HubSpot-Signature-v3": sign_v3(
                self.client_secret, "POST", self.target_url, body, timestamp
            ),
            "X-HubSpot-Request-Timestamp": timestamp,
        }
        status, error = None, None
        try:
            response = self._client.post(self.target_url, content=body, headers=headers)
            status = response.status_code
        except httpx.HTTPError as exc:
            error = type(exc).__name__
        self.deliveries.append(Delivery(attempt, len(batch), status, error, int(timestamp)))
        return status is not None and 200 <= status < 300

    # --- in the background ------------------------------------------------------------------------

    def start(self) -> None:
        """Delivers in a thread as changes arrive (what `slaguard sandbox` does)."""
        if self._worker is None:
            self._worker = threading.Thread(target=self._run, name="sandbox-webhooks", daemon=True)
            self._worker.start()

    def _run(self) -> None:
        while not self._stopping:
            self._wake.wait(timeout=1.0)
            self._wake.clear()
            self.flush()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._worker is not None:
            self._worker.join(timeout=5)
        self._client.close()
