"""alert silences and acknowledgements; the silence behind a suppressed delivery

Revision ID: 0013_alert_silences
Revises: 0012_alert_escalations
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import app.models.base

revision: str = "0013_alert_silences"
down_revision: str | None = "0012_alert_escalations"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_UTC = app.models.base.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "alert_silences",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("rule_id", sa.String(length=128), nullable=True),
        sa.Column("owner_id", sa.String(length=64), nullable=True),
        sa.Column("object_type", sa.String(length=32), nullable=True),
        sa.Column("object_id", sa.String(length=64), nullable=True),
        sa.Column("instance_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "matcher",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("starts_at", _UTC(timezone=True), nullable=False),
        sa.Column("ends_at", _UTC(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", _UTC(timezone=True), nullable=False),
        sa.Column("ended_at", _UTC(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_silences")),
    )
    op.create_index("ix_alert_silences_ends_at", "alert_silences", ["ends_at"], unique=False)
    op.create_table(
        "alert_acknowledgements",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("instance_id", sa.BigInteger(), nullable=False),
        sa.Column("acknowledged_by", sa.String(length=200), nullable=False),
        sa.Column("acknowledged_at", _UTC(timezone=True), nullable=False),
        sa.Column("via", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_acknowledgements")),
    )
    op.create_index(
        op.f("ix_alert_acknowledgements_instance_id"),
        "alert_acknowledgements",
        ["instance_id"],
        unique=False,
    )
    op.add_column("alert_deliveries", sa.Column("silence_id", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("alert_deliveries", schema=None) as batch_op:
        batch_op.drop_column("silence_id")
    op.drop_index(
        op.f("ix_alert_acknowledgements_instance_id"), table_name="alert_acknowledgements"
    )
    op.drop_table("alert_acknowledgements")
    op.drop_index("ix_alert_silences_ends_at", table_name="alert_silences")
    op.drop_table("alert_silences")
