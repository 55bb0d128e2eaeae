"""records waiting for SLA re-evaluation, and the count of failed hand-offs

The feeds queue the records they change in the transaction that stores the change; the
evaluation removes them. A failed evaluation leaves its rows (with attempts, the error and
the next attempt's time) for the drain job, and counts itself in `sla_handoff_stats`.

Revision ID: 0009_sla_reevaluation_queue
Revises: 0008_sync_lean_indexes
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.models.base

revision: str = "0009_sla_reevaluation_queue"
down_revision: str | None = "0008_sync_lean_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sla_reevaluation_queue",
        sa.Column("portal_id", sa.BigInteger(), nullable=False),
        sa.Column("object_type", sa.String(length=16), nullable=False),
        sa.Column("object_id", sa.String(length=64), nullable=False),
        sa.Column("enqueued_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("enqueue_count", sa.Integer(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("next_attempt_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "portal_id", "object_type", "object_id", name=op.f("pk_sla_reevaluation_queue")
        ),
    )
    with op.batch_alter_table("sla_reevaluation_queue", schema=None) as batch_op:
        batch_op.create_index(
            "ix_sla_reevaluation_queue_next_attempt_at", ["next_attempt_at"], unique=False
        )
    op.create_table(
        "sla_handoff_stats",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("handoffs", sa.BigInteger(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", app.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sla_handoff_stats")),
    )
    # The one row exists from the start: a full pass's batch locks it (app/evaluation/exclusion.py).
    op.execute("INSERT INTO sla_handoff_stats (id, handoffs, failures) VALUES (1, 0, 0)")


def downgrade() -> None:
    op.drop_table("sla_handoff_stats")
    with op.batch_alter_table("sla_reevaluation_queue", schema=None) as batch_op:
        batch_op.drop_index("ix_sla_reevaluation_queue_next_attempt_at")
    op.drop_table("sla_reevaluation_queue")
