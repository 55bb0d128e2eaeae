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
    rules = rules_in_force(session)
    event = session.get(SlaEvent, event_id)
    if rules is None or event is None:
        return now
    rule = next((r for r in rules.rules if r.id == event.rule_id), None)
    if rule is None:
        return now
    portal = session.get(Portal, event.portal_id)
    zone = portal.time_zone if portal is not None else "UTC"
    teams: dict[str, tuple[str, ...]] = {}
    if event.owner_id:
        owner = session.get(Owner, (event.portal_id, event.owner_id))
        if owner is not None:
            teams[owner.id] = tuple(str(t["id"]) for t in owner.teams or [] if "id" in t)
    book = CalendarBook(rules, zone, teams)
    name = book.calendar_name(rule, event.owner_id)
    key = (id(rules), zone, name)
    calendar = _calendars.get(key)
    if calendar is None:
        if len(_calendars) > 256:
            _calendars.clear()
        calendar = _calendars[key] = book.calendar(name)
    return calendar.next_counting(now)
