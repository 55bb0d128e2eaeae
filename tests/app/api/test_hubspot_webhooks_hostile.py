"""What HubSpot (or someone holding its secret) can send that is not a tidy batch of events:
no input gets a 500, nothing unstorable reaches the store, and one request cannot flood it."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.api.hubspot_webhooks import ThrottledLog
from app.config import Settings
from app.models import Portal, WebhookDeadLetter, WebhookEvent
from app.webhooks.body import MAX_EVENTS_PER_REQUEST
from app.webhooks.ingest import MAX_DEAD_LETTERS_PER_REQUEST
from integrations.hubspot.signature import compute_signature_v3
from sandbox.server import SandboxServer
from tests.app.api.test_hubspot_webhooks import URL, make_client
from tests.fixtures.webhooks import PORTAL, SECRET, encode, property_change

T0 = 1_764_000_000_000


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    yield from make_client(
        settings, hubspot_client_secret=SecretStr(SECRET), hubspot_portal_ids=[PORTAL]
    )


def raw_headers(body: bytes, content_type: str | None = "application/json") -> dict[str, str]:
    """Signed over the exact bytes (HubSpot's SDK wants text, and some bodies here are not)."""
    timestamp = str(time.time_ns() // 1_000_000)
    headers = {
        "X-HubSpot-Signature-v3": compute_signature_v3(SECRET, "POST", URL, body, timestamp),
        "X-HubSpot-Request-Timestamp": timestamp,
    }
    if content_type is not None:
        headers["Content-Type"] = content_type
    return headers


def post_raw(client: TestClient, body: bytes, content_type: str | None = "application/json") -> Any:
    return client.post("/webhooks/hubspot", content=body, headers=raw_headers(body, content_type))


def counts(session: Session) -> tuple[int, int]:
    session.expire_all()
    events = session.scalar(select(func.count()).select_from(WebhookEvent))
    letters = session.scalar(select(func.count()).select_from(WebhookDeadLetter))
    return int(events or 0), int(letters or 0)


def letters(session: Session) -> list[WebhookDeadLetter]:
    session.expire_all()
    return list(session.scalars(select(WebhookDeadLetter).order_by(WebhookDeadLetter.id)))


def good(object_id: int = 11) -> bytes:
    return encode([property_change("contact", object_id, T0 + object_id, "firstname", "Ana")])[1:-1]


def between_good_events(bad: bytes) -> bytes:
    """[good, bad, good]: the good ones must be stored whatever the bad one is."""
    return b"[" + good(11) + b"," + bad + b"," + good(12) + b"]"


def bad_event(extra: bytes, **fields: str) -> bytes:
    base = {
        "eventId": 1,
        "portalId": PORTAL,
        "occurredAt": T0,
        "subscriptionType": "contact.propertyChange",
        "objectId": 99,
        "propertyName": "firstname",
        "propertyValue": "x",
    }
    text = json.dumps(base)[:-1]
    for name, raw in fields.items():
        text = text.replace(f'"{name}": {json.dumps(base[name])}', f'"{name}": {raw}')
    return text.encode() + (b', "extra": ' + extra if extra else b"") + b"}"


# -- (3) no input reaches a 500 --------------------------------------------------------------

HOSTILE = {
    "lone surrogate in propertyValue": bad_event(b"", propertyValue='"\\ud800"'),
    "lone surrogate in propertyName": bad_event(b"", propertyName='"first\\udc00name"'),
    "lone surrogate in a key": bad_event(b'{"\\udfff": 1}'),
    "lone surrogate as raw bytes": bad_event(b'"\xed\xa0\x80"'),
    "NUL in a key": bad_event(b'{"\\u0000": 1}'),
    "1,000 levels deep": bad_event(b"[" * 1000 + b"]" * 1000),
    "100,000 levels deep": bad_event(b"[" * 100_000 + b"]" * 100_000),
    "a number of 5,000 digits": bad_event(b"9" * 5000),
    "Infinity": bad_event(b"Infinity"),
    "NaN": bad_event(b"NaN"),
    "1e999": bad_event(b"1e999"),
    "an array nested 100,000 deep": b"[" * 100_000 + b"]" * 100_000,
}


@pytest.mark.parametrize("bad", list(HOSTILE.values()), ids=list(HOSTILE))
def test_an_event_that_cannot_be_stored_is_a_dead_letter_and_the_rest_is_stored(
    client: TestClient, session: Session, bad: bytes
) -> None:
    response = post_raw(client, between_good_events(bad))
    assert response.status_code == 200, response.text
    assert response.json() == {"stored": 2, "duplicates": 0, "dead_letters": 1}
    assert counts(session) == (2, 1)
    [letter] = letters(session)
    assert letter.reason
    # What the store holds can be written anywhere: no NUL, valid Unicode.
    assert "\x00" not in letter.raw
    letter.raw.encode("utf-8")
    assert len(letter.raw) >= min(len(bad), 1000) // 2


def test_the_reasons_say_what_was_wrong(client: TestClient, session: Session) -> None:
    expected = {
        "lone surrogate in propertyValue": "surrogate",
        "NUL in a key": "NUL",
        "100,000 levels deep": "nested deeper",
        "a number of 5,000 digits": "digits",
        "NaN": "not finite",
    }
    for name, word in expected.items():
        assert post_raw(client, b"[" + HOSTILE[name] + b"]").status_code == 200
        assert word in letters(session)[-1].reason, name


def test_a_body_that_is_not_json_at_all_stays_a_400(client: TestClient, session: Session) -> None:
    for body in (b"[" * 100_000, b"[1, 2", b'{"a": ' + b"[" * 5000 + b"]" * 5000 + b"}"):
        assert post_raw(client, body).status_code == 400
    assert counts(session) == (0, 0)


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(st.characters(codec=None, exclude_categories=())),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)


@settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    value=json_values,
    name=st.text(st.characters(codec=None), min_size=1, max_size=8),
    extra=json_values,
)
def test_whatever_the_fields_hold_the_answer_is_2xx_and_every_event_is_accounted_for(
    client: TestClient, session: Session, value: Any, name: str, extra: Any
) -> None:
    event = {**property_change("contact", 5, T0, "firstname", None), "propertyValue": value}
    event["propertyName"] = name
    event["extra"] = extra
    body = json.dumps([event, json.loads(good(6))]).encode()
    before = counts(session)
    response = post_raw(client, body)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["stored"] + answer["duplicates"] + answer["dead_letters"] == 2
    after = counts(session)
    assert after[0] - before[0] == answer["stored"]
    assert after[1] - before[1] == answer["dead_letters"]


