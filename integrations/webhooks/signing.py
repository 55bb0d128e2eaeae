"""Standard Webhooks signatures (https://www.standardwebhooks.com/).

A secret is `whsec_` + base64 of 24 to 64 random bytes. Each request carries `webhook-id`
(stable across retries: the receiver's idempotency key), `webhook-timestamp` (unix seconds of
this attempt) and `webhook-signature`: space-separated `v1,<base64 HMAC-SHA256>` values of
`{id}.{timestamp}.{body}`, one per secret in force, so a receiver can move to a new secret
while the old one still verifies.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets as secrets_module
from collections.abc import Sequence
from dataclasses import dataclass

SECRET_PREFIX = "whsec_"  # noqa: S105 (the format's prefix, not a secret)
MIN_SECRET_BYTES = 24
MAX_SECRET_BYTES = 64


class SecretError(ValueError):
    """A webhook secret that is not `whsec_` + base64 of 24-64 bytes. The message never
    contains the secret itself."""


@dataclass(frozen=True, slots=True)
class WebhookSecret:
    key: bytes

    def __repr__(self) -> str:  # never show the key in logs or tracebacks
        return "WebhookSecret(<hidden>)"

    @classmethod
    def parse(cls, text: str) -> WebhookSecret:
        text = text.strip()
        if not text.startswith(SECRET_PREFIX):
            raise SecretError(f"expected a secret starting with {SECRET_PREFIX}")
        try:
            key = base64.b64decode(text.removeprefix(SECRET_PREFIX), validate=True)
        except (binascii.Error, ValueError):
            raise SecretError(f"expected base64 after {SECRET_PREFIX}") from None
        if not MIN_SECRET_BYTES <= len(key) <= MAX_SECRET_BYTES:
            raise SecretError(
                f"expected {MIN_SECRET_BYTES} to {MAX_SECRET_BYTES} bytes after decoding, "
                f"got {len(key)}"
            )
        return cls(key)

    @classmethod
    def generate(cls) -> WebhookSecret:
        return cls(secrets_module.token_bytes(MIN_SECRET_BYTES))

    def text(self) -> str:
        return SECRET_PREFIX + base64.b64encode(self.key).decode("ascii")


def parse_secrets(text: str) -> tuple[WebhookSecret, ...]:
    """One secret, or several separated by spaces or commas while a secret rotates (newest
    first by convention; the receiver accepts any)."""
    parts = [part for part in text.replace(",", " ").split() if part]
    if not parts:
        raise SecretError("expected at least one secret")
    return tuple(WebhookSecret.parse(part) for part in parts)


def signature(secret: WebhookSecret, message_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret.key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def signature_headers(
    secrets: Sequence[WebhookSecret], message_id: str, timestamp: int, body: bytes
) -> dict[str, str]:
    if not secrets:
        raise SecretError("expected at least one secret to sign with")
    signatures = " ".join(signature(s, message_id, timestamp, body) for s in secrets)
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signatures,
    }
