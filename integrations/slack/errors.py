"""What can go wrong calling Slack, by what the caller should do about it.

- `RateLimited`: wait `retry_after` seconds, then try again (Slack may disable an app that
  keeps calling past a limit).
- `Transient`: 5xx, Slack's own internal errors, timeouts and network failures: back off and
  try again.
- Everything else is permanent for this request: retrying cannot fix it, so it becomes a dead
  letter with its reason. `InvalidAuth` (and `TokenRevoked`) also means the whole workspace
  is unusable until an operator acts.

Messages name Slack's error code and the method, never the token or the message text.
"""

from __future__ import annotations

from typing import ClassVar


class SlackError(Exception):
    retryable: ClassVar[bool] = False

    def __init__(self, method: str, error: str, status: int | None = None) -> None:
        where = f"HTTP {status}, " if status else ""
        super().__init__(f"Slack {method} failed ({where}{error})")
        self.method = method
        self.error = error
        self.status = status


class RateLimited(SlackError):  # noqa: N818 (named for what Slack says)
    retryable = True

    def __init__(self, method: str, retry_after: float, status: int | None = 429) -> None:
        super().__init__(method, f"ratelimited, retry after {retry_after:g} s", status)
        self.error = "ratelimited"
        self.retry_after = retry_after


class Transient(SlackError):  # noqa: N818 (named by the design)
    retryable = True


class InvalidAuth(SlackError):  # noqa: N818 (named by the design)
    """The token is not usable (invalid, deactivated account, or missing a scope)."""


class TokenRevoked(InvalidAuth):
    """The app was uninstalled or its token revoked."""


class ChannelGone(SlackError):  # noqa: N818 (named by the design)
    """The channel does not exist, is archived, or the bot is not in it."""


class UserNotFound(SlackError):  # noqa: N818 (named by the design)
    """No Slack user for that email or id, or the user is deactivated."""


class MessageGone(SlackError):  # noqa: N818 (named by the design)
    """The message to update or reply to is not there any more."""


class Rejected(SlackError):  # noqa: N818 (named by the design)
    """Slack refused this request as written (bad blocks, text too long...)."""


_BY_CODE: dict[str, type[SlackError]] = {
    "invalid_auth": InvalidAuth,
    "not_authed": InvalidAuth,
    "account_inactive": InvalidAuth,
    "missing_scope": InvalidAuth,
    "no_permission": InvalidAuth,
    "ekm_access_denied": InvalidAuth,
    "token_revoked": TokenRevoked,
    "token_expired": TokenRevoked,
    "channel_not_found": ChannelGone,
    "not_in_channel": ChannelGone,
    "is_archived": ChannelGone,
    "users_not_found": UserNotFound,
    "user_not_found": UserNotFound,
    "user_disabled": UserNotFound,
    "cannot_dm_bot": UserNotFound,
    "message_not_found": MessageGone,
    "thread_not_found": MessageGone,
    "internal_error": Transient,
    "fatal_error": Transient,
    "service_unavailable": Transient,
    "request_timeout": Transient,
}


def error_for(method: str, code: str, status: int | None, retry_after: float | None) -> SlackError:
    """The one class a Slack answer belongs to."""
    if status == 429 or code == "ratelimited":
        return RateLimited(method, retry_after if retry_after is not None else 1.0, status)
    if status is not None and status >= 500:
        return Transient(method, code, status)
    return _BY_CODE.get(code, Rejected)(method, code, status)
