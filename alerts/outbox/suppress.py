"""Silences at the worker: a delivery that waited (for working hours, for group_wait, for a
retry) while a silence was made is settled as suppressed, naming it, instead of going out."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from alerts.model import AlertEvent, Silence
from alerts.outbox.events import alert_event
from alerts.outbox.leases import Claimed
from alerts.outbox.silences import silenced_reason, silences_in_force
from alerts.routing import active_silence
from app.models import AlertDelivery, Owner, SlaEvent
from app.store.db import SessionFactory, session_scope


def suppress_silenced(
    factory: SessionFactory, claimed: list[Claimed], now: datetime
) -> list[Claimed]:
    """Claimed deliveries a silence now covers (one created while they waited: a snooze, a
    silence for tonight) are settled as suppressed, naming it; the rest go on."""
    if not claimed:
        return claimed
    with session_scope(factory) as session:
        silences = silences_in_force(session, now)
        if not silences:
            return claimed
        events = _events(session, {i.event_id for i in claimed if i.event_id is not None})
        going: list[Claimed] = []
        for item in claimed:
            if item.event_id is None:  # a scheduled post: silences mute SLA alerts only
                going.append(item)
                continue
            event, teams = events[item.event_id]
            silence = active_silence(event, silences, teams, now)
            if silence is None:
                going.append(item)
            else:
                _suppress(session, item.id, silence)
        return going


def _events(session: Session, ids: set[int]) -> dict[int, tuple[AlertEvent, tuple[str, ...]]]:
    rows = list(session.scalars(select(SlaEvent).where(SlaEvent.id.in_(ids))))
    owners = {(row.portal_id, row.owner_id) for row in rows if row.owner_id}
    teams: dict[tuple[int, str], tuple[str, ...]] = {}
    if owners:
        query = select(Owner.portal_id, Owner.id, Owner.teams).where(
            tuple_(Owner.portal_id, Owner.id).in_(owners)
        )
        for portal, owner, owner_teams in session.execute(query):
            teams[(portal, owner)] = tuple(str(t["id"]) for t in owner_teams or [] if "id" in t)
    return {
        row.id: (alert_event(row), teams.get((row.portal_id, row.owner_id or ""), ()))
        for row in rows
    }


def _suppress(session: Session, delivery_id: int, silence: Silence) -> None:
    row = session.get(AlertDelivery, delivery_id)
    if row is None:
        return
    row.state, row.next_attempt_at = "suppressed", None
    row.lease_owner = row.lease_until = None
    row.silence_id = int(silence.id)
    row.reason = silenced_reason(silence)
