"""The rules in force, kept in the store so every process evaluates with the same file.

`activate_rules` records a new rule set when the file's content changed; `rules_in_force`
returns the newest one, parsed once per process and rule set.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session

from app.evaluation import repository
from app.sla.loader import load_rules, parse_stored_rules
from app.sla.schema import RulesFile

# Parsed rule sets by content hash: parsing once per process, never confusing two files.
_parsed: dict[str, RulesFile] = {}


def activate_rules(session: Session, path: Path, now: datetime) -> tuple[RulesFile, bool]:
    """Validate the file at `path` and put it in force; True when it differs from the last."""
    rules = load_rules(path)
    text = path.read_text(encoding="utf-8")
    return activate_text(session, path, text, rules, now)


def activate_text(
    session: Session, path: Path, text: str, rules: RulesFile, now: datetime
) -> tuple[RulesFile, bool]:
    """Put `rules`, parsed from `text` (the content of `path`), in force; True when they
    differ from the last."""
    digest = hashlib.sha256(text.encode()).hexdigest()
    latest = repository.latest_rule_set(session)
    if latest is not None and latest.fingerprint == digest:
        return _parsed.setdefault(digest, rules), False
    repository.add_rule_set(session, fingerprint=digest, source=str(path), text=text, now=now)
    _parsed[digest] = rules
    return rules, True


def in_force_since(session: Session) -> datetime | None:
    """When the rules in force were activated (None: no rules stored yet)."""
    latest = repository.latest_rule_set(session)
    return latest.activated_at if latest is not None else None


def rules_in_force(session: Session) -> RulesFile | None:
    digest = repository.latest_rule_set_fingerprint(session)
    if digest is None:
        return None
    rules = _parsed.get(digest)
    if rules is None:
        row = repository.latest_rule_set(session)
        assert row is not None
        rules = parse_stored_rules(row.text, row.source)
        _parsed[row.fingerprint] = rules
    return rules
