"""the audit log: every admin action, from the dashboard (and later the admin API and Slack)

Revision ID: 0010_audit_log
Revises: 0009_sla_reevaluation_queue
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.models.base

revision: str = "0010_audit_log"
down_revision: str | None = "0009_sla_reevaluation_queue"
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


def downgrade() -> None:
    op.drop_index("ix_audit_log_at", table_name="audit_log")
    op.drop_table("audit_log")
