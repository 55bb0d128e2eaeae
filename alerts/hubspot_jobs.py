"""Building write-back jobs: each claimed delivery's SLA instance as it stands now, with the
task's subject and body from the rule, and the business minutes to first touch once met."""

from __future__ import annotations

import json

from sqlalchemy.orm import Session

from alerts.delivery import DeliveryJob, HubSpotContent, HubSpotItem
from alerts.hubspot_delivery import record_properties
from alerts.model import TargetKind
from alerts.outbox.hours import record_calendar
from alerts.outbox.jobs import JobError
from alerts.outbox.leases import Claimed
from app.evaluation.rules_store import rules_in_force
from app.models import SlaEvent, SlaInstance
from app.sla.states import SlaState

PLURAL = {"contact": "contacts", "deal": "deals"}


def build_hubspot_job(session: Session, group: list[Claimed]) -> DeliveryJob:
    first = group[0]
    if first.target_kind is None or not first.target:
        raise JobError("the delivery has no target yet")
    items = tuple(_items(session, group))
    key = first.key if len(group) == 1 else f"hubspot_{first.id}_{group[-1].id}_{len(group)}"
    return DeliveryJob(
        delivery_ids=tuple(item.id for item in group),
        key=key,
        target_kind=TargetKind(first.target_kind),
        target=first.target,
        attempt=max(item.attempts for item in group) + 1,
        hubspot=HubSpotContent(items),
    )


def _items(session: Session, group: list[Claimed]) -> list[HubSpotItem]:
    """One item per delivery. In a batch, a delivery whose event or record is gone (erased,
    say) has nothing to write and must not sink the other records with it."""
    if len(group) == 1:
        return [_claimed_item(session, group[0])]
    items: list[HubSpotItem] = []
    for claimed in group:
        try:
            items.append(_claimed_item(session, claimed))
        except JobError:
            continue
    if not items:
        raise JobError("every SLA event of the batch is gone")
    return items


def _claimed_item(session: Session, claimed: Claimed) -> HubSpotItem:
    if claimed.event_id is None:  # scheduled posts have no event; write-back always has one
        raise JobError("a write-back delivery without an SLA event")
    return _item(session, claimed.id, claimed.event_id)


def _item(session: Session, delivery_id: int, event_id: int) -> HubSpotItem:
    event = session.get(SlaEvent, event_id)
    instance = session.get(SlaInstance, event.instance_id) if event is not None else None
    if event is None or instance is None:
        raise JobError("the SLA event or its instance is gone")
    object_type = PLURAL.get(instance.object_type)
    if object_type is None:
        raise JobError(f"{instance.object_type} is not a HubSpot record slaguard can write to")
    title = _rule_title(session, instance.rule_id)
    return HubSpotItem(
        delivery_id=delivery_id,
        event_type=event.type,
        instance_id=instance.id,
        portal_id=instance.portal_id,
        object_type=object_type,
        object_id=instance.object_id,
        owner_id=instance.owner_id,
        state=instance.state,
        due_at=instance.due_at,
        first_touch_minutes=_minutes(session, instance),
        subject=f"SLA {event.type.replace('_', ' ')}: {title}",
        body=_body(title, instance),
    )


def _rule_title(session: Session, rule_id: str) -> str:
    rules = rules_in_force(session)
    if rules is not None and rule_id in {rule.id for rule in rules.rules}:
        return rules.rule(rule_id).title
    return rule_id


def _body(title: str, instance: SlaInstance) -> str:
    goal = f" within {instance.goal}" if instance.goal else ""
    due = f" It was due {instance.due_at.isoformat()}." if instance.due_at else ""
    return f"slaguard: {title}{goal}.{due} This task closes itself when the SLA is met."


def _minutes(session: Session, instance: SlaInstance) -> int | None:
    if instance.state not in (SlaState.MET, SlaState.MET_LATE) or instance.stopped_at is None:
        return None
    calendar = record_calendar(session, instance.portal_id, instance.rule_id, instance.owner_id)
    if calendar is None:
        return None
    elapsed = calendar.elapsed(instance.started_at, instance.stopped_at)
    return int(elapsed.total_seconds() // 60)


def preview_body(session: Session, event_id: int, kind: TargetKind) -> str:
    """What a write-back delivery of the event would send, as `slaguard alerts preview` shows."""
    item = _item(session, 0, event_id)
    if kind is TargetKind.HUBSPOT_PROPERTIES:
        shown: dict[str, object] = {item.object_type: {item.object_id: record_properties(item)}}
    else:
        shown = {
            "task": {"subject": item.subject, "body": item.body, "owner": item.owner_id},
            "on": f"{item.object_type} {item.object_id}",
            "event": item.event_type,
        }
    return json.dumps(shown, indent=2)


def hubspot_target(kind: str | None) -> bool:
    return kind in (TargetKind.HUBSPOT_TASK, TargetKind.HUBSPOT_PROPERTIES)
