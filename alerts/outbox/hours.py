"""When a DM may go out: the start of the recipient's working hours, in the record's business
calendar (the one the rule counts in for that owner), so an alert never wakes a rep up.
Channel posts do not wait."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from app.evaluation.rules_store import rules_in_force
from app.models import Owner, Portal, SlaEvent
from app.sla.calendar import BusinessCalendar
from app.sla.calendar_book import CalendarBook

# Calendars built once per rules, portal zone and name (holidays make them costly to build).
_calendars: dict[tuple[int, str, str], BusinessCalendar] = {}


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
    portal = session.get(Portal, portal_id)
    zone = portal.time_zone if portal is not None else "UTC"
    teams: dict[str, tuple[str, ...]] = {}
    if owner_id:
        owner = session.get(Owner, (portal_id, owner_id))
        if owner is not None:
            teams[owner.id] = tuple(str(t["id"]) for t in owner.teams or [] if "id" in t)
    book = CalendarBook(rules, zone, teams)
    name = book.calendar_name(rule, owner_id)
    key = (id(rules), zone, name)
    calendar = _calendars.get(key)
    if calendar is None:
        if len(_calendars) > 256:
            _calendars.clear()
        calendar = _calendars[key] = book.calendar(name)
    return calendar
