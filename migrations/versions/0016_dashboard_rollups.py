"""dashboard rollups: time to first touch per stopped response cycle, and the rollup marks

Revision ID: 0016_dashboard_rollups
Revises: 0014_scorecard
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.models.base

revision: str = "0016_dashboard_rollups"
down_revision: str | None = "0015_admin_runs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_UTC = app.models.base.UTCDateTime


def upgrade() -> None:
    # Beside (portal, rule, state), which health counts walk whole and which stays the
    # narrower: started_at and owner_id make the dashboard's verdicts per week and breaches
    # per rep ranges read from the index alone.
    op.create_index(
        "ix_sla_instances_rule_state_started",
        "sla_instances",
        ["portal_id", "rule_id", "state", "started_at", "owner_id"],
        unique=False,
    )
    op.create_table(
        "dashboard_touch_times",
        sa.Column(
            "instance_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("portal_id", sa.BigInteger(), nullable=False),
        sa.Column("rule_id", sa.String(length=128), nullable=False),
        sa.Column("object_type", sa.String(length=32), nullable=False),
        sa.Column("object_id", sa.String(length=64), nullable=False),
        sa.Column("owner_id", sa.String(length=64), nullable=True),
        sa.Column("started_at", _UTC(timezone=True), nullable=False),
        sa.Column("wall_hours", sa.Float(), nullable=False),
        sa.Column("business_hours", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("instance_id", name=op.f("pk_dashboard_touch_times")),
    )
    op.create_index(
        "ix_dashboard_touch_times_rule_started",
        "dashboard_touch_times",
        [
            "portal_id",
            "rule_id",
            "started_at",
            "owner_id",
            "wall_hours",
            "business_hours",
            "instance_id",
        ],
        unique=False,
    )
    op.create_table(
        "dashboard_rollup_marks",
        sa.Column("portal_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("rule_id", sa.String(length=128), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("through_event_id", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", _UTC(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("portal_id", "rule_id", name=op.f("pk_dashboard_rollup_marks")),
    )


def downgrade() -> None:
    op.drop_table("dashboard_rollup_marks")
    op.drop_index("ix_dashboard_touch_times_rule_started", table_name="dashboard_touch_times")
    op.drop_table("dashboard_touch_times")
    op.drop_index("ix_sla_instances_rule_state_started", table_name="sla_instances")
