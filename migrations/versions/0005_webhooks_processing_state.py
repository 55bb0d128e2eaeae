"""webhook processing state: property clocks, record refresh queue, erased records

Revision ID: 0005_webhooks
Revises: 0004_sla
Create Date: 2026-11-26 21:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.models.base

revision: str = "0005_webhooks"
down_revision: str | None = "0004_sla"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "property_clocks",
        sa.Column("portal_id", sa.BigInteger(), nullable=False),
        sa.Column("object_type", sa.String(length=16), nullable=False),
        sa.Column("object_id", sa.String(length=32), nullable=False),
        sa.Column("property", sa.String(length=128), nullable=False),
        sa.Column("set_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("value", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint(
            "portal_id", "object_type", "object_id", "property", name=op.f("pk_property_clocks")
        ),
    )
    op.create_table(
        "record_refresh_queue",
        sa.Column("portal_id", sa.BigInteger(), nullable=False),
        sa.Column("object_type", sa.String(length=16), nullable=False),
        sa.Column("object_id", sa.String(length=32), nullable=False),
        sa.Column("requested_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("due_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint(
            "portal_id", "object_type", "object_id", name=op.f("pk_record_refresh_queue")
        ),
    )
    with op.batch_alter_table("record_refresh_queue", schema=None) as batch_op:
        batch_op.create_index("ix_record_refresh_queue_due", ["due_at"], unique=False)
    op.create_table(
        "erased_records",
        sa.Column("portal_id", sa.BigInteger(), nullable=False),
        sa.Column("object_type", sa.String(length=16), nullable=False),
        sa.Column("object_id", sa.String(length=32), nullable=False),
        sa.Column("erased_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "portal_id", "object_type", "object_id", name=op.f("pk_erased_records")
        ),
    )


def downgrade() -> None:
    op.drop_table("erased_records")
    with op.batch_alter_table("record_refresh_queue", schema=None) as batch_op:
        batch_op.drop_index("ix_record_refresh_queue_due")
    op.drop_table("record_refresh_queue")
    op.drop_table("property_clocks")
