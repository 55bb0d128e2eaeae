"""Property: whatever order HubSpot delivers a stream in, and however often it repeats events,
the store ends exactly as if the stream had arrived once, in order, one event at a time."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, delete, select

from app.db import SessionFactory, create_session_factory
from app.models import (
    Base,
    Contact,
    Deal,
    ErasedRecord,
    PropertyClock,
    RecordRefresh,
    Transition,
    WebhookEvent,
)
from app.webhooks.worker import process_pending
from tests.app.webhooks.helpers import event, ingest, property_change

T0 = 1_764_000_000_000
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
CONTACTS = (1, 2, 3)  # 2 may be erased; 1 and 3 may be merged
CONTACT_VALUES = {
    "lifecyclestage": ["lead", "marketingqualifiedlead", "salesqualifiedlead", "customer"],
    "hubspot_owner_id": ["101", "202", "303"],
    "firstname": ["Ana", "Bo", "Cy"],
    "email": ["a@example.com", "b@example.com"],
}
DEAL_VALUES = {
    "dealstage": ["appointmentscheduled", "qualifiedtobuy", "closedwon"],
    "amount": ["100", "2500.50"],
    "hubspot_owner_id": ["101", "202"],
}

# Instants on a coarse grid, so that events often share one occurredAt.
instants = st.integers(min_value=0, max_value=12).map(lambda i: T0 + i * 1000)


@st.composite
def contact_change(draw: st.DrawFn) -> dict[str, Any]:
    name = draw(st.sampled_from(sorted(CONTACT_VALUES)))
    value = draw(st.sampled_from(CONTACT_VALUES[name]))
    return property_change("contact", draw(st.sampled_from(CONTACTS)), draw(instants), name, value)


@st.composite
def deal_change(draw: st.DrawFn) -> dict[str, Any]:
    name = draw(st.sampled_from(sorted(DEAL_VALUES)))
    value = draw(st.sampled_from(DEAL_VALUES[name]))
    return property_change("deal", 7, draw(instants), name, value)


@st.composite
def record_event(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["contact", "deal"]))
    object_id = draw(st.sampled_from(CONTACTS)) if kind == "contact" else 7
    action = draw(st.sampled_from(["deletion", "restore", "creation"]))
    return event(f"{kind}.{action}", object_id, draw(instants))


merges = instants.map(
    lambda t: event("contact.merge", 1, t, primaryObjectId=1, mergedObjectIds=[3])
)
privacy_deletions = instants.map(lambda t: event("contact.privacyDeletion", 2, t))
streams = st.lists(
    st.one_of(contact_change(), contact_change(), deal_change(), record_event(), merges)
    | privacy_deletions,
    min_size=1,
    max_size=20,
)


def snapshot(engine: Engine) -> dict[str, Any]:
    """The store as a user of it sees it (times of processing left out)."""
    with engine.connect() as c:
        return {
            "contacts": sorted(
                (
                    r.id,
                    r.archived,
                    sorted(r.properties.items()),
                    r.lifecycle_stage,
                    r.owner_id,
                    r.email,
                    r.merged_into_id,
                )
                for r in c.execute(select(Contact))
            ),
            "deals": sorted(
                (r.id, r.archived, sorted(r.properties.items()), r.deal_stage, r.amount)
                for r in c.execute(select(Deal))
            ),
            "transitions": sorted(
                (
                    r.object_type,
                    r.object_id,
                    r.property,
                    r.value or "",
                    r.entered_at,
                    r.exited_at or NOW,
                )
                for r in c.execute(select(Transition))
            ),
            "clocks": sorted(
                (r.object_type, r.object_id, r.property, r.set_at, r.value or "")
                for r in c.execute(select(PropertyClock))
            ),
            "erased": sorted(r.object_id for r in c.execute(select(ErasedRecord))),
            "refresh": sorted(
                (r.object_type, r.object_id) for r in c.execute(select(RecordRefresh))
            ),
            "raw_events": sorted(
                (r.dedupe_key, r.processed_at is not None) for r in c.execute(select(WebhookEvent))
            ),
        }


def empty(engine: Engine) -> None:
    with engine.begin() as c:
        for table in reversed(Base.metadata.sorted_tables):
            c.execute(delete(table))


def run(factory: SessionFactory, deliveries: list[list[dict[str, Any]]]) -> None:
    for batch in deliveries:
        ingest(factory, batch)
        process_pending(factory, clock=lambda: NOW)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(stream=streams, data=st.data())
def test_any_permutation_with_duplicates_ends_like_the_ordered_stream(
    engine: Engine, stream: list[dict[str, Any]], data: st.DataObject
) -> None:
    factory = create_session_factory(engine)
    empty(engine)
    ordered = sorted(stream, key=lambda e: e["occurredAt"])
    run(factory, [[e] for e in ordered])
    expected = snapshot(engine)

    empty(engine)
    repeats = data.draw(st.lists(st.sampled_from(stream), max_size=10), label="repeats")
    shuffled = data.draw(st.permutations(stream + repeats), label="arrival order")
    cuts = data.draw(st.lists(st.integers(0, len(shuffled)), max_size=6).map(sorted), label="cuts")
    bounds = [0, *cuts, len(shuffled)]
    deliveries = [shuffled[a:b] for a, b in itertools.pairwise(bounds)]
    run(factory, [d for d in deliveries if d])

    assert snapshot(engine) == expected
