"""the audit log: every admin action, from the dashboard (and later the admin API and Slack);
two dashboard indexes on sla_instances (verdicts per week, open clocks by due time)

Revision ID: 0011_audit_log
Revises: 0010_alert_outbox
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.models.base

revision: str = "0011_audit_log"
down_revision: str | None = "0010_alert_outbox"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", app.models.base.BigIntPK, nullable=False),
        sa.Column("at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("target", sa.String(length=128), nullable=False),
        sa.Column("remote", sa.String(length=64), nullable=True),
        sa.Column("details", app.models.base.JSONType, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"], unique=False)
    with op.batch_alter_table("sla_instances", schema=None) as batch_op:
        batch_op.create_index(
            "ix_sla_instances_started", ["portal_id", "started_at", "rule_id", "state"]
        )
        batch_op.create_index("ix_sla_instances_state_due", ["portal_id", "state", "due_at"])


def downgrade() -> None:
    with op.batch_alter_table("sla_instances", schema=None) as batch_op:
        batch_op.drop_index("ix_sla_instances_state_due")
        batch_op.drop_index("ix_sla_instances_started")
    op.drop_index("ix_audit_log_at", table_name="audit_log")
    op.drop_table("audit_log")
