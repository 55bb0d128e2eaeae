"""The numbers the dashboard shows, from instances the engine wrote."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from app.evaluation.reports import (
    quota_progress,
    rates_over_time,
    rule_compliance,
    time_to_first_touch,
)
from app.evaluation.rules_store import activate_rules
from app.evaluation.service import evaluate_all
from tests.fixtures.crm import PORTAL, add_contact, add_mql, add_touch, seed_portal, utc
from tests.fixtures.rules import rules_file

RULES = """  - id: first-touch
    kind: response
    start: {entered_stage: marketingqualifiedlead}
    stop: {engagement: {types: [call]}}
    goal: 2h
  - id: monthly-mqls
    kind: quota
    counts: {property: lifecyclestage, equals: marketingqualifiedlead}
    period: month
    target: 10
    time: calendar
  - id: acceptance
    kind: rate
    denominator: {property: lifecyclestage, equals: marketingqualifiedlead}
    numerator: {property: lifecyclestage, equals: salesqualifiedlead}
    period: month
    minimum: 0.5
    min_sample: 1
"""


@pytest.fixture
def evaluated(session: Session, tmp_path: Path) -> Session:
    seed_portal(session)
    # MQLs on Tue 2026-11-24 at 10:00 New York (15:00 UTC); touched after 1h, 3h and never.
    for n, touch_after in ((1, 1), (2, 3), (3, None)):
        add_mql(session, str(n), utc("2026-11-24 15:00"))
        if touch_after:
            add_touch(session, f"e{n}", str(n), utc(f"2026-11-24 {15 + touch_after}:00"))
    add_contact(
        session,
        "4",
        [
            ("marketingqualifiedlead", utc("2026-10-05 15:00")),
            ("salesqualifiedlead", utc("2026-10-06 15:00")),
        ],
    )
    activate_rules(session, rules_file(tmp_path, RULES), utc("2026-11-24 15:00"))
    evaluate_all(session, now=utc("2026-11-25 15:00"))
    return session


def test_rule_compliance_counts_states_and_the_share_on_time(evaluated: Session) -> None:
    by_rule = {row.rule_id: row for row in rule_compliance(evaluated, PORTAL)}
    touch = by_rule["first-touch"]
    # Contact 4 became MQL in October and was never touched: still breached.
    assert touch.counts == {"met": 1, "met_late": 1, "breached": 2}
    assert touch.compliance == pytest.approx(1 / 4)


def test_time_to_first_touch_per_owner(evaluated: Session) -> None:
    from app.evaluation.rules_store import rules_in_force

    in_force = rules_in_force(evaluated)
    assert in_force is not None
    (owner,) = time_to_first_touch(evaluated, PORTAL, in_force, "first-touch")
    assert owner.owner_id == "7" and owner.touched == 2
    assert owner.median_hours == pytest.approx(2.0)
    assert owner.p90_hours == pytest.approx(2.8)
    assert owner.median_business_hours == pytest.approx(2.0)


def test_quota_progress_has_a_pacing_line_and_rates_have_history(evaluated: Session) -> None:
    from app.evaluation.rules_store import rules_in_force

    in_force = rules_in_force(evaluated)
    assert in_force is not None
    progress = quota_progress(evaluated, PORTAL, in_force, "monthly-mqls", utc("2026-11-25 15:00"))
    assert (progress.period.key, progress.count, progress.target) == ("2026-11", 3, 10)
    last = progress.points[-1]
    assert last == (progress.period.end, 3, 10.0)
    assert progress.points[0][2] < progress.points[15][2] < last[2]
    points = rates_over_time(
        evaluated, PORTAL, in_force, "acceptance", utc("2026-11-25 15:00"), periods=2
    )
    assert [(p.period.key, p.value, p.sample) for p in points] == [
        ("2026-10", 1.0, 1),
        ("2026-11", 0.0, 3),
    ]
    assert [p.within_bounds for p in points] == [True, False]
