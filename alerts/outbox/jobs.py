"""What a claimed delivery says, for its deliverer: the Block Kit message or the webhook
payload, built from the event, its SLA instance, the owner and the rule as stored."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from alerts.config import AlertsConfig
from alerts.delivery import DeliveryJob, SlackContent, WebhookContent
from alerts.messages import AlertFacts, render_alert, render_digest
from alerts.model import FOLLOW_UPS, AlertEvent, EventType, TargetKind
from alerts.outbox.events import alert_event
from alerts.outbox.hours import record_calendar
from alerts.outbox.leases import Claimed
from alerts.outbox.posts import post_job
from alerts.payload import Owner as PayloadOwner
from alerts.payload import PayloadContext, build_payload, record_url
from app.evaluation.rules_store import rules_in_force
from app.models import Owner, Portal, SlaEvent, SlaInstance


class JobError(Exception):
    """The delivery cannot be built (its event is gone, its endpoint is no longer configured)."""


def build_job(
    session: Session, claimed: Claimed, config: AlertsConfig, now: datetime
) -> DeliveryJob:
    if claimed.target_kind is None or not claimed.target:
        raise JobError("the delivery has no target yet")
    if claimed.event_id is None:  # a scheduled post (scorecard, digest): its stored message
        job = post_job(session, claimed)
        if job is None:
            raise JobError("the scheduled post is gone")
        return job
    kind = TargetKind(claimed.target_kind)
    slack, webhook = content_for(session, claimed.event_id, kind, claimed.target, config, now)
    return DeliveryJob(
        delivery_ids=(claimed.id,),
        key=claimed.key,
        target_kind=kind,
        target=claimed.target,
        attempt=claimed.attempts + 1,
        slack=slack,
        webhook=webhook,
    )


def build_digest_job(session: Session, group: list[Claimed], now: datetime) -> DeliveryJob:
    """Several alerts for one Slack target as one message (a burst becomes a digest)."""
    first = group[0]
    if first.target_kind is None or not first.target:
        raise JobError("the delivery has no target yet")
    if any(item.event_id is None for item in group):
        raise JobError("a scheduled post is never folded into a digest")
    facts = [facts_for(session, item.event_id or 0, now) for item in group]
    return DeliveryJob(
        delivery_ids=tuple(item.id for item in group),
        # The same group retried keeps its key; the ids make it unique to this group.
        key=f"digest_{first.id}_{group[-1].id}_{len(group)}",
        target_kind=TargetKind(first.target_kind),
        target=first.target,
        attempt=max(item.attempts for item in group) + 1,
        slack=SlackContent(render_digest(facts), None),
    )


def facts_for(session: Session, event_id: int, now: datetime) -> AlertFacts:
    event_row = session.get(SlaEvent, event_id)
    instance = session.get(SlaInstance, event_row.instance_id) if event_row else None
    if event_row is None or instance is None:
        raise JobError("the SLA event or its instance is gone")
    event = alert_event(event_row)
    return _facts(session, event, instance, _context(session, event, instance), now)


def content_for(
    session: Session,
    event_id: int,
    kind: TargetKind,
    target: str,
    config: AlertsConfig,
    now: datetime,
) -> tuple[SlackContent | None, WebhookContent | None]:
    """What the event says to a target of this kind: a Slack message or a webhook payload."""
    event_row = session.get(SlaEvent, event_id)
    instance = session.get(SlaInstance, event_row.instance_id) if event_row else None
    if event_row is None or instance is None:
        raise JobError("the SLA event or its instance is gone")
    event = alert_event(event_row)
    context = _context(session, event, instance)
    if kind is not TargetKind.WEBHOOK:
        facts = _facts(session, event, instance, context, now)
        # An escalation or a reminder answers in the thread of the instance's message.
        in_thread = event.type in FOLLOW_UPS
        return SlackContent(render_alert(facts), instance.id, in_thread), None
    endpoint = config.webhooks.get(target)
    if endpoint is None:
        raise JobError(f"webhook endpoint {target!r} is no longer configured")
    payload = build_payload(event, context, endpoint.name, now)
    return None, WebhookContent(endpoint.name, endpoint.url, payload)


def _rule_name(session: Session, rule_id: str) -> str:
    rules = rules_in_force(session)
    if rules is not None and rule_id in {rule.id for rule in rules.rules}:
        return rules.rule(rule_id).title
    return rule_id


def _context(session: Session, event: AlertEvent, instance: SlaInstance) -> PayloadContext:
    owner = session.get(Owner, (event.portal_id, event.owner_id)) if event.owner_id else None
    portal = session.get(Portal, event.portal_id)
    return PayloadContext(
        rule_name=_rule_name(session, event.rule_id),
        rule_goal=instance.goal,
        state=instance.state,
        started_at=instance.started_at,
        due_at=instance.due_at,
        breached_at=instance.breached_at,
        cycle=instance.cycle,
        ui_domain=portal.ui_domain if portal is not None else "app.hubspot.com",
        owner=None if owner is None else PayloadOwner(owner.id, _name(owner), owner.email),
    )


def _name(owner: Owner) -> str | None:
    name = " ".join(part for part in (owner.first_name, owner.last_name) if part)
    return name or owner.email


def _facts(
    session: Session,
    event: AlertEvent,
    instance: SlaInstance,
    context: PayloadContext,
    now: datetime,
) -> AlertFacts:
    late = late_business = None
    if instance.due_at is not None and event.type in (EventType.BREACHED, EventType.MET_LATE):
        end = max(instance.stopped_at or now, instance.due_at)
        late = end - instance.due_at
        late_business = _business_time(session, event, instance.due_at, end)
    return AlertFacts(
        event_type=event.type,
        instance_id=instance.id,
        rule_name=context.rule_name,
        promise=f"within {instance.goal}" if instance.goal else None,
        record_label=f"{event.object_type} {event.object_id}",
        record_url=record_url(
            context.ui_domain, event.portal_id, event.object_type, event.object_id
        ),
        owner_name=context.owner.name if context.owner is not None else None,
        due_at=instance.due_at,
        late_business=late_business,
        late_wall=late,
    )


def _business_time(
    session: Session, event: AlertEvent, start: datetime, end: datetime
) -> timedelta | None:
    """Lateness counted in the calendar the rule counts in for this owner (None when the rule
    is no longer in force: the message then gives wall-clock time only)."""
    calendar = record_calendar(session, event.portal_id, event.rule_id, event.owner_id)
    return None if calendar is None else calendar.elapsed(start, end)
