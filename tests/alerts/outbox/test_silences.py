"""Silences mute deliveries where they are written (kept as `suppressed`, naming the silence);
acknowledgements answer whether an instance is in someone's hands."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from alerts.outbox.silences import (
    SilenceError,
    SilenceSpec,
    acknowledge,
    acknowledged,
    create_silence,
    end_silence,
    list_silences,
)
from alerts.outbox.status import outbox_status
from app.models import AlertDelivery, SlaInstance
from tests.alerts.outbox.helpers import (
    MQL_AT,
    SOON_AFTER,
    deliveries,
    evaluate,
    put_rules_in_force,
    seed_leads,
)

UNTIL = SOON_AFTER + timedelta(hours=2)


def _silence(session: Session, **fields: object) -> int:
    spec = SilenceSpec(reason="migration weekend", starts_at=MQL_AT, ends_at=UNTIL, **fields)  # type: ignore[arg-type]
    return create_silence(session, spec, "admin", MQL_AT)


def test_a_silenced_rule_suppresses_its_deliveries_and_names_the_silence(
    session: Session, tmp_path: Path
) -> None:
    seed_leads(session)
    put_rules_in_force(session, tmp_path)
    silence = _silence(session, rule_id="first-touch")
    evaluate(session)
    session.commit()

    rows = session.scalars(select(AlertDelivery)).all()
    assert len(rows) == 3
    assert {(row.state, row.silence_id, row.next_attempt_at) for row in rows} == {
        ("suppressed", silence, None)
    }
    assert all("migration weekend" in (row.reason or "") for row in rows)
    status = outbox_status(session, SOON_AFTER)
    assert status.depth == 0
    assert (
        sum(n for (_, state), n in status.by_kind_and_state.items() if state == "suppressed") == 3
    )


def test_a_silence_on_another_owner_mutes_nothing(session: Session, tmp_path: Path) -> None:
    seed_leads(session)
    put_rules_in_force(session, tmp_path)
    _silence(session, owner_id="8")
    evaluate(session)
    session.commit()

    assert {row["state"] for row in deliveries(session)} == {"pending"}


def test_an_ended_silence_mutes_nothing(session: Session, tmp_path: Path) -> None:
    seed_leads(session, count=2)
    put_rules_in_force(session, tmp_path)
    silence = _silence(session, record=("contact", "1"))
    end_silence(session, silence, MQL_AT + timedelta(minutes=5))
    evaluate(session)
    session.commit()

    assert {row["state"] for row in deliveries(session)} == {"pending"}
    assert list_silences(session, SOON_AFTER, active_only=True) == []
    assert [row.id for row in list_silences(session, SOON_AFTER, active_only=False)] == [silence]


def test_a_silence_on_one_record_leaves_the_others_alone(session: Session, tmp_path: Path) -> None:
    seed_leads(session, count=2)
    put_rules_in_force(session, tmp_path)
    _silence(session, record=("contact", "1"))
    evaluate(session)
    session.commit()

    states = [row["state"] for row in deliveries(session)]
    assert sorted(states) == ["pending"] * 3 + ["suppressed"] * 3


@pytest.mark.parametrize(
    "fields",
    [{}, {"matcher": {"events": ["exploded"]}}, {"matcher": {"colour": ["red"]}}],
)
def test_a_silence_that_would_mute_nothing_or_anything_unknown_is_refused(
    session: Session, fields: dict[str, object]
) -> None:
    with pytest.raises(SilenceError):
        _silence(session, **fields)


def test_an_acknowledged_instance_says_so(session: Session, tmp_path: Path) -> None:
    seed_leads(session, count=2)
    put_rules_in_force(session, tmp_path)
    evaluate(session)
    first, second = session.scalars(select(SlaInstance.id).order_by(SlaInstance.id)).all()
    acknowledge(session, first, "U0GRACE", SOON_AFTER, "slack")
    session.commit()

    assert acknowledged(session, first)
    assert not acknowledged(session, second)
