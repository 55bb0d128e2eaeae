"""When a Slack message may go out: a DM at the start of the recipient's working hours, in the
record's business calendar (the one the rule counts in for that owner), so an alert never
wakes a rep up. Channel posts do not wait, unless their route says `quiet_hours: true`: then
they wait for the same working hours. A digest DM waits for its rep's own calendar; the
scorecard is posted at its configured time."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from alerts.config import AlertsConfig
from alerts.model import TargetKind
from alerts.outbox.leases import Claimed
from alerts.outbox.posts import digest_day, post_owner
from alerts.schedule import waits_for_working_hours
from app.evaluation.rules_store import rules_in_force
from app.models import Owner, Portal, SlaEvent
from app.sla.calendar import BusinessCalendar
from app.sla.calendar_book import CalendarBook
from app.sla.schema import RulesFile

# Calendars built once per rules, portal zone and name (holidays make them costly to build).
_calendars: dict[tuple[int, str, str], BusinessCalendar] = {}


def may_wait(claimed: Claimed, config: AlertsConfig | None) -> bool:
    """Whether the delivery waits for working hours at all (no store access: most do not)."""
    if claimed.target_kind == TargetKind.SLACK_USER:
        return True
    if claimed.target_kind != TargetKind.SLACK_CHANNEL or claimed.post_id is not None:
        return False
    routes = config.routes if config is not None else ()
    route = next((r for r in routes if r.name == claimed.route), None)
    return route is not None and waits_for_working_hours(route, TargetKind.SLACK_CHANNEL)


def not_before(session: Session, claimed: Claimed, now: datetime) -> datetime | None:
    """`now`, or the start of the working hours a delivery that `may_wait` waits for: the
    rep's own calendar for a digest, else the record's calendar for the rule and owner.
    None for a digest whose day is over before it could go out: it would call another day
    "today", and that day has a digest of its own."""
    if claimed.post_id is not None:
        owner_id = post_owner(session, claimed.post_id)
        calendar = owner_calendar(session, claimed.portal_id, owner_id) if owner_id else None
        if calendar is None:
            return now
        start = calendar.next_counting(now)
        day = digest_day(session, claimed.post_id)
        over = day is not None and start.astimezone(calendar.zone).date() > day
        return None if over else start
    if claimed.event_id is None:
        return now
    return dm_not_before(session, claimed.event_id, now)


def dm_not_before(session: Session, event_id: int, now: datetime) -> datetime:
    """`now`, or the next start of working hours of the event's record owner."""
    event = session.get(SlaEvent, event_id)
    if event is None:
        return now
    calendar = record_calendar(session, event.portal_id, event.rule_id, event.owner_id)
    return now if calendar is None else calendar.next_counting(now)


def record_calendar(
    session: Session, portal_id: int, rule_id: str, owner_id: str | None
) -> BusinessCalendar | None:
    """The business calendar the rule counts in for this owner, or None when the rule is no
    longer in force."""
    rules = rules_in_force(session)
    rule = None if rules is None else next((r for r in rules.rules if r.id == rule_id), None)
    if rules is None or rule is None:
        return None
    zone, teams = _zone_and_teams(session, portal_id, owner_id)
    book = CalendarBook(rules, zone, teams)
    return _cached(rules, zone, book, book.calendar_name(rule, owner_id))


def owner_calendar(session: Session, portal_id: int, owner_id: str) -> BusinessCalendar | None:
    """The rep's own working hours: the calendar assigned to the owner, else to the owner's
    team, else the default (no rule's own calendar). None without rules in force."""
    rules = rules_in_force(session)
    if rules is None:
        return None
    zone, teams = _zone_and_teams(session, portal_id, owner_id)
    book = CalendarBook(rules, zone, teams)
    return _cached(rules, zone, book, book.owner_calendar_name(owner_id))


def _zone_and_teams(
    session: Session, portal_id: int, owner_id: str | None
) -> tuple[str, dict[str, tuple[str, ...]]]:
    portal = session.get(Portal, portal_id)
    zone = portal.time_zone if portal is not None else "UTC"
    teams: dict[str, tuple[str, ...]] = {}
    if owner_id:
        owner = session.get(Owner, (portal_id, owner_id))
        if owner is not None:
            teams[owner.id] = tuple(str(t["id"]) for t in owner.teams or [] if "id" in t)
    return zone, teams


def _cached(rules: RulesFile, zone: str, book: CalendarBook, name: str) -> BusinessCalendar:
    key = (id(rules), zone, name)
    calendar = _calendars.get(key)
    if calendar is None:
        if len(_calendars) > 256:
            _calendars.clear()
        calendar = _calendars[key] = book.calendar(name)
    return calendar
