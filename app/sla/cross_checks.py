"""The rules file's cross-references, read from the raw YAML data rather than the validated
models, so that they are reported in the same pass as schema errors elsewhere in the file."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import holidays as holiday_data

Location = tuple[str | int, ...]
_CLOCK_KINDS = {"response", "cadence"}


def _mapping(value: Any) -> dict[Any, Any]:
    return value if isinstance(value, dict) else {}


def _calendar_names(data: dict[Any, Any]) -> set[str] | None:
    """The calendars the file defines (`default` when it defines none); None when the
    `calendars` key is malformed, so references to calendars cannot be judged."""
    calendars = data.get("calendars")
    if calendars is None:
        return {"default"}
    if not isinstance(calendars, dict):
        return None
    return {str(name) for name in calendars}


def _holiday_problems(data: dict[Any, Any]) -> Iterator[tuple[Location, str]]:
    for name, spec in _mapping(data.get("calendars")).items():
        found = _mapping(_mapping(spec).get("holidays"))
        country, subdivision = found.get("country"), found.get("subdivision")
        if not isinstance(country, str) or not country:
            continue
        try:
            holiday_data.country_holidays(
                country, subdiv=subdivision if isinstance(subdivision, str) else None
            )
        except NotImplementedError:
            yield (
                ("calendars", str(name), "holidays", "country"),
                f"expected a country code the holidays package knows, got {country!r}",
            )
        except Exception as exc:  # unknown subdivision raises a plain exception subclass
            yield (
                ("calendars", str(name), "holidays", "subdivision"),
                f"expected a subdivision of {country}: {str(exc).splitlines()[0]}",
            )


def _calendar_reference_problems(data: dict[Any, Any]) -> Iterator[tuple[Location, str]]:
    names = _calendar_names(data)
    if names is None:
        return
    expected = f"expected one of the calendars: {', '.join(sorted(names)) or '(none)'}"
    assignments = _mapping(data.get("assignments"))
    default = assignments.get("default", "default")
    if isinstance(default, str) and default not in names:
        yield ("assignments", "default"), expected
    for group in ("teams", "owners"):
        for key, name in _mapping(assignments.get(group)).items():
            if isinstance(name, str) and name not in names:
                yield ("assignments", group, str(key)), expected
    for index, rule in enumerate(_rules_of(data)):
        calendar = rule.get("calendar")
        if isinstance(calendar, str) and calendar not in names:
            yield ("rules", index, "calendar"), expected


def _rules_of(data: dict[Any, Any]) -> list[dict[Any, Any]]:
    rules = data.get("rules")
    return [_mapping(rule) for rule in rules] if isinstance(rules, list) else []


def _rule_problems(data: dict[Any, Any]) -> Iterator[tuple[Location, str]]:
    seen: set[str] = set()
    for index, rule in enumerate(_rules_of(data)):
        rule_id = rule.get("id")
        if isinstance(rule_id, str):
            if rule_id in seen:
                yield ("rules", index, "id"), f"expected a unique id, {rule_id!r} is repeated"
            seen.add(rule_id)
        start = _mapping(rule.get("start"))
        on_deal = rule.get("kind") in _CLOCK_KINDS and rule.get("object") == "deal"
        if on_deal and start.get("lead_status_set"):
            yield (
                ("rules", index, "start", "lead_status_set"),
                "expected a contact rule: deals have no lead status",
            )


def cross_references(data: dict[Any, Any]) -> list[tuple[Location, str]]:
    """Every reference to a calendar that is not defined, unknown holiday countries, repeated
    rule ids, lead statuses on deals: (where, what was expected)."""
    return [*_holiday_problems(data), *_calendar_reference_problems(data), *_rule_problems(data)]
