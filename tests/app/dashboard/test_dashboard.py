"""The dashboard over HTTP: who may see and do what, and that its numbers are the reports'."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.config import Settings
from app.evaluation.reports import (
    quota_progress,
    rates_over_time,
    rule_compliance,
    time_to_first_touch,
)
from app.evaluation.rules_store import rules_in_force
from app.main import create_app
from app.models import AuditLog, SlaInstance
from tests.fixtures.crm import PORTAL
from tests.fixtures.dashboard_store import ADMIN_TOKEN, seed_dashboard_store

PAGES = ["/", "/sales", "/marketing", "/funnel", "/instances", "/system"]


def make_client(settings: Settings, **overrides: Any) -> Iterator[TestClient]:
    configured = settings.model_copy(
        update={"slaguard_admin_token": SecretStr(ADMIN_TOKEN), **overrides}
    )
    app = create_app(configured, start_scheduler=False)
    # https: the session cookie is Secure there, as behind a real deployment's TLS.
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as client:
        yield client


@pytest.fixture
def seeded(session: Session, tmp_path: Path) -> Session:
    seed_dashboard_store(session, tmp_path)
    return session


@pytest.fixture
def client(settings: Settings, seeded: Session) -> Iterator[TestClient]:
    yield from make_client(settings)


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, "the page has no CSRF field"
    return match.group(1)


def sign_in(client: TestClient, token: str = ADMIN_TOKEN, next_path: str = "/") -> Any:
    form = client.get("/signin")
    return client.post(
        "/signin", data={"csrf": csrf_of(form.text), "token": token, "next": next_path}
    )


def test_every_page_sends_a_stranger_to_sign_in(client: TestClient) -> None:
    for page in PAGES:
        response = client.get(page + "?period=week")
        assert response.status_code == 303
        assert response.headers["location"] == "/signin?next=" + quote(page + "?period=week")


def test_signing_in_sets_a_strict_httponly_expiring_cookie(client: TestClient) -> None:
    response = sign_in(client, next_path="/sales")
    assert response.status_code == 303
    assert response.headers["location"] == "/sales"
    cookie = next(
        c for c in response.headers.get_list("set-cookie") if c.startswith("slaguard_session=")
    )
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
    assert {"httponly", "secure", "max-age", "path"} <= attributes
    assert "samesite=strict" in cookie.lower()
    assert client.get("/sales").status_code == 200


def test_a_wrong_token_is_refused_and_not_echoed(client: TestClient) -> None:
    response = sign_in(client, token="not-the-admin-token-at-all")
    assert response.status_code == 401
    assert "That is not the admin token." in response.text
    assert "not-the-admin-token-at-all" not in response.text
    assert client.get("/").status_code == 303


def test_no_page_ever_shows_the_admin_token(client: TestClient) -> None:
    sign_in(client)
    for page in [*PAGES, "/signin"]:
        for period in ("week", "30d", "quarter"):
            response = client.get(f"{page}?period={period}")
            assert response.status_code == 200, page
            assert ADMIN_TOKEN not in response.text, page


def test_a_forged_cookie_counts_as_no_session(client: TestClient) -> None:
    client.cookies.set("slaguard_session", "eyJzaWQiOiJ4In0.forged.signature")
    assert client.get("/").status_code == 303


def test_sign_in_without_the_form_csrf_is_forbidden(client: TestClient) -> None:
    client.get("/signin")
    response = client.post("/signin", data={"token": ADMIN_TOKEN})
    assert response.status_code == 403
    assert "slaguard_session" not in response.headers.get("set-cookie", "")


def test_next_never_leaves_the_site(client: TestClient) -> None:
    assert sign_in(client, next_path="//evil.example/x").headers["location"] == "/"


def test_acknowledge_writes_the_audit_log_and_the_system_page_lists_it(
    client: TestClient, seeded: Session
) -> None:
    sign_in(client)
    breached = seeded.scalars(select(SlaInstance).where(SlaInstance.state == "breached")).first()
    assert breached is not None
    page = client.get(f"/instances/{breached.id}")
    assert "Acknowledge" in page.text
    response = client.post(
        f"/instances/{breached.id}/acknowledge", data={"csrf": csrf_of(page.text)}
    )
    assert response.status_code == 303
    seeded.expire_all()
    (entry,) = seeded.scalars(select(AuditLog)).all()
    assert (entry.action, entry.target, entry.source) == (
        "acknowledge",
        f"sla_instance:{breached.id}",
        "dashboard",
    )
    assert ADMIN_TOKEN not in entry.actor
    system = client.get("/system").text
    assert f"sla_instance:{breached.id}" in system
    assert "acknowledged" in client.get(f"/instances/{breached.id}").text


def test_an_action_without_csrf_is_forbidden_and_writes_nothing(
    client: TestClient, seeded: Session
) -> None:
    sign_in(client)
    instance_id = seeded.scalars(select(SlaInstance.id)).first()
    for data in ({}, {"csrf": "guessed"}):
        response = client.post(f"/instances/{instance_id}/acknowledge", data=data)
        assert response.status_code == 403
    assert client.post("/signout", data={}).status_code == 403
    seeded.expire_all()
    assert seeded.scalars(select(AuditLog)).all() == []


def test_signing_out_ends_the_session(client: TestClient) -> None:
    sign_in(client)
    page = client.get("/")
    response = client.post("/signout", data={"csrf": csrf_of(page.text)})
    assert response.status_code == 303
    assert client.get("/").status_code == 303


def test_read_only_lets_anyone_read_and_nobody_act(settings: Settings, seeded: Session) -> None:
    instance_id = seeded.scalars(select(SlaInstance.id)).first()
    for client in make_client(settings, slaguard_dashboard_readonly=True):
        for page in [*PAGES, f"/instances/{instance_id}"]:
            response = client.get(page)
            assert response.status_code == 200, page
            assert "Acknowledge" not in response.text
        sign_in(client)
        page = client.get(f"/instances/{instance_id}")
        assert "Acknowledge" not in page.text
        response = client.post(
            f"/instances/{instance_id}/acknowledge", data={"csrf": csrf_of(page.text)}
        )
        assert response.status_code == 403


def test_without_an_admin_token_nobody_signs_in(settings: Settings, seeded: Session) -> None:
    for client in make_client(settings, slaguard_admin_token=None):
        form = client.get("/signin")
        assert "sign-in is disabled" in form.text
        assert client.get("/").status_code == 303


def _cells(html: str, rule_id: str) -> dict[str, str]:
    block = html.split(f'data-rule="{rule_id}"', 1)[1]
    return dict(re.findall(r'data-(?:count|field)="(\w+)">([^<]*)<', block.split("</table>")[0]))


def test_the_overview_shows_the_reports_counts_and_compliance(
    client: TestClient, seeded: Session
) -> None:
    sign_in(client)
    html = client.get("/?period=30d").text
    assert "Sales commits" in html and "Marketing commits" in html
    current = {r.rule_id: r for r in rule_compliance(seeded, PORTAL)}
    shown = _cells(html, "first-touch")
    touch = current["first-touch"]
    assert int(shown["breached"]) == touch.counts.get("breached", 0) > 0
    assert int(shown["running"]) == touch.counts.get("running", 0)
    rules = rules_in_force(seeded)
    assert rules is not None
    in_period = {r.rule_id: r for r in rule_compliance(seeded, PORTAL, _thirty_days_ago(seeded))}
    compliance = in_period["first-touch"].compliance
    assert compliance is not None
    assert shown["compliance"] == f"{compliance * 100:.1f}%"
    assert "<svg" in html


def test_sales_response_ranks_reps_with_the_reports_times(
    client: TestClient, seeded: Session
) -> None:
    sign_in(client)
    rules = rules_in_force(seeded)
    assert rules is not None
    expected = {
        t.owner_id: t
        for t in time_to_first_touch(seeded, PORTAL, rules, "first-touch", _thirty_days_ago(seeded))
    }
    html = client.get("/sales?period=30d&sort=median").text
    rows = re.findall(r'<tr data-owner="(\w*)">(.*?)</tr>', html, re.S)
    assert {owner for owner, _ in rows} == {"7", "8"}
    for owner, row in rows:
        fields = dict(re.findall(r'data-field="(\w+)">([^<]*)<', row))
        assert int(fields["touched"]) == expected[owner].touched
        assert fields["median"] == f"{expected[owner].median_business_hours:.2f}"
        assert fields["p90_wall"] == f"{expected[owner].p90_hours:.2f}"
    medians = [
        float(dict(re.findall(r'data-field="(\w+)">([^<]*)<', r))["median"]) for _, r in rows
    ]
    assert medians == sorted(medians, reverse=True)
    team = client.get("/sales?period=30d&team=66").text
    assert re.findall(r'<tr data-owner="(\w*)">', team) == ["8"]


def test_marketing_shows_the_quota_against_its_pacing_line(
    client: TestClient, seeded: Session
) -> None:
    from datetime import UTC, datetime

    sign_in(client)
    rules = rules_in_force(seeded)
    assert rules is not None
    progress = quota_progress(seeded, PORTAL, rules, "weekly-mqls", datetime.now(UTC))
    html = client.get("/marketing").text
    shown = _cells(html, "weekly-mqls")
    assert (int(shown["count"]), int(shown["target"])) == (progress.count, progress.target)
    # Rates come from the values the evaluation stored per period: the reports' values.
    by_key = {
        p.period.key: p
        for p in rates_over_time(seeded, PORTAL, rules, "acceptance", datetime.now(UTC))
    }
    block = html.split('data-rule="acceptance"', 1)[1].split("</section>")[0]
    shown = dict(re.findall(r'data-period="([\w-]+)">([^<]*)<', block))
    assert shown, "no acceptance period on the page"
    for key, text in shown.items():
        value = by_key[key].value
        assert text == ("-" if value is None else f"{value * 100:.1f}%")
    funnel = client.get("/funnel?period=30d").text
    assert 'data-rule="deal-value"' in funnel
    counts = dict(re.findall(r'data-stage="(\w+)">.*?data-field="count">(\d+)<', funnel, re.S))
    assert counts["marketingqualifiedlead"] == "9"
    assert counts["salesqualifiedlead"] == "4"


def _thirty_days_ago(session: Session) -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC) - timedelta(days=30)


def test_sales_numbers_follow_a_new_evaluation(client: TestClient, seeded: Session) -> None:
    """The dashboard reuses a report only while no new SLA event or transition was stored."""
    from datetime import UTC, datetime

    from app.evaluation.service import evaluate_all
    from tests.fixtures.crm import add_touch

    sign_in(client)

    def touched(owner: str) -> int:
        html = client.get("/sales?period=30d").text
        row = re.search(rf'<tr data-owner="{owner}">(.*?)</tr>', html, re.S)
        assert row
        return int(dict(re.findall(r'data-field="(\w+)">([^<]*)<', row.group(1)))["touched"])

    before = touched("7")
    assert touched("7") == before  # a second load in the same minute: the same figure
    # Contact 3 (owner 7) was never touched: a late call stops its clock.
    late_call = datetime.now(UTC) - timedelta(minutes=5)
    add_touch(seeded, "late-call", "3", late_call, owner="7")
    evaluate_all(seeded, now=datetime.now(UTC))
    seeded.commit()
    assert touched("7") == before + 1


def test_names_from_hubspot_are_escaped(client: TestClient, seeded: Session) -> None:
    from app.models import Owner

    owner = seeded.get(Owner, {"portal_id": PORTAL, "id": "8"})
    assert owner is not None
    owner.first_name, owner.last_name = "<script>alert(1)</script>", "X"
    seeded.commit()
    sign_in(client)
    html = client.get("/sales?period=30d").text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; X" in html
    assert "<script>" not in html


def test_instances_list_the_most_urgent_first(client: TestClient, seeded: Session) -> None:
    """Warning, then running clocks by the nearest due time, then the latest breaches."""
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    from app.models import SlaEvent

    seeded.execute(SlaEvent.__table__.delete())
    seeded.execute(SlaInstance.__table__.delete())
    plan = [
        ("old-breach", "breached", -48),
        ("new-breach", "breached", -1),
        ("later", "running", 5),
        ("sooner", "running", 1),
        ("warned", "warning", 2),
    ]
    for object_id, state, due_in_hours in plan:
        seeded.add(
            SlaInstance(
                portal_id=PORTAL,
                rule_id="first-touch",
                kind="response",
                object_type="contact",
                object_id=object_id,
                owner_id="7",
                state=state,
                started_at=now - timedelta(hours=60),
                due_at=now + timedelta(hours=due_in_hours),
                rule_fingerprint="test",
                updated_at=now,
            )
        )
    seeded.commit()
    sign_in(client)
    html = client.get("/instances").text
    shown = re.findall(r"contact ([\w-]+)</a>", html)
    assert shown == ["warned", "sooner", "later", "new-breach", "old-breach"]
    assert re.findall(r"contact ([\w-]+)</a>", client.get("/instances?state=running").text) == [
        "sooner",
        "later",
    ]


def test_behind_a_tls_proxy_the_cookies_are_still_secure(
    settings: Settings, seeded: Session
) -> None:
    """The request arrives over HTTP from the proxy; the browser is on HTTPS."""
    for client in make_client(settings, slaguard_public_url="https://slaguard.example.com"):
        client.base_url = client.base_url.copy_with(scheme="http")
        cookie = client.get("/signin").headers["set-cookie"]
        assert cookie.startswith("slaguard_signin_csrf=")
        assert "secure" in cookie.lower()
