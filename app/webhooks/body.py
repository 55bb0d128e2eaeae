"""Reading a webhook body into its events, whatever the body holds.

The fast path is one `json.loads`. It fails on what no HubSpot event holds but a signed body
can: nesting deeper than the parser's stack, or an integer too long for Python to convert.
Then the top-level array is cut into its elements by a scanner without recursion and each
element is decoded alone, so that the one that cannot be decoded becomes a dead letter (its
text kept) and the others are stored.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from app.webhooks.events import MAX_EVENT_DEPTH

MAX_EVENTS_PER_REQUEST = 1000


class BodyError(ValueError):
    """The body as a whole is refused; `status` is the HTTP answer, the message the reason."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class Undecodable:
    """An element of the array that could not be decoded: its text, and why."""

    text: str
    reason: str


NOT_JSON = "body is not JSON"
NOT_AN_ARRAY = "body is not a JSON array of events"
TOO_MANY = (
    f"more than {MAX_EVENTS_PER_REQUEST:,} events in one request "
    "(HubSpot sends at most 100); nothing was stored"
)


def decode_events(body: bytes) -> list[Any]:
    """The elements of the body's array: decoded values, or `Undecodable` ones.

    Raises `BodyError` (400) for a body that is not a JSON array, and (413) for one of more
    than `MAX_EVENTS_PER_REQUEST` elements, before anything is stored.
    """
    try:
        items = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise BodyError(400, NOT_JSON) from None
    except (RecursionError, ValueError):
        return _decode_one_by_one(body)
    if not isinstance(items, list):
        raise BodyError(400, NOT_AN_ARRAY)
    _check_count(len(items))
    return items


def json_text(value: Any) -> str:
    """`value` as ASCII JSON text (NUL and surrogates escaped), without recursion: a value
    nested nearly as deep as `json.loads` allows would make `json.dumps` recurse past it."""
    try:
        return json.dumps(value, ensure_ascii=True)
    except RecursionError:
        pass
    parts: list[str] = []
    stack: list[Any] = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, _Token):
            parts.append(item.text)
        elif type(item) is dict:
            stack.append(_Token("}"))
            for index, (key, child) in enumerate(reversed(list(item.items()))):
                stack += [child, _Token(json.dumps(str(key)) + ":")]
                if index < len(item) - 1:
                    stack.append(_Token(","))
            stack.append(_Token("{"))
        elif type(item) is list:
            stack.append(_Token("]"))
            for index, child in enumerate(reversed(item)):
                stack.append(child)
                if index < len(item) - 1:
                    stack.append(_Token(","))
            stack.append(_Token("["))
        else:
            parts.append(json.dumps(item, ensure_ascii=True))
    return "".join(parts)


@dataclass(frozen=True)
class _Token:
    text: str


def storable_text(text: str) -> str:
    """`text` with what neither database can hold escaped: U+0000 and lone surrogates."""
    escaped = text.replace("\x00", "\\u0000")
    return escaped.encode("utf-8", "backslashreplace").decode("utf-8")


def _check_count(count: int) -> None:
    if count > MAX_EVENTS_PER_REQUEST:
        raise BodyError(413, TOO_MANY)


def _decode_one_by_one(body: bytes) -> list[Any]:
    try:
        text = body.decode(json.detect_encoding(body), "surrogatepass")
    except UnicodeDecodeError:
        raise BodyError(400, NOT_JSON) from None
    spans = _element_spans(text)
    _check_count(len(spans))
    return [_decode_element(text[start:end], depth) for start, end, depth in spans]


def _decode_element(text: str, depth: int) -> Any:
    if depth > MAX_EVENT_DEPTH:
        return Undecodable(text.strip(), f"event is nested deeper than {MAX_EVENT_DEPTH} levels")
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        raise BodyError(400, NOT_JSON) from None
    except ValueError:
        return Undecodable(text.strip(), "event has a number of more digits than can be read")


_WHITESPACE = re.compile(r"[ \t\n\r]*")
_STRUCTURE = re.compile(r'[\[\]{}",]')
# The rest of a string after its opening quote: runs of plain characters and escapes.
_STRING_REST = re.compile(r'[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)


def _element_spans(text: str) -> list[tuple[int, int, int]]:
    """(start, end, depth) of each element of the top-level array, found without recursion.

    Only the structure is checked here (brackets balance, strings end); each element within
    the depth limit is then decoded, and so validated, on its own.
    """
    position = _WHITESPACE.match(text).end()  # type: ignore[union-attr]
    if not text.startswith("[", position):
        raise BodyError(400, NOT_AN_ARRAY if text[position:].strip() else NOT_JSON)
    spans: list[tuple[int, int, int]] = []
    start = position = position + 1
    depth = element_depth = 0
    while True:
        match = _STRUCTURE.search(text, position)
        if match is None:
            raise BodyError(400, NOT_JSON)
        char, position = match.group(), match.end()
        if char == '"':
            rest = _STRING_REST.match(text, position)
            if rest is None:
                raise BodyError(400, NOT_JSON)
            position = rest.end()
        elif char in "[{":
            depth += 1
            element_depth = max(element_depth, depth)
        elif char in "]}" and depth > 0:
            depth -= 1
        elif char == "," and depth == 0:
            spans.append((start, match.start(), element_depth))
            start, element_depth = position, 0
        elif char == "]":  # the end of the top-level array
            if text[start : match.start()].strip():
                spans.append((start, match.start(), element_depth))
            elif spans:
                raise BodyError(400, NOT_JSON)  # a trailing comma
            if text[position:].strip(" \t\n\r"):
                raise BodyError(400, NOT_JSON)
            return spans
        elif char != ",":
            raise BodyError(400, NOT_JSON)  # a '}' closing the top-level array
