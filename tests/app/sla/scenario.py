"""Building records and rules for engine scenarios, the way the store would hand them over."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from app.sla.calendar_book import CalendarBook
from app.sla.clocks import CycleOutcome
from app.sla.loader import parse_rules
from app.sla.records import Directory, Interval, Record, Touch
from app.sla.rules import evaluate_clock_rule
from app.sla.schema import RulesFile
from tests.fixtures.rules import BUSINESS_HOURS

NY = ZoneInfo("America/New_York")
LIFECYCLE_ORDER = {
    "subscriber": 0,
    "lead": 1,
    "marketingqualifiedlead": 2,
    "salesqualifiedlead": 3,
    "opportunity": 4,
    "customer": 5,
}
DIRECTORY = Directory(lifecycle_order=LIFECYCLE_ORDER)

CALENDARS = "calendars:\n  default:\n    time_zone: America/New_York\n" + BUSINESS_HOURS


def ny(text: str) -> datetime:
    """A New York wall time as an aware datetime, e.g. ny('2026-11-27 17:55')."""
    return datetime.fromisoformat(text).replace(tzinfo=NY)


def rules_with(rule_yaml: str) -> RulesFile:
    return parse_rules(CALENDARS + "rules:\n" + rule_yaml)


def history(*steps: tuple[str | None, datetime]) -> list[Interval]:
    out = []
    for index, (value, entered) in enumerate(steps):
        exited = steps[index + 1][1] if index + 1 < len(steps) else None
        out.append(Interval(value, entered, exited))
    return out


def contact(
    *,
    stages: list[tuple[str | None, datetime]],
    owner: str | None = "7",
    lead_status: list[tuple[str | None, datetime]] | None = None,
    touches: list[Touch] | None = None,
    **values: object,
) -> Record:
    hist = {"lifecyclestage": history(*stages)}
    if lead_status:
        hist["hs_lead_status"] = history(*lead_status)
    current = {
        "lifecyclestage": stages[-1][0],
        "hubspot_owner_id": owner,
        "hs_lead_status": lead_status[-1][0] if lead_status else None,
        **values,
    }
    return Record(
        object_type="contact",
        id="101",
        created_at=stages[0][1],
        owner_id=owner,
        values=current,
        history=hist,
        touches=touches or [],
    )


def call(at: datetime, owner: str | None = "7", kind: str = "call") -> Touch:
    return Touch(kind, at, owner, "OUTBOUND")


def evaluate(
    rules: RulesFile, record: Record, now: datetime, directory: Directory = DIRECTORY
) -> list[CycleOutcome]:
    book = CalendarBook(rules, "UTC", directory.owner_teams)
    return evaluate_clock_rule(rules.rules[0], record, directory, book, now)  # type: ignore[arg-type]
