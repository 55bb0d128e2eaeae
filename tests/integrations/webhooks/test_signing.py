"""Webhook secrets and the retry schedule."""

from __future__ import annotations

import base64
import random

import pytest

from integrations.webhooks.retry import SCHEDULE_SECONDS, next_attempt_delay
from integrations.webhooks.signing import SecretError, WebhookSecret, parse_secrets


def test_a_secret_round_trips_through_its_text_form() -> None:
    secret = WebhookSecret.generate()
    assert WebhookSecret.parse(secret.text()) == secret
    assert "hidden" in repr(secret)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "not-a-secret",
        "whsec_***notbase64***",
        "whsec_" + base64.b64encode(b"short").decode(),
        "whsec_" + base64.b64encode(b"x" * 65).decode(),
    ],
)
def test_a_malformed_secret_is_refused_without_repeating_it(text: str) -> None:
    with pytest.raises(SecretError) as raised:
        parse_secrets(text)
    if len(text) > len("whsec_"):
        assert text.removeprefix("whsec_") not in str(raised.value)


def test_several_secrets_can_be_in_force_while_one_rotates() -> None:
    old, new = WebhookSecret.generate(), WebhookSecret.generate()
    assert parse_secrets(f"{new.text()} {old.text()}") == (new, old)
    assert parse_secrets(f"{new.text()},{old.text()}") == (new, old)


def test_retries_follow_the_schedule_with_bounded_jitter_then_stop() -> None:
    rng = random.Random(4)
    delays = [next_attempt_delay(n, rng=rng) for n in range(1, len(SCHEDULE_SECONDS) + 1)]

    assert delays[0] == 0
    for delay, planned in zip(delays, SCHEDULE_SECONDS, strict=True):
        assert delay is not None
        assert planned * 0.8 <= delay <= planned * 1.2
    assert next_attempt_delay(len(SCHEDULE_SECONDS) + 1) is None


def test_a_retry_never_comes_before_the_endpoints_retry_after() -> None:
    assert next_attempt_delay(1, retry_after=30) == 30
    delay = next_attempt_delay(3, retry_after=30, rng=random.Random(1))
    assert delay is not None and delay >= 240
