"""Which keys the rules file's schema allows where, for a "did you mean …?" beside an unknown
key. Walks the pydantic models' annotations along a validation error's location."""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel

from app.sla.schema import RulesFile

Location = tuple[str | int, ...]
# The rule kinds: pydantic puts the one it chose into an error's location.
RULE_KINDS = frozenset({"response", "cadence", "stage_age", "quota", "rate"})


def _members(annotation: Any) -> list[Any]:
    """The types an annotation may hold: Annotated and unions (Optional too) unwrapped."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _members(typing.get_args(annotation)[0])
    if origin is typing.Union or origin is types.UnionType:
        return [m for arg in typing.get_args(annotation) for m in _members(arg)]
    return [annotation]


def _is_model(candidate: Any) -> bool:
    return isinstance(candidate, type) and issubclass(candidate, BaseModel)


def _field_names(model: type[BaseModel]) -> set[str]:
    return {info.alias or name for name, info in model.model_fields.items()}


def _step(annotation: Any, part: str | int) -> list[Any]:
    found: list[Any] = []
    for member in _members(annotation):
        origin, args = typing.get_origin(member), typing.get_args(member)
        if isinstance(part, int) and origin is list:
            found.extend(_members(args[0]))
        elif isinstance(part, str) and origin is dict:
            found.extend(_members(args[1]))
        elif isinstance(part, str) and _is_model(member):
            if part in RULE_KINDS and "kind" in member.model_fields:
                if part in typing.get_args(member.model_fields["kind"].annotation):
                    found.append(member)
                continue
            for name, info in member.model_fields.items():
                if part in (name, info.alias):
                    found.extend(_members(info.annotation))
    return found


def known_fields(path: Location) -> set[str]:
    """The keys the schema allows in the mapping at `path` (a pydantic location)."""
    candidates: list[Any] = [RulesFile]
    for part in path:
        candidates = [found for c in candidates for found in _step(c, part)]
    return {name for c in candidates if _is_model(c) for name in _field_names(c)}


def not_known(key: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(key, sorted(known), n=1, cutoff=0.6)
    if close:
        return f"is not a known field; did you mean {close[0]}?"
    return "is not a known field (check the spelling; see docs/rules.md)"
