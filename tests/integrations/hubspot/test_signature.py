"""Signature v3 checked against HubSpot's own reference implementation (hubspot-api-client)."""

from __future__ import annotations

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
NOW_MS = 1_764_000_000_000
FIVE_MINUTES_MS = 5 * 60 * 1000
BODY = '[{"eventId":1,"portalId":62515,"occurredAt":1564113600000,"objectId":123}]'


def hubspot_signature(body: str, uri: str, timestamp: str) -> str:
    return Signature.get_signature(SECRET, body, "v3", http_uri=uri, timestamp=timestamp)


def test_our_signature_equals_hubspots_reference() -> None:
    timestamp = str(NOW_MS)
    ours = compute_signature_v3(SECRET, "POST", URI, BODY.encode(), timestamp)
    assert ours == hubspot_signature(BODY, URI, timestamp)


def test_non_ascii_body_is_signed_over_its_utf8_bytes() -> None:
    body = '[{"propertyName":"firstname","propertyValue":"Zoë Ångström 日本"}]'
    timestamp = str(NOW_MS)
    ours = compute_signature_v3(SECRET, "POST", URI, body.encode("utf-8"), timestamp)
    assert ours == hubspot_signature(body, URI, timestamp)


def verdict(age_ms: int = 0, **change: object) -> str:
    """'accepted', or the reason a request signed by HubSpot's SDK `age_ms` before NOW_MS is
    refused, after applying `change` to what the server received."""
    timestamp = str(NOW_MS - age_ms)
    arguments: dict[str, object] = {
        "client_secret": SECRET,
        "method": "POST",
        "uri": URI,
        "body": BODY.encode(),
        "signature": hubspot_signature(BODY, URI, timestamp),
        "timestamp": timestamp,
        "now_ms": NOW_MS,
        **change,
    }
    try:
        verify_signature_v3(**arguments)  # type: ignore[arg-type]
    except SignatureError as refused:
        return str(refused)
    return "accepted"


def test_a_request_signed_by_hubspot_verifies_and_the_same_with_another_signature_does_not() -> (
    None
):
    assert verdict() == "accepted"
    forged = hubspot_signature(BODY.replace("123", "124"), URI, str(NOW_MS))
    assert verdict(signature=forged) == "signature does not match"


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"body": BODY.replace("123", "124").encode()}, "signature does not match"),
        ({"uri": URI + "?x=1"}, "signature does not match"),
        ({"method": "PUT"}, "signature does not match"),
        ({"client_secret": "another-secret"}, "signature does not match"),
        ({"signature": None}, "missing X-HubSpot-Signature-v3 header"),
        ({"signature": ""}, "missing X-HubSpot-Signature-v3 header"),
        ({"timestamp": None}, "missing X-HubSpot-Request-Timestamp header"),
        ({"timestamp": "yesterday"}, "X-HubSpot-Request-Timestamp is not a number of milliseconds"),
    ],
)
def test_anything_changed_is_refused_with_a_reason(change: dict[str, object], reason: str) -> None:
    assert verdict(**change) == reason


@pytest.mark.parametrize(
    ("age_ms", "expected"),
    [
        (0, "accepted"),
        (4 * 60 * 1000, "accepted"),
        (FIVE_MINUTES_MS, "accepted"),
        (-FIVE_MINUTES_MS, "accepted"),  # a sender's clock a little ahead
        (FIVE_MINUTES_MS + 1, "X-HubSpot-Request-Timestamp is more than 5 minutes away from now"),
        (-FIVE_MINUTES_MS - 1, "X-HubSpot-Request-Timestamp is more than 5 minutes away from now"),
        (3_600_000, "X-HubSpot-Request-Timestamp is more than 5 minutes away from now"),
    ],
)
def test_a_signed_timestamp_up_to_exactly_five_minutes_away_is_accepted(
    age_ms: int, expected: str
) -> None:
    assert verdict(age_ms) == expected


def test_percent_escapes_hubspot_decodes_are_decoded_before_signing() -> None:
    timestamp = str(NOW_MS)
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
