"""Preparing the routing `Directory`'s Slack side: which emails to look up with
`users.lookupByEmail`, and team managers configured as Slack ids or emails turned into ids.

Lookups are cached in the store with the time they were made; an answer (found or
`users_not_found`) is good for a day, so a rep who joins Slack is found by the next day and
a burst of breaches does not become a burst of lookups.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

LOOKUP_MAX_AGE = timedelta(days=1)
_SLACK_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")


@dataclass(frozen=True, slots=True)
class CachedLookup:
    """One `users.lookupByEmail` answer: the user id, or None for `users_not_found`."""

    email: str
    slack_user_id: str | None
    looked_up_at: datetime


def is_slack_user_id(text: str) -> bool:
    return bool(_SLACK_USER_ID.match(text))


def normalised(email: str) -> str:
    return email.strip().lower()


def emails_to_look_up(
    wanted: Iterable[str], cache: Mapping[str, CachedLookup], now: datetime
) -> list[str]:
    """The emails among `wanted` with no answer yet or an answer older than a day, once each,
    in the order given (Slack ids and blanks are skipped)."""
    due: dict[str, None] = {}
    for item in wanted:
        email = normalised(item)
        if not email or is_slack_user_id(item.strip()):
            continue
        cached = cache.get(email)
        if cached is None or now - cached.looked_up_at >= LOOKUP_MAX_AGE:
            due[email] = None
    return list(due)


@dataclass(frozen=True, slots=True)
class Managers:
    by_team: Mapping[str, tuple[str, ...]]
    # (team, email) pairs with no Slack user: shown in health like owners without one.
    not_found: tuple[tuple[str, str], ...]


def resolve_managers(
    configured: Mapping[str, tuple[str, ...]], cache: Mapping[str, CachedLookup]
) -> Managers:
    """Team -> Slack user ids, from ids as written and emails through the lookup cache."""
    by_team: dict[str, tuple[str, ...]] = {}
    not_found: list[tuple[str, str]] = []
    for team, people in configured.items():
        ids: dict[str, None] = {}
        for person in people:
            if is_slack_user_id(person.strip()):
                ids[person.strip()] = None
                continue
            cached = cache.get(normalised(person))
            if cached is not None and cached.slack_user_id:
                ids[cached.slack_user_id] = None
            else:
                not_found.append((team, normalised(person)))
        by_team[team] = tuple(ids)
    return Managers(by_team, tuple(not_found))
