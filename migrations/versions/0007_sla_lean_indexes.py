"""lean SLA indexes: partial next-due index, no secondary indexes on the event log

`ix_sla_instances_next_due_at` holds only instances with a next due time (running clocks and
open periods); finished instances, most of the table, no longer enter it. The event log's
`ix_sla_events_rule_time` and `ix_sla_events_record` served no query (consumers read new events
in id order) and cost about a third of a full evaluation's insert time.

Revision ID: 0007_sla_lean_indexes
Revises: 0006_sync_runs_mode
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_sla_lean_indexes"
down_revision: str | None = "0006_sync_runs_mode"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_DUE = "next_due_at IS NOT NULL"


def upgrade() -> None:
    with op.batch_alter_table("sla_events", schema=None) as batch_op:
        batch_op.drop_index("ix_sla_events_rule_time")
        batch_op.drop_index("ix_sla_events_record")
    with op.batch_alter_table("sla_instances", schema=None) as batch_op:
        batch_op.drop_index("ix_sla_instances_next_due_at")
        batch_op.create_index(
            "ix_sla_instances_next_due_at",
            ["next_due_at"],
            unique=False,
            sqlite_where=sa.text(_DUE),
            postgresql_where=sa.text(_DUE),
        )


def downgrade() -> None:
    with op.batch_alter_table("sla_instances", schema=None) as batch_op:
        batch_op.drop_index("ix_sla_instances_next_due_at")
        batch_op.create_index("ix_sla_instances_next_due_at", ["next_due_at"], unique=False)
    with op.batch_alter_table("sla_events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_sla_events_record", ["portal_id", "object_type", "object_id"], unique=False
        )
        batch_op.create_index(
            "ix_sla_events_rule_time", ["portal_id", "rule_id", "occurred_at"], unique=False
        )
