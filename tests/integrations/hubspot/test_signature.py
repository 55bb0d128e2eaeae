"""Signature v3 checked against HubSpot's own reference implementation (hubspot-api-client)."""

from __future__ import annotations

import time

import pytest
from hubspot.utils.signature import Signature

from integrations.hubspot.signature import (
    RequestTarget,
    SignatureError,
    compute_signature_v3,
    public_request_uri,
    verify_signature_v3,
)

SECRET = "a7a4a7c3-0000-4d2e-9b1f-5c0f6c1e2d3f"
URI = "https://hooks.example.com/webhooks/hubspot"
BODY = '[{"eventId":1,"portalId":62515,"occurredAt":1564113600000,"objectId":123}]'


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def hubspot_signature(body: str, uri: str, timestamp: str) -> str:
    return Signature.get_signature(SECRET, body, "v3", http_uri=uri, timestamp=timestamp)


def test_our_signature_equals_hubspots_reference() -> None:
    timestamp = str(now_ms())
    ours = compute_signature_v3(SECRET, "POST", URI, BODY.encode(), timestamp)
    assert ours == hubspot_signature(BODY, URI, timestamp)


def test_non_ascii_body_is_signed_over_its_utf8_bytes() -> None:
    body = '[{"propertyName":"firstname","propertyValue":"Zoë Ångström 日本"}]'
    timestamp = str(now_ms())
    ours = compute_signature_v3(SECRET, "POST", URI, body.encode("utf-8"), timestamp)
    assert ours == hubspot_signature(body, URI, timestamp)


def test_a_request_signed_by_hubspot_verifies() -> None:
    timestamp = str(now_ms())
    verify_signature_v3(
        client_secret=SECRET,
        method="POST",
        uri=URI,
        body=BODY.encode(),
        signature=hubspot_signature(BODY, URI, timestamp),
        timestamp=timestamp,
        now_ms=now_ms(),
    )


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"body": BODY.replace("123", "124").encode()}, "does not match"),
        ({"uri": URI + "?x=1"}, "does not match"),
        ({"method": "PUT"}, "does not match"),
        ({"client_secret": "another-secret"}, "does not match"),
        ({"signature": None}, "missing X-HubSpot-Signature-v3"),
        ({"signature": ""}, "missing X-HubSpot-Signature-v3"),
        ({"timestamp": None}, "missing X-HubSpot-Request-Timestamp"),
        ({"timestamp": "yesterday"}, "not a number"),
    ],
)
def test_anything_changed_is_refused_with_a_reason(change: dict[str, object], reason: str) -> None:
    timestamp = str(now_ms())
    arguments: dict[str, object] = {
        "client_secret": SECRET,
        "method": "POST",
        "uri": URI,
        "body": BODY.encode(),
        "signature": hubspot_signature(BODY, URI, timestamp),
        "timestamp": timestamp,
        "now_ms": now_ms(),
    }
    arguments.update(change)
    with pytest.raises(SignatureError, match=reason):
        verify_signature_v3(**arguments)  # type: ignore[arg-type]


@pytest.mark.parametrize("age_ms", [5 * 60 * 1000 + 1, 3_600_000, -(5 * 60 * 1000 + 1)])
def test_a_timestamp_more_than_five_minutes_away_is_refused_even_if_signed(age_ms: int) -> None:
    now = now_ms()
    timestamp = str(now - age_ms)
    with pytest.raises(SignatureError, match="5 minutes"):
        verify_signature_v3(
            client_secret=SECRET,
            method="POST",
            uri=URI,
            body=BODY.encode(),
            signature=hubspot_signature(BODY, URI, timestamp),
            timestamp=timestamp,
            now_ms=now,
        )


def test_a_four_minute_old_timestamp_is_still_accepted() -> None:
    now = now_ms()
    timestamp = str(now - 4 * 60 * 1000)
    verify_signature_v3(
        client_secret=SECRET,
        method="POST",
        uri=URI,
        body=BODY.encode(),
        signature=hubspot_signature(BODY, URI, timestamp),
        timestamp=timestamp,
        now_ms=now,
    )


def test_percent_escapes_hubspot_decodes_are_decoded_before_signing() -> None:
    timestamp = str(now_ms())
    decoded = "https://hooks.example.com/webhooks/hubspot?portal=a:b@c"
    encoded = "https://hooks.example.com/webhooks/hubspot?portal=a%3Ab%40c"
    ours = compute_signature_v3(SECRET, "POST", encoded, BODY.encode(), timestamp)
    assert ours == hubspot_signature(BODY, decoded, timestamp)


SOCKET = RequestTarget(scheme="http", host="127.0.0.1:8000", path="/webhooks/hubspot")


def test_without_proxy_the_uri_is_what_the_server_saw() -> None:
    assert public_request_uri(SOCKET, None) == "http://127.0.0.1:8000/webhooks/hubspot"


def test_forwarded_headers_rebuild_the_public_uri() -> None:
    target = RequestTarget(
        scheme="http",
        host="10.0.0.5:8000",
        path="/webhooks/hubspot",
        query="a=1",
        forwarded_proto="https, http",
        forwarded_host="hooks.example.com, lb.internal",
    )
    assert public_request_uri(target, None) == "https://hooks.example.com/webhooks/hubspot?a=1"


def test_the_configured_public_url_wins_over_headers_and_keeps_its_prefix() -> None:
    target = RequestTarget(
        scheme="http",
        host="10.0.0.5:8000",
        path="/webhooks/hubspot",
        forwarded_proto="http",
        forwarded_host="evil.example.org",
    )
    uri = public_request_uri(target, "https://crm.example.com/slaguard/")
    assert uri == "https://crm.example.com/slaguard/webhooks/hubspot"
