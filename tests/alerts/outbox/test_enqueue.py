"""Deliveries are written in the transaction of the SLA event that causes them."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import AlertDelivery, SlaEvent
from app.store.db import SessionFactory, session_scope
from tests.alerts.outbox.helpers import (
    SOON_AFTER,
    deliveries,
    evaluate,
    put_rules_in_force,
    seed_leads,
)


def test_a_breach_enqueues_one_delivery_per_receiver_of_the_matching_route(
    session: Session, tmp_path: Path
) -> None:
    seed_leads(session)
    put_rules_in_force(session, tmp_path)
    evaluate(session)
    session.commit()

    assert deliveries(session) == [
        {"receiver": "owner", "state": "pending", "target_kind": None, "target": None,
         "reason": None},
        {"receiver": "channel:sales", "state": "pending", "target_kind": "slack_channel",
         "target": "sales", "reason": None},
        {"receiver": "webhook:crm", "state": "pending", "target_kind": "webhook",
         "target": "crm", "reason": None},
    ]  # fmt: skip


def test_evaluating_again_enqueues_nothing_new(session: Session, tmp_path: Path) -> None:
    seed_leads(session, count=3)
    put_rules_in_force(session, tmp_path)
    evaluate(session)
    session.commit()
    evaluate(session, SOON_AFTER + timedelta(minutes=5))
    session.commit()

    assert session.scalar(select(func.count()).select_from(AlertDelivery)) == 9


def test_deliveries_roll_back_with_their_event(
    session_factory: SessionFactory, tmp_path: Path
) -> None:
    with session_scope(session_factory) as session:
        seed_leads(session)
        put_rules_in_force(session, tmp_path)
    with session_factory() as session:
        evaluate(session)
        assert session.scalar(select(func.count()).select_from(AlertDelivery)) == 3
        session.rollback()
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(SlaEvent)) == 0
        assert session.scalar(select(func.count()).select_from(AlertDelivery)) == 0


def test_rules_without_an_alerts_section_enqueue_nothing(session: Session, tmp_path: Path) -> None:
    seed_leads(session)
    put_rules_in_force(session, tmp_path, alerts=None)
    evaluate(session)
    session.commit()

    assert session.scalar(select(func.count()).select_from(SlaEvent))  # warning and breach
    assert deliveries(session) == []


def test_a_breach_noticed_long_after_it_happened_alerts_nobody(
    session: Session, tmp_path: Path
) -> None:
    seed_leads(session)
    put_rules_in_force(session, tmp_path)
    evaluate(session, SOON_AFTER + timedelta(days=30))
    session.commit()

    assert session.scalar(select(func.count()).select_from(SlaEvent))  # history is logged
    assert deliveries(session) == []
