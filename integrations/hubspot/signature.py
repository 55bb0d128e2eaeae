"""HubSpot webhook signatures, version 3.

HubSpot signs each webhook request with base64(HMAC-SHA256(client secret, method + URI + raw
body + timestamp)), the timestamp being the `X-HubSpot-Request-Timestamp` header in
milliseconds. The URI is the one HubSpot called, so behind a proxy it has to be rebuilt from a
configured public base URL or the forwarded headers rather than taken from the socket.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from urllib.parse import urlsplit

SIGNATURE_HEADER = "X-HubSpot-Signature-v3"
TIMESTAMP_HEADER = "X-HubSpot-Request-Timestamp"
MAX_AGE_MS = 5 * 60 * 1000

# HubSpot signs the URI with these escapes decoded (its documentation lists exactly these).
_DECODED_ESCAPES = {
    "%3A": ":",
    "%2F": "/",
    "%3F": "?",
    "%40": "@",
    "%21": "!",
    "%24": "$",
    "%27": "'",
    "%28": "(",
    "%29": ")",
    "%2A": "*",
    "%2C": ",",
    "%3B": ";",
}


class SignatureError(Exception):
    """The request is not provably from HubSpot; `reason` says why, without any secret."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def normalize_uri(uri: str) -> str:
    """The URI in the form HubSpot signs it: the listed percent-escapes decoded."""
    result = uri
    for escape, char in _DECODED_ESCAPES.items():
        result = result.replace(escape, char).replace(escape.lower(), char)
    return result


def compute_signature_v3(
    client_secret: str, method: str, uri: str, body: bytes, timestamp: str
) -> str:
    """base64(HMAC-SHA256(secret, method + uri + body + timestamp)), as HubSpot computes it."""
    message = method.upper().encode() + normalize_uri(uri).encode() + body + timestamp.encode()
    digest = hmac.new(client_secret.encode(), message, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def verify_signature_v3(
    *,
    client_secret: str,
    method: str,
    uri: str,
    body: bytes,
    signature: str | None,
    timestamp: str | None,
    now_ms: int,
    max_age_ms: int = MAX_AGE_MS,
) -> None:
    """Return if the request is HubSpot's; raise `SignatureError` otherwise.

    A timestamp more than `max_age_ms` away from `now_ms` (in either direction: one far in the
    future would make a captured request replayable for longer) is refused before any HMAC is
    computed. The comparison is constant-time.
    """
    if not signature:
        raise SignatureError(f"missing {SIGNATURE_HEADER} header")
    if not timestamp:
        raise SignatureError(f"missing {TIMESTAMP_HEADER} header")
    try:
        sent_ms = int(timestamp)
    except ValueError:
        raise SignatureError(f"{TIMESTAMP_HEADER} is not a number of milliseconds") from None
    if abs(now_ms - sent_ms) > max_age_ms:
        raise SignatureError(f"{TIMESTAMP_HEADER} is more than 5 minutes away from now")
    expected = compute_signature_v3(client_secret, method, uri, body, timestamp)
    if not hmac.compare_digest(expected.encode(), signature.strip().encode()):
        raise SignatureError("signature does not match")


@dataclass(frozen=True)
class RequestTarget:
    """What the server saw of the request line and headers, to rebuild HubSpot's URI."""

    scheme: str
    host: str
    path: str
    query: str = ""
    forwarded_proto: str | None = None
    forwarded_host: str | None = None


def public_request_uri(target: RequestTarget, public_base_url: str | None) -> str:
    """The URI HubSpot called.

    With a configured public base URL (SLAGUARD_PUBLIC_URL) its scheme, host and path prefix
    win: a proxy may strip a prefix or rewrite the host. Otherwise the first value of
    X-Forwarded-Proto / X-Forwarded-Host (set by the nearest proxy) overrides what the socket saw.
    """
    path_and_query = target.path + (f"?{target.query}" if target.query else "")
    if public_base_url:
        base = urlsplit(public_base_url)
        prefix = base.path.rstrip("/")
        return f"{base.scheme}://{base.netloc}{prefix}{path_and_query}"
    scheme = _first(target.forwarded_proto) or target.scheme
    host = _first(target.forwarded_host) or target.host
    return f"{scheme}://{host}{path_and_query}"


def _first(header_value: str | None) -> str | None:
    if not header_value:
        return None
    first = header_value.split(",")[0].strip()
    return first or None
