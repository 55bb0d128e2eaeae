"""Reading a rules file: YAML with line numbers, validation, cross-references.

A pydantic error says *which field* is wrong; a person editing YAML needs *which line*. The
loader composes the YAML node tree (which carries marks), remembers the line of every key
path, and maps each validation error's location back onto it. Every problem is reported in
one pass: the YAML's repeated keys, the schema's errors and the cross-references (calendars,
unique ids) read from the raw file, so that one run of `rules check` lists them all.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from app.errors import SlaguardError
from app.sla.cross_checks import cross_references
from app.sla.field_names import RULE_KINDS, known_fields, not_known
from app.sla.rule_warnings import direction_warnings, reach_warnings
from app.sla.schema import RulesFile
from app.sla.yaml_positions import Index, Location, dotted, index_node, line_of

NO_RULES = "has no rules: nothing would be checked; add at least one under rules:"


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


@dataclass(frozen=True, slots=True)
class CheckedRules:
    """A valid rules file and what in it is legal but surely not meant (a filter that can
    never match)."""

    rules: RulesFile
    warnings: list[Problem]


# -- where things are in the YAML ------------------------------------------------------------


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
        elif name not in RULE_KINDS:
            kept.append(name)  # a field the user did not write: name it, keep the parent's line
    return tuple(kept), line


# -- the schema's verdict --------------------------------------------------------------------


def _expected(error: Any) -> str:
    message = str(error.get("msg", "is invalid")).removeprefix("Value error, ")
    kind = error.get("type", "")
    if kind == "missing":
        return "is required but missing"
    if kind == "extra_forbidden":
        location = tuple(error["loc"])
        return not_known(str(location[-1]), known_fields(location[:-1]))
    if kind == "union_tag_invalid":
        tag = (error.get("ctx") or {}).get("tag")
        return f"expected one of {', '.join(sorted(RULE_KINDS))}, got {tag!r}"
    if kind == "union_tag_not_found":
        return f"is required: one of {', '.join(sorted(RULE_KINDS))}"
    if kind == "literal_error":
        return message[0].lower() + message[1:]
    return message


def _raw_at(data: Any, path: Location) -> Any:
    for part in path:
        in_list = isinstance(part, int) and isinstance(data, list) and 0 <= part < len(data)
        if not (in_list or (isinstance(data, dict) and part in data)):
            return None
        data = data[part]
    return data


def _unknown_keys_of_untagged(
    file: str, location: Location, data: Any, lines: dict[Location, int]
) -> Iterator[Problem]:
    """A rule without `kind` is not checked field by field; its unknown keys still are, so
    that `kidn:` is named beside `kind: is required`."""
    raw = _raw_at(data, location)
    if not isinstance(raw, dict):
        return
    known = {name for tag in RULE_KINDS for name in known_fields((*location, tag))}
    for key in raw:
        if str(key) not in known:
            path = (*location, str(key))
            yield Problem(file, line_of(path, lines), dotted(path), not_known(str(key), known))


def _validation_problems(
    file: str, exc: ValidationError, data: Any, lines: dict[Location, int]
) -> list[Problem]:
    problems: list[Problem] = []
    for error in exc.errors():
        location = tuple(error["loc"])
        if error.get("type") == "union_tag_not_found":
            problems.extend(_unknown_keys_of_untagged(file, location, data, lines))
        if error.get("type") in ("union_tag_invalid", "union_tag_not_found"):
            location = (*location, "kind")
        path, line = _resolve(location, lines)
        problems.append(Problem(file, line, dotted(path), _expected(error)))
    return problems


# -- cross-references and warnings ---------------------------------------------------------


def _cross_problems(file: str, data: dict[Any, Any], index: Index) -> list[Problem]:
    problems = [
        Problem(file, line_of(path, index.lines), dotted(path), message)
        for path, message in cross_references(data)
    ]
    for path, first, again in index.repeated:
        message = f"is given twice (lines {first} and {again}); keep one"
        problems.append(Problem(file, again, dotted(path), message))
    return problems


def _warnings(file: str, rules: RulesFile, lines: dict[Location, int]) -> list[Problem]:
    found = [*direction_warnings(rules), *reach_warnings(rules)]
    return [Problem(file, line_of(path, lines), dotted(path), message) for path, message in found]


# -- the entry points ------------------------------------------------------------------------


def _read_yaml(text: str, file: str) -> tuple[yaml.Node | None, Any]:
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader), yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        reason = getattr(exc, "problem", None) or str(exc)
        line = mark.line + 1 if mark is not None else None
        raise RulesFileError([Problem(file, line, "", f"is not valid YAML: {reason}")]) from None


def _in_file_order(problems: list[Problem]) -> list[Problem]:
    unique = list(dict.fromkeys(problems))
    return sorted(unique, key=lambda p: p.line if p.line is not None else 0)


def check_rules(text: str, file: str = "<rules>", *, allow_empty: bool = False) -> CheckedRules:
    """Validate the YAML `text`: the rules with their warnings, or RulesFileError naming file,
    line and field of every problem. A file without rules is a problem unless `allow_empty`."""
    root, data = _read_yaml(text, file)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise RulesFileError([Problem(file, 1, "", "expected a mapping with calendars and rules")])
    index = index_node(root) if root is not None else Index()
    problems: list[Problem] = []
    rules: RulesFile | None = None
    try:
        rules = RulesFile.model_validate(data)
    except ValidationError as exc:
        problems.extend(_validation_problems(file, exc, data, index.lines))
    problems.extend(_cross_problems(file, data, index))
    if not allow_empty and not data.get("rules"):
        problems.append(Problem(file, index.lines.get(("rules",)), "", NO_RULES))
    if problems or rules is None:
        raise RulesFileError(_in_file_order(problems))
    return CheckedRules(rules, _warnings(file, rules, index.lines))


def parse_rules(text: str, file: str = "<rules>", *, allow_empty: bool = False) -> RulesFile:
    """Validate the YAML `text`; raise RulesFileError naming file, line and field."""
    return check_rules(text, file, allow_empty=allow_empty).rules


def parse_stored_rules(text: str, source: str) -> RulesFile:
    """A rule set already in force. It passed the checks of the version that stored it; the
    ones added since (no rules, a key given twice) must not take it away now."""
    _, data = _read_yaml(text, source)
    try:
        return RulesFile.model_validate(data or {})
    except ValidationError as exc:
        raise RulesFileError(_validation_problems(source, exc, data, {})) from None


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RulesFileError(
            [Problem(str(path), None, "", f"cannot be read: {exc.strerror}")]
        ) from None


def check_rules_file(path: Path, *, allow_empty: bool = False) -> CheckedRules:
    return check_rules(_read(path), str(path), allow_empty=allow_empty)


def load_rules(path: Path, *, allow_empty: bool = False) -> RulesFile:
    return check_rules_file(path, allow_empty=allow_empty).rules
