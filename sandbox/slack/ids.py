"""Identifiers shaped like Slack's: `T…` teams, `U…` users, `C…` channels, `D…` DMs, `ts` values."""

from __future__ import annotations

import random
import secrets
import string

_ID_ALPHABET = string.ascii_uppercase + string.digits


class SlackIdFactory:
    """Makes unique ids from a seed, so one seed always yields the same workspace."""

    def __init__(self, seed: int) -> None:
        self._random = random.Random(f"slack-ids-{seed}")
        self._issued: set[str] = set()

    def new_id(self, prefix: str) -> str:
        """A fresh id such as `C07QX2M4LKB`: Slack ids are a type letter and 10 upper-case
        letters or digits."""
        while True:
            candidate = prefix + "".join(self._random.choice(_ID_ALPHABET) for _ in range(10))
            if candidate not in self._issued:
                self._issued.add(candidate)
                return candidate


def new_bot_token() -> str:
    """A bot token in Slack's `xoxb-<team number>-<bot number>-<secret>` shape.

    Drawn from the OS's secure source, not the seed: the sandbox may listen beyond loopback,
    and a token derivable from a printed seed would protect nothing."""
    team_number = secrets.randbelow(9 * 10**11) + 10**11
    bot_number = secrets.randbelow(9 * 10**12) + 10**12
    secret = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(24))
    return f"xoxb-{team_number}-{bot_number}-{secret}"


def format_ts(microseconds: int) -> str:
    """Slack's message timestamp: unix seconds, a dot, six digits (`1700000000.000100`)."""
    seconds, fraction = divmod(microseconds, 1_000_000)
    return f"{seconds}.{fraction:06d}"


def parse_ts(value: str) -> int | None:
    """The microseconds a `ts` stands for, or None when it is not shaped like one."""
    seconds, dot, fraction = value.partition(".")
    if not dot or not seconds.isdigit() or not fraction.isdigit() or len(fraction) != 6:
        return None
    return int(seconds) * 1_000_000 + int(fraction)
