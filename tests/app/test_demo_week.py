"""The demo makes sense whenever it runs: its reps are at work in the calendar it picks, and
the portal it syncs shows a mix of met, late and breached first touches at any hour.

The clocks are fixed: a Saturday night, a Monday opening and a Wednesday night, each in two
time zones. The demo's own steps run on them (pick the week, build the sandbox, replay the
last working hours, sync, put the rules in force, evaluate), then `reports.py` counts.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml

from app import hubspot_client
from app.cli.demo_portal import (
    demo_rules_text,
    replay_working_hours,
    sandbox_options,
    working_hours,
)
from app.demo.settings import SandboxCredentials, demo_settings
from app.demo.workweek import (
    CANDIDATES,
    DEFAULT,
    MIN_HOURS_LEFT,
    Workweek,
    choose_workweek,
    with_workweek,
)
from app.evaluation.reports import rule_compliance
from app.evaluation.rules_store import activate_rules
from app.evaluation.service import evaluate_all
from app.sla.loader import load_rules
from app.store.connect import open_store
from app.store.db import create_session_factory, session_scope
from app.sync.service import SyncService
from sandbox.server import SandboxServer

NEW_YORK, TOKYO = ZoneInfo("America/New_York"), ZoneInfo("Asia/Tokyo")
BERLIN, LOS_ANGELES = ZoneInfo("Europe/Berlin"), ZoneInfo("America/Los_Angeles")
SYDNEY = ZoneInfo("Australia/Sydney")
# 7 November 2026 is a Saturday.
CLOCKS = {
    "saturday-03h-new-york": datetime(2026, 11, 7, 3, 0, tzinfo=NEW_YORK),
    "saturday-03h-tokyo": datetime(2026, 11, 7, 3, 0, tzinfo=TOKYO),
    "monday-09h-new-york": datetime(2026, 11, 9, 9, 0, tzinfo=NEW_YORK),
    "monday-09h-berlin": datetime(2026, 11, 9, 9, 0, tzinfo=BERLIN),
    "wednesday-23h-los-angeles": datetime(2026, 11, 11, 23, 0, tzinfo=LOS_ANGELES),
    "wednesday-23h-sydney": datetime(2026, 11, 11, 23, 0, tzinfo=SYDNEY),
}


# Weeks with the hardest moments: the year's turn (holidays nearly everywhere), Easter and
# Passover, Ramadan's end, and an ordinary week; every quarter hour of each.
HARD_WEEKS = (
    datetime(2026, 12, 21, tzinfo=UTC),
    datetime(2026, 12, 28, tzinfo=UTC),
    datetime(2026, 3, 30, tzinfo=UTC),
    datetime(2026, 3, 16, tzinfo=UTC),
    datetime(2026, 6, 8, tzinfo=UTC),
)


def test_some_calendar_has_its_reps_at_work_at_every_moment_of_the_hardest_weeks() -> None:
    idle = []
    for start in HARD_WEEKS:
        for step in range(7 * 24 * 4):
            moment = start + timedelta(minutes=15 * step)
            left = choose_workweek(moment).hours_left(moment)
            if left is None or left < MIN_HOURS_LEFT:
                idle.append(moment)
    assert idle == []


def test_the_sandbox_calendar_is_kept_whenever_its_reps_are_at_work() -> None:
    tuesday_morning = datetime(2026, 11, 10, 10, 30, tzinfo=NEW_YORK)
    assert choose_workweek(tuesday_morning) is DEFAULT
    # Thanksgiving: New York's reps are off, so another office takes the demo.
    thanksgiving = datetime(2026, 11, 26, 10, 30, tzinfo=NEW_YORK)
    assert choose_workweek(thanksgiving) is not DEFAULT


def test_a_saturday_afternoon_is_a_working_day_in_tehran_and_a_sunday_in_jerusalem() -> None:
    saturday = datetime(2026, 11, 7, 11, 0, tzinfo=ZoneInfo("Asia/Tehran"))
    sunday = datetime(2026, 11, 8, 11, 0, tzinfo=ZoneInfo("Asia/Jerusalem"))
    assert choose_workweek(saturday).country in {"IR", "AF"}
    assert choose_workweek(sunday).time_zone == "Asia/Jerusalem"
    for week in CANDIDATES:
        assert len(week.days) == 5 and week.open_hour < week.close_hour


def test_the_demo_rules_count_business_time_in_the_chosen_week(tmp_path: Path) -> None:
    week = Workweek("Asia/Jerusalem", (6, 0, 1, 2, 3), "IL")
    path = tmp_path / "rules.yaml"
    path.write_text(demo_rules_text(week))
    calendar = yaml.safe_load(path.read_text())["calendars"]["default"]
    assert calendar["time_zone"] == "Asia/Jerusalem"
    assert set(calendar["hours"]) == {"sun", "mon", "tue", "wed", "thu"}
    assert calendar["holidays"] == {"country": "IL"}
    rules = load_rules(path)  # still a valid rules file, alerts and all
    assert {rule.id for rule in rules.rules} >= {"mql-first-touch", "weekly-mqls"}
    with pytest.raises(ValueError, match="calendars"):
        with_workweek("version: 1\nrules: []\n", week)


def _first_touch_counts(now: datetime, tmp_path: Path) -> tuple[float, dict[str, int]]:
    week = choose_workweek(now)
    assert working_hours(week).is_business_time(int(now.timestamp() * 1000))
    rules_path = tmp_path / "rules.yaml"
    rules_path.write_text(demo_rules_text(week))
    options = sandbox_options(week, 300, 3, now, background_webhooks=False)
    with SandboxServer(options) as sandbox:
        assert replay_working_hours(sandbox, now) > 0
        settings = demo_settings(
            database_url=f"sqlite:///{tmp_path / 'demo.db'}",
            rules=rules_path,
            sandbox=SandboxCredentials(
                sandbox.hubspot_url,
                sandbox.token,
                sandbox.client_secret,
                sandbox.slack_url,
                sandbox.slack_token,
            ),
            admin_token="a" * 32,
        )
        engine = open_store(settings)
        try:
            factory = create_session_factory(engine)
            SyncService(settings, factory, hubspot_client.from_settings(settings)).run(full=True)
            with session_scope(factory) as session:
                activate_rules(session, rules_path, now)
            with session_scope(factory) as session:
                evaluate_all(session, now=now)
            with session_scope(factory) as session:
                found = {c.rule_id: c for c in rule_compliance(session, None)}
        finally:
            engine.dispose()
    first_touch = found["mql-first-touch"]
    assert first_touch.compliance is not None
    return first_touch.compliance, first_touch.counts


@pytest.mark.parametrize("now", CLOCKS.values(), ids=CLOCKS.keys())
def test_first_touch_compliance_is_a_believable_mix_at_any_hour(
    now: datetime, tmp_path: Path
) -> None:
    compliance, counts = _first_touch_counts(now, tmp_path)
    assert 0.25 <= compliance <= 0.85, (compliance, counts)
    # Met in time, answered late, breached and still waiting, and clocks still running.
    assert counts.get("met", 0) > 0 and counts.get("met_late", 0) > 0, counts
    assert counts.get("breached", 0) > 0 and counts.get("running", 0) > 0, counts
