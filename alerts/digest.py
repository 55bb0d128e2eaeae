"""The morning digest, pure: a DM to each rep at the start of their working hours, listing
their records whose SLA clock falls due before the day ends (they will breach today unless
worked). When a rep's day starts comes from the rep's calendar (`app.sla.calendar_book`);
which records are due is read in `alerts.outbox.digest_post`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from alerts.messages import SlackMessage
from app.sla.calendar import BusinessCalendar

LISTED = 20  # Slack allows 50 blocks; the rest is counted


@dataclass(frozen=True, slots=True)
class DigestSettings:
    rule_ids: frozenset[str] = frozenset()  # empty: every rule

    def covers(self, rule_id: str) -> bool:
        return not self.rule_ids or rule_id in self.rule_ids


@dataclass(frozen=True, slots=True)
class WorkingDay:
    day: date  # the rep's local date: the digest's unique period
    starts_at: datetime  # the first counted instant of that day
    ends_at: datetime  # the local midnight that ends it

    @property
    def period(self) -> str:
        return self.day.isoformat()


def working_day(calendar: BusinessCalendar, now: datetime) -> WorkingDay | None:
    """Today in the rep's calendar, once its working hours have begun; None on a day off
    (weekend, holiday) or before the first working hour."""
    zone = ZoneInfo(calendar.time_zone)
    today = now.astimezone(zone).date()
    midnight = datetime.combine(today, time(0), zone)
    starts = calendar.next_counting(midnight.astimezone(UTC))
    if starts.astimezone(zone).date() != today or starts > now:
        return None
    ends = datetime.combine(today + timedelta(days=1), time(0), zone).astimezone(UTC)
    return WorkingDay(today, starts, ends)


@dataclass(frozen=True, slots=True)
class DueLead:
    rule_name: str
    record_label: str  # e.g. "contact 501"
    record_url: str | None
    due_at: datetime
    overdue: bool = False  # already past due, not yet marked breached by the engine


def _lead_line(lead: DueLead, zone: ZoneInfo) -> str:
    label = f"<{lead.record_url}|{lead.record_label}>" if lead.record_url else lead.record_label
    when = lead.due_at.astimezone(zone)
    due = f"was due {when:%H:%M}" if lead.overdue else f"due by {when:%H:%M}"
    return f"• {label}: {lead.rule_name}, {due}"


def render_morning_digest(
    rep_name: str, day: WorkingDay, leads: Sequence[DueLead], time_zone: str
) -> SlackMessage:
    """One DM: what this rep must work today to keep every promise, soonest due first."""
    zone = ZoneInfo(time_zone)
    ordered = sorted(leads, key=lambda lead: (lead.due_at, lead.record_label))
    noun = "record" if len(ordered) == 1 else "records"
    title = (
        f":sunrise: Good morning {rep_name}: {len(ordered)} {noun} will breach today "
        f"({day.day:%a %d %b}) unless worked"
    )
    shown = [_lead_line(lead, zone) for lead in ordered[:LISTED]]
    if len(ordered) > LISTED:
        shown.append(f"• and {len(ordered) - LISTED} more")
    body = "\n".join(shown)
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": title}},
        {"type": "section", "text": {"type": "mrkdwn", "text": body[:3000]}},
    ]
    plain = [f"• {lead.record_label}: {lead.rule_name}, due {lead.due_at.astimezone(zone):%H:%M}"
             for lead in ordered[:LISTED]]  # fmt: skip
    return SlackMessage("\n".join([title, *plain]), blocks)
