"""The alert outbox: one delivery per (SLA event, route, receiver), written in the event's
transaction, claimed by workers, retried and dead-lettered; its attempt log; where each SLA
instance's Slack message lives; endpoints that are switched off; Slack users by email.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, BigIntPK


class AlertDelivery(Base):
    """`state` is pending | delivering | delivered | dead | suppressed. `next_attempt_at` is
    set while the row still has to go out (pending, or delivering under a lease) and cleared
    when it is settled, so the claim query's index holds the live rows alone. `receiver` is as
    the route wrote it (`owner`, `manager:U0ADA`, `channel:sales`, `webhook:crm`); the target
    is filled once resolved (a DM's Slack user is found at delivery time, not in the
    evaluation's transaction)."""

    __tablename__ = "alert_deliveries"
    __table_args__ = (
        UniqueConstraint("event_id", "route", "receiver"),
        Index(
            "ix_alert_deliveries_next_attempt_at",
            "next_attempt_at",
            sqlite_where=text("next_attempt_at IS NOT NULL"),
            postgresql_where=text("next_attempt_at IS NOT NULL"),
        ),
        Index("ix_alert_deliveries_state", "state"),
        # The last message to a target, which a burst's digest waits group_wait after.
        Index("ix_alert_deliveries_target", "target_kind", "target", "delivered_at"),
        # The outbox status (health, /metrics) from indexes alone, never the whole table:
        # counts per state and target kind, the oldest live row, the recent dead letters...
        Index("ix_alert_deliveries_status", "state", "target_kind", "created_at"),
        # ...the latency histogram as ranges of one index...
        Index("ix_alert_deliveries_latency", "latency_seconds"),
        # ...and the few deliveries that went to a fallback (the predicate is
        # alerts.outbox.status.FALLBACK, written the same way).
        Index(
            "ix_alert_deliveries_fallback",
            "id",
            sqlite_where=text("reason LIKE 'fallback for %'"),
            postgresql_where=text("reason LIKE 'fallback for %'"),
        ),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    # An SLA event's delivery names the event; a scheduled post's (scorecard, digest) the post.
    event_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("sla_events.id", ondelete="CASCADE")
    )
    post_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("alert_posts.id", ondelete="CASCADE"), unique=True
    )
    portal_id: Mapped[int] = mapped_column(BigInteger)
    instance_id: Mapped[int | None] = mapped_column(BigInteger)
    route: Mapped[str] = mapped_column(String(128))
    receiver: Mapped[str] = mapped_column(String(400))
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None]
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None]
    idempotency_key: Mapped[str] = mapped_column(String(512))
    target_kind: Mapped[str | None] = mapped_column(String(16))
    target: Mapped[str | None] = mapped_column(String(400))
    # Why the target is not the receiver (a fallback) or why the row is suppressed.
    reason: Mapped[str | None] = mapped_column(Text)
    # The silence that suppressed the row (silences are never deleted, so no foreign key).
    silence_id: Mapped[int | None] = mapped_column(BigInteger)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]  # the SLA event's recorded time (same transaction)
    delivered_at: Mapped[datetime | None]
    # SLA event recorded -> delivered, for the latency histogram in /metrics.
    latency_seconds: Mapped[float | None] = mapped_column(Float)


class AlertDeliveryAttempt(Base):
    __tablename__ = "alert_delivery_attempts"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    delivery_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("alert_deliveries.id", ondelete="CASCADE"), index=True
    )
    attempt: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime]
    outcome: Mapped[str] = mapped_column(String(16))
    status_code: Mapped[int | None] = mapped_column(Integer)
    detail: Mapped[str | None] = mapped_column(Text)  # reason or response excerpt, no secrets
    duration: Mapped[float] = mapped_column(Float, default=0.0)
    next_attempt_at: Mapped[datetime | None]
    worker: Mapped[str] = mapped_column(String(64))


class AlertSlackMessage(Base):
    """The Slack message of one SLA instance for one target, updated in place as it moves."""

    __tablename__ = "alert_slack_messages"

    instance_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    target: Mapped[str] = mapped_column(String(64), primary_key=True)
    channel: Mapped[str] = mapped_column(String(64))
    ts: Mapped[str] = mapped_column(String(32))
    updated_at: Mapped[datetime]


class AlertEndpoint(Base):
    """An endpoint switched off (`webhook:NAME` answered 410, `slack` lost its token); rows
    exist only for endpoints whose state was ever recorded."""

    __tablename__ = "alert_endpoints"

    name: Mapped[str] = mapped_column(String(160), primary_key=True)
    disabled_at: Mapped[datetime | None]
    disabled_reason: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime]


class SlackUserCache(Base):
    """`users.lookupByEmail` answers: the user id, or NULL for `users_not_found`."""

    __tablename__ = "slack_user_cache"

    email: Mapped[str] = mapped_column(String(320), primary_key=True)
    slack_user_id: Mapped[str | None] = mapped_column(String(32))
    fetched_at: Mapped[datetime]
