"""/admin/api/silences: create, list and end silences with the admin token."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.config import Settings
from app.models import AlertSilence
from tests.fixtures.api import ADMIN_TOKEN, make_client

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture
def client(settings: Settings, session: Session) -> Iterator[TestClient]:
    yield from make_client(settings, slaguard_admin_token=SecretStr(ADMIN_TOKEN))


def create(client: TestClient, **body: Any) -> Any:
    return client.post("/admin/api/silences", json={"reason": "migration", **body}, headers=AUTH)


def test_a_created_silence_is_stored_and_listed_as_active(
    client: TestClient, session: Session
) -> None:
    answer = create(client, duration="2h", record="contact:501", owner="7", created_by="ops")

    assert answer.status_code == 201
    made = answer.json()
    assert (made["record"], made["owner"], made["active"], made["created_by"]) == (
        "contact:501",
        "7",
        True,
        "ops",
    )
    starts, ends = (datetime.fromisoformat(made[key]) for key in ("starts_at", "ends_at"))
    assert ends - starts == timedelta(hours=2)
    row = session.scalars(select(AlertSilence)).one()
    assert (row.object_type, row.object_id, row.owner_id, row.reason) == (
        "contact",
        "501",
        "7",
        "migration",
    )
    listed = client.get("/admin/api/silences", headers=AUTH).json()
    assert [item["id"] for item in listed] == [made["id"]]


def test_an_ended_silence_leaves_the_active_list_but_not_the_full_one(client: TestClient) -> None:
    made = create(client, duration="1h30m", rule="first-touch").json()

    ended = client.post(f"/admin/api/silences/{made['id']}/end", headers=AUTH)

    assert ended.status_code == 200
    assert ended.json()["active"] is False and ended.json()["ended_at"] is not None
    assert client.get("/admin/api/silences", headers=AUTH).json() == []
    everything = client.get("/admin/api/silences", params={"state": "all"}, headers=AUTH).json()
    assert [item["id"] for item in everything] == [made["id"]]


def test_ending_a_silence_that_does_not_exist_is_404(client: TestClient) -> None:
    assert client.post("/admin/api/silences/99/end", headers=AUTH).status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        {"duration": "2h"},  # mutes nothing
        {"duration": "0h", "rule": "r"},
        {"duration": "soon", "rule": "r"},
        {"duration": "2h", "record": "501"},
        {"duration": "2h", "rule": "r", "reason": "   "},
    ],
)
def test_a_silence_that_cannot_be_is_refused(
    client: TestClient, session: Session, body: dict[str, Any]
) -> None:
    assert create(client, **body).status_code == 422
    assert session.scalars(select(AlertSilence)).all() == []


def test_the_silences_need_the_admin_token(client: TestClient) -> None:
    assert client.get("/admin/api/silences").status_code == 401
    assert client.post("/admin/api/silences", json={}).status_code == 401
