"""admin runs (syncs and evaluations triggered from the admin API); the event log by time;
SLA instances by owner

Revision ID: 0015_admin_runs
Revises: 0014_scorecard
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import app.models.base

revision: str = "0015_admin_runs"
down_revision: str | None = "0014_scorecard"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_UTC = app.models.base.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "admin_runs",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("full", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("slot", sa.String(length=8), nullable=True),
        sa.Column("requested_by", sa.String(length=128), nullable=False),
        sa.Column("holder", sa.String(length=160), nullable=False),
        sa.Column("started_at", _UTC(timezone=True), nullable=False),
        sa.Column("heartbeat_at", _UTC(timezone=True), nullable=False),
        sa.Column("finished_at", _UTC(timezone=True), nullable=True),
        sa.Column(
            "result",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_admin_runs")),
        sa.UniqueConstraint("slot", name=op.f("uq_admin_runs_slot")),
    )
    with op.batch_alter_table("sla_events", schema=None) as batch_op:
        batch_op.create_index("ix_sla_events_recorded_at", ["recorded_at", "id"], unique=False)
    with op.batch_alter_table("sla_instances", schema=None) as batch_op:
        batch_op.create_index("ix_sla_instances_owner", ["portal_id", "owner_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("sla_instances", schema=None) as batch_op:
        batch_op.drop_index("ix_sla_instances_owner")
    with op.batch_alter_table("sla_events", schema=None) as batch_op:
        batch_op.drop_index("ix_sla_events_recorded_at")
    op.drop_table("admin_runs")
