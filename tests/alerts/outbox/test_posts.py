"""The weekly scorecard and the morning digests in the outbox: due at their time, once per
period across restarts and two schedulers, with the figures app.evaluation.reports gives.
Fixed clock, both databases."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select

from alerts.outbox.digest_post import plan_digests
from alerts.outbox.post_jobs import post_due, posts_job
from alerts.outbox.scorecard_post import plan_scorecards, record_posts
from app.config import Settings
from app.evaluation import reports
from app.evaluation.rules_store import rules_in_force
from app.jobs import all_jobs
from app.models import AlertDelivery, AlertPost
from app.scheduler import JobContext
from app.store.db import SessionFactory, session_scope, write_scope
from tests.alerts.outbox.posts_helpers import (
    MONDAY_9,
    evaluate,
    put_in_force,
    seed_week,
)
from tests.fixtures.crm import PORTAL


def prepared(factory: SessionFactory, tmp_path: Path) -> None:
    with session_scope(factory) as session:
        seed_week(session)
        put_in_force(session, tmp_path)
    with session_scope(factory) as session:
        evaluate(session)


def posts(factory: SessionFactory) -> list[tuple[str, str, str, bool]]:
    with factory() as session:
        rows = session.scalars(select(AlertPost).order_by(AlertPost.kind, AlertPost.target))
        return [(r.kind, r.period, r.target, r.message is not None) for r in rows]


def deliveries(factory: SessionFactory) -> list[tuple[str, str, str | None, str]]:
    with factory() as session:
        rows = session.scalars(select(AlertDelivery).order_by(AlertDelivery.id))
        return [(r.route, r.receiver, r.target, r.state) for r in rows]


def test_nothing_is_posted_before_the_time(session_factory: SessionFactory, tmp_path: Path) -> None:
    prepared(session_factory, tmp_path)

    assert post_due(session_factory, MONDAY_9 - timedelta(minutes=1)) == 0
    assert posts(session_factory) == []


def test_at_the_time_the_scorecard_and_each_reps_digest_are_queued_once(
    session_factory: SessionFactory, tmp_path: Path
) -> None:
    prepared(session_factory, tmp_path)

    assert post_due(session_factory, MONDAY_9) == 3
    # A restart a minute later, and the next day's catch-up window: nothing new.
    assert post_due(session_factory, MONDAY_9 + timedelta(minutes=1)) == 0
    assert post_due(session_factory, MONDAY_9 + timedelta(hours=8)) == 0

    assert posts(session_factory) == [
        ("digest", "2026-12-07", "7", True),
        ("digest", "2026-12-07", "8", False),  # nothing due today: decided, not sent
        ("scorecard", "2026-W50", "revops-alerts", True),
    ]
    assert deliveries(session_factory) == [
        ("scorecard", "channel:revops-alerts", "revops-alerts", "pending"),
        ("digest", "owner:7", None, "pending"),
    ]


def test_a_service_started_after_hours_posts_the_scorecard_but_no_stale_digest(
    session_factory: SessionFactory, tmp_path: Path
) -> None:
    prepared(session_factory, tmp_path)

    post_due(session_factory, MONDAY_9 + timedelta(hours=10))  # 19:00 in New York

    assert posts(session_factory) == [("scorecard", "2026-W50", "revops-alerts", True)]


def test_two_schedulers_planning_at_once_queue_one_of_each(
    session_factory: SessionFactory, tmp_path: Path
) -> None:
    prepared(session_factory, tmp_path)
    with session_factory() as first, session_factory() as second:
        plan_a = plan_scorecards(first, MONDAY_9) + plan_digests(first, MONDAY_9)
        plan_b = plan_scorecards(second, MONDAY_9) + plan_digests(second, MONDAY_9)
    assert len(plan_a) == len(plan_b) == 3

    with write_scope(session_factory) as session:
        new_a = record_posts(session, plan_a, MONDAY_9)
    with write_scope(session_factory) as session:
        new_b = record_posts(session, plan_b, MONDAY_9)

    assert (new_a, new_b) == (3, 0)
    assert len(deliveries(session_factory)) == 2


def test_the_next_weeks_scorecard_is_a_new_post(
    session_factory: SessionFactory, tmp_path: Path
) -> None:
    prepared(session_factory, tmp_path)
    post_due(session_factory, MONDAY_9)

    post_due(session_factory, MONDAY_9 + timedelta(days=7))

    with session_factory() as session:
        periods = session.scalars(
            select(AlertPost.period).where(AlertPost.kind == "scorecard").order_by(AlertPost.id)
        ).all()
    assert periods == ["2026-W50", "2026-W51"]


def test_the_scorecard_says_what_the_reports_say(
    session_factory: SessionFactory, tmp_path: Path
) -> None:
    prepared(session_factory, tmp_path)
    post_due(session_factory, MONDAY_9)

    with session_factory() as session:
        rules = rules_in_force(session)
        assert rules is not None
        quota = reports.quota_progress(session, PORTAL, rules, "monthly-mqls", MONDAY_9)
        (rate,) = reports.rates_over_time(session, PORTAL, rules, "acceptance", MONDAY_9, 1)
        card = session.scalars(select(AlertPost).where(AlertPost.kind == "scorecard")).one()
    assert card.message is not None
    text = card.message["text"]

    # Three MQLs this month, none accepted yet; lead 1 met, lead 2 breached, lead 3 running.
    assert (quota.count, rate.value, rate.sample) == (3, 0.0, 3)
    at, counted, pacing = [point for point in quota.points if point[0] <= MONDAY_9][-1]
    assert (quota.state, counted) == ("at_risk", 3)
    assert (
        f"Monthly MQLs: 3 of 20 (at risk); pacing line {pacing:g} by "
        f"{at.astimezone(ZoneInfo('America/New_York')):%a %d %b}, 3 delivered by then"
    ) in text
    assert f"MQL acceptance: 0 % of {rate.sample} ✗ out of bounds" in text
    assert "MQL first touch: 50 % on time (1 of 2)" in text
    assert "Ada Lovelace: " not in text  # rep 8 touched nothing: no response time
    assert "rep@example.com: median 1.0 h business (1.0 h wall), 1 touched" in text


def test_the_digest_lists_what_falls_due_today_for_that_rep_only(
    session_factory: SessionFactory, tmp_path: Path
) -> None:
    prepared(session_factory, tmp_path)
    post_due(session_factory, MONDAY_9)

    with session_factory() as session:
        digest = session.scalars(
            select(AlertPost).where(AlertPost.kind == "digest", AlertPost.target == "7")
        ).one()
    assert digest.message is not None
    lines = digest.message["text"].splitlines()
    assert lines[0].startswith(":sunrise: Good morning rep@example.com: 1 record will breach")
    # Lead 3 falls due at 11:00 New York; lead 2 (rep 8) is already breached, not listed.
    assert lines[1:] == ["• contact 3: MQL first touch, due 11:00"]


def test_the_service_runs_the_posts_job_every_minute_and_it_queues_what_is_due(
    settings: Settings, session_factory: SessionFactory, tmp_path: Path
) -> None:
    prepared(session_factory, tmp_path)
    (spec,) = [job for job in all_jobs(settings) if job.id == "alerts-posts"]
    assert spec.seconds == 60
    context = JobContext(settings, session_factory, logging.getLogger("test.alerts-posts"))

    posts_job(lambda: MONDAY_9)(context)
    posts_job(lambda: MONDAY_9 + timedelta(minutes=1))(context)

    assert [kind for kind, _, _, sent in posts(session_factory) if sent] == ["digest", "scorecard"]
