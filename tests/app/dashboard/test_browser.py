"""The dashboard in a real browser: Playwright driving Debian's chromium (by its path; nothing is
downloaded) against `slaguard serve` on a seeded store.

Signs in, opens every page (replaying a dead letter on the Alerts page), checks the numbers
against app.evaluation.reports on the same store, acknowledges an instance and finds it in the
audit log; a wrong token and a CSRF-less post are refused. SCREENSHOTS=1 also writes the
overview and sales-response screenshots into docs/img/ (how the README's pictures are made).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, sync_playwright
from sqlalchemy import select

from app.evaluation.reports import quota_progress, rule_compliance, time_to_first_touch
from app.evaluation.rules_store import rules_in_force
from app.models import SlaInstance
from app.store import migrate
from app.store.db import create_db_engine, create_session_factory
from tests.app.dashboard.alert_rows import DEAD_REASON, add_deliveries
from tests.fixtures.crm import PORTAL
from tests.fixtures.dashboard_store import ADMIN_TOKEN, seed_dashboard_store
from tests.fixtures.slaguard_process import Service, SlaguardEnv

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
DOCS_IMG = Path(__file__).resolve().parents[3] / "docs" / "img"

# Locally a missing chromium skips the test; in CI (`.ci/run` installs it) it fails it.
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists() and os.environ.get("CI") != "true",
    reason=f"no chromium at {CHROMIUM}: `apt-get install chromium` (CI's .ci/run does) "
    "or set CHROMIUM_PATH",
)


@pytest.fixture
def service(tmp_path: Path) -> Iterator[tuple[Service, dict[str, object]]]:
    url = f"sqlite:///{tmp_path / 'slaguard.db'}"
    migrate.upgrade(url)
    engine = create_db_engine(url)
    factory = create_session_factory(engine)
    with factory() as session:
        now = seed_dashboard_store(session, tmp_path)
        rules = rules_in_force(session)
        assert rules is not None
        since = now - timedelta(days=30)
        expected: dict[str, object] = {
            "compliance": {r.rule_id: r for r in rule_compliance(session, PORTAL)},
            "compliance_30d": {r.rule_id: r for r in rule_compliance(session, PORTAL, since)},
            "touch": {
                t.owner_id: t
                for t in time_to_first_touch(session, PORTAL, rules, "first-touch", since)
            },
            "quota": quota_progress(session, PORTAL, rules, "weekly-mqls", datetime.now(UTC)),
            "breached_id": session.scalars(
                select(SlaInstance.id).where(SlaInstance.state == "breached")
            ).first(),
            "dead_id": add_deliveries(session)[1],
        }
    engine.dispose()
    env = SlaguardEnv(
        tmp_path,
        {
            "DATABASE_URL": url,
            "SLAGUARD_ADMIN_TOKEN": ADMIN_TOKEN,
            "SLAGUARD_RULES": str(tmp_path / "sla.yaml"),
            "SLAGUARD_LOG_LEVEL": "WARNING",
        },
    )
    served = Service(env, ADMIN_TOKEN)
    served.start()
    yield served, expected
    served.stop()


def test_the_dashboard_in_a_browser(service: tuple[Service, dict[str, object]]) -> None:
    served, expected = service
    base = served.url
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        try:
            _wrong_token_is_refused(page, base)
            _sign_in(page, base)
            _overview_matches_reports(page, base, expected)
            _sales_matches_reports(page, base, expected)
            _marketing_matches_reports(page, base, expected)
            _alerts_page_replays_a_dead_letter(page, base, expected)
            for path in ("/funnel", "/instances", "/system", "/backtest"):
                page.goto(base + path)
                assert page.locator("h1").count() == 1, path
                assert ADMIN_TOKEN not in page.content(), path
            _acknowledge_shows_in_the_audit_log(page, base, expected)
            _post_without_csrf_is_refused(page, base, expected)
        finally:
            browser.close()


def _wrong_token_is_refused(page: Page, base: str) -> None:
    page.goto(base + "/")
    assert page.url.startswith(base + "/signin")
    page.fill("input[name=token]", "wrong-token-wrong-token")
    page.click("button[type=submit]")
    assert page.get_by_role("alert").inner_text() == "That is not the admin token."
    assert "wrong-token-wrong-token" not in page.content()


def _sign_in(page: Page, base: str) -> None:
    page.fill("input[name=token]", ADMIN_TOKEN)
    page.click("button[type=submit]")
    page.wait_for_url(base + "/")
    cookie = next(c for c in page.context.cookies() if c["name"] == "slaguard_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["expires"] > 0


def _cell(page: Page, rule_id: str, field: str) -> str:
    selector = f'[data-rule="{rule_id}"] [data-count="{field}"], '
    selector += f'[data-rule="{rule_id}"] [data-field="{field}"]'
    return page.locator(selector).first.inner_text().strip()


def _overview_matches_reports(page: Page, base: str, expected: dict[str, object]) -> None:
    page.goto(base + "/?period=30d")
    current = expected["compliance"]
    in_period = expected["compliance_30d"]
    assert isinstance(current, dict) and isinstance(in_period, dict)
    touch = current["first-touch"]
    assert _cell(page, "first-touch", "breached") == str(touch.counts.get("breached", 0))
    assert _cell(page, "first-touch", "running") == str(touch.counts.get("running", 0))
    assert _cell(page, "first-touch", "compliance") == (
        f"{in_period['first-touch'].compliance * 100:.1f}%"
    )
    assert page.locator("#sales svg.chart").count() >= 1
    assert page.locator("#marketing svg.chart").count() >= 1
    _screenshot(page, "dashboard-overview.png")


def _sales_matches_reports(page: Page, base: str, expected: dict[str, object]) -> None:
    page.goto(base + "/sales?period=30d")
    touch = expected["touch"]
    assert isinstance(touch, dict)
    rows = page.locator('[data-rule="first-touch"] tbody tr')
    assert rows.count() == len(touch) == 2
    for index in range(rows.count()):
        row = rows.nth(index)
        owner = row.get_attribute("data-owner")
        times = touch[owner]
        assert row.locator('[data-field="touched"]').inner_text() == str(times.touched)
        assert row.locator('[data-field="median"]').inner_text() == (
            f"{times.median_business_hours:.2f}"
        )
        assert row.locator('[data-field="p90"]').inner_text() == f"{times.p90_business_hours:.2f}"
    # The manager sorts by breaches: the column's link re-ranks the table.
    page.get_by_role("link", name="Breaches").first.click()
    assert "sort=breaches" in page.url
    breaches = [int(t) for t in page.locator('[data-field="breaches"]').all_inner_texts()]
    assert breaches == sorted(breaches, reverse=True)
    page.goto(base + "/sales?period=30d")
    _screenshot(page, "dashboard-sales-response.png")


def _marketing_matches_reports(page: Page, base: str, expected: dict[str, object]) -> None:
    page.goto(base + "/marketing")
    quota = expected["quota"]
    assert _cell(page, "weekly-mqls", "count") == str(quota.count)  # type: ignore[attr-defined]
    assert _cell(page, "weekly-mqls", "target") == str(quota.target)  # type: ignore[attr-defined]
    assert page.locator('[data-rule="acceptance"] svg.chart').count() == 1


def _acknowledge_shows_in_the_audit_log(page: Page, base: str, expected: dict[str, object]) -> None:
    instance_id = expected["breached_id"]
    page.goto(base + "/instances?state=breached")
    page.locator(f'tr[data-instance="{instance_id}"] >> text=history').click()
    page.get_by_role("button", name="Acknowledge").click()
    page.wait_for_url(re.compile(rf".*/instances/{instance_id}$"))
    assert "acknowledged" in page.locator('[data-field="state"]').inner_text()
    page.goto(base + "/system")
    log = page.locator("#audit-log").inner_text()
    assert f"sla_instance:{instance_id}" in log and "acknowledge" in log


def _alerts_page_replays_a_dead_letter(page: Page, base: str, expected: dict[str, object]) -> None:
    dead = expected["dead_id"]
    page.goto(base + "/")
    page.get_by_role("link", name="Alerts").click()
    page.wait_for_url(base + "/alerts")
    row = page.locator(f'#dead tr[data-delivery="{dead}"]')
    assert row.locator('[data-field="reason"]').inner_text() == DEAD_REASON
    assert page.locator('[data-count="delivered"]').inner_text() == "1"
    row.get_by_role("button", name="Replay").click()
    page.wait_for_url(base + "/alerts?state=dead")
    assert page.locator(f'#dead tr[data-delivery="{dead}"]').count() == 0
    assert page.locator('[data-count="pending"]').inner_text() == "1"
    page.goto(base + "/system")
    assert f"alert_delivery:{dead}" in page.locator("#audit-log").inner_text()


def _post_without_csrf_is_refused(page: Page, base: str, expected: dict[str, object]) -> None:
    # The browser's own cookies go along; only the CSRF field is missing.
    response = page.request.post(
        f"{base}/instances/{expected['breached_id']}/acknowledge",
        form={"note": "no csrf"},
        max_redirects=0,
    )
    assert response.status == 403
    assert httpx.get(f"{base}/system", follow_redirects=False).status_code == 303


def _screenshot(page: Page, name: str) -> None:
    if os.environ.get("SCREENSHOTS") == "1":
        DOCS_IMG.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(DOCS_IMG / name), full_page=True)
