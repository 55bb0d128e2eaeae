"""/admin/api/instances and /admin/api/events: filters, keyset pages, 404s and 422s."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy.orm import Session

from app.config import Settings
from app.models import SlaInstance
from tests.fixtures.api import ADMIN_TOKEN, make_client
from tests.fixtures.crm import add_owner, add_portal, utc
from tests.fixtures.sla import add_sla_event, add_sla_instance

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
T0 = utc("2026-11-02 09:00")


@pytest.fixture
def client(settings: Settings, session: Session) -> Iterator[TestClient]:
    yield from make_client(settings, slaguard_admin_token=SecretStr(ADMIN_TOKEN))


def seed(session: Session) -> list[int]:
    """Six instances over three days: two rules, two owners on two teams, contacts and deals."""
    add_portal(session)
    add_owner(session, "7", primary_team_id="55")
    add_owner(session, "8", primary_team_id="66")
    ids = []
    for n in range(6):
        row = add_sla_instance(
            session,
            str(100 + n),
            started_at=T0 + timedelta(days=n // 2),
            rule_id="first-touch" if n % 2 == 0 else "deal-follow-up",
            object_type="contact" if n % 2 == 0 else "deal",
            state="breached" if n in (1, 4) else "running",
            owner_id="7" if n < 3 else "8",
        )
        ids.append(row.id)
    session.commit()
    return ids


def get(client: TestClient, path: str, **params: Any) -> Any:
    answer = client.get(path, params=params, headers=AUTH)
    assert answer.status_code == 200, answer.text
    return answer.json()


def listed(client: TestClient, **params: Any) -> list[int]:
    return [item["id"] for item in get(client, "/admin/api/instances", **params)["items"]]


def test_instances_are_listed_newest_first_and_every_filter_narrows(
    client: TestClient, session: Session
) -> None:
    ids = seed(session)

    assert listed(client) == ids[::-1]
    assert listed(client, rule="first-touch") == [ids[4], ids[2], ids[0]]
    assert listed(client, state="breached") == [ids[4], ids[1]]
    assert listed(client, owner="8") == [ids[5], ids[4], ids[3]]
    assert listed(client, team="55") == [ids[2], ids[1], ids[0]]
    assert listed(client, object_type="deal", team="66") == [ids[5], ids[3]]
    assert listed(client, since="2026-11-03T09:00:00Z") == [ids[5], ids[4], ids[3], ids[2]]
    # a time without an offset is UTC
    assert listed(client, since="2026-11-04T09:00:00") == [ids[5], ids[4]]


def test_instance_pages_follow_the_cursor_to_the_end_without_overlap(
    client: TestClient, session: Session
) -> None:
    ids = seed(session)
    seen: list[int] = []
    cursor = None
    pages = 0
    while True:
        params = {"limit": 4, **({"cursor": cursor} if cursor else {})}
        page = get(client, "/admin/api/instances", **params)
        seen += [item["id"] for item in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert pages == 2 and seen == ids[::-1]


def test_one_instance_comes_with_its_events_in_order(client: TestClient, session: Session) -> None:
    ids = seed(session)
    instance = session.get_one(SlaInstance, ids[1])
    add_sla_event(session, instance, "warning", occurred_at=T0 + timedelta(hours=3))
    add_sla_event(session, instance, "breached", occurred_at=T0 + timedelta(hours=4))
    session.commit()

    body = get(client, f"/admin/api/instances/{ids[1]}")

    assert (body["id"], body["rule_id"], body["state"], body["owner_id"]) == (
        ids[1],
        "deal-follow-up",
        "breached",
        "7",
    )
    assert [event["type"] for event in body["events"]] == ["warning", "breached"]


def test_the_event_log_since_a_time_pages_in_recorded_order(
    client: TestClient, session: Session
) -> None:
    ids = seed(session)
    rows = [session.get_one(SlaInstance, ident) for ident in ids]
    # recorded out of id order: the log follows recorded_at, ties by id
    made = [
        add_sla_event(session, rows[0], "breached", occurred_at=T0 + timedelta(hours=5)),
        add_sla_event(session, rows[1], "breached", occurred_at=T0 + timedelta(hours=1)),
        add_sla_event(session, rows[2], "met", occurred_at=T0 + timedelta(hours=3)),
        add_sla_event(session, rows[3], "warning", occurred_at=T0 + timedelta(hours=3)),
    ]
    session.commit()
    expected = [made[2].id, made[3].id, made[0].id]

    first = get(client, "/admin/api/events", since="2026-11-02T11:00:00Z", limit=2)
    second = get(
        client, "/admin/api/events", since="2026-11-02T11:00:00Z", limit=2,
        cursor=first["next_cursor"],
    )  # fmt: skip

    got = [e["id"] for e in first["items"]] + [e["id"] for e in second["items"]]
    assert got == expected and second["next_cursor"] is None


def test_an_unknown_instance_is_404(client: TestClient) -> None:
    answer = client.get("/admin/api/instances/999", headers=AUTH)
    assert answer.status_code == 404 and "999" in answer.json()["detail"]


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/admin/api/instances", {"state": "sleeping"}, "state"),
        ("/admin/api/instances", {"object_type": "ticket"}, "object_type"),
        ("/admin/api/instances", {"since": "yesterday"}, "since"),
        ("/admin/api/instances", {"limit": 0}, "limit"),
        ("/admin/api/instances", {"cursor": -3}, "cursor"),
        ("/admin/api/events", {}, "since"),
        ("/admin/api/events", {"since": "2026-11-02T00:00:00Z", "cursor": "77"}, "cursor"),
        ("/admin/api/instances/abc", {}, "instance_id"),
    ],
)
def test_bad_input_is_422_naming_the_field(
    client: TestClient, path: str, params: dict[str, Any], field: str
) -> None:
    answer = client.get(path, params=params, headers=AUTH)

    assert answer.status_code == 422
    assert [problem["loc"][-1] for problem in answer.json()["detail"]] == [field]


@pytest.mark.parametrize(
    "path", ["/admin/api/instances", "/admin/api/instances/1", "/admin/api/events?since=2026-01-01"]
)
@pytest.mark.parametrize("header", [None, "Bearer wrong-token", f"Basic {ADMIN_TOKEN}"])
def test_reads_are_refused_without_the_right_token(
    client: TestClient, path: str, header: str | None
) -> None:
    headers = {"Authorization": header} if header else {}
    answer = client.get(path, headers=headers)
    assert answer.status_code == 401
    assert ADMIN_TOKEN not in answer.text


def test_instances_of_several_portals_interleave_by_id_across_pages(
    client: TestClient, session: Session
) -> None:
    ids = []
    for n in range(5):
        portal = 4242 if n % 2 == 0 else 5151
        add_portal(session, portal)
        row = add_sla_instance(session, str(n), started_at=T0, portal_id=portal)
        ids.append(row.id)
    session.commit()

    first = get(client, "/admin/api/instances", limit=3)
    rest = get(client, "/admin/api/instances", limit=3, cursor=first["next_cursor"])

    got = [item["id"] for item in first["items"] + rest["items"]]
    assert got == ids[::-1] and rest["next_cursor"] is None
    assert {item["portal_id"] for item in first["items"]} == {4242, 5151}
