"""Where things are in a YAML document: the line of every key path, for errors that name the
file, the line and the field (the rules and their `alerts:` section both report this way)."""

from __future__ import annotations

from dataclasses import dataclass, field

import yaml

Location = tuple[str | int, ...]


@dataclass(slots=True)
class Index:
    """The line of every key path, and every key given twice in one mapping."""

    lines: dict[Location, int] = field(default_factory=dict)
    repeated: list[tuple[Location, int, int]] = field(default_factory=list)


def index_node(node: yaml.Node, path: Location = (), index: Index | None = None) -> Index:
    index = Index() if index is None else index
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
            index_node(value_node, child, index)
            # Point a missing-or-bad-value error at the key's own line.
            index.lines[child] = line
    elif isinstance(node, yaml.SequenceNode):
        for position, item in enumerate(node.value):
            index_node(item, (*path, position), index)
    return index


def line_of(path: Location, lines: dict[Location, int]) -> int | None:
    """The line of `path`, or of its nearest ancestor the document has."""
    known = path
    while known and known not in lines:
        known = known[:-1]
    return lines.get(known)


def dotted(path: Location) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text
