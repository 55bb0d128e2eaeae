"""A Slack Web API emulator: the methods slaguard calls, with Slack's shapes, errors and limits.

    state = SlackEmulatorState()                 # one bot token in state.tokens
    app.include_router(create_slack_router(state))
    WebClient(token=..., base_url="http://127.0.0.1:PORT/api/")

Pages for people at `/slack/`, JSON for tests at `/slack/api/messages?channel=…`.
"""

from sandbox.slack.limits import SlackRateLimits
from sandbox.slack.router import create_slack_app, create_slack_router
from sandbox.slack.state import CallRecord, SlackEmulatorState
from sandbox.slack.workspace import (
    DEFAULT_CHANNELS,
    DEFAULT_PEOPLE,
    MessageVersion,
    OwnerLike,
    SlackChannel,
    SlackPerson,
    SlackUser,
    StoredMessage,
    people_from_owners,
)

__all__ = [
    "DEFAULT_CHANNELS",
    "DEFAULT_PEOPLE",
    "CallRecord",
    "MessageVersion",
    "OwnerLike",
    "SlackChannel",
    "SlackEmulatorState",
    "SlackPerson",
    "SlackRateLimits",
    "SlackUser",
    "StoredMessage",
    "create_slack_app",
    "create_slack_router",
    "people_from_owners",
]
