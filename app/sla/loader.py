"""Reading a rules file: YAML with line numbers, validation, cross-references.

A pydantic error says *which field* is wrong; a person editing YAML needs *which line*. The
loader composes the YAML node tree (which carries marks), remembers the line of every key
path, and maps each validation error's location back onto it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import holidays as holiday_data
import yaml
from pydantic import ValidationError

from app.errors import SlaguardError
from app.sla.schema import ClockRule, RulesFile

Location = tuple[str | int, ...]
_UNION_TAGS = {"response", "cadence", "stage_age", "quota", "rate"}


@dataclass(frozen=True, slots=True)
class Problem:
    file: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}, line {self.line}" if self.line else self.file
        return (
            f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"
        )


class RulesFileError(SlaguardError):
    """The rules file cannot be used; `problems` lists every error with file, line, field."""

    def __init__(self, problems: list[Problem]) -> None:
        first = str(problems[0])
        more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
        super().__init__(first + more)
        self.problems = problems


def _line_index(node: yaml.Node, path: Location, lines: dict[Location, int]) -> None:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value
            child = (*path, key)
            _line_index(value_node, child, lines)
            # Point a missing-or-bad-value error at the key's own line.
            lines[child] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _line_index(item, (*path, index), lines)


def _resolve(location: Location, lines: dict[Location, int]) -> tuple[Location, int | None]:
    """Drop the discriminator tags pydantic adds (e.g. 'response') and alias noise, keeping
    the path that exists in the YAML; return it with the deepest known line."""
    kept: list[str | int] = []
    line = lines.get(())
    for part in location:
        name = "in" if part == "in_" else part
        candidate = (*kept, name)
        if candidate in lines:
            kept.append(name)
            line = lines[candidate]
        elif name not in _UNION_TAGS:
            kept.append(name)  # a field the user did not write: name it, keep the parent's line
    return tuple(kept), line


def _dotted(path: Location) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _expected(error: Any) -> str:
    message = str(error.get("msg", "is invalid")).removeprefix("Value error, ")
    kind = error.get("type", "")
    if kind == "missing":
        return "is required but missing"
    if kind == "extra_forbidden":
        return "is not a known field (check the spelling; see the README's Rules file section)"
    if kind == "union_tag_invalid":
        tag = (error.get("ctx") or {}).get("tag")
        return f"expected one of {', '.join(sorted(_UNION_TAGS))}, got {tag!r}"
    if kind == "union_tag_not_found":
        return f"is required: one of {', '.join(sorted(_UNION_TAGS))}"
    if kind == "literal_error":
        return message[0].lower() + message[1:]
    return message


def _validation_problems(
    file: str, exc: ValidationError, lines: dict[Location, int]
) -> list[Problem]:
    problems = []
    for error in exc.errors():
        location = tuple(error["loc"])
        if error.get("type") in ("union_tag_invalid", "union_tag_not_found"):
            location = (*location, "kind")
        path, line = _resolve(location, lines)
        problems.append(Problem(file, line, _dotted(path), _expected(error)))
    return problems


def _cross_problems(file: str, rules: RulesFile, lines: dict[Location, int]) -> Iterator[Problem]:
    def problem(path: Location, message: str) -> Problem:
        known = path
        while known and known not in lines:
            known = known[:-1]
        return Problem(file, lines.get(known), _dotted(path), message)

    names = set(rules.calendars)
    expected_names = f"expected one of the calendars: {', '.join(sorted(names)) or '(none)'}"
    if rules.assignments.default not in names:
        yield problem(("assignments", "default"), expected_names)
    for group in ("teams", "owners"):
        for key, name in getattr(rules.assignments, group).items():
            if name not in names:
                yield problem(("assignments", group, key), expected_names)
    for name, spec in rules.calendars.items():
        country = spec.holidays.country
        if country:
            try:
                holiday_data.country_holidays(country, subdiv=spec.holidays.subdivision)
            except NotImplementedError:
                yield problem(
                    ("calendars", name, "holidays", "country"),
                    f"expected a country code the holidays package knows, got {country!r}",
                )
            except Exception as exc:  # unknown subdivision raises a plain exception subclass
                yield problem(
                    ("calendars", name, "holidays", "subdivision"),
                    f"expected a subdivision of {country}: {str(exc).splitlines()[0]}",
                )
    seen: set[str] = set()
    for index, rule in enumerate(rules.rules):
        if rule.id in seen:
            yield problem(("rules", index, "id"), f"expected a unique id, {rule.id!r} is repeated")
        seen.add(rule.id)
        if rule.calendar and rule.calendar not in names:
            yield problem(("rules", index, "calendar"), expected_names)
        if isinstance(rule, ClockRule) and rule.object == "deal" and rule.start.lead_status_set:
            yield problem(
                ("rules", index, "start", "lead_status_set"),
                "expected a contact rule: deals have no lead status",
            )


def parse_rules(text: str, file: str = "<rules>") -> RulesFile:
    """Validate the YAML `text`; raise RulesFileError naming file, line and field."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        reason = getattr(exc, "problem", None) or str(exc)
        line = mark.line + 1 if mark is not None else None
        raise RulesFileError([Problem(file, line, "", f"is not valid YAML: {reason}")]) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise RulesFileError([Problem(file, 1, "", "expected a mapping with calendars and rules")])
    lines: dict[Location, int] = {}
    if root is not None:
        _line_index(root, (), lines)
    try:
        rules = RulesFile.model_validate(data)
    except ValidationError as exc:
        raise RulesFileError(_validation_problems(file, exc, lines)) from None
    problems = list(_cross_problems(file, rules, lines))
    if problems:
        raise RulesFileError(problems)
    return rules


def load_rules(path: Path) -> RulesFile:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RulesFileError(
            [Problem(str(path), None, "", f"cannot be read: {exc.strerror}")]
        ) from None
    return parse_rules(text, str(path))
