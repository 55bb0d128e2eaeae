"""The webhook payload is what its published JSON Schema says, for any event."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from alerts.model import AlertEvent, EventType
from alerts.payload import Owner, PayloadContext, build_payload, message_id, record_url
from tests.alerts.factories import event

SCHEMA_FILE = Path(__file__).parents[2] / "alerts" / "schema" / "sla-event.v1.json"
SENT = datetime(2026, 12, 2, 15, 0, 5, tzinfo=UTC)
CONTEXT = PayloadContext(
    rule_name="First touch within 4 business hours",
    rule_goal="4h",
    state="breached",
    started_at=datetime(2026, 12, 2, 10, tzinfo=UTC),
    due_at=datetime(2026, 12, 2, 14, tzinfo=UTC),
    breached_at=datetime(2026, 12, 2, 14, tzinfo=UTC),
    cycle=1,
    owner=Owner("11", "Grace Hopper", "grace.hopper@example.com"),
)


SCHEMA = jsonschema_rs.Draft202012Validator(
    json.loads(SCHEMA_FILE.read_text(encoding="utf-8")), validate_formats=True
)


@pytest.fixture
def validator() -> Any:
    return SCHEMA


def test_a_breach_payload_validates_and_links_the_hubspot_record(validator: Any) -> None:
    payload = build_payload(event(), CONTEXT, "crm", SENT)

    validator.validate(json.loads(json.dumps(payload)))
    assert payload["type"] == "sla.breached"
    assert payload["id"] == message_id(1, "crm")
    assert payload["data"]["record"]["url"] == ("https://app.hubspot.com/contacts/7/record/0-1/501")


def test_the_schema_refuses_a_payload_that_breaks_the_contract(validator: Any) -> None:
    payload = build_payload(event(), CONTEXT, "crm", SENT)
    del payload["data"]["rule"]
    payload["version"] = 2

    errors = list(validator.iter_errors(payload))
    assert len(errors) == 2


def test_quota_periods_have_no_record_link() -> None:
    assert record_url("app.hubspot.com", 7, "period", "2026-12") is None
    assert record_url("app-eu1.hubspot.com", 7, "deal", "9") == (
        "https://app-eu1.hubspot.com/contacts/7/record/0-3/9"
    )


events = st.builds(
    lambda base, **changes: replace(base, **changes),
    st.just(event()),
    id=st.integers(1, 2**53),
    type=st.sampled_from(list(EventType)),
    rule_kind=st.sampled_from(["response", "cadence", "stage_age", "quota", "rate"]),
    object_type=st.sampled_from(["contact", "deal", "period", "window"]),
    object_id=st.text("0123456789", min_size=1, max_size=12),
    owner_id=st.none() | st.just("11"),
    route=st.none() | st.just("reps"),
    step=st.none() | st.integers(1, 5),
)


@given(
    events,
    st.none() | st.builds(Owner, st.just("11"), st.none() | st.text(), st.none()),
    st.none() | st.integers(0, 10_000).map(lambda m: SENT - timedelta(minutes=m)),
)
def test_every_payload_validates_against_the_schema(
    alert: AlertEvent, owner: Owner | None, due_at: datetime | None
) -> None:
    context = replace(CONTEXT, owner=owner, due_at=due_at, breached_at=due_at)
    payload = build_payload(alert, context, "crm", SENT)

    SCHEMA.validate(json.loads(json.dumps(payload)))
