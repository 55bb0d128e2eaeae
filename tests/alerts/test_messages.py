"""Alert messages: the text fallback tells the whole story, and Slack accepts the blocks."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from alerts.messages import (
    ACK_ACTION,
    AlertFacts,
    Progress,
    duration_text,
    render_alert,
    render_digest,
)
from alerts.model import EventType
from integrations.slack import SlackClient

BREACH = AlertFacts(
    event_type=EventType.BREACHED,
    instance_id=100,
    rule_name="MQL first touch",
    promise="respond within 4h (business time)",
    record_label="Jane Doe (contact 501)",
    record_url="https://app.hubspot.com/contacts/7/record/0-1/501",
    owner_name="Grace Hopper",
    due_at=datetime(2026, 12, 2, 19, 0, tzinfo=UTC),
    late_business=timedelta(hours=2, minutes=5),
    late_wall=timedelta(days=2, hours=3),
)


def test_the_fallback_text_says_what_whose_when_and_how_late() -> None:
    text = render_alert(BREACH).text

    assert text == (
        "SLA breached: Jane Doe (contact 501) — MQL first touch "
        "(respond within 4h (business time)) — owner Grace Hopper — due 2026-12-02 19:00 UTC "
        "— late by 2 h 5 min of business time (2 d 3 h on the clock)"
    )


def test_an_open_alert_has_acknowledge_snooze_and_a_hubspot_link() -> None:
    blocks = render_alert(BREACH).blocks

    (actions,) = [block for block in blocks if block["type"] == "actions"]
    labels = [element["text"]["text"] for element in actions["elements"]]
    assert labels == ["Acknowledge", "Snooze 1 h", "Snooze until tomorrow", "Open in HubSpot"]
    assert actions["elements"][0]["action_id"] == ACK_ACTION
    assert actions["elements"][0]["value"] == "100"
    assert actions["elements"][-1]["url"] == BREACH.record_url


def test_a_finished_alert_only_links_to_the_record() -> None:
    met_late = render_alert(replace(BREACH, event_type=EventType.MET_LATE)).blocks

    (actions,) = [block for block in met_late if block["type"] == "actions"]
    assert [e["text"]["text"] for e in actions["elements"]] == ["Open in HubSpot"]


def test_a_quota_alert_shows_progress_against_target() -> None:
    quota = replace(
        BREACH,
        event_type=EventType.AT_RISK,
        record_label="MQLs, December 2026",
        record_url=None,
        owner_name=None,
        due_at=None,
        late_business=None,
        late_wall=None,
        progress=Progress(count=42, target=120, expected=55),
    )
    message = render_alert(quota)

    assert "42 of 120 (35%), 55 expected by now" in message.text
    assert not [block for block in message.blocks if block["type"] == "actions"]


@pytest.mark.parametrize(
    ("span", "text"),
    [
        (timedelta(seconds=20), "under a minute"),
        (timedelta(minutes=45), "45 min"),
        (timedelta(hours=2, minutes=5), "2 h 5 min"),
        (timedelta(days=1, hours=3, minutes=9), "1 d 3 h"),
    ],
)
def test_durations_read_as_a_person_would_say_them(span: timedelta, text: str) -> None:
    assert duration_text(span) == text


def test_a_burst_becomes_one_digest_within_slacks_block_limit() -> None:
    burst = [replace(BREACH, instance_id=n, record_label=f"Lead {n}") for n in range(500)]

    digest = render_digest(burst)

    assert digest.text == "500 SLA alerts: 500 sla breached"
    assert len(digest.blocks) <= 50
    assert "485 more" in digest.blocks[-1]["elements"][0]["text"]


@pytest.mark.sandbox(contacts=10)
def test_slack_accepts_every_kind_of_alert_and_a_digest(sandbox: object) -> None:
    slack = SlackClient(sandbox.slack_token, base_url=sandbox.slack_url)  # type: ignore[attr-defined]
    messages = [render_alert(replace(BREACH, event_type=kind)) for kind in EventType]
    messages.append(render_digest([replace(BREACH, instance_id=n) for n in range(60)]))

    # Four channels, so no channel goes past Slack's burst of posts.
    channels = ("sales", "marketing", "revops-alerts", "sales-managers")
    for number, message in enumerate(messages):
        slack.post_message(channels[number % 4], message.text, blocks=message.blocks)

    posted = [m for channel in channels for m in sandbox.slack.messages(channel)]  # type: ignore[attr-defined]
    assert len(posted) == len(messages)


def test_lateness_without_a_calendar_in_force_gives_wall_clock_time_only() -> None:
    facts = replace(BREACH, late_business=None, late_wall=timedelta(hours=3))

    assert "late by 3 h on the clock" in render_alert(facts).text
    assert "of business time" not in render_alert(facts).text
