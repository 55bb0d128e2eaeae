"""The emulated workspace's records: people, users, channels and messages with their edits."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class SlackPerson:
    """Someone to create as a workspace member. The email defaults to `first.last@example.com`,
    the convention the sandbox HubSpot owners share, so a rep found in HubSpot is found in Slack."""

    first_name: str
    last_name: str
    email: str | None = None
    title: str = ""
    time_zone: str = "America/New_York"
    deleted: bool = False

    @property
    def address(self) -> str:
        if self.email:
            return self.email
        return f"{self.first_name}.{self.last_name}@example.com".lower().replace(" ", "")


# A sales and marketing team for a fresh sandbox; the HubSpot side passes its own owners instead.
DEFAULT_PEOPLE: tuple[SlackPerson, ...] = (
    SlackPerson("Ada", "Lovelace", title="Sales Manager"),
    SlackPerson("Grace", "Hopper", title="Account Executive"),
    SlackPerson("Alan", "Turing", title="Account Executive"),
    SlackPerson("Katherine", "Johnson", title="Sales Development Rep"),
    SlackPerson("Edsger", "Dijkstra", title="Sales Development Rep", time_zone="Europe/Amsterdam"),
    SlackPerson("Barbara", "Liskov", title="Marketing Manager"),
    SlackPerson("Donald", "Knuth", title="Marketing Ops", time_zone="America/Los_Angeles"),
    SlackPerson("Frances", "Allen", title="RevOps Admin"),
)


class OwnerLike(Protocol):
    """What a HubSpot owner record offers (the sandbox portal's owners fit)."""

    @property
    def first_name(self) -> str: ...

    @property
    def last_name(self) -> str: ...

    @property
    def email(self) -> str: ...

    @property
    def archived(self) -> bool: ...


def people_from_owners(owners: Iterable[OwnerLike]) -> list[SlackPerson]:
    """HubSpot owners as Slack members with the same email, so a rep found in HubSpot is found
    by `users.lookupByEmail`; an archived owner (someone who left) is a deactivated user."""
    people: dict[str, SlackPerson] = {}
    for owner in owners:
        email = owner.email.strip().lower()
        if email and email not in people:
            people[email] = SlackPerson(
                owner.first_name, owner.last_name, email=email, deleted=owner.archived
            )
    return list(people.values())


# Channels the bot has been invited to; `general` exists too, without the bot, because a bot
# with only `chat:write` gets `not_in_channel` there, as in a real workspace.
DEFAULT_CHANNELS: tuple[str, ...] = ("sales", "marketing", "revops-alerts", "sales-managers")


@dataclass
class SlackUser:
    id: str
    name: str
    real_name: str
    first_name: str
    last_name: str
    email: str | None
    title: str
    time_zone: str
    is_bot: bool = False
    deleted: bool = False
    bot_id: str | None = None


@dataclass
class SlackChannel:
    id: str
    name: str
    created: int
    is_im: bool = False
    im_user: str | None = None
    bot_is_member: bool = True
    is_archived: bool = False
    last_ts_micros: int = 0

    @property
    def label(self) -> str:
        return self.name if self.is_im else f"#{self.name}"


@dataclass(frozen=True)
class MessageVersion:
    """One state of a message: the original post, then one per `chat.update`."""

    text: str
    blocks: list[dict[str, Any]]
    attachments: list[dict[str, Any]]
    edited_ts: str | None  # None for the original post
    # Slack message metadata (`event_type`, `event_payload`); an update without it keeps it.
    metadata: dict[str, Any] | None = None


@dataclass
class StoredMessage:
    channel: str
    ts: str
    user: str
    bot_id: str | None
    thread_ts: str | None
    versions: list[MessageVersion] = field(default_factory=list)

    @property
    def current(self) -> MessageVersion:
        return self.versions[-1]

    @property
    def text(self) -> str:
        return self.current.text

    @property
    def blocks(self) -> list[dict[str, Any]]:
        return self.current.blocks

    @property
    def edited_ts(self) -> str | None:
        return self.current.edited_ts

    @property
    def metadata(self) -> dict[str, Any] | None:
        return self.current.metadata
