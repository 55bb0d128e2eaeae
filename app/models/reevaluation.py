"""Records waiting for the SLA engine, and the count of hand-offs that failed.

A feed (webhook worker, sync page, record re-read) inserts the keys of the records it changed
in the same transaction that stores the change, so a crash between that commit and the
evaluation leaves the record here instead of losing it. The evaluation that covers a record
deletes its row in its own transaction; a failed one keeps it for the drain job.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base


class SlaReevaluation(Base):
    __tablename__ = "sla_reevaluation_queue"
    __table_args__ = (Index("ix_sla_reevaluation_queue_next_attempt_at", "next_attempt_at"),)

    portal_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    object_type: Mapped[str] = mapped_column(String(16), primary_key=True)  # contact | deal
    object_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    # When the record first waited: the age of the oldest row is what health reports.
    enqueued_at: Mapped[datetime]
    # Bumped by every enqueue: an evaluation removes the row only if no change was queued
    # after it read the row (else that change is evaluated again).
    enqueue_count: Mapped[int] = mapped_column(Integer, default=1)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime]


class SlaHandoffStats(Base):
    """One row (id 1): failed hand-offs counted across restarts, for `/metrics`, and the
    number of hand-off transactions begun.

    `handoffs` is also how evaluators exclude each other: a hand-off bumps it first thing (on
    PostgreSQL that locks the row until it commits), and a full pass's batch, which reads
    before it takes the lock, compares it before writing and evaluates again if a hand-off
    ran meanwhile (app/evaluation/exclusion.py).
    """

    __tablename__ = "sla_handoff_stats"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    handoffs: Mapped[int] = mapped_column(BigInteger, default=0)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
