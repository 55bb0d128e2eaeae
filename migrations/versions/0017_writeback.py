"""HubSpot write-back: the task slaguard created for each SLA instance

Revision ID: 0017_writeback
Revises: 0016_dashboard_rollups
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.models.base

revision: str = "0017_writeback"
down_revision: str | None = "0016_dashboard_rollups"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_UTC = app.models.base.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "hubspot_tasks",
        sa.Column("instance_id", sa.BigInteger(), nullable=False),
        sa.Column("portal_id", sa.BigInteger(), nullable=False),
        sa.Column("object_type", sa.String(length=16), nullable=False),
        sa.Column("object_id", sa.String(length=64), nullable=False),
        sa.Column("owner_id", sa.String(length=32), nullable=True),
        sa.Column("task_id", sa.String(length=32), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("due_at", _UTC(timezone=True), nullable=True),
        sa.Column("reserved_until", _UTC(timezone=True), nullable=True),
        sa.Column("created_at", _UTC(timezone=True), nullable=False),
        sa.Column("updated_at", _UTC(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("instance_id", name=op.f("pk_hubspot_tasks")),
    )
    op.create_index(
        "ix_hubspot_tasks_portal_task", "hubspot_tasks", ["portal_id", "task_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_hubspot_tasks_portal_task", table_name="hubspot_tasks")
    op.drop_table("hubspot_tasks")
