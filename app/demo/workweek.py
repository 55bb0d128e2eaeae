"""Where and when the demo's reps work: a real time zone and working week in which they are at
work at the moment the demo starts.

The sandbox's reps work in one calendar, and the demo's rules count business time in the same
one. Run on a Saturday in New York time, nobody works: no lead is touched, no clock moves, and
the demo looks dead. So the demo picks, from real calendars (Monday-Friday across the time
zones; Sunday-Thursday in Israel; Saturday-Wednesday in Iran and Afghanistan), one in which
"now" is working time on a working day that is not a public holiday there. From Saturday
midday to Sunday night (UTC) no such office is open anywhere: then the reps are a shift team
whose five-day week runs from two days before today to two days after, in a time zone where it
is day time. The demo then replays the last working hours before now
(sandbox/portal/activity.py) so the day is under way when it starts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import holidays as holidays_package

WEEKDAY_KEYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MONDAY_TO_FRIDAY = (0, 1, 2, 3, 4)
SUNDAY_TO_THURSDAY = (6, 0, 1, 2, 3)
SATURDAY_TO_WEDNESDAY = (5, 6, 0, 1, 2)
# The demo is meant to run for a while: a calendar whose working day ends within the hour is
# passed over for one with more of the day ahead.
MIN_HOURS_LEFT = 1.0


@dataclass(frozen=True)
class Workweek:
    """A calendar the reps may work in, with the public holidays of its country."""

    time_zone: str
    days: tuple[int, ...]  # Python weekday numbers (Monday = 0), in the week's own order
    country: str | None  # whose public holidays are days off; None: none are
    subdivision: str | None = None
    open_hour: int = 9
    close_hour: int = 18

    def describe(self) -> str:
        first, last = WEEKDAY_KEYS[self.days[0]], WEEKDAY_KEYS[self.days[-1]]
        return (
            f"{self.open_hour:02d}:00-{self.close_hour:02d}:00 {self.time_zone} time, "
            f"{first.title()}-{last.title()}"
        )

    def is_holiday(self, day: date) -> bool:
        if self.country is None:
            return False
        return day in _holidays(self.country, self.subdivision, day.year)

    def hours_left(self, now: datetime) -> float | None:
        """Working hours left today at `now`; None when `now` is not working time."""
        local = now.astimezone(ZoneInfo(self.time_zone))
        if local.weekday() not in self.days or self.is_holiday(local.date()):
            return None
        opening = local.replace(hour=self.open_hour, minute=0, second=0, microsecond=0)
        closing = local.replace(hour=self.close_hour, minute=0, second=0, microsecond=0)
        if not opening <= local < closing:
            return None
        return (closing - local) / timedelta(hours=1)


@cache
def _holidays(country: str, subdivision: str | None, year: int) -> frozenset[date]:
    return frozenset(holidays_package.country_holidays(country, subdiv=subdivision, years=year))


# The sandbox's own calendar first: it is kept whenever its reps are at work.
DEFAULT = Workweek("America/New_York", MONDAY_TO_FRIDAY, "US", "NY")
CANDIDATES: tuple[Workweek, ...] = (
    DEFAULT,
    Workweek("America/Chicago", MONDAY_TO_FRIDAY, "US", "IL"),
    Workweek("America/Los_Angeles", MONDAY_TO_FRIDAY, "US", "CA"),
    Workweek("Pacific/Honolulu", MONDAY_TO_FRIDAY, "US", "HI"),
    Workweek("Pacific/Pago_Pago", MONDAY_TO_FRIDAY, "US", "AS"),
    Workweek("Europe/London", MONDAY_TO_FRIDAY, "GB"),
    Workweek("Europe/Berlin", MONDAY_TO_FRIDAY, "DE", "BE"),
    Workweek("Asia/Dubai", MONDAY_TO_FRIDAY, "AE"),
    Workweek("Asia/Kolkata", MONDAY_TO_FRIDAY, "IN"),
    Workweek("Asia/Singapore", MONDAY_TO_FRIDAY, "SG"),
    Workweek("Asia/Tokyo", MONDAY_TO_FRIDAY, "JP"),
    Workweek("Australia/Sydney", MONDAY_TO_FRIDAY, "AU", "NSW"),
    Workweek("Pacific/Auckland", MONDAY_TO_FRIDAY, "NZ"),
    Workweek("Asia/Jerusalem", SUNDAY_TO_THURSDAY, "IL"),
    Workweek("Asia/Tehran", SATURDAY_TO_WEDNESDAY, "IR", open_hour=8, close_hour=17),
    Workweek("Asia/Kabul", SATURDAY_TO_WEDNESDAY, "AF", open_hour=8, close_hour=17),
)


def choose_workweek(now: datetime) -> Workweek:
    """The default calendar if its reps are at work at `now`; else the real calendar with the
    most of its working day still ahead; else a shift week around today (see the module)."""
    if (DEFAULT.hours_left(now) or 0.0) >= MIN_HOURS_LEFT:
        return DEFAULT
    scored = [(week.hours_left(now), week) for week in CANDIDATES]
    at_work = [(left, week) for left, week in scored if left is not None and left >= MIN_HOURS_LEFT]
    if at_work:
        return max(at_work, key=lambda pair: pair[0])[1]
    return shift_week(now)


def shift_week(now: datetime) -> Workweek:
    """Five days centred on today, 09:00-18:00, in the candidate time zone whose local time
    is nearest mid-day (there is always one between 09:00 and 17:00: the candidates' offsets
    are never more than 5 hours apart); no public holidays off."""

    def distance_from_midday(week: Workweek) -> float:
        local = now.astimezone(ZoneInfo(week.time_zone))
        return abs(local.hour + local.minute / 60 - 13.5)

    zone = min(CANDIDATES, key=distance_from_midday).time_zone
    today = now.astimezone(ZoneInfo(zone)).weekday()
    days = tuple((today + shift) % 7 for shift in range(-2, 3))
    return Workweek(zone, days, None)


_CALENDARS_BLOCK = re.compile(r"^calendars:\n(?:[ \t]+.*\n|[ \t]*\n)*", re.MULTILINE)


def calendars_yaml(week: Workweek) -> str:
    """The rules file's `calendars:` section for the reps' working week."""
    span = f'["{week.open_hour:02d}:00-{week.close_hour:02d}:00"]'
    hours = "".join(f"      {WEEKDAY_KEYS[day]}: {span}\n" for day in sorted(week.days))
    subdivision = f", subdivision: {week.subdivision}" if week.subdivision else ""
    holidays = f"{{country: {week.country}{subdivision}}}" if week.country else "{}"
    return (
        "calendars:\n"
        "  default:\n"
        f"    time_zone: {week.time_zone}\n"
        "    hours:\n"
        f"{hours}"
        f"    holidays: {holidays}\n"
        "\n"
    )


def with_workweek(rules_text: str, week: Workweek) -> str:
    """The rules text with its `calendars:` section replaced by the reps' working week."""
    replaced, count = _CALENDARS_BLOCK.subn(calendars_yaml(week), rules_text, count=1)
    if count != 1:
        raise ValueError("the rules file has no top-level calendars: section to replace")
    return replaced
