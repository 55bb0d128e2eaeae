"""What a valid rules file says that is surely not meant: a filter that can never match."""

from __future__ import annotations

from collections.abc import Iterator

from app.sla.schema import DIRECTIONS, CadenceRule, ResponseRule, RulesFile, Touches

Location = tuple[str | int, ...]


def _direction_warnings(touches: Touches) -> Iterator[str]:
    """Directions filter calls and emails only (HubSpot gives nothing else one)."""
    wanted = set(touches.directions or ())
    if not wanted:
        return
    every = set().union(*DIRECTIONS.values())
    for value in sorted(wanted - every):
        yield (
            f"{value} is not a direction HubSpot uses (calls: INBOUND, OUTBOUND; "
            "emails: EMAIL, INCOMING_EMAIL, FORWARDED_EMAIL); it matches nothing"
        )
    directed = [kind for kind in touches.types if kind in DIRECTIONS]
    if not directed:
        undirected = " and ".join(f"{kind}s" for kind in touches.types)
        yield f"has no effect: {undirected} have no direction"
    for kind in directed:
        if not wanted & DIRECTIONS[kind]:
            *others, last = sorted(DIRECTIONS[kind])
            choices = f"{', '.join(others)} or {last}"
            yield (
                f"no {kind} can match: {kind}s are {choices}, and directions lists only "
                f"{', '.join(sorted(wanted))}"
            )


def _filters(rules: RulesFile) -> Iterator[tuple[Location, Touches]]:
    for index, rule in enumerate(rules.rules):
        if isinstance(rule, ResponseRule | CadenceRule) and rule.stop and rule.stop.engagement:
            yield ("rules", index, "stop", "engagement"), rule.stop.engagement
        if isinstance(rule, CadenceRule):
            yield ("rules", index, "counts"), rule.counts


def direction_warnings(rules: RulesFile) -> Iterator[tuple[Location, str]]:
    """(where, why) for each directions filter that cannot do what it says."""
    for path, touches in _filters(rules):
        for message in _direction_warnings(touches):
            yield (*path, "directions"), message
