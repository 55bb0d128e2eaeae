"""Which calendar counts for a record: the rule's calendar, else its owner's, else the owner's
team's, else the default; in calendar time, every instant counts."""

from __future__ import annotations

from collections.abc import Mapping

from app.sla.calendar import BusinessCalendar, Calendar, CalendarTime
from app.sla.schema import CalendarSpec, RuleBase, RulesFile


def build_calendar(spec: CalendarSpec, portal_time_zone: str) -> BusinessCalendar:
    return BusinessCalendar(
        time_zone=spec.time_zone or portal_time_zone,
        weekly=spec.weekly(),
        holidays=spec.holidays.dates,
        holiday_country=spec.holidays.country,
        holiday_subdivision=spec.holidays.subdivision,
    )


class CalendarBook:
    """Builds each calendar once per evaluation and hands out the one that counts, by rule
    and owner."""

    def __init__(
        self,
        rules: RulesFile,
        portal_time_zone: str,
        owner_teams: Mapping[str, tuple[str, ...]],
    ) -> None:
        self._rules = rules
        self._portal_time_zone = portal_time_zone
        self._owner_teams = owner_teams
        self._calendars: dict[str, BusinessCalendar] = {}
        # by (rule time, calendar name): the calendar itself, or calendar time in its zone
        self._counting: dict[tuple[str, str], Calendar] = {}
        # What `calendar_for` answers depends on the rule's time and calendar and on the owner
        # only.
        self._by_owner: dict[tuple[str, str | None, str | None], Calendar] = {}

    def calendar(self, name: str) -> BusinessCalendar:
        calendar = self._calendars.get(name)
        if calendar is None:
            calendar = build_calendar(self._rules.calendars[name], self._portal_time_zone)
            self._calendars[name] = calendar
        return calendar

    def calendar_name(self, rule: RuleBase, owner_id: str | None) -> str:
        return rule.calendar or self.owner_calendar_name(owner_id)

    def owner_calendar_name(self, owner_id: str | None) -> str:
        """The owner's working hours: assigned to the owner, else to a team, else default."""
        assignments = self._rules.assignments
        if owner_id:
            named = assignments.owners.get(owner_id)
            if named:
                return named
            for team in self._owner_teams.get(owner_id, ()):
                named = assignments.teams.get(team)
                if named:
                    return named
        return assignments.default

    def calendar_for(self, rule: RuleBase, owner_id: str | None) -> Calendar:
        key = (rule.time, rule.calendar, owner_id)
        known = self._by_owner.get(key)
        if known is not None:
            return known
        found = self._calendar_for(rule, owner_id)
        self._by_owner[key] = found
        return found

    def _calendar_for(self, rule: RuleBase, owner_id: str | None) -> Calendar:
        name = self.calendar_name(rule, owner_id)
        key = (rule.time, name)
        found = self._counting.get(key)
        if found is None:
            calendar = self.calendar(name)
            found = calendar if rule.time == "business" else CalendarTime(calendar.time_zone)
            self._counting[key] = found
        return found
