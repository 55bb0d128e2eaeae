"""Silences and acknowledgements in the store: created, listed, ended, and consulted where
deliveries are written (a silenced delivery is kept, `suppressed`, naming its silence).

`acknowledged` is the question follow-ups ask: an instance someone has acknowledged gets no
more reminders.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from alerts.model import EventType, Matcher, Silence
from app.models import AlertAcknowledgement, AlertSilence, AuditLog

MATCHER_KEYS = ("rules", "kinds", "events", "teams", "objects")
# How the dashboard names an SLA instance in audit_log (app.dashboard.service.instance_target).
INSTANCE_TARGET = "sla_instance:"


class SilenceError(ValueError):
    """A silence that would mute nothing or never start."""


@dataclass(frozen=True, slots=True)
class SilenceSpec:
    """What to mute: every field given must hold (a silence narrows, it never widens)."""

    reason: str
    starts_at: datetime
    ends_at: datetime
    rule_id: str | None = None
    owner_id: str | None = None
    record: tuple[str, str] | None = None  # (object type, object id)
    instance_id: int | None = None
    matcher: dict[str, list[str]] | None = None


def create_silence(session: Session, spec: SilenceSpec, created_by: str, now: datetime) -> int:
    _check(spec)
    row = AlertSilence(
        rule_id=spec.rule_id,
        owner_id=spec.owner_id,
        object_type=spec.record[0] if spec.record else None,
        object_id=spec.record[1] if spec.record else None,
        instance_id=spec.instance_id,
        matcher=spec.matcher or None,
        starts_at=spec.starts_at,
        ends_at=spec.ends_at,
        reason=spec.reason,
        created_by=created_by,
        created_at=now,
    )
    session.add(row)
    session.flush()
    return row.id


def _check(spec: SilenceSpec) -> None:
    if spec.ends_at <= spec.starts_at:
        raise SilenceError("a silence must end after it starts")
    if not spec.reason.strip():
        raise SilenceError("a silence needs a reason")
    criteria = (spec.rule_id, spec.owner_id, spec.record, spec.instance_id)
    if all(value is None for value in criteria) and not any((spec.matcher or {}).values()):
        raise SilenceError("a silence needs a rule, an owner, a record, an instance or a matcher")
    unknown = set(spec.matcher or {}) - set(MATCHER_KEYS)
    if unknown:
        raise SilenceError(f"unknown matcher fields: {', '.join(sorted(unknown))}")
    for event in (spec.matcher or {}).get("events", []):
        if event not in EventType.__members__.values():
            raise SilenceError(f"unknown event type: {event}")


def end_silence(session: Session, silence_id: int, now: datetime) -> AlertSilence | None:
    """Ends the silence now (a no-op for one already over); None when there is no such id."""
    row = session.get(AlertSilence, silence_id)
    if row is None:
        return None
    if row.ended_at is None and row.ends_at > now:
        row.ended_at = now
    return row


def list_silences(session: Session, now: datetime, *, active_only: bool) -> list[AlertSilence]:
    query = select(AlertSilence).order_by(AlertSilence.id)
    if active_only:
        query = query.where(*_active(now))
    return list(session.scalars(query))


def _active(now: datetime) -> tuple[Any, ...]:
    # Not started yet counts as active here: a silence scheduled for tonight is in force
    # for what it will mute; `is_active` on the pure silence checks the start.
    return (AlertSilence.ended_at.is_(None), AlertSilence.ends_at > now)


def silences_in_force(session: Session, now: datetime) -> list[Silence]:
    """The silences that may mute something at `now`, as the pure router takes them."""
    query = select(AlertSilence).where(*_active(now), AlertSilence.starts_at <= now)
    return [as_silence(row) for row in session.scalars(query)]


def as_silence(row: AlertSilence) -> Silence:
    match = _matcher(row.matcher or {}, row.rule_id)
    return Silence(
        id=str(row.id),
        reason=row.reason,
        starts_at=row.starts_at,
        ends_at=row.ended_at or row.ends_at,
        match=match,
        owner_ids=frozenset({row.owner_id} if row.owner_id else ()),
        records=frozenset(
            {(row.object_type, row.object_id)} if row.object_type and row.object_id else ()
        ),
        instance_ids=frozenset({row.instance_id} if row.instance_id is not None else ()),
    )


def _matcher(fields: dict[str, Any], rule_id: str | None) -> Matcher | None:
    rules = set(fields.get("rules", ())) | ({rule_id} if rule_id else set())
    match = Matcher(
        rule_ids=frozenset(rules),
        rule_kinds=frozenset(fields.get("kinds", ())),
        event_types=frozenset(EventType(e) for e in fields.get("events", ())),
        owner_teams=frozenset(fields.get("teams", ())),
        object_types=frozenset(fields.get("objects", ())),
    )
    return None if match == Matcher() else match


def acknowledge(session: Session, instance_id: int, who: str, at: datetime, via: str) -> None:
    session.add(
        AlertAcknowledgement(
            instance_id=instance_id, acknowledged_by=who, acknowledged_at=at, via=via
        )
    )
    session.flush()


def acknowledged(session: Session, instance_id: int) -> bool:
    """Whether someone has acknowledged the instance (reminders stop for it)."""
    return instance_id in acknowledged_among(session, [instance_id])


def acknowledged_among(session: Session, instance_ids: Sequence[int]) -> set[int]:
    """The acknowledged instances among `instance_ids`: by the Slack button
    (`alert_acknowledgements`) or on the dashboard (an `acknowledge` in `audit_log`)."""
    if not instance_ids:
        return set()
    wanted = list(instance_ids)
    query = select(AlertAcknowledgement.instance_id).where(
        AlertAcknowledgement.instance_id.in_(wanted)
    )
    found = set(session.scalars(query))
    targets = {f"{INSTANCE_TARGET}{instance}": instance for instance in wanted}
    on_dashboard = select(AuditLog.target).where(
        AuditLog.action == "acknowledge", AuditLog.target.in_(list(targets))
    )
    found.update(targets[target] for target in session.scalars(on_dashboard))
    return found


def silenced_reason(silence: Silence) -> str:
    return f"silenced by silence {silence.id} until {silence.ends_at.isoformat()}: {silence.reason}"


_UNITS = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1)}
DURATION_PATTERN = r"^([1-9][0-9]{0,5}[mhd])+$"


def parse_duration(text: str) -> timedelta:
    """`30m`, `2h`, `1d`, `1h30m`: how long a silence lasts."""
    parts = re.findall(r"([0-9]+)([mhd])", text.strip())
    if not parts or "".join(n + u for n, u in parts) != text.strip():
        raise SilenceError(f"not a duration: {text!r} (say 30m, 2h, 1d or 1h30m)")
    total = sum((int(n) * _UNITS[u] for n, u in parts), timedelta())
    if total <= timedelta():
        raise SilenceError("a silence must last some time")
    return total


def parse_record(text: str) -> tuple[str, str]:
    """`contact:501` as (object type, object id)."""
    kind, _, object_id = text.partition(":")
    if not kind or not object_id:
        raise SilenceError(f"not a record: {text!r} (say TYPE:ID, e.g. contact:501)")
    return kind, object_id