# -- (4) one request cannot flood the store ---------------------------------------------------


def test_a_megabyte_of_zeros_is_refused_at_once_and_writes_nothing(
    client: TestClient, session: Session
) -> None:
    body = b"[" + b",".join([b"0"] * 520_000) + b"]"
    assert len(body) < 1024 * 1024
    response = post_raw(client, body)
    assert response.status_code == 413
    assert "1,000 events" in response.json()["detail"]
    assert counts(session) == (0, 0)


def test_a_batch_over_the_cap_writes_nothing_and_one_at_the_cap_is_stored(
    client: TestClient, session: Session
) -> None:
    events = [
        property_change("contact", i, T0 + i, "firstname", "Ana")
        for i in range(MAX_EVENTS_PER_REQUEST + 1)
    ]
    assert post_raw(client, encode(events)).status_code == 413
    assert counts(session) == (0, 0)
    response = post_raw(client, encode(events[:MAX_EVENTS_PER_REQUEST]))
    assert response.status_code == 200
    assert counts(session) == (MAX_EVENTS_PER_REQUEST, 0)


def test_dead_letters_of_one_request_are_capped_and_the_rest_counted(
    client: TestClient, session: Session
) -> None:
    bad = [{"subscriptionType": "spaceship.launch", "n": i} for i in range(300)]
    response = post_raw(client, encode([*bad, json.loads(good(7))]))
    assert response.status_code == 200
    assert response.json() == {
        "stored": 1,
        "duplicates": 0,
        "dead_letters": 300,
        "dead_letters_not_kept": 300 - MAX_DEAD_LETTERS_PER_REQUEST,
    }
    assert counts(session) == (1, MAX_DEAD_LETTERS_PER_REQUEST)


# -- (11) Content-Type ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    [
        None,
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/json-patch+json",
        "application/json; charset=latin-1",
    ],
)
def test_a_body_that_is_not_declared_json_is_refused_with_415(
    client: TestClient, session: Session, content_type: str | None
) -> None:
    response = post_raw(client, b"[" + good() + b"]", content_type)
    assert response.status_code == 415
    assert "application/json" in response.json()["detail"]
    assert counts(session) == (0, 0)


@pytest.mark.parametrize(
    "content_type",
    ["application/json", "application/json; charset=utf-8", "Application/JSON;charset=UTF-8"],
)
def test_json_with_or_without_charset_is_accepted(
    client: TestClient, session: Session, content_type: str
) -> None:
    assert post_raw(client, b"[" + good() + b"]", content_type).status_code == 200
    assert counts(session) == (1, 0)


# -- (5) only the configured portals ------------------------------------------------------------


def test_events_of_other_portals_are_dead_letters_and_create_nothing(
    client: TestClient, session: Session
) -> None:
    foreign = [
        {
            **property_change("contact", 11, T0, "lifecyclestage", "marketingqualifiedlead"),
            "portalId": portal,
        }
        for portal in (0, 1)
    ]
    response = post_raw(client, encode([*foreign, json.loads(good(12))]))
    assert response.json() == {"stored": 1, "duplicates": 0, "dead_letters": 2}
    reasons = [letter.reason for letter in letters(session)]
    assert all("portal" in r and str(PORTAL) in r for r in reasons), reasons
    assert session.scalars(select(Portal.id)).all() == []


