"""The Slack message of each SLA instance and target, kept in the store across processes."""

from __future__ import annotations

from alerts.delivery import MessageRef, SlackMessageRefs
from alerts.outbox.slack_refs import StoredSlackMessageRefs
from app.store.db import SessionFactory


def test_a_saved_message_is_found_again_and_a_newer_one_replaces_it(
    session_factory: SessionFactory,
) -> None:
    refs: SlackMessageRefs = StoredSlackMessageRefs(session_factory)
    assert refs.find(1, "U1") is None

    refs.save(1, "U1", MessageRef("D1", "1700000000.000100"))
    refs.save(1, "C9", MessageRef("C9", "1700000000.000200"))
    again = StoredSlackMessageRefs(session_factory)  # another process, the same store
    assert again.find(1, "U1") == MessageRef("D1", "1700000000.000100")

    again.save(1, "U1", MessageRef("D1", "1700000000.000300"))
    assert refs.find(1, "U1") == MessageRef("D1", "1700000000.000300")
    assert refs.find(1, "C9") == MessageRef("C9", "1700000000.000200")
    assert refs.find(2, "U1") is None
