"""The rules file as the running service sees it: valid, invalid (with its first problem and
line) or missing, said once per change of state.

While the file is invalid or missing, the rules stored last stay in force (every process
evaluates with the stored rule set, app.evaluation.rules_store); the log says so once, health
says so on every check (app.admin.health), and nothing raises for what is a user's mistake.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from app.sla.loader import RulesFileError, parse_rules
from app.sla.schema import RulesFile

log = logging.getLogger(__name__)

VALID, INVALID, MISSING = "valid", "invalid", "missing"


@dataclass(frozen=True)
class RulesFileState:
    path: Path
    state: str  # valid | invalid | missing
    problem: str | None = None  # "rules file X is invalid at line N: …" / "… is missing"
    text: str | None = None
    rules: RulesFile | None = None

    @property
    def fingerprint(self) -> str | None:
        return hashlib.sha256(self.text.encode()).hexdigest() if self.text is not None else None

    def consequence(self, in_force_since: datetime | None) -> str:
        """The problem and what it means for the rules in force, in one sentence."""
        if in_force_since is None:
            return f"{self.problem}; no SLA rules are in force"
        return f"{self.problem}; the rules activated at {_moment(in_force_since)} stay in force"


def read_rules_file(path: Path) -> RulesFileState:
    """The file's state now; never raises for what is wrong with the file."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return RulesFileState(path, MISSING, f"rules file {path} is missing")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or type(exc).__name__
        return RulesFileState(path, INVALID, f"rules file {path} cannot be read: {reason}")
    try:
        rules = parse_rules(text, str(path))
    except RulesFileError as exc:
        return RulesFileState(path, INVALID, _invalid(path, exc), text=text)
    return RulesFileState(path, VALID, text=text, rules=rules)


def _invalid(path: Path, error: RulesFileError) -> str:
    first = error.problems[0]
    where = f" at line {first.line}" if first.line else ""
    field = f"{first.field}: " if first.field else ""
    more = len(error.problems) - 1
    also = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
    return f"rules file {path} is invalid{where}: {field}{first.message}{also}"


def _moment(moment: datetime) -> str:
    if moment.tzinfo is None:  # SQLite gives naive UTC back
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


class RulesFileReporter:
    """Logs the file's state when it differs from what this process said last about the same
    path (a different mistake is a different state)."""

    def __init__(self) -> None:
        self._said: dict[Path, tuple[str, str | None]] = {}
        self._lock = threading.Lock()

    def report(
        self,
        state: RulesFileState,
        in_force_since: datetime | None,
        *,
        activated: bool = False,
    ) -> bool:
        """Say the state if it changed; True when the file is valid again after being broken
        or missing. `activated`: its rules were put in force just now, which the caller says
        (with what the evaluation did), so the recovery is not said here."""
        key = (state.state, state.problem)
        with self._lock:
            before = self._said.get(state.path)
            self._said[state.path] = key
        if before == key:
            return False
        if state.state != VALID:
            # a missing file that never held rules is a service run without rules, not a fault
            quiet = state.state == MISSING and in_force_since is None
            log.log(logging.INFO if quiet else logging.WARNING, state.consequence(in_force_since))
            return False
        recovered = before is not None and before[0] != VALID
        if recovered and not activated:
            since = f" (activated at {_moment(in_force_since)})" if in_force_since else ""
            log.info("rules file %s is valid again: its rules are in force%s", state.path, since)
        return recovered


# One per process: `serve` reports the state at start and the rules job goes on from there.
reporter = RulesFileReporter()


_cache: dict[Path, tuple[tuple[int, int, int], RulesFileState]] = {}
_cache_lock = threading.Lock()


def current_state(path: Path) -> RulesFileState:
    """`read_rules_file`, parsed again only when the file's inode, size or mtime changed (the
    health page asks on every check)."""
    try:
        stat = path.stat()
    except OSError:
        return read_rules_file(path)
    signature = (stat.st_ino, stat.st_size, stat.st_mtime_ns)
    with _cache_lock:
        cached = _cache.get(path)
    if cached is not None and cached[0] == signature:
        return cached[1]
    state = read_rules_file(path)
    with _cache_lock:
        _cache[path] = (signature, state)
    return state
