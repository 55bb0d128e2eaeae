"""`make demo` as the issue promises it: a breach reaches the sandbox Slack, and when a sandbox
rep then works the lead, that same message (same channel, same ts) turns to "met late" by
`chat.update` instead of a second post.

Slow (about a minute): the rep's call reaches slaguard by the demo's incremental sync, which
runs every minute, as calls do in a real portal (HubSpot sends no webhooks for them).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.app.test_demo import DemoProcess, demo_args, run_demo, slack_messages
from tests.fixtures.waiting import wait_for

__all__ = ["run_demo"]  # the fixture, used by name

BREACHED = re.compile(r"^SLA breached: contact (\d+) ")
BREACH_TIMEOUT = 150.0
# The incremental sync every minute, the evaluation, the outbox's group wait and delivery.
UPDATE_TIMEOUT = 150.0


def _breached_messages(sandbox_url: str) -> list[dict[str, Any]]:
    return [
        m
        for m in slack_messages(sandbox_url)
        if m.get("thread_ts") in (None, m["ts"]) and BREACHED.match(m["text"])
    ]


def _work_a_breached_lead(sandbox_url: str, tried: set[str]) -> tuple[dict[str, Any], str] | None:
    """A breached lead's owner works it through the sandbox; the breach message and the
    contact, or None when no breached lead shown so far is still waiting for its touch."""
    for message in _breached_messages(sandbox_url):
        match = BREACHED.match(message["text"])
        assert match is not None
        contact = match.group(1)
        if contact in tried:
            continue
        tried.add(contact)
        answer = httpx.post(f"{sandbox_url}/_sandbox/work-lead", json={"contact_id": int(contact)})
        if answer.status_code == 200:
            return message, contact
        assert answer.status_code == 409, answer.text
    return None


@pytest.mark.slow
def test_a_breach_message_turns_to_met_late_in_place_when_a_rep_works_the_lead(
    run_demo: Callable[..., DemoProcess],
) -> None:
    demo = run_demo(*demo_args())
    sandbox_url = demo.value("HubSpot sandbox")
    demo.wait_for_line("Press Ctrl-C to stop.")

    tried: set[str] = set()
    worked: list[tuple[dict[str, Any], str]] = []

    def a_breached_lead_is_worked() -> bool:
        found = _work_a_breached_lead(sandbox_url, tried)
        if found is not None:
            worked.append(found)
        return bool(worked)

    wait_for(a_breached_lead_is_worked, "a breach for a waiting lead", BREACH_TIMEOUT, interval=2.0)
    breach, contact = worked[0]

    def same_message() -> dict[str, Any]:
        return next(
            m
            for m in slack_messages(sandbox_url)
            if (m["channel"], m["ts"]) == (breach["channel"], breach["ts"])
        )

    wait_for(
        lambda: same_message()["text"].startswith(f"SLA met late: contact {contact} "),
        f"the breach message for contact {contact} turns to met late",
        UPDATE_TIMEOUT,
        interval=2.0,
    )
    updated = same_message()
    assert updated["edited_ts"] is not None
    assert [v["text"] for v in updated["versions"]][-2:][0].startswith("SLA breached")
    # Updated, not posted again: one top-level message for the lead in that conversation.
    in_channel = [
        m
        for m in slack_messages(sandbox_url)
        if m["channel"] == breach["channel"]
        and m.get("thread_ts") in (None, m["ts"])
        and f"contact {contact} " in m["text"]
    ]
    assert [m["ts"] for m in in_channel] == [breach["ts"]]
    assert demo.interrupt() == 0
