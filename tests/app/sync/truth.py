"""Compares the store with the sandbox portal's ground truth, listing every difference."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.crm.objects import CRM_OBJECTS, ENGAGEMENT_TYPES
from app.models import Association, Contact, Deal, Engagement, Owner, Transition
from app.sync.windows import from_epoch_ms

TYPED = {
    "contacts": {"lifecycle_stage": "lifecyclestage", "owner_id": "hubspot_owner_id",
                 "lead_status": "hs_lead_status", "email": "email"},
    "deals": {"deal_stage": "dealstage", "pipeline": "pipeline", "owner_id": "hubspot_owner_id"},
}  # fmt: skip
MODELS: dict[str, Any] = {"contacts": Contact, "deals": Deal}
TRACKED = {"contacts": ("lifecyclestage", "hubspot_owner_id", "hs_lead_status"),
           "deals": ("dealstage", "hubspot_owner_id")}  # fmt: skip


def store_differences(
    session: Session, portal: Any, object_types: tuple[str, ...] = tuple(CRM_OBJECTS)
) -> list[str]:
    problems: list[str] = []
    problems += _owner_differences(session, portal)
    for object_type in object_types:
        problems += _record_differences(session, portal, object_type)
    return problems


def _owner_differences(session: Session, portal: Any) -> list[str]:
    stored = {o.id: o for o in session.scalars(select(Owner))}
    problems = []
    for owner in portal.owners:
        row = stored.pop(str(owner.id), None)
        if row is None:
            problems.append(f"owner {owner.id} missing")
        elif row.archived != owner.archived or row.email != owner.email:
            problems.append(f"owner {owner.id} stale")
    problems += [f"owner {extra} extra" for extra in stored]
    return problems


def _record_differences(session: Session, portal: Any, object_type: str) -> list[str]:
    spec = CRM_OBJECTS[object_type]
    model = MODELS.get(object_type, Engagement)
    query = select(model)
    if model is Engagement:
        query = query.where(Engagement.type == spec.store_type)
    stored = {row.id: row for row in session.scalars(query)}
    transitions = _stored_transitions(session, spec.store_type)
    links = _stored_links(session, object_type)
    problems: list[str] = []
    for truth in portal.truth(object_type):
        record_id = str(truth.id)
        row = stored.pop(record_id, None)
        where = f"{object_type} {record_id}"
        if row is None:
            problems.append(f"{where} missing")
            continue
        if row.archived != truth.archived:
            problems.append(f"{where} archived={row.archived}, truth {truth.archived}")
        merged_into = None if truth.merged_into is None else str(truth.merged_into)
        if getattr(row, "merged_into_id", None) != merged_into:
            problems.append(f"{where} merged_into={row.merged_into_id}, truth {merged_into}")
        if merged_into is not None:
            continue  # a merged-away record can no longer be read; its marks are what count
        for name in spec.base_properties:
            if row.properties.get(name) != truth.properties.get(name):
                problems.append(
                    f"{where} {name}={row.properties.get(name)!r}, "
                    f"truth {truth.properties.get(name)!r}"
                )
        for column, name in TYPED.get(object_type, {}).items():
            if getattr(row, column) != (truth.properties.get(name) or None):
                problems.append(f"{where} column {column} stale")
        if row.modified_at != from_epoch_ms(truth.modified_ms):
            problems.append(f"{where} modified_at {row.modified_at} != {truth.modified_ms}")
        for name in TRACKED.get(object_type, ()):
            expected = [
                (e.value or None, from_epoch_ms(e.timestamp_ms)) for e in truth.history[name]
            ]
            got = transitions.get((record_id, name), [])
            if got != expected:
                problems.append(f"{where} {name} transitions {got} != truth {expected}")
        if not truth.archived:
            for to_type, to_ids in truth.associations.items():
                # stored directions: deal -> contact, engagement -> contact and deal
                if (object_type, to_type) not in STORED_DIRECTIONS:
                    continue
                got_ids = sorted(links.get((record_id, to_type), []))
                if got_ids != sorted(str(i) for i in to_ids):
                    problems.append(f"{where} linked to {got_ids}, truth {to_ids}")
    problems += [f"{object_type} {extra} extra" for extra in stored]
    return problems


def _stored_transitions(session: Session, store_type: str) -> dict[tuple[str, str], list[Any]]:
    timeline: dict[tuple[str, str], list[Any]] = defaultdict(list)
    query = (
        select(Transition)
        .where(Transition.object_type == store_type)
        .order_by(Transition.object_id, Transition.property, Transition.entered_at, Transition.id)
    )
    for t in session.scalars(query):
        timeline[(t.object_id, t.property)].append((t.value, t.entered_at))
    return timeline


STORED_DIRECTIONS = {
    ("deals", "contacts"),
    *((engagement, to) for engagement in ENGAGEMENT_TYPES for to in ("contacts", "deals")),
}


def _stored_links(session: Session, object_type: str) -> dict[tuple[str, str], list[str]]:
    """(from id, HubSpot type linked to) -> linked ids."""
    spec = CRM_OBJECTS[object_type]
    from_type = "engagement" if spec.is_engagement else spec.store_type
    plural = {"contact": "contacts", "deal": "deals"}
    links: dict[tuple[str, str], list[str]] = defaultdict(list)
    query = select(Association).where(Association.from_type == from_type)
    for link in session.scalars(query):
        if link.to_type in plural:
            links[(link.from_id, plural[link.to_type])].append(link.to_id)
    return links
