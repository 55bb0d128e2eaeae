"""The what-if: a candidate rules file judged over the stored history, written nowhere."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from app.evaluation.backtest import BacktestResult, ClockTally, backtest, read_only
from app.evaluation.backtest_periods import PeriodTally
from app.evaluation.backtest_view import rule_rows
from app.evaluation.reports import rule_compliance
from app.evaluation.rules_store import activate_rules, rules_in_force
from app.evaluation.service import evaluate_all
from app.models import SlaInstance
from app.sla.loader import load_rules
from app.sla.states import SlaState
from app.store.db import SessionFactory
from tests.fixtures.backtest import NOW, clear_sla_state, row_counts, seed_history, write_rules
from tests.fixtures.crm import add_mql

SINCE = NOW - timedelta(days=90)


def _clock(result: dict[str, ClockTally | PeriodTally], rule_id: str) -> ClockTally:
    found = result[rule_id]
    assert isinstance(found, ClockTally)
    return found


def _evaluated_with(session: Session, path: Path) -> dict[str, tuple[dict[str, int], float | None]]:
    """What a full `evaluate` stores for the rules at `path` from an empty SLA state."""
    clear_sla_state(session)
    activate_rules(session, path, NOW)
    evaluate_all(session, now=NOW)
    return {
        row.rule_id: (dict(row.counts), row.compliance)
        for row in rule_compliance(session, None, since=SINCE)
    }


@pytest.fixture
def history(session: Session, tmp_path: Path) -> tuple[Path, Path]:
    seed_history(session)
    in_force, candidate = write_rules(tmp_path)
    activate_rules(session, in_force, NOW - timedelta(days=100))
    evaluate_all(session, now=NOW)
    session.commit()
    return in_force, candidate


def test_backtest_equals_what_evaluate_would_store_and_writes_nothing(
    session: Session, history: tuple[Path, Path]
) -> None:
    in_force_path, candidate_path = history
    before = row_counts(session)
    result = backtest(session, load_rules(candidate_path), NOW, SINCE)
    assert row_counts(session) == before
    assert rules_in_force(session) == load_rules(in_force_path)

    candidate_stored = _evaluated_with(session, candidate_path)
    in_force_stored = _evaluated_with(session, in_force_path)
    for rule_id in ("first-touch", "lead-age"):
        mine = _clock(result.candidate, rule_id)
        assert (dict(mine.counts), mine.compliance) == candidate_stored[rule_id]
        assert result.in_force is not None
        theirs = _clock(result.in_force, rule_id)
        assert (dict(theirs.counts), theirs.compliance) == in_force_stored[rule_id]
    # 4 h instead of 2 h: the 3-hour touches become on time (10 weeks x 1 contact).
    assert _clock(result.candidate, "first-touch").counts[SlaState.MET] == 20
    assert _clock(result.in_force, "first-touch").counts[SlaState.MET] == 10
    assert result.unchanged == {"lead-age"}


def test_breaches_per_rep_count_the_cycles_that_went_past_their_goal(
    session: Session, history: tuple[Path, Path]
) -> None:
    _, candidate_path = history
    result = backtest(session, load_rules(candidate_path), NOW, SINCE)
    assert result.in_force is not None
    # Owner 7 has the 1 h and 5 h touches, owner 8 the 3 h touch and the untouched lead.
    assert _clock(result.in_force, "first-touch").breaches == {"7": 10, "8": 20}
    assert _clock(result.candidate, "first-touch").breaches == {"7": 10, "8": 10}
    stored = {
        (owner, count)
        for owner, count in session.execute(
            text(
                "SELECT owner_id, count(*) FROM sla_instances WHERE rule_id = 'first-touch' "
                "AND breached_at IS NOT NULL GROUP BY owner_id"
            )
        )
    }
    assert stored == {("7", 10), ("8", 20)}  # what the rules in force wrote


def test_quota_attainment_per_week_of_the_window(
    session: Session, history: tuple[Path, Path]
) -> None:
    _, candidate_path = history
    result: BacktestResult = backtest(session, load_rules(candidate_path), NOW, SINCE)
    quota = result.candidate["weekly-mqls"]
    assert isinstance(quota, PeriodTally)
    counted = {p.key: p.count for p in quota.periods if p.count}
    assert len(counted) == 10 and set(counted.values()) == {4}
    assert quota.met == 10  # every week with MQLs reached its 2
    assert result.in_force is not None and "weekly-mqls" not in result.in_force
    assert result.rule_ids == ["first-touch", "lead-age", "weekly-mqls"]


def test_the_backtest_transaction_refuses_writes(session: Session) -> None:
    with read_only(session), pytest.raises(DBAPIError):
        session.execute(text("DELETE FROM sla_instances"))
    session.rollback()
    # and the connection can write again afterwards
    session.execute(text("DELETE FROM sla_instances"))
    session.rollback()
    assert session.query(SlaInstance).count() == 0


def test_without_rules_in_force_every_candidate_rule_is_new(
    session: Session, tmp_path: Path
) -> None:
    seed_history(session)
    _, candidate_path = write_rules(tmp_path)
    session.commit()
    result = backtest(session, load_rules(candidate_path), NOW, SINCE)
    assert result.in_force is None
    rows = rule_rows(result)
    assert {row.status for row in rows} == {"new"}
    assert {row.in_force for row in rows} == {"—"}
    assert _clock(result.candidate, "first-touch").counts[SlaState.MET] == 20


def test_the_backtest_reads_one_snapshot_while_others_write(
    session: Session, session_factory: SessionFactory
) -> None:
    seed_history(session)
    session.commit()
    count = text("SELECT count(*) FROM contacts")
    with read_only(session):
        before = session.scalar(count)
        with session_factory() as other:
            add_mql(other, "late", NOW)
            other.commit()
        assert session.scalar(count) == before
    assert session.scalar(count) == before + 1
