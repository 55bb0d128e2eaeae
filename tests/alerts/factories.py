"""Small builders for routing tests: a New York business calendar with US holidays, events,
routes and a directory, each with defaults a test overrides by keyword."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from alerts.model import (
    AlertEvent,
    Directory,
    EventType,
    Matcher,
    Receiver,
    ReceiverKind,
    Route,
)
from app.sla.calendar import BusinessCalendar
from app.sla.calendar_book import build_calendar
from app.sla.schema import CalendarSpec

NEW_YORK = ZoneInfo("America/New_York")
OWNER = Receiver(ReceiverKind.OWNER)
MANAGER = Receiver(ReceiverKind.MANAGER)


def channel(name: str) -> Receiver:
    return Receiver(ReceiverKind.CHANNEL, name)


def webhook(name: str) -> Receiver:
    return Receiver(ReceiverKind.WEBHOOK, name)


def ny(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=NEW_YORK)


def sales_calendar() -> BusinessCalendar:
    # The same construction the engine uses for a rules file's calendar.
    spec = CalendarSpec.model_validate(
        {"time_zone": "America/New_York", "holidays": {"country": "US"}}
    )
    return build_calendar(spec, "UTC")


CALENDAR = sales_calendar()


def event(**changes: object) -> AlertEvent:
    base = AlertEvent(
        id=1,
        portal_id=7,
        instance_id=100,
        rule_id="first-touch",
        rule_kind="response",
        type=EventType.BREACHED,
        object_type="contact",
        object_id="501",
        owner_id="11",
        occurred_at=ny(2026, 12, 2, 10),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def route(name: str = "reps", **changes: object) -> Route:
    base = Route(name=name, match=Matcher(), receivers=(OWNER,))
    return replace(base, **changes)  # type: ignore[arg-type]


def directory(**changes: object) -> Directory:
    base = Directory(
        calendar_for=lambda _event: CALENDAR,
        owner_slack_users={"11": "U011", "12": None},
        owner_teams={"11": ("team-east",), "12": ("team-east",), "13": ("team-west",)},
        team_managers={"team-east": ("U900",)},
        channels={"sales": "C100", "sales-managers": "C200", "marketing": "C300"},
    )
    return replace(base, **changes)  # type: ignore[arg-type]


SECOND = timedelta(seconds=1)
