"""Turning a delivery's receiver into a target at delivery time.

`owner` is the record owner's Slack user, found by the owner's email through the lookup
cache (`users.lookupByEmail`, answers kept a day, `users_not_found` too); `manager:PERSON`
is a Slack id as configured or an email looked up the same way. A receiver nobody answers
for goes to the route's fallback, and the delivery says why (shown in health).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from alerts.config import AlertsConfig
from alerts.directory import LOOKUP_MAX_AGE, is_slack_user_id, normalised
from alerts.model import Receiver, ReceiverKind, Route, TargetKind, Unresolved
from alerts.outbox.leases import Claimed
from alerts.outbox.posts import post_owner
from app.models import Owner, SlackUserCache, SlaEvent

# email -> Slack user id, None for `users_not_found`; raises when Slack cannot answer now.
EmailLookup = Callable[[str], str | None]


@dataclass(frozen=True, slots=True)
class Target:
    kind: TargetKind
    id: str
    reason: str | None = None  # set when a fallback stands in


@dataclass(frozen=True, slots=True)
class Unreachable:
    reason: Unresolved
    detail: str


def resolve(
    session: Session,
    claimed: Claimed,
    config: AlertsConfig,
    lookup: EmailLookup | None,
    now: datetime,
) -> Target | Unreachable:
    found = _direct(session, claimed, lookup, now)
    if isinstance(found, Target):
        return found
    route = next((r for r in config.routes if r.name == claimed.route), None)
    stand_in = _fallback(route) if route is not None else None
    if stand_in is None:
        return Unreachable(Unresolved.NO_FALLBACK, f"{found.detail}, and no fallback")
    reason = f"fallback for {claimed.receiver}: {found.detail} ({found.reason})"
    return Target(stand_in.kind, stand_in.id, reason)


def _direct(
    session: Session, claimed: Claimed, lookup: EmailLookup | None, now: datetime
) -> Target | Unreachable:
    kind, _, person = claimed.receiver.partition(":")
    if kind == ReceiverKind.MANAGER:
        if not person:
            return Unreachable(Unresolved.NO_MANAGER, "no manager configured for the team")
        return _slack_user(session, person, lookup, now, Unresolved.NO_MANAGER)
    owner_id = _owner_id(session, claimed)
    if not owner_id:
        return Unreachable(Unresolved.NO_OWNER, "the record has no owner")
    owner = session.get(Owner, (claimed.portal_id, owner_id))
    if owner is None or not owner.email:
        return Unreachable(Unresolved.NO_SLACK_USER, f"owner {owner_id} has no email")
    found = _slack_user(session, owner.email, lookup, now, Unresolved.NO_SLACK_USER)
    if isinstance(found, Unreachable):
        return Unreachable(found.reason, f"owner {owner_id} has no Slack user")
    return found


def _owner_id(session: Session, claimed: Claimed) -> str | None:
    """The record's owner, or the rep a digest post is for."""
    if claimed.post_id is not None:
        return post_owner(session, claimed.post_id)
    event = session.get(SlaEvent, claimed.event_id)
    return event.owner_id if event is not None else None


def _slack_user(
    session: Session,
    person: str,
    lookup: EmailLookup | None,
    now: datetime,
    missing: Unresolved,
) -> Target | Unreachable:
    if is_slack_user_id(person.strip()):
        return Target(TargetKind.SLACK_USER, person.strip())
    email = normalised(person)
    cached = session.get(SlackUserCache, email)
    if cached is None or now - cached.fetched_at >= LOOKUP_MAX_AGE:
        if lookup is None:
            if cached is None:
                return Unreachable(missing, f"{email} cannot be looked up: Slack is not set up")
        else:
            user_id = lookup(email)
            if cached is None:
                cached = SlackUserCache(email=email, slack_user_id=user_id, fetched_at=now)
                session.add(cached)
            cached.slack_user_id, cached.fetched_at = user_id, now
    if cached.slack_user_id:
        return Target(TargetKind.SLACK_USER, cached.slack_user_id)
    return Unreachable(missing, f"{email} has no Slack user")


def _fallback(route: Route) -> Target | None:
    """The first fallback that needs no look-up: a channel, a webhook, a manager's Slack id."""
    for receiver in route.fallback:
        found = _fixed(receiver)
        if found is not None:
            return found
    return None


def _fixed(receiver: Receiver) -> Target | None:
    if receiver.kind is ReceiverKind.CHANNEL:
        return Target(TargetKind.SLACK_CHANNEL, receiver.name)
    if receiver.kind is ReceiverKind.WEBHOOK:
        return Target(TargetKind.WEBHOOK, receiver.name)
    return None
