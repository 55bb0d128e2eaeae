"""The `Deliverer` for webhook endpoints: one signed POST through `WebhookSender`.

`webhook-id` is the delivery's stable key, the same on every retry, so the receiver can drop
a second copy. The secrets are read from the environment variable the endpoint names at the
moment of signing (never from the rules file, never logged): a rotated secret applies to the
next attempt without a restart.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping

from alerts.config import WebhookEndpoint
from alerts.delivery import DeliveryJob, DeliveryResult, Outcome
from integrations.webhooks.sender import Outcome as SendOutcome
from integrations.webhooks.sender import SendResult, WebhookSender
from integrations.webhooks.signing import SecretError

# Answers a retry can change: timeouts, conflicts, "too early" and rate limits.
_RETRYABLE_4XX = frozenset({408, 409, 425, 429})


class WebhookDeliverer:
    def __init__(
        self,
        sender: WebhookSender,
        endpoints: Callable[[str], WebhookEndpoint | None],
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self._sender = sender
        self._endpoints = endpoints
        self._environ = os.environ if environ is None else environ

    def deliver(self, job: DeliveryJob) -> DeliveryResult:
        content = job.webhook
        if content is None:
            return DeliveryResult(Outcome.DEAD, "not a webhook delivery")
        endpoint = self._endpoints(content.endpoint)
        if endpoint is None:
            return DeliveryResult(Outcome.DEAD, f"no webhook endpoint {content.endpoint!r}")
        try:
            secrets = endpoint.secrets(self._environ)
        except SecretError as malformed:
            return DeliveryResult(Outcome.DEAD, f"{endpoint.secret_env} is malformed: {malformed}")
        if not secrets:
            return DeliveryResult(Outcome.DEAD, f"{endpoint.secret_env} is not set")
        body = json.dumps(content.payload, separators=(",", ":")).encode()
        return _result(self._sender.send(content.url, job.key, body, secrets))


def _result(sent: SendResult) -> DeliveryResult:
    detail = sent.error or ""
    if sent.excerpt:
        detail = f"{detail}: {sent.excerpt}" if detail else sent.excerpt
    return DeliveryResult(
        _outcome(sent),
        detail,
        status_code=sent.status,
        retry_after=sent.retry_after if sent.outcome is SendOutcome.RETRY else None,
        duration=sent.duration,
        endpoint_gone=sent.outcome is SendOutcome.GONE,
    )


def _outcome(sent: SendResult) -> Outcome:
    if sent.outcome is SendOutcome.DELIVERED:
        return Outcome.DELIVERED
    if sent.outcome in (SendOutcome.GONE, SendOutcome.REFUSED):
        return Outcome.DEAD
    status = sent.status
    if status is not None and (300 <= status < 400 or _final_client_error(status)):
        return Outcome.DEAD  # a redirect or a refusal that retrying does not change
    return Outcome.RETRY


def _final_client_error(status: int) -> bool:
    return 400 <= status < 500 and status not in _RETRYABLE_4XX