def test_without_a_portal_list_or_a_token_every_batch_is_refused_with_503(
    settings: Settings, session: Session
) -> None:
    for client in make_client(
        settings, hubspot_client_secret=SecretStr(SECRET), hubspot_portal_ids=[]
    ):
        response = post_raw(client, b"[" + good() + b"]")
    assert response.status_code == 503
    assert "HUBSPOT_PORTAL_IDS" in response.json()["detail"]
    assert counts(session) == (0, 0)


# -- (10) a flood of bad batches is one log line -------------------------------------------------


def test_many_bad_batches_make_one_warning_line(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="app.api.hubspot_webhooks")
    for i in range(30):
        body = encode([{"subscriptionType": "spaceship.launch", "n": i}])
        assert post_raw(client, body).status_code == 200
    lines = [r.getMessage() for r in caplog.records if "did not" in r.getMessage()]
    assert len(lines) == 1, lines


def test_the_next_line_after_the_interval_says_how_much_was_held_back(
    caplog: pytest.LogCaptureFixture,
) -> None:
    now = [0.0]
    throttled = ThrottledLog(interval_s=60, clock=lambda: now[0])
    caplog.set_level(logging.WARNING, logger="app.api.hubspot_webhooks")
    for second in range(0, 120, 2):  # a bad batch of 3 every 2 s for two minutes
        now[0] = float(second)
        throttled.warn("bad", "webhook batch: %d event(s) did not parse", 3, count=3)
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [
        "webhook batch: 3 event(s) did not parse",
        "webhook batch: 3 event(s) did not parse "
        "(and 87 more in 29 request(s) since the previous line, 60 s ago)",
    ]


def test_events_of_other_portals_make_health_degraded_and_show_in_metrics(
    client: TestClient, session: Session, settings: Settings
) -> None:
    from datetime import UTC, datetime, timedelta

    from app.admin.health import check_health
    from tests.app.api.test_metrics import scrape, value

    old = WebhookDeadLetter(
        received_at=datetime.now(UTC) - timedelta(hours=3),
        raw="{}",
        reason="portal not served: portalId 5 is not a portal this slaguard serves (62515)",
    )
    session.add(old)
    session.commit()
    configured = settings.model_copy(update={"hubspot_portal_ids": [PORTAL]})
    factory = client.app.state.session_factory  # type: ignore[attr-defined]
    quiet = check_health(configured, factory, None, datetime.now(UTC))
    assert not any("portal" in reason for reason in quiet["reasons"])

    foreign = {**property_change("contact", 11, T0, "firstname", "Ana"), "portalId": 1}
    assert post_raw(client, encode([foreign, foreign | {"objectId": 12}])).status_code == 200
    body = check_health(configured, factory, None, datetime.now(UTC))
    assert body["status"] == "degraded"
    [reason] = [r for r in body["reasons"] if "portal" in r]
    assert "2 webhook event(s)" in reason and "portalId 1" in reason
    assert not any("did not parse" in r for r in body["reasons"])
    assert body["webhooks"]["unserved_portal_events_recent"] == 2
    assert value(scrape(client), "slaguard_webhook_unserved_portal_events_recent") == 2


def test_with_a_token_the_portal_it_belongs_to_is_the_one_served(
    settings: Settings, session: Session, sandbox: SandboxServer
) -> None:
    served = sandbox.portal.portal_id
    ours = {**property_change("contact", 11, T0, "firstname", "Ana"), "portalId": served}
    theirs = {**ours, "portalId": served + 1}
    for client in make_client(
        settings,
        hubspot_client_secret=SecretStr(SECRET),
        hubspot_portal_ids=[],
        hubspot_access_token=SecretStr(sandbox.token),
        hubspot_base_url=sandbox.hubspot_url,
    ):
        response = post_raw(client, encode([ours, theirs]))
    assert response.json() == {"stored": 1, "duplicates": 0, "dead_letters": 1}
    [letter] = letters(session)
    assert f"portalId {served + 1}" in letter.reason and str(served) in letter.reason


def test_a_token_hubspot_refuses_means_503_with_the_reason(
    settings: Settings, session: Session, sandbox: SandboxServer
) -> None:
    for client in make_client(
        settings,
        hubspot_client_secret=SecretStr(SECRET),
        hubspot_portal_ids=[],
        hubspot_access_token=SecretStr("not-the-sandbox-token"),
        hubspot_base_url=sandbox.hubspot_url,
    ):
        response = post_raw(client, b"[" + good() + b"]")
    assert response.status_code == 503
    detail = response.json()["detail"]
    assert "could not be read" in detail and "HUBSPOT_PORTAL_IDS" in detail
    assert "not-the-sandbox-token" not in detail
    assert counts(session) == (0, 0)
