"""Quota pacing and rates on the real store, the way a marketer reads them."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.evaluation.due import process_due
from app.evaluation.rules_store import activate_rules
from app.evaluation.service import evaluate_all, evaluate_records
from app.models import SlaEvent, SlaInstance
from tests.fixtures.crm import PORTAL, add_contact, add_deal, seed_portal, utc
from tests.fixtures.rules import rules_file

QUOTA = """  - id: weekly-mqls
    kind: quota
    counts: {property: lifecyclestage, equals: marketingqualifiedlead}
    scope: [{property: hs_analytics_source, equals: ORGANIC_SEARCH}]
    period: week
    target: 4
    at_risk_below: 0.9
    time: calendar
"""


def period(session: Session, rule_id: str) -> SlaInstance:
    session.expire_all()  # the engine writes with Core; read what is stored now
    return session.scalars(
        select(SlaInstance).where(SlaInstance.rule_id == rule_id).order_by(SlaInstance.id.desc())
    ).first()  # type: ignore[return-value]


def event_types(session: Session, rule_id: str) -> list[str]:
    return list(
        session.scalars(
            select(SlaEvent.type).where(SlaEvent.rule_id == rule_id).order_by(SlaEvent.id)
        )
    )


def mql(session: Session, contact_id: str, at: datetime, source: str = "ORGANIC_SEARCH") -> None:
    add_contact(
        session,
        contact_id,
        [("lead", at.replace(hour=1)), ("marketingqualifiedlead", at)],
        source=source,
    )


def test_a_quota_paces_at_risk_then_is_met_once_the_target_is_reached(
    session: Session, tmp_path: Path
) -> None:
    seed_portal(session)
    # Week of Mon 2026-11-23 (New York). Two in-scope MQLs on Monday, one out of scope.
    mql(session, "1", utc("2026-11-23 15:00"))
    mql(session, "2", utc("2026-11-23 16:00"))
    mql(session, "3", utc("2026-11-23 16:30"), source="OFFLINE")
    activate_rules(session, rules_file(tmp_path, QUOTA), utc("2026-11-23 17:00"))
    evaluate_all(session, now=utc("2026-11-24 12:00"))
    week = period(session, "weekly-mqls")
    assert (week.object_type, week.object_id, week.state) == ("period", "2026-W48", "on_track")
    assert week.metrics["count"] == 2 and week.metrics["target"] == 4
    assert week.started_at == utc("2026-11-23 05:00") and week.due_at == utc("2026-11-30 05:00")
    # Pacing: 2 < 4 x share x 0.9 once 5/9 of the week (93h20m) has passed.
    assert week.next_due_at == utc("2026-11-27 02:20:01")
    assert process_due(session, utc("2026-11-27 02:20")) == 0
    process_due(session, utc("2026-11-27 02:20:01"))
    assert period(session, "weekly-mqls").state == "at_risk"
    # Two more MQLs arrive: the webhook hook asks for a refresh, the due job re-counts.
    mql(session, "4", utc("2026-11-27 14:00"))
    mql(session, "5", utc("2026-11-27 15:00"))
    evaluate_records(session, PORTAL, "contact", ["4", "5"], utc("2026-11-27 15:01"))
    process_due(session, utc("2026-11-27 15:01"))
    week = period(session, "weekly-mqls")
    assert (week.state, week.stopped_at, week.next_due_at) == ("met", utc("2026-11-27 15:00"), None)
    assert event_types(session, "weekly-mqls") == ["at_risk", "met", "resolved"]


def test_a_quota_short_at_the_end_of_the_period_is_missed(session: Session, tmp_path: Path) -> None:
    seed_portal(session)
    mql(session, "1", utc("2026-11-23 15:00"))
    activate_rules(session, rules_file(tmp_path, QUOTA), utc("2026-11-23 17:00"))
    evaluate_all(session, now=utc("2026-11-23 18:00"))
    process_due(session, utc("2026-11-30 05:00:01"))
    session.expire_all()
    closed = session.scalars(select(SlaInstance).where(SlaInstance.object_id == "2026-W48")).one()
    assert (closed.state, closed.stopped_at) == ("missed", utc("2026-11-30 05:00"))
    # The next week's period now exists and is being timed.
    assert period(session, "weekly-mqls").object_id == "2026-W49"
    assert "missed" in event_types(session, "weekly-mqls")


ACCEPTANCE = """  - id: mql-acceptance
    kind: rate
    denominator: {property: lifecyclestage, equals: marketingqualifiedlead}
    numerator: {property: lifecyclestage, equals: salesqualifiedlead}
    window: 30d
    minimum: 0.5
    min_sample: 4
