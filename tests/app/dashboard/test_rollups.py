"""The touch-time rollup gives the reports' figures: once built, with SLA events past its
mark (counted live), and when the calendars changed under it (then it steps aside)."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.config import Settings
from app.dashboard import rollups
from app.dashboard.jobs import refresh_rollups
from app.evaluation.context import build_context
from app.evaluation.reports import OwnerTouchTimes, time_to_first_touch
from app.evaluation.rules_store import rules_in_force
from app.evaluation.service import evaluate_all
from app.jobs import all_jobs
from app.models import DashboardRollupMark, DashboardTouchTime, SlaEvent
from app.scheduler import JobContext
from app.sla.schema import ResponseRule
from app.store.db import SessionFactory
from app.webhooks.privacy import erase_contact
from tests.app.dashboard.test_dashboard import make_client, sign_in
from tests.fixtures.crm import PORTAL, add_touch
from tests.fixtures.dashboard_store import previous_weekday_at, seed_dashboard_store

RULE = "first-touch"


@pytest.fixture
def seeded(session: Session, tmp_path: Path) -> datetime:
    return seed_dashboard_store(session, tmp_path)


def _from_rollup(session: Session, since: datetime | None) -> list[OwnerTouchTimes] | None:
    rules = rules_in_force(session)
    assert rules is not None
    rule = rules.rule(RULE)
    assert isinstance(rule, ResponseRule)
    return rollups.time_to_first_touch(session, build_context(session, PORTAL, rules), rule, since)


def _from_reports(session: Session, since: datetime | None) -> list[OwnerTouchTimes]:
    rules = rules_in_force(session)
    assert rules is not None
    return time_to_first_touch(session, PORTAL, rules, RULE, since)


def _refresh(session: Session, at: datetime) -> int:
    rules = rules_in_force(session)
    assert rules is not None
    counted = rollups.refresh(session, PORTAL, rules, at)
    session.commit()
    return counted


def test_the_rollup_gives_the_reports_figures_once_built(
    session: Session, seeded: datetime
) -> None:
    assert _from_rollup(session, None) is None  # never built: the page asks reports
    settled = seeded + rollups.SETTLE + timedelta(minutes=1)
    assert _refresh(session, settled) == 7  # the seeded cycles that stopped met or late
    mark = session.get(DashboardRollupMark, (PORTAL, RULE))
    assert mark is not None
    assert mark.through_event_id == session.scalar(select(func.max(SlaEvent.id)))
    # Every cycle; then only last week's (a Tuesday's MQLs, from the Monday on).
    for since in (None, previous_weekday_at(seeded, 1, 0, 12)):
        expected = _from_reports(session, since)
        assert expected, since
        assert _from_rollup(session, since) == expected


def test_events_past_the_mark_are_counted_live_then_rolled_up(
    session: Session, seeded: datetime
) -> None:
    _refresh(session, seeded + rollups.SETTLE + timedelta(minutes=1))
    before = {t.owner_id: t.touched for t in _from_reports(session, None)}
    # Contact 3 (owner 7) was never touched: a call now stops its clock, late.
    called = datetime.now(UTC)
    add_touch(session, "late-call", "3", called, owner="7")
    evaluate_all(session, now=called)
    session.commit()
    expected = _from_reports(session, None)
    assert {t.owner_id: t.touched for t in expected}["7"] == before["7"] + 1
    assert _from_rollup(session, None) == expected  # the new cycle read live
    # Not yet settled: the job leaves the mark where it was.
    assert _refresh(session, called) == 0
    assert _refresh(session, called + rollups.SETTLE + timedelta(minutes=1)) == 1
    assert session.get(DashboardTouchTime, _late_instance(session)) is not None
    assert _from_rollup(session, None) == expected


def _late_instance(session: Session) -> int:
    query = select(SlaEvent.instance_id).where(
        SlaEvent.rule_id == RULE, SlaEvent.object_id == "3", SlaEvent.type == "met_late"
    )
    found = session.scalar(query)
    assert found is not None
    return found


def test_other_calendars_void_the_rollup_until_it_is_rebuilt(
    session: Session, seeded: datetime
) -> None:
    settled = seeded + rollups.SETTLE + timedelta(minutes=1)
    _refresh(session, settled)
    mark = session.get(DashboardRollupMark, (PORTAL, RULE))
    assert mark is not None
    mark.fingerprint = "counted in calendars no longer in force"
    session.commit()
    assert _from_rollup(session, None) is None
    assert _refresh(session, settled) == 7  # rebuilt whole
    assert _from_rollup(session, None) == _from_reports(session, None)


def test_the_scheduler_runs_the_rollup_job(settings: Settings) -> None:
    assert "dashboard-rollups" in {job.id for job in all_jobs(settings)}


def test_the_scheduled_job_rolls_up_the_settled_events(
    session: Session, session_factory: SessionFactory, settings: Settings, seeded: datetime
) -> None:
    """Run as the scheduler runs it: events of the last minutes stay past the mark (counted
    live by the page), the rest is rolled up, and the figures are the reports'."""
    old = session.scalars(select(SlaEvent).where(SlaEvent.rule_id == RULE)).all()
    for event in old:  # as if the seeded history were an hour old
        event.recorded_at = seeded - timedelta(hours=1)
    session.commit()
    context = JobContext(settings, session_factory, logging.getLogger("test"))
    refresh_rollups(context)
    session.expire_all()
    mark = session.get(DashboardRollupMark, (PORTAL, RULE))
    assert mark is not None and mark.through_event_id > 0
    rolled = session.scalar(select(func.count()).select_from(DashboardTouchTime))
    assert rolled == 7
    assert _from_rollup(session, None) == _from_reports(session, None)


def test_a_privacy_erasure_takes_the_contacts_rolled_up_cycles(
    session: Session, seeded: datetime
) -> None:
    _refresh(session, seeded + rollups.SETTLE + timedelta(minutes=1))
    named = select(DashboardTouchTime).where(DashboardTouchTime.object_id == "1")
    assert session.scalars(named).all()
    erase_contact(session, PORTAL, "1", seeded)
    session.commit()
    assert session.scalars(named).all() == []
    assert _from_rollup(session, None) == _from_reports(session, None)


def test_the_sales_page_shows_the_reports_figures_from_the_rollup(
    session: Session, settings: Settings, seeded: datetime
) -> None:
    _refresh(session, seeded + rollups.SETTLE + timedelta(minutes=1))
    # The page must read the rollup, not recount: a rolled-up figure altered here shows.
    of_8 = session.scalars(select(DashboardTouchTime).where(DashboardTouchTime.owner_id == "8"))
    for rolled in of_8:
        rolled.wall_hours = 1000.0
    session.commit()
    for client in make_client(settings):
        sign_in(client)
        html = client.get("/sales?period=30d").text  # every seeded cycle is in it
    shown = {
        owner: dict(re.findall(r'data-field="(\w+)">([^<]*)<', cells))
        for owner, cells in re.findall(r'<tr data-owner="(\w*)">(.*?)</tr>', html, re.S)
    }
    expected = {t.owner_id: t for t in _from_reports(session, None)}
    assert shown["7"]["median"] == f"{expected['7'].median_business_hours:.2f}"
    assert shown["7"]["median_wall"] == f"{expected['7'].median_hours:.2f}"
    assert shown["8"]["median_wall"] == "1000.00"
