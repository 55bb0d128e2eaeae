"""Building a workspace: the defaults, injected people, and bad input refused clearly."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from sandbox.slack import (
    DEFAULT_PEOPLE,
    SlackEmulatorState,
    SlackPerson,
    people_from_owners,
)


@dataclass(frozen=True)
class Owner:
    """Shaped like the sandbox portal's HubSpot owners."""

    first_name: str
    last_name: str
    email: str
    archived: bool


def test_a_fresh_workspace_has_a_bot_token_people_and_channels() -> None:
    state = SlackEmulatorState()

    [token] = state.tokens
    people = [u for u in state.users() if not u.is_bot]
    assert token.startswith("xoxb-")
    assert [u.email for u in people] == [p.address for p in DEFAULT_PEOPLE]
    assert all(u.email and u.email.endswith("@example.com") for u in people)
    assert {c.name for c in state.channels()} >= {"general", "sales", "marketing"}


def test_one_seed_gives_the_same_ids() -> None:
    first, again, other = (SlackEmulatorState(seed=s) for s in (5, 5, 6))

    assert [u.id for u in first.users()] == [u.id for u in again.users()]
    assert first.team_id == again.team_id != other.team_id


def test_bad_workspaces_are_refused_with_a_reason() -> None:
    with pytest.raises(ValueError, match="at least one token"):
        SlackEmulatorState(set())
    with pytest.raises(ValueError, match="unknown time zone 'Mars/Base'"):
        SlackEmulatorState(users=[SlackPerson("Ava", "Costa", time_zone="Mars/Base")])
    with pytest.raises(ValueError, match=r"ava\.costa@example\.com already exists"):
        SlackEmulatorState(users=[SlackPerson("Ava", "Costa"), SlackPerson("AVA", "COSTA")])
    with pytest.raises(ValueError, match="channel named sales already exists"):
        SlackEmulatorState(channels=["sales", "#sales"])
    with pytest.raises(ValueError, match="'Sales Team' is not a Slack channel name"):
        SlackEmulatorState(channels=["Sales Team"])
    with pytest.raises(KeyError):
        SlackEmulatorState().messages("no-such-channel")


def test_hubspot_owners_become_slack_members_with_the_same_email() -> None:
    owners = [
        Owner("Ava", "Costa", "Ava.Costa.0@example-sales.com", archived=False),
        Owner("Ben", "Ito", "ben.ito.8@example-sales.com", archived=True),
        Owner("Ava", "Costa", "ava.costa.0@example-sales.com", archived=False),  # listed twice
    ]

    state = SlackEmulatorState(users=people_from_owners(owners))

    ava = state.user_by_email("ava.costa.0@example-sales.com")
    ben = state.user_by_email("BEN.ITO.8@example-sales.com")
    assert ava is not None and ava.real_name == "Ava Costa" and not ava.deleted
    assert ben is not None and ben.deleted
    assert len([u for u in state.users() if not u.is_bot]) == 2