"""


def test_a_rolling_rate_is_missed_below_its_minimum_and_resolved_when_it_recovers(
    session: Session, tmp_path: Path
) -> None:
    seed_portal(session)
    for n in range(4):
        mql(session, str(n), utc(f"2026-11-0{n + 2} 15:00"))
    add_contact(
        session,
        "9",
        [
            ("marketingqualifiedlead", utc("2026-11-03 15:00")),
            ("salesqualifiedlead", utc("2026-11-04 15:00")),
        ],
    )
    activate_rules(session, rules_file(tmp_path, ACCEPTANCE), utc("2026-11-20 00:00"))
    evaluate_all(session, now=utc("2026-11-20 00:00"))
    window = period(session, "mql-acceptance")
    assert (window.object_id, window.state) == ("rolling", "missed")
    assert window.metrics["sample"] == 5 and window.metrics["numerator"] == 1
    for n in range(4, 8):
        add_contact(
            session,
            str(n),
            [
                ("marketingqualifiedlead", utc("2026-11-18 15:00")),
                ("salesqualifiedlead", utc("2026-11-19 15:00")),
            ],
        )
    evaluate_records(session, PORTAL, "contact", ["4", "5", "6", "7"], utc("2026-11-20 00:01"))
    process_due(session, utc("2026-11-20 00:01"))
    session.expire_all()
    first, second = session.scalars(
        select(SlaInstance)
        .where(SlaInstance.rule_id == "mql-acceptance")
        .order_by(SlaInstance.cycle)
    ).all()
    assert (first.state, first.stopped_at) == ("missed", utc("2026-11-20 00:01"))
    assert (second.cycle, second.state, second.metrics["value"]) == (2, "on_track", 5 / 9)
    assert event_types(session, "mql-acceptance") == ["missed", "resolved"]


CLOSE_RATE = """  - id: close-rate
    kind: rate
    object: deal
    denominator: {property: dealstage, stage: closed}
    numerator: {property: dealstage, stage: won}
    period: month
    minimum: 0.5
    min_sample: 2
  - id: cycle-length
    kind: rate
    object: deal
    metric: median_sales_cycle_days
    period: month
    maximum: 20
    min_sample: 1
"""


def test_close_rate_and_sales_cycle_per_month(session: Session, tmp_path: Path) -> None:
    seed_portal(session)
    add_deal(
        session,
        "d1",
        [("appointment", utc("2026-10-20 15:00")), ("won", utc("2026-11-05 15:00"))],
        close_date=utc("2026-11-05 15:00"),
    )
    add_deal(
        session,
        "d2",
        [("appointment", utc("2026-10-01 15:00")), ("won", utc("2026-11-06 15:00"))],
        close_date=utc("2026-11-06 15:00"),
    )
    add_deal(
        session,
        "d3",
        [("appointment", utc("2026-11-01 15:00")), ("lost", utc("2026-11-07 15:00"))],
        close_date=utc("2026-11-07 15:00"),
    )
    activate_rules(session, rules_file(tmp_path, CLOSE_RATE), utc("2026-11-10 00:00"))
    evaluate_all(session, now=utc("2026-11-10 00:00"))
    rate = period(session, "close-rate")
    assert (rate.object_id, rate.state, round(rate.metrics["value"], 3)) == (
        "2026-11",
        "on_track",
        0.667,
    )
    cycle = period(session, "cycle-length")
    # Won deals took 16 and 36 days: median 26 > 20 days.
    assert (cycle.state, cycle.metrics["value"]) == ("at_risk", 26.0)
    process_due(session, datetime(2026, 12, 1, 5, 0, 1, tzinfo=UTC))
    session.expire_all()
    closed = session.scalars(
        select(SlaInstance).where(
            SlaInstance.rule_id == "cycle-length", SlaInstance.object_id == "2026-11"
        )
    ).one()
    assert closed.state == "missed"
