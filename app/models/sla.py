"""SLA instances (one per rule, record and cycle, or per rule and period) and the
append-only SLA event log that alerts and reports read."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
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


class SlaInstance(Base):
    """One clock cycle of a rule on a record, or one period / window of a quota or rate rule.

    `object_type` is contact | deal for clocks, period | window for quotas and rates (then
    `object_id` is the period key such as 2026-11 or 2026-W48, or `rolling`). `next_due_at` is
    the next instant at which time alone changes the state (warning, breach, period end,
    pacing crossing); the due-clock job polls it through its index. `goal` and
    `rule_fingerprint` are those the instance ran under: a finished instance keeps them when
    the rule changes later.
    """

    __tablename__ = "sla_instances"
    __table_args__ = (
        UniqueConstraint("portal_id", "rule_id", "object_type", "object_id", "cycle"),
        # Only running clocks and open periods have a next due time: the index holds those
        # alone, and the due-clock job's `next_due_at <= now` implies its condition.
        Index(
            "ix_sla_instances_next_due_at",
            "next_due_at",
            sqlite_where=text("next_due_at IS NOT NULL"),
            postgresql_where=text("next_due_at IS NOT NULL"),
        ),
        Index("ix_sla_instances_record", "portal_id", "object_type", "object_id"),
        Index("ix_sla_instances_rule_state", "portal_id", "rule_id", "state"),
        # A rule's instances in a state; with started_at (and owner_id), the dashboard's
        # verdicts per week and breaches per rep are ranges read from the index alone.
        Index(
            "ix_sla_instances_rule_state_started",
            "portal_id",
            "rule_id",
            "state",
            "started_at",
            "owner_id",
        ),
        # The dashboard: verdicts per rule and week read from the index alone (a period is a
        # range of started_at), and the most urgent open clocks of a state by due time.
        Index("ix_sla_instances_started", "portal_id", "started_at", "rule_id", "state"),
        Index("ix_sla_instances_state_due", "portal_id", "state", "due_at"),
        # The admin API's instances of one owner (or team), a page at a time.
        Index("ix_sla_instances_owner", "portal_id", "owner_id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    portal_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("portals.id", ondelete="CASCADE"))
    rule_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    object_type: Mapped[str] = mapped_column(String(16))
    object_id: Mapped[str] = mapped_column(String(64))
    cycle: Mapped[int] = mapped_column(Integer, default=1)
    owner_id: Mapped[str | None] = mapped_column(String(32))
    # an app.sla.states.SlaState: running | warning | breached | met | met_late | cancelled
    # (clocks), on_track | at_risk | met | missed (periods)
    state: Mapped[str] = mapped_column(String(16))
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    started_at: Mapped[datetime]
    warning_at: Mapped[datetime | None]
    due_at: Mapped[datetime | None]
    stopped_at: Mapped[datetime | None]
    breached_at: Mapped[datetime | None]
    next_due_at: Mapped[datetime | None]
    goal: Mapped[str | None] = mapped_column(String(64))
    rule_fingerprint: Mapped[str] = mapped_column(String(16))
    # quota / rate figures: count, target, expected, value, sample ...
    metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[datetime]


class SlaEvent(Base):
    """Something that happened to an SLA instance. Rows are only ever inserted.

    `type` is an app.sla.states.SlaEventType: warning | breached | met | met_late | cancelled |
    at_risk | resolved | missed, and escalated | reminder from alerting; each type happens at
    most once per instance and follow-up key (the unique constraint makes re-evaluation and
    the escalation job idempotent). `occurred_at` is when it happened in the world
    (the deadline for a breach), `recorded_at` when slaguard noticed; consumers read new rows in
    `id` order.
    """

    __tablename__ = "sla_events"
    __table_args__ = (
        UniqueConstraint("instance_id", "type", "follow_up"),
        # The admin API's event log since a time, paged by (recorded_at, id).
        Index("ix_sla_events_recorded_at", "recorded_at", "id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    instance_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("sla_instances.id"))
    portal_id: Mapped[int] = mapped_column(BigInteger)
    rule_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    object_type: Mapped[str] = mapped_column(String(16))
    object_id: Mapped[str] = mapped_column(String(64))
    cycle: Mapped[int] = mapped_column(Integer)
    owner_id: Mapped[str | None] = mapped_column(String(32))
    type: Mapped[str] = mapped_column(String(16))
    occurred_at: Mapped[datetime]
    recorded_at: Mapped[datetime]
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Empty for the engine's events; `ROUTE/N` for the Nth escalation step or reminder of a
    # route, so a follow-up fires once however many jobs race to fire it.
    follow_up: Mapped[str] = mapped_column(String(160), default="", server_default="")


class SlaRuleSet(Base):
    """A rules file as it was put in force. The newest row is the one every process evaluates
    with (the service, the webhook worker, `slaguard evaluate`); older rows are the audit trail
    of what the agreement said when."""

    __tablename__ = "sla_rule_sets"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    fingerprint: Mapped[str] = mapped_column(String(64), index=True)
    source: Mapped[str] = mapped_column(String(1024))
    text: Mapped[str] = mapped_column(Text)
    activated_at: Mapped[datetime]
