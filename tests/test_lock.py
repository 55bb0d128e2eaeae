"""The lock files that `make install`, CI and the Docker image install from match
pyproject.toml: every declared dependency is pinned, within its range, with hashes."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^ ;\\]+)")


def _pins(lock: str) -> dict[str, tuple[str, list[str]]]:
    """name -> (version, hashes) of every pinned package in the lock file."""
    pins: dict[str, tuple[str, list[str]]] = {}
    name = ""
    for line in (ROOT / lock).read_text().splitlines():
        found = PIN.match(line)
        if found:
            name = canonicalize_name(found.group(1))
            pins[name] = (found.group(2), [])
        elif line.strip().startswith("--hash=sha256:") and name:
            pins[name][1].append(line.strip())
    return pins


@pytest.mark.parametrize(
    ("lock", "declared"),
    [
        ("requirements.lock", PROJECT["dependencies"]),
        (
            "requirements-dev.lock",
            PROJECT["dependencies"] + PROJECT["optional-dependencies"]["dev"],
        ),
    ],
)
def test_every_declared_dependency_is_pinned_with_hashes(lock: str, declared: list[str]) -> None:
    pins = _pins(lock)
    stale = []
    for text in declared:
        wanted = Requirement(text)
        pinned = pins.get(canonicalize_name(wanted.name))
        if pinned is None or not wanted.specifier.contains(pinned[0], prereleases=True):
            stale.append(text)
    assert not stale, f"{lock} does not satisfy {stale}: run `make lock`"
    assert all(hashes for _, hashes in pins.values()), f"{lock} has pins without hashes"
