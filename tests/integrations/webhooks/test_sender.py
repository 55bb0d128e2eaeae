"""Signed webhook deliveries against a real local receiver, verified with `standardwebhooks`."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from standardwebhooks import Webhook

from integrations.webhooks.sender import Outcome, WebhookSender
from integrations.webhooks.signing import WebhookSecret
from tests.integrations.webhooks.receiver import Answer, Receiver

BODY = json.dumps({"type": "sla.breached", "data": {"rule": "first-touch"}}).encode()


@pytest.fixture
def sender() -> Iterator[WebhookSender]:
    with WebhookSender(allow_private=True, timeout=2.0) as client:
        yield client


def test_a_delivery_carries_a_signature_standard_webhooks_accepts(
    receiver: Receiver, sender: WebhookSender
) -> None:
    secret = WebhookSecret.generate()

    result = sender.send(receiver.url, "msg_1", BODY, [secret])

    assert result.outcome is Outcome.DELIVERED
    assert result.status == 200
    (got,) = receiver.requests
    assert Webhook(secret.text()).verify(got.body, got.headers) == json.loads(BODY)
    assert got.headers["content-type"] == "application/json"


def test_while_a_secret_rotates_both_the_old_and_the_new_secret_verify(
    receiver: Receiver, sender: WebhookSender
) -> None:
    old, new = WebhookSecret.generate(), WebhookSecret.generate()

    sender.send(receiver.url, "msg_rotating", BODY, [new, old])

    (got,) = receiver.requests
    assert len(got.headers["webhook-signature"].split(" ")) == 2
    for secret in (old, new):
        Webhook(secret.text()).verify(got.body, got.headers)
    with pytest.raises(Exception, match="No matching signature"):
        Webhook(WebhookSecret.generate().text()).verify(got.body, got.headers)


def test_an_endpoint_failing_at_first_gets_the_same_webhook_id_until_it_succeeds(
    receiver: Receiver, sender: WebhookSender
) -> None:
    secret = WebhookSecret.generate()
    receiver.answer(Answer(500), Answer(502, body=b"bad gateway"))

    outcomes = [sender.send(receiver.url, "msg_retry", BODY, [secret]) for _ in range(3)]

    assert [r.outcome for r in outcomes] == [Outcome.RETRY, Outcome.RETRY, Outcome.DELIVERED]
    assert outcomes[1].excerpt == "bad gateway"
    assert outcomes[1].error == "HTTP 502"
    assert {r.headers["webhook-id"] for r in receiver.requests} == {"msg_retry"}
    for got in receiver.requests:
        Webhook(secret.text()).verify(got.body, got.headers)


def test_a_redirect_is_a_failure_and_is_not_followed(
    receiver: Receiver, sender: WebhookSender
) -> None:
    receiver.answer(Answer(307, headers={"location": receiver.url + "/elsewhere"}))

    result = sender.send(receiver.url, "msg_redirect", BODY, [WebhookSecret.generate()])

    assert result.outcome is Outcome.RETRY
    assert result.error == "redirects are not followed"
    assert len(receiver.requests) == 1


def test_410_gone_says_the_endpoint_is_gone(receiver: Receiver, sender: WebhookSender) -> None:
    receiver.answer(Answer(410))

    result = sender.send(receiver.url, "msg_gone", BODY, [WebhookSecret.generate()])

    assert result.outcome is Outcome.GONE
    assert result.status == 410


def test_429_and_503_carry_the_wait_the_endpoint_asked_for(
    receiver: Receiver, sender: WebhookSender
) -> None:
    later = datetime.now(UTC) + timedelta(seconds=120)
    receiver.answer(
        Answer(429, headers={"retry-after": "7"}),
        Answer(503, headers={"retry-after": format_datetime(later, usegmt=True)}),
    )
    secret = WebhookSecret.generate()

    throttled = sender.send(receiver.url, "msg_slow", BODY, [secret])
    unavailable = sender.send(receiver.url, "msg_slow", BODY, [secret])

    assert (throttled.outcome, throttled.retry_after) == (Outcome.RETRY, 7.0)
    assert unavailable.outcome is Outcome.RETRY
    assert unavailable.retry_after is not None
    assert 100 <= unavailable.retry_after <= 120


def test_an_answer_slower_than_the_timeout_is_retried(receiver: Receiver) -> None:
    receiver.answer(Answer(200, delay=1.5))
    with WebhookSender(allow_private=True, timeout=0.5) as sender:
        started = time.monotonic()
        result = sender.send(receiver.url, "msg_timeout", BODY, [WebhookSecret.generate()])

    assert result.outcome is Outcome.RETRY
    assert result.error is not None and "Timeout" in result.error
    assert time.monotonic() - started < 1.5


def test_a_network_failure_is_retried() -> None:
    with WebhookSender(allow_private=True, timeout=1.0) as sender:
        # Port 9 (discard) on loopback: nothing listens there in the test environment.
        result = sender.send("http://127.0.0.1:9/", "msg_down", BODY, [WebhookSecret.generate()])

    assert result.outcome is Outcome.RETRY
    assert result.status is None
