"""POST /webhooks/hubspot answered like the issue says, with requests signed by HubSpot's SDK."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.api import hubspot_webhooks
from app.config import Settings
from app.models import Contact, PropertyVersion, WebhookDeadLetter, WebhookEvent
from app.store.db import SessionFactory
from app.webhooks.ingest import IngestActivity
from app.webhooks.worker import process_pending
from tests.fixtures import api
from tests.fixtures.webhooks import (
    PORTAL,
    SECRET,
    encode,
    event,
    property_change,
    signed_headers,
)

URL = "http://testserver/webhooks/hubspot"
T0 = 1_764_000_000_000


def make_client(settings: Settings, **overrides: object) -> Iterator[TestClient]:
    # The test portal is the one served unless a test says otherwise.
    yield from api.make_client(settings, **{"hubspot_portal_ids": [PORTAL], **overrides})


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    yield from make_client(settings, hubspot_client_secret=SecretStr(SECRET))


def post(client: TestClient, events: object, **header_overrides: str) -> Any:
    body = events if isinstance(events, bytes) else encode(events)  # type: ignore[arg-type]
    headers = {**signed_headers(body, URL), **header_overrides}
    return client.post("/webhooks/hubspot", content=body, headers=headers)


def stored_events(session: Session) -> list[WebhookEvent]:
    return list(session.scalars(select(WebhookEvent).order_by(WebhookEvent.occurred_at)))


def dead_letters(session: Session) -> list[WebhookDeadLetter]:
    return list(session.scalars(select(WebhookDeadLetter)))


def test_a_signed_batch_is_stored_before_the_answer(client: TestClient, session: Session) -> None:
    events = [
        property_change("contact", 11, T0, "lifecyclestage", "marketingqualifiedlead"),
        event("deal.creation", 22, T0 + 1),
    ]
    response = post(client, events)
    assert response.status_code == 200
    assert response.json() == {"stored": 2, "duplicates": 0, "dead_letters": 0}
    rows = stored_events(session)
    assert [(r.subscription_type, r.object_id, r.property_value) for r in rows] == [
        ("contact.propertyChange", "11", "marketingqualifiedlead"),
        ("deal.creation", "22", None),
    ]
    assert rows[0].payload == events[0]
    assert rows[0].processed_at is None


def test_a_redelivered_batch_is_stored_once(client: TestClient, session: Session) -> None:
    events = [property_change("contact", 11, T0, "hs_lead_status", "NEW")]
    first = post(client, events)
    # HubSpot's retry carries another attemptNumber (and sometimes another eventId).
    retried = [{**events[0], "attemptNumber": 1, "eventId": 99}]
    second = post(client, retried + retried)
    assert first.json()["stored"] == 1
    assert second.json() == {"stored": 0, "duplicates": 2, "dead_letters": 0}
    assert len(stored_events(session)) == 1


def test_a_batch_of_100_mixed_events_is_stored_whole(
    client: TestClient, session: Session, session_factory: SessionFactory
) -> None:
    kinds = [
        lambda i: property_change("contact", i, T0 + i, "lifecyclestage", "lead"),
        lambda i: property_change("deal", i, T0 + i, "dealstage", "appointmentscheduled"),
        lambda i: event("contact.creation", i, T0 + i),
        lambda i: event("deal.deletion", i, T0 + i),
        lambda i: event("contact.restore", i, T0 + i),
        lambda i: event("contact.merge", i, T0 + i, primaryObjectId=i, mergedObjectIds=[i + 1000]),
        lambda i: event(
            "contact.associationChange",
            i,
            T0 + i,
            fromObjectId=i,
            toObjectId=i + 5,
            associationType="CONTACT_TO_DEAL",
            associationRemoved=False,
        ),
        lambda i: event("contact.privacyDeletion", i, T0 + i),
        lambda i: event("company.propertyChange", i, T0 + i, propertyName="name"),
        lambda i: event("ticket.creation", i, T0 + i),
    ]
    events = [kinds[i % len(kinds)](i) for i in range(100)]
    response = post(client, events)
    assert response.json() == {"stored": 100, "duplicates": 0, "dead_letters": 0}
    types = {r.subscription_type for r in stored_events(session)}
    assert len(types) == 10
    # The worker applies the whole mixed batch without a failure.
    process_pending(session_factory)
    session.expire_all()
    remaining = stored_events(session)
    assert all(r.processed_at is not None and r.error is None for r in remaining)
    # Contact 0 was never read: its property change waits in its clock for the read.
    assert session.get(PropertyVersion, (PORTAL, "contact", "0", "lifecyclestage")) is not None
    assert session.get(Contact, (PORTAL, "0")) is None


def test_unparseable_events_go_to_dead_letters_and_the_rest_is_stored(
    client: TestClient, session: Session
) -> None:
    good = property_change("contact", 11, T0, "lifecyclestage", "lead")
    bad = [
        {"subscriptionType": "contact.creation", "portalId": 1, "occurredAt": T0},  # no objectId
        "not an object",
        {**good, "subscriptionType": "spaceship.launch"},
        {**good, "occurredAt": "yesterday"},
        {**good, "propertyValue": "a\x00b"},
    ]
    response = post(client, [bad[0], good, *bad[1:]])
    assert response.status_code == 200
    assert response.json() == {"stored": 1, "duplicates": 0, "dead_letters": 5}
    letters = dead_letters(session)
    # The raw events are kept exactly (the NUL escaped as \u0000), so nothing is lost.
    kept = {json.dumps(json.loads(letter.raw), sort_keys=True) for letter in letters}
    assert kept == {json.dumps(b, sort_keys=True) for b in bad}
    reasons = " | ".join(letter.reason for letter in letters)
    assert "objectId" in reasons and "unknown subscriptionType" in reasons and "NUL" in reasons
    assert any(json.loads(letter.raw) == "not an object" for letter in letters)


def test_a_missing_signature_is_refused_with_401(client: TestClient, session: Session) -> None:
    body = encode([property_change("contact", 11, T0, "lifecyclestage", "lead")])
    response = client.post(
        "/webhooks/hubspot", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 401
    assert "X-HubSpot-Signature-v3" in response.json()["detail"]
    assert stored_events(session) == []


def test_a_wrong_signature_is_refused_with_401(client: TestClient, session: Session) -> None:
    body = encode([property_change("contact", 11, T0, "lifecyclestage", "lead")])
    headers = signed_headers(body, URL, secret="someone-elses-secret")
    response = client.post("/webhooks/hubspot", content=body, headers=headers)
    assert response.status_code == 401
    assert response.json()["detail"] == "signature does not match"
    assert stored_events(session) == []


def test_a_body_changed_after_signing_is_refused(client: TestClient, session: Session) -> None:
    body = encode([property_change("contact", 11, T0, "lifecyclestage", "lead")])
    headers = signed_headers(body, URL)
    tampered = body.replace(b'"lead"', b'"customer"')
    response = client.post("/webhooks/hubspot", content=tampered, headers=headers)
    assert response.status_code == 401
    assert stored_events(session) == []


def test_a_stale_timestamp_is_refused_with_401(client: TestClient, session: Session) -> None:
    body = encode([property_change("contact", 11, T0, "lifecyclestage", "lead")])
    headers = signed_headers(body, URL, age_ms=6 * 60 * 1000)
    response = client.post("/webhooks/hubspot", content=body, headers=headers)
    assert response.status_code == 401
    assert "5 minutes" in response.json()["detail"]
    assert stored_events(session) == []


def test_without_a_client_secret_everything_is_refused_with_a_log_line(
    settings: Settings, session: Session, caplog: pytest.LogCaptureFixture
) -> None:
    body = encode([property_change("contact", 11, T0, "lifecyclestage", "lead")])
    caplog.set_level(logging.WARNING, logger="app.api.hubspot_webhooks")
    for client in make_client(settings, hubspot_client_secret=None):
        response = client.post("/webhooks/hubspot", content=body, headers=signed_headers(body, URL))
    assert response.status_code == 503
    assert "HUBSPOT_CLIENT_SECRET" in response.json()["detail"]
    assert any("HUBSPOT_CLIENT_SECRET is not set" in r.getMessage() for r in caplog.records)
    assert stored_events(session) == []


def test_a_declared_body_over_1_mb_is_refused_with_413(client: TestClient) -> None:
    body = b"[" + b" " * (1024 * 1024) + b"]"
    response = client.post("/webhooks/hubspot", content=body, headers=signed_headers(body, URL))
    assert response.status_code == 413


def in_chunks(body: bytes, size: int = 65536) -> Iterator[bytes]:
    for offset in range(0, len(body), size):
        yield body[offset : offset + size]


def test_a_chunked_body_over_1_mb_is_refused_with_413(client: TestClient, session: Session) -> None:
    """No Content-Length: the bytes actually read are counted."""
    events = encode([property_change("contact", 11, T0, "lifecyclestage", "lead")])
    body = events + b" " * (1024 * 1024 + 1 - len(events))
    response = client.post(
        "/webhooks/hubspot", content=in_chunks(body), headers=signed_headers(body, URL)
    )
    assert "content-length" not in response.request.headers
    assert response.request.headers["transfer-encoding"] == "chunked"
    assert response.status_code == 413
    assert response.json()["detail"] == "body is over 1 MB"
    assert stored_events(session) == []


def test_a_chunked_body_of_exactly_1_mb_is_accepted(client: TestClient, session: Session) -> None:
    events = encode([property_change("contact", 11, T0, "lifecyclestage", "lead")])
    body = events + b" " * (1024 * 1024 - len(events))
    response = client.post(
        "/webhooks/hubspot", content=in_chunks(body), headers=signed_headers(body, URL)
    )
    assert "content-length" not in response.request.headers
    assert response.status_code == 200
    assert len(stored_events(session)) == 1


def test_a_body_of_exactly_1_mb_is_accepted(client: TestClient, session: Session) -> None:
    events = encode([property_change("contact", 11, T0, "lifecyclestage", "lead")])
    body = events + b" " * (1024 * 1024 - len(events))
    response = client.post("/webhooks/hubspot", content=body, headers=signed_headers(body, URL))
    assert response.status_code == 200
    assert len(stored_events(session)) == 1


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "body is not JSON"),
        (b"", "body is not JSON"),
        (b'{"portalId": 1}', "body is not a JSON array of events"),
        (b'"events"', "body is not a JSON array of events"),
    ],
)
def test_a_body_that_is_not_a_json_array_is_refused_with_400(
    client: TestClient, session: Session, body: bytes, reason: str
) -> None:
    response = client.post("/webhooks/hubspot", content=body, headers=signed_headers(body, URL))
    assert response.status_code == 400
    assert response.json()["detail"] == reason
    assert stored_events(session) == [] and dead_letters(session) == []


def test_an_empty_array_is_accepted(client: TestClient) -> None:
    response = post(client, [])
    assert response.json() == {"stored": 0, "duplicates": 0, "dead_letters": 0}


def test_behind_a_proxy_the_forwarded_headers_rebuild_the_signed_uri(
    client: TestClient, session: Session
) -> None:
    body = encode([property_change("contact", 11, T0, "lifecyclestage", "lead")])
    public = "https://hooks.example.com/webhooks/hubspot"
    headers = {
        **signed_headers(body, public),
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Host": "hooks.example.com",
    }
    assert client.post("/webhooks/hubspot", content=body, headers=headers).status_code == 200
    # Without the headers the same request cannot verify: the URI differs.
    bare = signed_headers(body, public)
    assert client.post("/webhooks/hubspot", content=body, headers=bare).status_code == 401


def test_a_configured_public_url_rebuilds_the_signed_uri(
    settings: Settings, session: Session
) -> None:
    body = encode([property_change("contact", 11, T0, "lifecyclestage", "lead")])
    public = "https://crm.example.com/slaguard/webhooks/hubspot"
    for client in make_client(
        settings,
        hubspot_client_secret=SecretStr(SECRET),
        slaguard_public_url="https://crm.example.com/slaguard",
    ):
        response = client.post(
            "/webhooks/hubspot", content=body, headers=signed_headers(body, public)
        )
    assert response.status_code == 200
    assert len(stored_events(session)) == 1


def test_a_request_makes_the_worker_of_the_process_give_way(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    activity = IngestActivity()
    monkeypatch.setattr(hubspot_webhooks, "INGEST_ACTIVITY", activity)
    assert not activity.busy(within_s=60)
    assert post(client, [property_change("contact", 11, T0, "firstname", "A")]).status_code == 200
    assert activity.busy(within_s=60)
