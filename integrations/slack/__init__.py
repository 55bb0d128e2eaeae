"""A small typed Slack Web API client for alert delivery (see `client.SlackClient`).

Imports nothing from `app`; every failure is one of the classes in `errors`, decided once
from Slack's answer, so the outbox chooses between retry, wait and dead letter by class.
"""

from integrations.slack.client import (
    ChannelMessage,
    HistoryPage,
    PostedMessage,
    SlackClient,
    SlackUserInfo,
)
from integrations.slack.errors import (
    ChannelGone,
    InvalidAuth,
    MessageGone,
    RateLimited,
    Rejected,
    SlackError,
    TokenRevoked,
    Transient,
    UserNotFound,
)

__all__ = [
    "ChannelGone",
    "ChannelMessage",
    "HistoryPage",
    "InvalidAuth",
    "MessageGone",
    "PostedMessage",
    "RateLimited",
    "Rejected",
    "SlackClient",
    "SlackError",
    "SlackUserInfo",
    "TokenRevoked",
    "Transient",
    "UserNotFound",
]
