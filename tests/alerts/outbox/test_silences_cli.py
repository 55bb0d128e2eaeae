"""`slaguard alerts silence|silences|unsilence` as an admin runs them, on both databases: a
silenced rule's breaches reach nobody and show as suppressed in `alerts status`."""

from __future__ import annotations

from pathlib import Path

from standardwebhooks import Webhook

from tests.alerts.outbox.test_cli import (
    RULES,
    SECRET,
    delivery_count,
    environment,
    receiver,
    seed,
    slaguard,
)
from tests.integrations.webhooks.receiver import Answer, Receiver

__all__ = ["receiver"]  # the fixture, used by name


def test_a_silenced_rule_reaches_nobody_until_it_is_unsilenced(
    database_url: str, tmp_path: Path, receiver: Receiver
) -> None:
    seed(database_url, tmp_path, receiver.url, leads=2)
    env = environment(database_url, tmp_path)

    made = slaguard(
        env, "alerts", "silence", "--rule", "first-touch", "--for", "2h", "--reason", "import"
    )
    assert made.returncode == 0, made.stderr
    assert made.stdout.startswith("silence 1 until ")
    assert slaguard(env, "evaluate").returncode == 0
    sent = slaguard(env, "deliver")
    assert sent.stdout.startswith("0 deliveries attempted"), sent.stdout
    assert receiver.requests == []
    status = slaguard(env, "alerts", "status").stdout
    assert "suppressed by silences: 2" in status and "webhook suppressed: 2" in status
    listed = slaguard(env, "alerts", "silences").stdout
    assert listed.startswith("1  active  until ") and "rule=first-touch" in listed
    assert "import" in listed

    ended = slaguard(env, "alerts", "unsilence", "1")
    assert ended.returncode == 0 and "silence 1 ended" in ended.stdout
    assert slaguard(env, "alerts", "silences").stdout.strip() == "no silences"
    assert slaguard(env, "alerts", "silences", "--all").stdout.startswith("1  over  ")


def test_silences_that_cannot_be_are_refused_with_a_reason(
    database_url: str, tmp_path: Path
) -> None:
    (tmp_path / "sla.yaml").write_text(RULES)
    env = environment(database_url, tmp_path)

    nothing = slaguard(env, "alerts", "silence", "--for", "2h", "--reason", "x")
    both = slaguard(env, "alerts", "silence", "--rule", "r", "--reason", "x")
    unknown = slaguard(env, "alerts", "unsilence", "7")

    assert nothing.returncode != 0 and "needs a rule" in nothing.stdout + nothing.stderr
    assert both.returncode != 0 and "--for" in both.stdout + both.stderr
    assert unknown.returncode != 0 and "no silence 7" in unknown.stdout + unknown.stderr


def test_alerts_test_sends_a_signed_test_message_through_the_route_and_queues_nothing(
    database_url: str, tmp_path: Path, receiver: Receiver
) -> None:
    seed(database_url, tmp_path, receiver.url, leads=0)
    env = environment(database_url, tmp_path)
    assert slaguard(env, "evaluate").returncode == 0  # puts the rules file in force

    sent = slaguard(env, "alerts", "test", "crm")

    assert sent.returncode == 0, sent.stdout + sent.stderr
    assert sent.stdout.startswith("webhook:crm: delivered")
    [request] = receiver.requests
    payload = Webhook(SECRET.text()).verify(request.body, request.headers)
    assert (payload["type"], payload["test"], payload["route"]) == ("sla.test", True, "crm")
    assert delivery_count(database_url) == 0
    receiver.answer(Answer(500))
    failed = slaguard(env, "alerts", "test", "crm")
    assert failed.returncode == 1 and "webhook:crm: retry" in failed.stdout
    unknown = slaguard(env, "alerts", "test", "nope")
    assert unknown.returncode != 0 and "no route 'nope'" in unknown.stdout + unknown.stderr
