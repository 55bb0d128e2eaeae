"""Slack messages for alerts: Block Kit blocks with a plain `text` fallback, pure.

The fallback is what notifications, screen readers and old clients show, so it carries the
whole story on its own: what is late, whose, since when, by how much (business and wall
time), and which promise. Open alerts get Acknowledge / Snooze buttons; every alert links to
the record in HubSpot. A digest folds many alerts for one receiver into one message.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from alerts.model import EventType

# Slack allows 50 blocks per message; a digest lists this many alerts and counts the rest.
DIGEST_LISTED = 15
ACK_ACTION = "slaguard.ack"
SNOOZE_HOUR_ACTION = "slaguard.snooze.1h"
SNOOZE_MORNING_ACTION = "slaguard.snooze.morning"
OPEN_ACTION = "slaguard.open"

_HEADLINES: dict[EventType, tuple[str, str]] = {
    EventType.WARNING: (":warning:", "SLA at risk"),
    EventType.BREACHED: (":rotating_light:", "SLA breached"),
    EventType.MET: (":white_check_mark:", "SLA met"),
    EventType.MET_LATE: (":white_check_mark:", "SLA met late"),
    EventType.CANCELLED: (":heavy_minus_sign:", "SLA cancelled"),
    EventType.AT_RISK: (":chart_with_downwards_trend:", "Target at risk"),
    EventType.MISSED: (":x:", "Target missed"),
    EventType.RESOLVED: (":white_check_mark:", "Back on track"),
    EventType.ESCALATED: (":arrow_double_up:", "SLA breach escalated"),
    EventType.REMINDER: (":alarm_clock:", "Still breached"),
}
_OPEN = frozenset({EventType.WARNING, EventType.BREACHED, EventType.ESCALATED, EventType.REMINDER})


@dataclass(frozen=True, slots=True)
class Progress:
    """A quota or rate against its target: `count` of `target`, `expected` by now."""

    count: float
    target: float
    expected: float | None = None


@dataclass(frozen=True, slots=True)
class AlertFacts:
    event_type: EventType
    instance_id: int
    rule_name: str
    promise: str | None  # e.g. "respond within 4h (business time)"
    record_label: str  # e.g. "Jane Doe (contact 501)"
    record_url: str | None
    owner_name: str | None
    due_at: datetime | None
    late_business: timedelta | None = None
    late_wall: timedelta | None = None
    progress: Progress | None = None


@dataclass(frozen=True, slots=True)
class SlackMessage:
    text: str
    blocks: list[dict[str, Any]]


def duration_text(span: timedelta) -> str:
    """`1 d 3 h`, `2 h 5 min`, `45 min`, `under a minute`."""
    minutes = int(span.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = [f"{days} d" if days else "", f"{hours} h" if hours else ""]
    if not days:
        parts.append(f"{minutes} min" if minutes else "")
    return " ".join(part for part in parts if part) or "under a minute"


def _when(at: datetime) -> str:
    # Slack shows the date token in each reader's own time zone; the fallback is UTC.
    fallback = at.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(at.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"


def _lateness(facts: AlertFacts) -> str | None:
    business, wall = facts.late_business, facts.late_wall
    if business is None:
        return None if wall is None else f"late by {duration_text(wall)} on the clock"
    text = f"late by {duration_text(business)} of business time"
    return text if wall is None else f"{text} ({duration_text(wall)} on the clock)"


def _progress(progress: Progress) -> str:
    share = progress.count / progress.target if progress.target else 0.0
    line = f"{progress.count:g} of {progress.target:g} ({share:.0%})"
    if progress.expected is not None:
        line += f", {progress.expected:g} expected by now"
    return line


def fallback_text(facts: AlertFacts) -> str:
    _, headline = _HEADLINES[facts.event_type]
    parts = [f"{headline}: {facts.record_label}", facts.rule_name]
    if facts.promise:
        parts[-1] += f" ({facts.promise})"
    if facts.owner_name:
        parts.append(f"owner {facts.owner_name}")
    if facts.due_at is not None:
        parts.append(f"due {facts.due_at.strftime('%Y-%m-%d %H:%M UTC')}")
    late = _lateness(facts)
    if late:
        parts.append(late)
    if facts.progress is not None:
        parts.append(_progress(facts.progress))
    return " — ".join(parts)


def _detail_lines(facts: AlertFacts) -> list[str]:
    rule = f"*Rule:* {facts.rule_name}" + (f" — {facts.promise}" if facts.promise else "")
    lines = [rule, f"*Owner:* {facts.owner_name or 'no owner'}"]
    if facts.due_at is not None:
        lines.append(f"*Due:* {_when(facts.due_at)}")
    late = _lateness(facts)
    if late:
        lines.append(f"*Late:* {late.removeprefix('late by ')}")
    if facts.progress is not None:
        lines.append(f"*Progress:* {_progress(facts.progress)}")
    return lines


def _buttons(facts: AlertFacts) -> list[dict[str, Any]]:
    value = str(facts.instance_id)
    buttons: list[dict[str, Any]] = []
    if facts.event_type in _OPEN:
        buttons += [
            _button("Acknowledge", ACK_ACTION, value, style="primary"),
            _button("Snooze 1 h", SNOOZE_HOUR_ACTION, value),
            _button("Snooze until tomorrow", SNOOZE_MORNING_ACTION, value),
        ]
    if facts.record_url:
        buttons.append({**_button("Open in HubSpot", OPEN_ACTION, value), "url": facts.record_url})
    return buttons


def _button(label: str, action: str, value: str, style: str | None = None) -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "text": {"type": "plain_text", "text": label},
        "action_id": action,
        "value": value,
    }
    if style:
        button["style"] = style
    return button


def _record_link(facts: AlertFacts) -> str:
    return f"<{facts.record_url}|{facts.record_label}>" if facts.record_url else facts.record_label


def render_alert(facts: AlertFacts) -> SlackMessage:
    emoji, headline = _HEADLINES[facts.event_type]
    blocks: list[dict[str, Any]] = [
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": f"{emoji} *{headline}:* {_record_link(facts)}"},
        },
        {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(_detail_lines(facts))}},
    ]
    buttons = _buttons(facts)
    if buttons:
        blocks.append(
            {"type": "actions", "block_id": f"alert-{facts.instance_id}", "elements": buttons}
        )
    return SlackMessage(fallback_text(facts), blocks)


def render_digest(alerts: Sequence[AlertFacts]) -> SlackMessage:
    """Many alerts for one receiver as one message: counts by kind, then the first ones."""
    if len(alerts) == 1:
        return render_alert(alerts[0])
    counts: dict[EventType, int] = {}
    for facts in alerts:
        counts[facts.event_type] = counts.get(facts.event_type, 0) + 1
    summary = ", ".join(f"{n} {_HEADLINES[kind][1].lower()}" for kind, n in counts.items())
    title = f"{len(alerts)} SLA alerts: {summary}"
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f":bell: *{title}*"}},
        {"type": "divider"},
    ]
    for facts in alerts[:DIGEST_LISTED]:
        emoji, headline = _HEADLINES[facts.event_type]
        line = f"{emoji} {headline}: {_record_link(facts)} — {facts.rule_name}"
        late = _lateness(facts)
        if late:
            line += f", {late}"
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": line[:2900]}})
    hidden = len(alerts) - DIGEST_LISTED
    if hidden > 0:
        more = f"…and {hidden} more (`slaguard status` lists them all)"
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": more}]})
    return SlackMessage(title, blocks)
