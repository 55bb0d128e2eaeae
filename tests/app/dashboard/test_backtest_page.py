"""The what-if page over HTTP: pasted or uploaded rules, compared, validated, and guarded."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.config import Settings
from app.evaluation.backtest import backtest
from app.evaluation.backtest_view import rule_rows
from app.evaluation.rules_store import activate_rules
from app.evaluation.service import evaluate_all
from app.sla.loader import load_rules
from tests.app.dashboard.test_dashboard import csrf_of, make_client, sign_in
from tests.fixtures.backtest import NOW, row_counts, seed_history, write_rules

BAD = "rules:\n  - id: x\n    kind: response\n    goal: 4\n"


@pytest.fixture
def candidate(session: Session, tmp_path: Path) -> Path:
    seed_history(session)
    in_force, candidate = write_rules(tmp_path)
    activate_rules(session, in_force, NOW - timedelta(days=100))
    evaluate_all(session, now=NOW)
    session.commit()
    return candidate


@pytest.fixture
def client(settings: Settings, candidate: Path) -> Iterator[TestClient]:
    yield from make_client(settings)


def cells(html: str, table: str) -> dict[str, list[str]]:
    body = html.split(f'id="{table}"', 1)[1].split("</table>", 1)[0]
    rows = {}
    for row in re.findall(r"<tr data-rule=\"([^\"]+)\"[^>]*>(.*?)</tr>", body, re.S):
        rows[row[0]] = [
            re.sub(r"<[^>]+>", "", cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>", row[1])
        ]
    return rows


def test_pasted_rules_are_compared_as_the_backtest_computes_and_nothing_is_written(
    client: TestClient, candidate: Path, session: Session
) -> None:
    sign_in(client, next_path="/backtest")
    page = client.get("/backtest")
    assert page.status_code == 200 and 'href="/backtest"' in page.text
    before = row_counts(session)
    session.rollback()
    response = client.post(
        "/backtest",
        data={"csrf": csrf_of(page.text), "rules": candidate.read_text(), "since": "365d"},
        files={"file": ("", b"")},
    )
    assert response.status_code == 200, response.text
    assert row_counts(session) == before
    shown = cells(response.text, "backtest-rules")
    now = datetime.now(UTC)
    expected = backtest(session, load_rules(candidate), now, now - timedelta(days=365))
    for row in rule_rows(expected):
        assert shown[row.rule_id][:6] == [
            row.rule_id,
            row.kind,
            row.status,
            row.measure,
            row.in_force,
            row.candidate,
        ]


def test_an_uploaded_file_is_used_and_named(
    client: TestClient, candidate: Path, session: Session
) -> None:
    sign_in(client)
    csrf = csrf_of(client.get("/backtest").text)
    response = client.post(
        "/backtest",
        data={"csrf": csrf, "rules": "", "since": "365d"},
        files={"file": ("candidate.yaml", candidate.read_bytes(), "text/yaml")},
    )
    assert response.status_code == 200, response.text
    assert "in force → candidate.yaml" in response.text
    shown = cells(response.text, "backtest-rules")
    assert shown["first-touch"][2] == "changed" and shown["weekly-mqls"][2] == "new"
    reps = cells(response.text, "backtest-reps")
    assert reps["first-touch"][0] == "first-touch"


def test_a_bad_file_is_answered_with_the_rules_check_lines(client: TestClient) -> None:
    sign_in(client)
    csrf = csrf_of(client.get("/backtest").text)
    response = client.post("/backtest", data={"csrf": csrf, "rules": BAD})
    assert response.status_code == 422
    assert "pasted rules, line 4: rules[0].goal: Input should be a valid string" in response.text
    assert "pasted rules, line 2: rules[0].start: is required but missing" in response.text
    assert 'id="backtest-rules"' not in response.text


def test_a_post_without_the_session_csrf_token_is_refused(
    client: TestClient, candidate: Path
) -> None:
    anonymous = client.post("/backtest", data={"csrf": "x", "rules": candidate.read_text()})
    assert anonymous.status_code == 403
    sign_in(client)
    forged = client.post("/backtest", data={"csrf": "forged", "rules": candidate.read_text()})
    assert forged.status_code == 403
    missing = client.post("/backtest", data={"rules": candidate.read_text()})
    assert missing.status_code == 403


def test_a_read_only_dashboard_shows_the_page_but_runs_nothing_for_strangers(
    settings: Settings, candidate: Path
) -> None:
    for readonly in make_client(settings, slaguard_dashboard_readonly=True):
        page = readonly.get("/backtest")
        assert page.status_code == 200
        assert "Sign in to run a backtest" in page.text and 'name="rules"' not in page.text
        refused = readonly.post("/backtest", data={"rules": candidate.read_text()})
        assert refused.status_code == 403
