"""The worker as the service and `slaguard deliver` run it, built from the settings.

Webhooks go through `WebhookSender` (private addresses only with
SLAGUARD_WEBHOOKS_ALLOW_PRIVATE). With a Slack bot token, Slack deliveries go through
`SlackDeliverer` (message refs in the store) and owners' emails are looked up with the same
token; without one, Slack deliveries are retried and their attempts say why.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from alerts.config import WebhookEndpoint, allow_private_from
from alerts.delivery import Deliverer
from alerts.hubspot_delivery import HubSpotPropertiesDeliverer, HubSpotTaskDeliverer
from alerts.hubspot_tasks import StoredTaskLedger
from alerts.model import TargetKind
from alerts.outbox.config import alerts_in_force
from alerts.outbox.resolve import EmailLookup
from alerts.outbox.slack_refs import StoredSlackMessageRefs
from alerts.outbox.worker import Worker
from alerts.slack_delivery import SlackDeliverer
from alerts.webhook_delivery import WebhookDeliverer
from app.config import Settings
from app.store.db import SessionFactory
from integrations.hubspot.writes import HubSpotWriter
from integrations.slack.client import SlackClient
from integrations.slack.errors import UserNotFound
from integrations.webhooks.sender import WebhookSender


class WebhookEndpointFinder:
    """The endpoint as the rules in force define it now (a changed URL applies at once)."""

    def __init__(self, factory: SessionFactory) -> None:
        self._factory = factory

    def __call__(self, name: str) -> WebhookEndpoint | None:
        with self._factory() as session:
            config = alerts_in_force(session)
        return None if config is None else config.webhooks.get(name)


def slack_deliverer(settings: Settings, factory: SessionFactory) -> SlackDeliverer | None:
    """One per process and store (the service's job keeps it): its pacer remembers the calls
    of earlier ticks."""
    if settings.slack_bot_token is None:
        return None
    client = SlackClient(
        settings.slack_bot_token.get_secret_value(), base_url=settings.slack_api_url
    )
    return SlackDeliverer(client, StoredSlackMessageRefs(factory))


def slack_lookup(settings: Settings) -> EmailLookup | None:
    if settings.slack_bot_token is None:
        return None
    client = SlackClient(
        settings.slack_bot_token.get_secret_value(), base_url=settings.slack_api_url
    )

    def lookup(email: str) -> str | None:
        try:
            user = client.users_lookup_by_email(email)
        except UserNotFound:
            return None
        return None if user.deleted else user.id

    return lookup


def hubspot_deliverers(settings: Settings, factory: SessionFactory) -> dict[TargetKind, Deliverer]:
    """Write-back into HubSpot, paced in the window the sync's reads use."""
    if settings.hubspot_access_token is None:
        return {}
    writer = HubSpotWriter.for_portal(
        settings.hubspot_access_token.get_secret_value(),
        settings.hubspot_base_url,
        requests_per_10s=settings.hubspot_requests_per_10s,
        search_per_second=settings.hubspot_search_per_second,
    )
    return {
        TargetKind.HUBSPOT_TASK: HubSpotTaskDeliverer(writer, StoredTaskLedger(factory)),
        TargetKind.HUBSPOT_PROPERTIES: HubSpotPropertiesDeliverer(writer),
    }


@contextmanager
def delivery_worker(
    settings: Settings, factory: SessionFactory, slack: Deliverer | None = None
) -> Iterator[Worker]:
    allow_private = allow_private_from(os.environ)
    if slack is None:
        slack = slack_deliverer(settings, factory)
    with WebhookSender(allow_private=allow_private) as sender:
        deliverers: dict[TargetKind, Deliverer] = {
            TargetKind.WEBHOOK: WebhookDeliverer(sender, WebhookEndpointFinder(factory))
        }
        if slack is not None:
            deliverers[TargetKind.SLACK_USER] = slack
            deliverers[TargetKind.SLACK_CHANNEL] = slack
        deliverers.update(hubspot_deliverers(settings, factory))
        # SLAGUARD_OUTBOX_LEASE_SECONDS: how long a dead worker's claimed rows wait.
        lease = timedelta(seconds=settings.slaguard_outbox_lease_seconds)
        yield Worker(factory, deliverers, lookup=slack_lookup(settings), lease=lease)
