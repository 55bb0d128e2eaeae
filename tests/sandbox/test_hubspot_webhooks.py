"""Webhooks from the emulator: HubSpot's event shape, batches, signature v3, retries."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from hubspot.utils.signature import Signature

from sandbox.hubspot.webhooks import WebhookSender


@dataclass
class Receiver:
    """A webhook endpoint on loopback that records requests and fails the first `failures`."""

    url: str = ""
    failures: int = 0
    requests: list[dict] = field(default_factory=list)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"])).decode()
            state.requests.append({"headers": dict(self.headers), "body": body, "path": self.path})
            failing = state.failures > 0
            state.failures -= 1
            self.send_response(500 if failing else 204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/webhooks/hubspot?source=sandbox"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()


def _fast_retries(sandbox) -> WebhookSender:
    sender = sandbox.emulator.webhooks
    sender.retry_pauses = (0.01, 0.01, 0.01)
    return sender


def test_changes_arrive_signed_with_v3_and_verify_with_hubspots_code(sandbox_factory, receiver):
    sandbox = sandbox_factory(webhook_target=receiver.url)
    contact = next(t for t in sandbox.portal.truth("contacts") if not t.archived)
    sandbox.emulator.writer.update("contacts", contact.id, {"hs_lead_status": "CONNECTED"})
    assert sandbox.emulator.webhooks.flush() == 1
    [request] = receiver.requests
    headers = request["headers"]
    assert Signature.is_valid(
        signature=headers["X-HubSpot-Signature-v3"],
        client_secret=sandbox.client_secret,
        request_body=request["body"],
        http_uri=receiver.url,
        http_method="POST",
        signature_version="v3",
        timestamp=headers["X-HubSpot-Request-Timestamp"],
    )
    assert not Signature.is_valid(
        signature=headers["X-HubSpot-Signature-v3"],
        client_secret="another-secret",
        request_body=request["body"],
        http_uri=receiver.url,
        signature_version="v3",
        timestamp=headers["X-HubSpot-Request-Timestamp"],
    )
    [event] = json.loads(request["body"])
    assert event["subscriptionType"] == "contact.propertyChange"
    assert event["objectId"] == contact.id
    assert event["propertyName"] == "hs_lead_status"
    assert event["propertyValue"] == "CONNECTED"
    assert event["portalId"] == sandbox.portal.portal_id
    assert event["attemptNumber"] == 0
    assert isinstance(event["occurredAt"], int)


def test_events_are_sent_in_arrays_of_at_most_one_hundred(sandbox_factory, receiver):
    sandbox = sandbox_factory(webhook_target=receiver.url, limits=False)
    changed = sandbox.emulator.activity.mutate("contacts", 150)
    assert sandbox.emulator.webhooks.flush() == len(changed)
    sizes = [len(json.loads(r["body"])) for r in receiver.requests]
    assert sizes == [100, len(changed) - 100]


def test_a_failed_delivery_is_retried_with_a_higher_attempt_number(sandbox_factory, receiver):
    sandbox = sandbox_factory(webhook_target=receiver.url)
    sender = _fast_retries(sandbox)
    receiver.failures = 2
    sandbox.emulator.activity.mutate("deals", 1)
    assert sender.flush() == 1
    attempts = [json.loads(r["body"])[0]["attemptNumber"] for r in receiver.requests]
    assert attempts == [0, 1, 2]
    assert [d.status for d in sender.deliveries] == [500, 500, 204]


def test_an_unreachable_target_ends_as_dead_events_not_an_exception(sandbox_factory):
    sandbox = sandbox_factory(webhook_target="http://127.0.0.1:9/nowhere")
    sender = _fast_retries(sandbox)
    sandbox.emulator.activity.mutate("contacts", 2)
    assert sender.flush() == 0
    assert sender.dead_events == 2
    assert all(d.status is None and d.error for d in sender.deliveries)


def test_merge_event_names_the_survivor_and_the_merged_ids(sandbox_factory, receiver):
    sandbox = sandbox_factory(webhook_target=receiver.url)
    first, second = [t.id for t in sandbox.portal.truth("contacts") if not t.archived][:2]
    sandbox.emulator.writer.merge("contacts", first, second)
    sandbox.emulator.webhooks.flush()
    [event] = json.loads(receiver.requests[0]["body"])
    assert event["subscriptionType"] == "contact.merge"
    assert event["primaryObjectId"] == first
    assert event["mergedObjectIds"] == [second]


def test_engagement_changes_send_no_webhooks_as_in_hubspot(sandbox_factory, receiver):
    sandbox = sandbox_factory(webhook_target=receiver.url)
    sandbox.emulator.activity.mutate("calls", 3)
    assert sandbox.emulator.webhooks.pending() == 0
