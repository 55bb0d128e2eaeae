"""The portal's owners: reps in teams, some of whom have left (archived owners)."""

from __future__ import annotations

import random
from dataclasses import dataclass

from sandbox.portal.shapes import TEAMS, Team

FIRST_NAMES = (
    "Ava", "Ben", "Chloe", "Diego", "Emma", "Farid", "Grace", "Hugo", "Ines", "Jonas",
    "Kira", "Liam", "Maya", "Noah", "Olga", "Priya", "Quinn", "Rosa", "Sami", "Tara",
    "Umar", "Vera", "Will", "Xena", "Yusuf", "Zoe",
)  # fmt: skip
LAST_NAMES = (
    "Adams", "Baker", "Costa", "Dubois", "Evans", "Fischer", "Garcia", "Haddad", "Ito",
    "Jensen", "Kowalski", "Lopez", "Moreau", "Nakamura", "Okafor", "Patel", "Rossi",
    "Schmidt", "Tanaka", "Usman", "Varga", "Weber", "Yilmaz", "Zhou",
)  # fmt: skip

OWNER_ID_BASE = 70_100_000
USER_ID_BASE = 9_300_000


@dataclass(frozen=True)
class Owner:
    id: str
    email: str
    first_name: str
    last_name: str
    user_id: int
    team: Team
    archived: bool
    created_ms: int
    updated_ms: int


def owner_count(contacts: int) -> int:
    return max(12, min(80, contacts // 2000))


def build_owners(seed: int, contacts: int, start_ms: int, end_ms: int) -> tuple[Owner, ...]:
    """Every ninth owner has left the company: archived, but records still point at them."""
    rng = random.Random(seed * 31 + 7)
    owners = []
    for number in range(owner_count(contacts)):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        archived = number % 9 == 8
        created = start_ms - rng.randrange(30, 400) * 86_400_000
        owners.append(
            Owner(
                id=str(OWNER_ID_BASE + number * 17),
                email=f"{first}.{last}.{number}@example-sales.com".lower(),
                first_name=first,
                last_name=last,
                user_id=USER_ID_BASE + number,
                team=TEAMS[number % len(TEAMS)],
                archived=archived,
                created_ms=created,
                updated_ms=end_ms - rng.randrange(1, 60) * 86_400_000 if archived else created,
            )
        )
    return tuple(owners)
