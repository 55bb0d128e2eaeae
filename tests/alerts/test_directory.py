"""Slack lookups for owners and managers: what to ask Slack, and what the answers mean."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from alerts.directory import CachedLookup, emails_to_look_up, resolve_managers

NOW = datetime(2026, 12, 2, 12, tzinfo=UTC)


def cached(email: str, user: str | None, age: timedelta) -> CachedLookup:
    return CachedLookup(email, user, NOW - age)


def test_only_unknown_or_day_old_answers_are_looked_up_again() -> None:
    cache = {
        "fresh@example.com": cached("fresh@example.com", "U1", timedelta(hours=23)),
        "stale@example.com": cached("stale@example.com", "U2", timedelta(days=1)),
        "absent@example.com": cached("absent@example.com", None, timedelta(hours=2)),
    }
    wanted = [
        "Fresh@Example.com",
        "stale@example.com",
        "absent@example.com",
        "new@example.com",
        "NEW@example.com ",
        "U0ADA",
        "",
    ]

    assert emails_to_look_up(wanted, cache, NOW) == ["stale@example.com", "new@example.com"]


def test_managers_written_as_ids_or_emails_become_slack_ids() -> None:
    cache = {
        "ada@example.com": cached("ada@example.com", "U0ADA", timedelta(hours=1)),
        "gone@example.com": cached("gone@example.com", None, timedelta(hours=1)),
    }
    managers = resolve_managers(
        {"1001": ("U0BOSS", "Ada@example.com", "U0BOSS"), "1002": ("gone@example.com",)}, cache
    )

    assert managers.by_team == {"1001": ("U0BOSS", "U0ADA"), "1002": ()}
    assert managers.not_found == (("1002", "gone@example.com"),)
