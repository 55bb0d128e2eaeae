"""The service's SLA jobs, run the way the scheduler runs them."""

from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy import select

from app.config import Settings
from app.evaluation.jobs import refresh_rules, run_due_clocks, sla_jobs
from app.models import SlaEvent, SlaInstance, SlaRuleSet
from app.scheduler import JobContext
from app.store.db import SessionFactory, session_scope
from tests.fixtures.crm import add_contact, seed_portal, utc
from tests.fixtures.rules import rules_file

RULES = """  - id: first-touch
    kind: response
    start: {entered_stage: marketingqualifiedlead}
    stop: {engagement: {types: [call]}}
    goal: 1h
    time: calendar
"""


def test_rules_job_puts_the_file_in_force_once_and_the_due_job_logs_breaches(
    database_url: str, session_factory: SessionFactory, tmp_path: Path
) -> None:
    with session_scope(session_factory) as session:
        seed_portal(session)
        # An MQL from 2020, never touched: long breached by now.
        add_contact(session, "1", [("marketingqualifiedlead", utc("2020-01-06 15:00"))])
    path = rules_file(tmp_path, RULES)
    settings = Settings(database_url=database_url, slaguard_rules=path, _env_file=None)  # type: ignore[call-arg]
    context = JobContext(settings, session_factory, logging.getLogger("test"))
    refresh_rules(context)
    refresh_rules(context)  # unchanged file: nothing new
    run_due_clocks(context)
    with session_scope(session_factory) as session:
        assert (
            session.scalar(select(SlaRuleSet.id).where(SlaRuleSet.source == str(path))) is not None
        )
        assert len(session.scalars(select(SlaRuleSet)).all()) == 1
        (clock,) = session.scalars(select(SlaInstance)).all()
        assert (clock.state, clock.breached_at) == ("breached", utc("2020-01-06 16:00"))
        assert sorted(session.scalars(select(SlaEvent.type)).all()) == ["breached", "warning"]
    assert {job.id: job.seconds for job in sla_jobs(settings)}["sla-due-clocks"] <= 1
