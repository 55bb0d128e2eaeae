"""Follow-ups and the people who acted: an acknowledged breach neither climbs nor nudges, and
a silenced one's escalations are kept as suppressed."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from alerts.outbox.silences import SilenceSpec, acknowledge, acknowledged, create_silence
from app.dashboard.repository import record_action
from app.dashboard.service import instance_target
from app.models import AlertDelivery, SlaEvent, SlaInstance
from app.store.db import SessionFactory, session_scope
from tests.alerts.outbox.test_escalate import breach_on, fire, follow_ups, ny

FRIDAY, MONDAY = "2026-01-09", "2026-01-12"


def the_instance(session_factory: SessionFactory) -> int:
    with session_scope(session_factory) as session:
        found = session.scalars(select(SlaInstance.id)).one()
    return found


def test_an_acknowledged_breach_gets_no_escalation_or_reminder(
    session_factory: SessionFactory, tmp_path: Path
) -> None:
    breach_on(session_factory, tmp_path, FRIDAY)
    with session_scope(session_factory) as session:
        acknowledge(
            session, the_instance(session_factory), "slack:U0REP", ny(FRIDAY, 16, 45), "slack"
        )

    assert fire(session_factory, ny(MONDAY, 16)) == 0
    assert follow_ups(session_factory) == []


def test_a_breach_acknowledged_on_the_dashboard_gets_no_follow_ups(
    session_factory: SessionFactory, tmp_path: Path
) -> None:
    breach_on(session_factory, tmp_path, FRIDAY)
    instance = the_instance(session_factory)
    with session_scope(session_factory) as session:
        record_action(
            session,
            at=ny(FRIDAY, 16, 45),
            actor="admin token",
            action="acknowledge",
            target=instance_target(instance),
            remote="127.0.0.1",
        )

    assert fire(session_factory, ny(MONDAY, 16)) == 0
    with session_scope(session_factory) as session:
        assert acknowledged(session, instance)


def test_a_silenced_breach_escalates_into_suppressed_deliveries(
    session_factory: SessionFactory, tmp_path: Path
) -> None:
    breach_on(session_factory, tmp_path, FRIDAY)
    start = ny(FRIDAY, 16, 45)
    spec = SilenceSpec("on leave", start, start + timedelta(days=7), owner_id="7")
    with session_scope(session_factory) as session:
        silence = create_silence(session, spec, "cli:ops", start)

    assert fire(session_factory, ny(MONDAY, 10)) == 1  # the event is recorded all the same
    with session_scope(session_factory) as session:
        query = (
            select(AlertDelivery.state, AlertDelivery.silence_id)
            .join(SlaEvent, SlaEvent.id == AlertDelivery.event_id)
            .where(SlaEvent.type == "escalated")
        )
        assert [tuple(row) for row in session.execute(query)] == [("suppressed", silence)]
