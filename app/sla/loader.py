"""Reading a rules file: YAML with line numbers, validation, cross-references.

A pydantic error says *which field* is wrong; a person editing YAML needs *which line*. The
loader composes the YAML node tree (which carries marks), remembers the line of every key
path, and maps each validation error's location back onto it. Every problem is reported in
one pass: the YAML's repeated keys, the schema's errors and the cross-references (calendars,
unique ids) read from the raw file, so that one run of `rules check` lists them all.
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import holidays as holiday_data
import yaml
from pydantic import BaseModel, ValidationError

from app.errors import SlaguardError
from app.sla.schema import DIRECTIONS, CadenceRule, ResponseRule, RulesFile, Touches

Location = tuple[str | int, ...]
_UNION_TAGS = {"response", "cadence", "stage_age", "quota", "rate"}
_CLOCK_KINDS = {"response", "cadence"}
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


@dataclass(slots=True)
class _Index:
    """The line of every key path, and every key given twice in one mapping."""

    lines: dict[Location, int]
    repeated: list[tuple[Location, int, int]]


def _index(node: yaml.Node, path: Location, index: _Index) -> None:
    index.lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = key_node.value
            line = key_node.start_mark.line + 1
            child = (*path, key)
            if isinstance(key, str) and key != "<<":
                if key in seen:  # YAML keeps the last silently; say so instead
                    index.repeated.append((child, seen[key], line))
                seen[key] = line
            _index(value_node, child, index)
            # Point a missing-or-bad-value error at the key's own line.
            index.lines[child] = line
    elif isinstance(node, yaml.SequenceNode):
        for position, item in enumerate(node.value):
            _index(item, (*path, position), index)


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


def _line_of(path: Location, lines: dict[Location, int]) -> int | None:
    known = path
    while known and known not in lines:
        known = known[:-1]
    return lines.get(known)


def _dotted(path: Location) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


# -- which keys are allowed where: for "did you mean …?" -------------------------------------


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
            if part in _UNION_TAGS and "kind" in member.model_fields:
                if part in typing.get_args(member.model_fields["kind"].annotation):
                    found.append(member)
                continue
            for name, info in member.model_fields.items():
                if part in (name, info.alias):
                    found.extend(_members(info.annotation))
    return found


def _known_fields(path: Location) -> set[str]:
    """The keys the schema allows in the mapping at `path` (a pydantic location)."""
    candidates: list[Any] = [RulesFile]
    for part in path:
        candidates = [found for c in candidates for found in _step(c, part)]
    return {name for c in candidates if _is_model(c) for name in _field_names(c)}


def _not_known(key: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(key, sorted(known), n=1, cutoff=0.6)
    if close:
        return f"is not a known field; did you mean {close[0]}?"
    return "is not a known field (check the spelling; see the README's Rules file section)"


# -- the schema's verdict --------------------------------------------------------------------


def _expected(error: Any) -> str:
    message = str(error.get("msg", "is invalid")).removeprefix("Value error, ")
    kind = error.get("type", "")
    if kind == "missing":
        return "is required but missing"
    if kind == "extra_forbidden":
        location = tuple(error["loc"])
        return _not_known(str(location[-1]), _known_fields(location[:-1]))
    if kind == "union_tag_invalid":
        tag = (error.get("ctx") or {}).get("tag")
        return f"expected one of {', '.join(sorted(_UNION_TAGS))}, got {tag!r}"
    if kind == "union_tag_not_found":
        return f"is required: one of {', '.join(sorted(_UNION_TAGS))}"
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
    known = {name for tag in _UNION_TAGS for name in _known_fields((*location, tag))}
    for key in raw:
        if str(key) not in known:
            path = (*location, str(key))
            yield Problem(file, _line_of(path, lines), _dotted(path), _not_known(str(key), known))


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
        problems.append(Problem(file, line, _dotted(path), _expected(error)))
    return problems


# -- cross-references, read from the raw file so they are checked even beside schema errors --


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


def _cross_problems(file: str, data: dict[Any, Any], index: _Index) -> list[Problem]:
    found = [*_holiday_problems(data), *_calendar_reference_problems(data), *_rule_problems(data)]
    problems = [
        Problem(file, _line_of(path, index.lines), _dotted(path), message)
        for path, message in found
    ]
    for path, first, again in index.repeated:
        problems.append(
            Problem(
                file, again, _dotted(path), f"is given twice (lines {first} and {again}); keep one"
            )
        )
    return problems


# -- legal, but surely not meant ---------------------------------------------------------------


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


def _warnings(file: str, rules: RulesFile, lines: dict[Location, int]) -> list[Problem]:
    warnings = []
    for path, touches in _filters(rules):
        where = (*path, "directions")
        for message in _direction_warnings(touches):
            warnings.append(Problem(file, _line_of(where, lines), _dotted(where), message))
    return warnings


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
    index = _Index({}, [])
    if root is not None:
        _index(root, (), index)
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
