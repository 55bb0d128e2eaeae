"""The weekly scorecard for both teams, pure: when it is due and what it says.

Marketing's side of the agreement (MQLs delivered against the quota and its pacing line, the
MQL→SQL acceptance rate) next to sales' side (first-touch compliance, each rep's median
response). The figures come from `app.evaluation.reports` (gathered in
`alerts.outbox.scorecard_post`); here they are only scheduled and worded.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from alerts.messages import SlackMessage

# A scorecard not posted at its time (the service was down) still goes out this long after;
# later than that it is stale, and a fresh install never posts last week's card.
CATCH_UP = timedelta(days=1)
REPS_LISTED = 20  # per response rule
SECTION_CHARS = 3000  # Slack refuses a longer section text


@dataclass(frozen=True, slots=True)
class ScorecardSchedule:
    channel: str  # a channel name (without #) or id
    weekday: int  # 0 = Monday
    at: time  # local time of day in `time_zone`
    time_zone: str

    def latest_due(self, now: datetime) -> datetime:
        """The most recent scheduled instant at or before `now` (UTC)."""
        zone = ZoneInfo(self.time_zone)
        local = now.astimezone(zone)
        day = local.date() - timedelta(days=(local.weekday() - self.weekday) % 7)
        due = datetime.combine(day, self.at, zone)
        if due > now:  # today is the day, but the time has not come yet
            due = datetime.combine(day - timedelta(days=7), self.at, zone)
        return due.astimezone(UTC)

    def due_now(self, now: datetime) -> datetime | None:
        """The scheduled instant to post for now, or None when the latest one is stale."""
        due = self.latest_due(now)
        return due if now - due < CATCH_UP else None

    def period(self, due: datetime) -> str:
        """The ISO week of the scheduled instant, in its zone: the post's unique period."""
        year, week, _ = due.astimezone(ZoneInfo(self.time_zone)).isocalendar()
        return f"{year}-W{week:02d}"


@dataclass(frozen=True, slots=True)
class QuotaLine:
    rule_name: str
    count: int  # counted in the period so far
    target: int
    state: str
    # Where the pacing line says the count should be by `paced_at`, and the count by then.
    paced_at: datetime | None = None
    paced_count: int | None = None
    pacing: float | None = None


@dataclass(frozen=True, slots=True)
class RateLine:
    rule_name: str
    value: float | None  # None below the rule's minimum sample
    sample: int
    within_bounds: bool | None


@dataclass(frozen=True, slots=True)
class RepLine:
    name: str
    touched: int
    median_business_hours: float
    median_hours: float


@dataclass(frozen=True, slots=True)
class ResponseLine:
    rule_name: str
    on_time: int
    late: int
    compliance: float | None
    reps: tuple[RepLine, ...] = ()


@dataclass(frozen=True, slots=True)
class Scorecard:
    since: datetime  # the week covered: instances started in [since, until)
    until: datetime
    time_zone: str
    quotas: Sequence[QuotaLine] = field(default_factory=tuple)
    rates: Sequence[RateLine] = field(default_factory=tuple)
    responses: Sequence[ResponseLine] = field(default_factory=tuple)


def _week_label(card: Scorecard) -> str:
    days = round((card.until - card.since) / timedelta(days=1))
    return f"{days} days to {card.until.astimezone(ZoneInfo(card.time_zone)):%a %d %b %Y %H:%M}"


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.0f} %"


def _hours(value: float) -> str:
    return f"{value:.1f} h"


def quota_text(line: QuotaLine, zone: ZoneInfo) -> str:
    text = f"*{line.rule_name}*: {line.count} of {line.target} ({line.state.replace('_', ' ')})"
    if line.paced_at is not None and line.pacing is not None:
        text += (
            f"; pacing line {line.pacing:g} by {line.paced_at.astimezone(zone):%a %d %b}, "
            f"{line.paced_count} delivered by then"
        )
    return text


def rate_text(line: RateLine) -> str:
    if line.value is None:
        return f"*{line.rule_name}*: not enough records yet ({line.sample})"
    verdict = (
        "" if line.within_bounds is None else (" ✓" if line.within_bounds else " ✗ out of bounds")
    )
    return f"*{line.rule_name}*: {_percent(line.value)} of {line.sample}{verdict}"


def response_text(line: ResponseLine) -> str:
    verdicts = line.on_time + line.late
    text = f"*{line.rule_name}*: {_percent(line.compliance)} on time ({line.on_time} of {verdicts})"
    shown = line.reps[:REPS_LISTED]
    for rep in shown:
        text += (
            f"\n• {rep.name}: median {_hours(rep.median_business_hours)} business "
            f"({_hours(rep.median_hours)} wall), {rep.touched} touched"
        )
    if len(line.reps) > len(shown):
        text += f"\n• and {len(line.reps) - len(shown)} more reps"
    return text


def _section(text: str) -> dict[str, Any]:
    if len(text) > SECTION_CHARS:
        text = text[: SECTION_CHARS - 1] + "…"
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def render_scorecard(card: Scorecard) -> SlackMessage:
    """Block Kit: a header, marketing's figures, sales' figures; `text` says it all alone."""
    zone = ZoneInfo(card.time_zone)
    title = f"Weekly SLA scorecard, {_week_label(card)}"
    marketing = [quota_text(q, zone) for q in card.quotas] + [rate_text(r) for r in card.rates]
    sales = [response_text(r) for r in card.responses]
    marketing_text = "\n".join(marketing) or "No quota or rate rules."
    sales_text = "\n".join(sales) or "No response rules."
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": title[:150]}},
        _section(f":mega: *Marketing*\n{marketing_text}"),
        {"type": "divider"},
        _section(f":telephone_receiver: *Sales*\n{sales_text}"),
    ]
    text = f"{title}\nMarketing:\n{marketing_text}\nSales:\n{sales_text}"
    return SlackMessage(text.replace("*", ""), blocks)
