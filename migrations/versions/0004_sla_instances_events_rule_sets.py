"""sla instances, events and rule sets

Revision ID: 0004_sla
Revises: 0001
Create Date: 2026-11-26 20:51:32.102544
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import app.models.base

revision: str = "0004_sla"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def _when(name: str, nullable: bool = True) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, app.models.base.UTCDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "sla_instances",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("portal_id", sa.BigInteger(), nullable=False),
        sa.Column("rule_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("object_type", sa.String(length=16), nullable=False),
        sa.Column("object_id", sa.String(length=64), nullable=False),
        sa.Column("cycle", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.String(length=32), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("paused", sa.Boolean(), nullable=False),
        _when("started_at", nullable=False),
        _when("warning_at"),
        _when("due_at"),
        _when("stopped_at"),
        _when("breached_at"),
        _when("next_due_at"),
        sa.Column("goal", sa.String(length=64), nullable=True),
        sa.Column("rule_fingerprint", sa.String(length=16), nullable=False),
        sa.Column("metrics", _JSON, nullable=False),
        _when("updated_at", nullable=False),
        sa.ForeignKeyConstraint(
            ["portal_id"],
            ["portals.id"],
            name=op.f("fk_sla_instances_portal_id_portals"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sla_instances")),
        sa.UniqueConstraint(
            "portal_id",
            "rule_id",
            "object_type",
            "object_id",
            "cycle",
            name=op.f("uq_sla_instances_portal_id_rule_id_object_type_object_id_cycle"),
        ),
    )
    with op.batch_alter_table("sla_instances", schema=None) as batch_op:
        batch_op.create_index("ix_sla_instances_next_due_at", ["next_due_at"], unique=False)
        batch_op.create_index(
            "ix_sla_instances_record", ["portal_id", "object_type", "object_id"], unique=False
        )
        batch_op.create_index(
            "ix_sla_instances_rule_state", ["portal_id", "rule_id", "state"], unique=False
        )

    op.create_table(
        "sla_events",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("instance_id", sa.BigInteger(), nullable=False),
        sa.Column("portal_id", sa.BigInteger(), nullable=False),
        sa.Column("rule_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("object_type", sa.String(length=16), nullable=False),
        sa.Column("object_id", sa.String(length=64), nullable=False),
        sa.Column("cycle", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.String(length=32), nullable=True),
        sa.Column("type", sa.String(length=16), nullable=False),
        _when("occurred_at", nullable=False),
        _when("recorded_at", nullable=False),
        sa.Column("details", _JSON, nullable=False),
        sa.ForeignKeyConstraint(
            ["instance_id"],
            ["sla_instances.id"],
            name=op.f("fk_sla_events_instance_id_sla_instances"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sla_events")),
        sa.UniqueConstraint("instance_id", "type", name=op.f("uq_sla_events_instance_id_type")),
    )
    with op.batch_alter_table("sla_events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_sla_events_record", ["portal_id", "object_type", "object_id"], unique=False
        )
        batch_op.create_index(
            "ix_sla_events_rule_time", ["portal_id", "rule_id", "occurred_at"], unique=False
        )

    op.create_table(
        "sla_rule_sets",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=1024), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        _when("activated_at", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sla_rule_sets")),
    )
    with op.batch_alter_table("sla_rule_sets", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sla_rule_sets_fingerprint"), ["fingerprint"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("sla_rule_sets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sla_rule_sets_fingerprint"))
    op.drop_table("sla_rule_sets")
    with op.batch_alter_table("sla_events", schema=None) as batch_op:
        batch_op.drop_index("ix_sla_events_rule_time")
        batch_op.drop_index("ix_sla_events_record")
    op.drop_table("sla_events")
    with op.batch_alter_table("sla_instances", schema=None) as batch_op:
        batch_op.drop_index("ix_sla_instances_rule_state")
        batch_op.drop_index("ix_sla_instances_record")
        batch_op.drop_index("ix_sla_instances_next_due_at")
    op.drop_table("sla_instances")
