"""scheduled posts (weekly scorecard, morning digests) delivered through the alert outbox

Revision ID: 0014_scorecard
Revises: 0013_alert_silences
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import app.models.base

revision: str = "0014_scorecard"
down_revision: str | None = "0013_alert_silences"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_UTC = app.models.base.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "alert_posts",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("portal_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("period", sa.String(length=32), nullable=False),
        sa.Column("target", sa.String(length=80), nullable=False),
        sa.Column(
            "message",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("created_at", _UTC(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_posts")),
        sa.UniqueConstraint(
            "portal_id",
            "kind",
            "period",
            "target",
            name=op.f("uq_alert_posts_portal_id_kind_period_target"),
        ),
    )
    with op.batch_alter_table("alert_deliveries", schema=None) as batch_op:
        batch_op.alter_column("event_id", existing_type=sa.BigInteger(), nullable=True)
        batch_op.alter_column("instance_id", existing_type=sa.BigInteger(), nullable=True)
        batch_op.add_column(sa.Column("post_id", sa.BigInteger(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_alert_deliveries_post_id"), ["post_id"])
        batch_op.create_foreign_key(
            batch_op.f("fk_alert_deliveries_post_id_alert_posts"),
            "alert_posts",
            ["post_id"],
            ["id"],
            ondelete="CASCADE",
        )


def downgrade() -> None:
    # Posts' deliveries name no SLA event: they cannot survive the older schema.
    op.execute("DELETE FROM alert_deliveries WHERE post_id IS NOT NULL")
    with op.batch_alter_table("alert_deliveries", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_alert_deliveries_post_id_alert_posts"), type_="foreignkey"
        )
        batch_op.drop_constraint(batch_op.f("uq_alert_deliveries_post_id"), type_="unique")
        batch_op.drop_column("post_id")
        batch_op.alter_column("instance_id", existing_type=sa.BigInteger(), nullable=False)
        batch_op.alter_column("event_id", existing_type=sa.BigInteger(), nullable=False)
    op.drop_table("alert_posts")
