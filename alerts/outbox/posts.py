"""Scheduled posts in the outbox: a post row unique per (portal, kind, period, target) and,
in the same transaction, its delivery row; the delivery job built from the stored message.

Whoever inserts the post row first (one of two schedulers, the run before a restart) is the
one whose delivery exists; every later attempt inserts nothing. From then on the delivery is
an outbox row like an alert's: claimed under a lease, retried on the same schedule, dead
letters listed and replayed by `slaguard alerts replay`.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from alerts.delivery import DeliveryJob, SlackContent
from alerts.messages import SlackMessage
from alerts.model import TargetKind
from alerts.outbox.leases import Claimed
from app.models import AlertDelivery, AlertPost, Owner, Portal, SlaInstance
from app.sla.states import SlaState
from app.store.db import SessionFactory, write_scope

SCORECARD = "scorecard"
DIGEST = "digest"


@dataclass(frozen=True, slots=True)
class PostPlan:
    """One post: `key` is (kind, period, target) within the portal; `receiver` as a route
    would write it (`channel:revops`, `owner:123`); `target_kind`/`target` when known now
    (a channel), None when the outbox resolves it (a rep's Slack user)."""

    portal_id: int
    kind: str
    period: str
    key_target: str
    receiver: str
    target_kind: TargetKind | None
    target: str | None


def record_post(
    session: Session, plan: PostPlan, message: SlackMessage | None, now: datetime
) -> int | None:
    """The new post's id, or None when this period's post already exists. A post without a
    message (nothing to say) is recorded, so the decision is taken once, and not sent."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    values = {
        "portal_id": plan.portal_id,
        "kind": plan.kind,
        "period": plan.period,
        "target": plan.key_target,
        "message": None if message is None else {"text": message.text, "blocks": message.blocks},
        "created_at": now,
    }
    statement = (
        insert(AlertPost)
        .values(values)
        .on_conflict_do_nothing(index_elements=["portal_id", "kind", "period", "target"])
        .returning(AlertPost.id)
    )
    post_id = session.execute(statement).scalar()
    if post_id is not None and message is not None:
        session.add(_delivery(plan, post_id, now))
        session.flush()
    return post_id


def _delivery(plan: PostPlan, post_id: int, now: datetime) -> AlertDelivery:
    return AlertDelivery(
        event_id=None,
        post_id=post_id,
        portal_id=plan.portal_id,
        instance_id=None,
        route=plan.kind,
        receiver=plan.receiver,
        state="pending",
        attempts=0,
        next_attempt_at=now,
        # Stable across retries: the Slack deliverer tags the message with it, so a crash
        # between the post and its commit is found, not posted twice.
        idempotency_key=f"post_{post_id}",
        target_kind=None if plan.target_kind is None else str(plan.target_kind),
        target=plan.target,
        created_at=now,
    )


def post_owner(session: Session, post_id: int) -> str | None:
    """The HubSpot owner a digest post is for (its target)."""
    post = session.get(AlertPost, post_id)
    return post.target if post is not None and post.kind == DIGEST else None


def digest_day(session: Session, post_id: int) -> date | None:
    """The rep's local day a digest post speaks of (its period)."""
    post = session.get(AlertPost, post_id)
    return date.fromisoformat(post.period) if post is not None and post.kind == DIGEST else None


def settle_unsent(factory: SessionFactory, claimed: Claimed, reason: str) -> None:
    """Settle a claimed post that must not go out any more, saying why (counted with the
    suppressed deliveries: not a failure, nothing to replay)."""
    with write_scope(factory) as session:
        row = session.get(AlertDelivery, claimed.id)
        if row is not None and row.state == "delivering":
            row.state, row.next_attempt_at, row.reason = "suppressed", None, reason
            row.lease_owner = row.lease_until = None


def post_job(session: Session, claimed: Claimed) -> DeliveryJob | None:
    """The stored message as a standalone Slack message; None when the post is gone."""
    post = session.get(AlertPost, claimed.post_id) if claimed.post_id is not None else None
    if post is None or post.message is None or claimed.target_kind is None or not claimed.target:
        return None
    message = SlackMessage(str(post.message["text"]), list(post.message["blocks"]))
    return DeliveryJob(
        delivery_ids=(claimed.id,),
        key=claimed.key,
        target_kind=TargetKind(claimed.target_kind),
        target=claimed.target,
        attempt=claimed.attempts + 1,
        slack=SlackContent(message, instance_id=None),
    )


def posts_in(session: Session, portal_id: int, kind: str, period: str) -> set[str]:
    """The targets already decided for a period (so a job does not gather their figures)."""
    query = select(AlertPost.target).where(
        AlertPost.portal_id == portal_id, AlertPost.kind == kind, AlertPost.period == period
    )
    return set(session.scalars(query))


def portals(session: Session) -> list[Portal]:
    return list(session.scalars(select(Portal).order_by(Portal.id)))


def owners(session: Session, portal_id: int) -> list[Owner]:
    """The portal's active owners (archived ones get no digest)."""
    query = select(Owner).where(Owner.portal_id == portal_id, Owner.archived.is_(False))
    return list(session.scalars(query.order_by(Owner.id)))


def owner_names(session: Session, portal_id: int) -> dict[str, str]:
    return {owner.id: display_name(owner) for owner in owners(session, portal_id)}


def display_name(owner: Owner) -> str:
    name = " ".join(part for part in (owner.first_name, owner.last_name) if part)
    return name or owner.email or f"owner {owner.id}"


def running_due_before(
    session: Session, portal_id: int, owner_ids: Collection[str], before: datetime
) -> list[SlaInstance]:
    """The owners' open, unpaused clocks (running, or warned) that fall due before `before`,
    soonest first."""
    if not owner_ids:
        return []
    query = (
        select(SlaInstance)
        .where(
            SlaInstance.portal_id == portal_id,
            SlaInstance.owner_id.in_(list(owner_ids)),
            SlaInstance.state.in_((SlaState.RUNNING, SlaState.WARNING)),
            SlaInstance.paused.is_(False),
            SlaInstance.due_at.isnot(None),
            SlaInstance.due_at < before,
        )
        .order_by(SlaInstance.due_at, SlaInstance.id)
    )
    return list(session.scalars(query))
