"""Every admin action leaves one audit row (who by token fingerprint or Slack user, what,
when, from where), and /admin/api/audit lists them newest first."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import select

from alerts.messages import ACK_ACTION, SNOOZE_HOUR_ACTION
from alerts.outbox.actions import StoredSlackActions
from app.admin.audit import token_fingerprint
from app.config import Settings
from app.main import create_app
from app.models import AlertSilence, AuditLog
from app.store.db import SessionFactory
from tests.app.api.test_slack_actions_store import SECRET, click, signed
from tests.fixtures.api import ADMIN_TOKEN

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
FINGERPRINT = token_fingerprint(ADMIN_TOKEN)


@pytest.fixture
def client(settings: Settings, session_factory: SessionFactory) -> Iterator[TestClient]:
    configured = settings.model_copy(
        update={
            "slaguard_admin_token": SecretStr(ADMIN_TOKEN),
            "slack_signing_secret": SecretStr(SECRET),
        }
    )
    app = create_app(configured, start_scheduler=False, slack_actions_factory=StoredSlackActions)
    with TestClient(app) as client:
        yield client


def audit(client: TestClient, **params: Any) -> Any:
    answer = client.get("/admin/api/audit", params=params, headers=AUTH)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_silences_created_and_ended_through_the_api_are_audited_once_each(
    client: TestClient, session_factory: SessionFactory
) -> None:
    body = {"reason": "migration", "duration": "2h", "rule": "first-touch"}
    made = client.post("/admin/api/silences", json=body, headers=AUTH).json()
    client.post(f"/admin/api/silences/{made['id']}/end", headers=AUTH)

    items = audit(client)["items"]

    assert [(i["action"], i["target"]) for i in items] == [
        ("end_silence", f"alert_silence:{made['id']}"),
        ("create_silence", f"alert_silence:{made['id']}"),
    ]
    assert {(i["actor"], i["source"], i["remote"]) for i in items} == {
        (FINGERPRINT, "api", "testclient")
    }
    assert items[1]["details"]["rule"] == "first-touch"
    assert ADMIN_TOKEN not in str(items)


def test_a_refused_or_failed_action_writes_no_audit_row(
    client: TestClient, session_factory: SessionFactory
) -> None:
    client.post("/admin/api/silences", json={"reason": "x", "duration": "2h", "rule": "r"})
    client.post("/admin/api/silences", json={"reason": "x", "duration": "2h"}, headers=AUTH)
    client.post("/admin/api/silences/77/end", headers=AUTH)

    with session_factory() as session:
        assert session.scalars(select(AuditLog)).all() == []
        assert session.scalars(select(AlertSilence)).all() == []


def test_slack_button_clicks_are_audited_as_the_slack_user(client: TestClient) -> None:
    for action in (ACK_ACTION, SNOOZE_HOUR_ACTION):
        body = click(action, 100, user="U0GRACE")
        assert client.post("/slack/actions", content=body, headers=signed(body)).status_code == 200

    items = audit(client)["items"]

    assert [(i["action"], i["target"], i["actor"], i["source"]) for i in items] == [
        ("snooze", "sla_instance:100", "slack:U0GRACE", "slack"),
        ("acknowledge", "sla_instance:100", "slack:U0GRACE", "slack"),
    ]
    assert items[0]["details"]["silence_id"] >= 1


def test_the_audit_log_pages_newest_first_and_filters_by_action_and_time(
    client: TestClient,
) -> None:
    for n in range(5):
        body = {"reason": f"r{n}", "duration": "1h", "owner": str(n)}
        client.post("/admin/api/silences", json=body, headers=AUTH)
    everything = [i["id"] for i in audit(client)["items"]]

    first = audit(client, limit=3)
    rest = audit(client, limit=3, cursor=first["next_cursor"])
    later = audit(client, since=audit(client)["items"][1]["at"])

    assert [i["id"] for i in first["items"] + rest["items"]] == everything
    assert len(everything) == 5 and rest["next_cursor"] is None
    assert [i["id"] for i in later["items"]] == everything[:2]
    assert audit(client, action="end_silence")["items"] == []


@pytest.mark.parametrize(
    ("params", "field"),
    [({"cursor": 0}, "cursor"), ({"since": "soon"}, "since"), ({"limit": 501}, "limit")],
)
def test_bad_audit_queries_are_422_naming_the_field(
    client: TestClient, params: dict[str, Any], field: str
) -> None:
    answer = client.get("/admin/api/audit", params=params, headers=AUTH)
    assert answer.status_code == 422
    assert [problem["loc"][-1] for problem in answer.json()["detail"]] == [field]


@pytest.mark.parametrize("header", [None, "Bearer wrong"])
def test_the_audit_log_needs_the_right_token(client: TestClient, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    assert client.get("/admin/api/audit", headers=headers).status_code == 401
