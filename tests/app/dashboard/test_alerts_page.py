"""The Alerts page: deliveries with their state, dead letters with their reason and a replay
that queues the letter once, silences created, listed and ended; every action CSRF-checked,
audit-logged and refused in read-only mode."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.config import Settings
from app.models import AlertDelivery, AlertPost, AlertSilence, AuditLog
from tests.app.dashboard.alert_rows import DEAD_REASON, add_deliveries
from tests.app.dashboard.test_dashboard import csrf_of, make_client, sign_in
from tests.fixtures.crm import PORTAL
from tests.fixtures.dashboard_store import seed_dashboard_store


@pytest.fixture
def seeded(session: Session, tmp_path: Path) -> Session:
    seed_dashboard_store(session, tmp_path)
    return session


@pytest.fixture
def ids(seeded: Session) -> tuple[int, int]:
    return add_deliveries(seeded)


@pytest.fixture
def client(settings: Settings, seeded: Session, ids: tuple[int, int]) -> Iterator[TestClient]:
    yield from make_client(settings)


def _row(html: str, kind: str, row_id: int) -> str:
    found = re.search(rf'<tr data-{kind}="{row_id}"[^>]*>(.*?)</tr>', html, re.S)
    assert found, f"no {kind} {row_id} on the page"
    return found.group(1)


def test_the_page_lists_deliveries_and_dead_letters_with_their_reason(
    client: TestClient, ids: tuple[int, int]
) -> None:
    delivered, dead = ids
    sign_in(client)
    html = client.get("/alerts").text
    assert 'href="/alerts" aria-current="page"' in html  # in the navigation
    assert '<span data-count="delivered">1</span>' in html
    assert '<span data-count="dead">1</span>' in html
    assert DEAD_REASON in _row(html.split('id="deliveries"')[0], "delivery", dead)
    assert ">delivered<" in _row(html.split('id="deliveries"')[1], "delivery", delivered)
    only_dead = client.get("/alerts?state=dead").text.split('id="deliveries"')[1]
    assert f'data-delivery="{delivered}"' not in only_dead


def test_replay_queues_a_dead_letter_once_and_is_audit_logged(
    client: TestClient, seeded: Session, ids: tuple[int, int]
) -> None:
    _, dead = ids
    sign_in(client)
    csrf = csrf_of(client.get("/alerts").text)
    for _ in range(2):  # the second finds it pending: a no-op
        response = client.post(f"/alerts/dead/{dead}/replay", data={"csrf": csrf})
        assert response.status_code == 303
    seeded.expire_all()
    row = seeded.get(AlertDelivery, dead)
    assert row is not None and (row.state, row.attempts) == ("pending", 0)
    entries = seeded.scalars(select(AuditLog).order_by(AuditLog.id)).all()
    assert [(e.action, e.target, e.details["queued"]) for e in entries] == [
        ("replay", f"alert_delivery:{dead}", 1),
        ("replay", f"alert_delivery:{dead}", 0),
    ]
    assert f"alert_delivery:{dead}" in client.get("/system").text
    assert client.post("/alerts/dead/999999/replay", data={"csrf": csrf}).status_code == 404


def test_a_silence_is_created_listed_and_ended(client: TestClient, seeded: Session) -> None:
    sign_in(client)
    csrf = csrf_of(client.get("/alerts").text)
    form = {"csrf": csrf, "reason": "Offsite day", "duration": "2h", "rule": "first-touch"}
    assert client.post("/alerts/silences", data=form).status_code == 303
    seeded.expire_all()
    (silence,) = seeded.scalars(select(AlertSilence)).all()
    assert (silence.rule_id, silence.reason) == ("first-touch", "Offsite day")
    assert (silence.ends_at - silence.starts_at).total_seconds() == 7200
    listed = _row(client.get("/alerts").text, "silence", silence.id)
    assert "rule first-touch" in listed and ">active<" in listed
    assert client.post(f"/alerts/silences/{silence.id}/end", data={"csrf": csrf}).status_code == 303
    assert ">ended<" in _row(client.get("/alerts").text, "silence", silence.id)
    actions = [e.action for e in seeded.scalars(select(AuditLog).order_by(AuditLog.id))]
    assert actions == ["silence", "end_silence"]
    assert client.post("/alerts/silences/424242/end", data={"csrf": csrf}).status_code == 404


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"reason": "x", "duration": "soon"}, "not a duration"),
        ({"reason": "x", "duration": "1h"}, "a silence needs a rule"),
        ({"reason": " ", "duration": "1h", "rule": "r"}, "a silence needs a reason"),
        ({"reason": "x", "duration": "1h", "record": "501"}, "not a record"),
        ({"reason": "x", "duration": "1h", "instance": "abc"}, "not an instance id"),
    ],
)
def test_a_bad_silence_is_refused_with_its_reason(
    client: TestClient, seeded: Session, fields: dict[str, str], message: str
) -> None:
    sign_in(client)
    csrf = csrf_of(client.get("/alerts").text)
    response = client.post("/alerts/silences", data={"csrf": csrf, **fields})
    assert response.status_code == 422
    assert message in response.text
    seeded.expire_all()
    assert seeded.scalars(select(AlertSilence)).all() == []


def test_actions_without_csrf_change_nothing(
    client: TestClient, seeded: Session, ids: tuple[int, int]
) -> None:
    _, dead = ids
    sign_in(client)
    for data in ({}, {"csrf": "guessed"}):
        assert client.post(f"/alerts/dead/{dead}/replay", data=data).status_code == 403
        form = {**data, "reason": "x", "duration": "1h", "rule": "r"}
        assert client.post("/alerts/silences", data=form).status_code == 403
    seeded.expire_all()
    row = seeded.get(AlertDelivery, dead)
    assert row is not None and row.state == "dead"
    assert seeded.scalars(select(AlertSilence)).all() == []
    assert seeded.scalars(select(AuditLog)).all() == []


def test_read_only_shows_the_page_without_buttons_and_refuses_actions(
    settings: Settings, seeded: Session, ids: tuple[int, int]
) -> None:
    _, dead = ids
    for client in make_client(settings, slaguard_dashboard_readonly=True):
        html = client.get("/alerts").text
        assert DEAD_REASON in html
        assert "Replay" not in html and "New silence" not in html
        assert client.post(f"/alerts/dead/{dead}/replay", data={}).status_code == 403
    seeded.expire_all()
    row = seeded.get(AlertDelivery, dead)
    assert row is not None and row.state == "dead"


def test_a_stranger_is_sent_to_sign_in(client: TestClient) -> None:
    response = client.get("/alerts")
    assert response.status_code == 303
    assert response.headers["location"] == "/signin?next=/alerts"


def test_a_scheduled_posts_delivery_is_listed_without_an_sla_event(
    client: TestClient, seeded: Session
) -> None:
    now = datetime.now(UTC)
    post = AlertPost(
        portal_id=PORTAL,
        kind="scorecard",
        period="2026-W49",
        target="channel:sales",
        created_at=now,
    )
    seeded.add(post)
    seeded.flush()
    delivery = AlertDelivery(
        post_id=post.id,
        portal_id=PORTAL,
        route="scorecard",
        receiver="channel:sales",
        state="dead",
        attempts=8,
        idempotency_key=f"post:{post.id}",
        last_error="slack answered not_in_channel",
        created_at=now,
    )
    seeded.add(delivery)
    seeded.commit()
    sign_in(client)
    html = client.get("/alerts").text
    dead = _row(html.split('id="deliveries"')[0], "delivery", delivery.id)
    assert f"post {post.id}" in dead and "not_in_channel" in dead
