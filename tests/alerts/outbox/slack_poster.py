"""The least Slack deliverer the outbox tests need (the service's own is
alerts/slack_delivery.py): posts each job with chat.postMessage through the real client, to
the sandbox's Slack over HTTP, and reads Slack's answer the way the seam asks."""

from __future__ import annotations

from alerts.delivery import DeliveryJob, DeliveryResult, Outcome
from integrations.slack.client import SlackClient
from integrations.slack.errors import InvalidAuth, RateLimited, SlackError


class SlackPoster:
    def __init__(self, client: SlackClient) -> None:
        self._client = client

    def deliver(self, job: DeliveryJob) -> DeliveryResult:
        assert job.slack is not None
        message = job.slack.message
        try:
            posted = self._client.post_message(job.target, message.text, blocks=message.blocks)
        except RateLimited as limited:
            return DeliveryResult(Outcome.RETRY, str(limited), retry_after=limited.retry_after)
        except InvalidAuth as broken:
            return DeliveryResult(Outcome.DEAD, str(broken), auth_broken=True)
        except SlackError as error:
            outcome = Outcome.RETRY if error.retryable else Outcome.DEAD
            return DeliveryResult(outcome, str(error))
        return DeliveryResult(Outcome.DELIVERED, slack_channel=posted.channel, slack_ts=posted.ts)
