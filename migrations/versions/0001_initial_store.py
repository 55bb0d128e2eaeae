"""initial store

Revision ID: 0001
Revises:
Create Date: 2026-11-26 20:41:44.763584
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import app.models.base

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "portals",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        sa.Column("currency", sa.String(length=8), nullable=False),
        sa.Column("ui_domain", sa.String(length=255), nullable=False),
        sa.Column("updated_at", app.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portals")),
    )
    op.create_table(
        "sync_runs",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("portal_id", sa.BigInteger(), nullable=True),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("started_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", app.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "counts",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("requests", sa.Integer(), nullable=False),
        sa.Column("rate_limited", sa.Integer(), nullable=False),
        sa.Column("retries", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_runs")),
    )
    with op.batch_alter_table("sync_runs", schema=None) as batch_op:
        batch_op.create_index("ix_sync_runs_started", ["started_at"], unique=False)

    op.create_table(
        "webhook_dead_letters",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("received_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("raw", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_dead_letters")),
    )
    with op.batch_alter_table("webhook_dead_letters", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_webhook_dead_letters_received_at"), ["received_at"], unique=False
        )

    op.create_table(
        "webhook_events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("dedupe_key", sa.String(length=64), nullable=False),
        sa.Column("portal_id", sa.BigInteger(), nullable=False),
        sa.Column("event_id", sa.BigInteger(), nullable=True),
        sa.Column("subscription_type", sa.String(length=64), nullable=False),
        sa.Column("object_type", sa.String(length=32), nullable=False),
        sa.Column("object_id", sa.String(length=32), nullable=False),
        sa.Column("property_name", sa.String(length=128), nullable=True),
        sa.Column("property_value", sa.Text(), nullable=True),
        sa.Column("occurred_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("received_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "payload",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("processed_at", app.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_events")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_webhook_events_dedupe_key")),
    )
    with op.batch_alter_table("webhook_events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_webhook_events_object", ["portal_id", "object_type", "object_id"], unique=False
        )
        batch_op.create_index(
            "ix_webhook_events_pending", ["processed_at", "occurred_at"], unique=False
        )

    op.create_table(
        "associations",
        sa.Column("portal_id", sa.BigInteger(), nullable=False),
        sa.Column("from_type", sa.String(length=16), nullable=False),
        sa.Column("from_id", sa.String(length=32), nullable=False),
        sa.Column("to_type", sa.String(length=16), nullable=False),
        sa.Column("to_id", sa.String(length=32), nullable=False),
        sa.Column("type_id", sa.Integer(), nullable=True),
        sa.Column("label", sa.String(length=128), nullable=True),
        sa.ForeignKeyConstraint(
            ["portal_id"],
            ["portals.id"],
            name=op.f("fk_associations_portal_id_portals"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "portal_id", "from_type", "from_id", "to_type", "to_id", name=op.f("pk_associations")
        ),
    )
    with op.batch_alter_table("associations", schema=None) as batch_op:
        batch_op.create_index("ix_associations_to", ["portal_id", "to_type", "to_id"], unique=False)

    op.create_table(
        "contacts",
        sa.Column("portal_id", sa.BigInteger(), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("archived", sa.Boolean(), nullable=False),
        sa.Column(
            "properties",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("lifecycle_stage", sa.String(length=64), nullable=True),
        sa.Column("owner_id", sa.String(length=32), nullable=True),
        sa.Column("owner_assigned_at", app.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("lead_status", sa.String(length=64), nullable=True),
        sa.Column("lead_source", sa.String(length=64), nullable=True),
        sa.Column("created_at", app.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("modified_at", app.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("merged_into_id", sa.String(length=32), nullable=True),
        sa.Column("synced_at", app.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["portal_id"],
            ["portals.id"],
            name=op.f("fk_contacts_portal_id_portals"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("portal_id", "id", name=op.f("pk_contacts")),
    )
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_contacts_portal_lifecycle", ["portal_id", "lifecycle_stage"], unique=False
        )
        batch_op.create_index(
            "ix_contacts_portal_modified", ["portal_id", "modified_at"], unique=False
        )
        batch_op.create_index("ix_contacts_portal_owner", ["portal_id", "owner_id"], unique=False)

    op.create_table(
        "deals",
        sa.Column("portal_id", sa.BigInteger(), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("archived", sa.Boolean(), nullable=False),
        sa.Column(
            "properties",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("name", sa.String(length=512), nullable=True),
        sa.Column("pipeline", sa.String(length=64), nullable=True),
        sa.Column("deal_stage", sa.String(length=64), nullable=True),
        sa.Column("amount", sa.Numeric(precision=18, scale=2), nullable=True),
        sa.Column("close_date", app.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("owner_id", sa.String(length=32), nullable=True),
        sa.Column("created_at", app.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("modified_at", app.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("merged_into_id", sa.String(length=32), nullable=True),
        sa.Column("synced_at", app.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["portal_id"],
            ["portals.id"],
            name=op.f("fk_deals_portal_id_portals"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("portal_id", "id", name=op.f("pk_deals")),
    )
    with op.batch_alter_table("deals", schema=None) as batch_op:
        batch_op.create_index(
            "ix_deals_portal_modified", ["portal_id", "modified_at"], unique=False
        )
        batch_op.create_index("ix_deals_portal_owner", ["portal_id", "owner_id"], unique=False)
        batch_op.create_index(
            "ix_deals_portal_stage", ["portal_id", "pipeline", "deal_stage"], unique=False
        )

    op.create_table(
        "engagements",
        sa.Column("portal_id", sa.BigInteger(), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("archived", sa.Boolean(), nullable=False),
        sa.Column(
            "properties",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("occurred_at", app.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("owner_id", sa.String(length=32), nullable=True),
        sa.Column("direction", sa.String(length=32), nullable=True),
        sa.Column("status", sa.String(length=64), nullable=True),
        sa.Column("created_at", app.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("modified_at", app.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("synced_at", app.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["portal_id"],
            ["portals.id"],
            name=op.f("fk_engagements_portal_id_portals"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("portal_id", "id", name=op.f("pk_engagements")),
    )
    with op.batch_alter_table("engagements", schema=None) as batch_op:
        batch_op.create_index(
            "ix_engagements_portal_modified", ["portal_id", "modified_at"], unique=False
        )
        batch_op.create_index(
            "ix_engagements_portal_owner_time",
            ["portal_id", "owner_id", "occurred_at"],
            unique=False,
        )

    op.create_table(
        "lifecycle_stages",
        sa.Column("portal_id", sa.BigInteger(), nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=255), nullable=False),
        sa.Column("display_order", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["portal_id"],
            ["portals.id"],
            name=op.f("fk_lifecycle_stages_portal_id_portals"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("portal_id", "id", name=op.f("pk_lifecycle_stages")),
    )
    op.create_table(
        "owners",
        sa.Column("portal_id", sa.BigInteger(), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("first_name", sa.String(length=255), nullable=True),
        sa.Column("last_name", sa.String(length=255), nullable=True),
        sa.Column("user_id", sa.String(length=32), nullable=True),
        sa.Column(
            "teams",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("primary_team_id", sa.String(length=32), nullable=True),
        sa.Column("archived", sa.Boolean(), nullable=False),
        sa.Column("created_at", app.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", app.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["portal_id"],
            ["portals.id"],
            name=op.f("fk_owners_portal_id_portals"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("portal_id", "id", name=op.f("pk_owners")),
    )
    with op.batch_alter_table("owners", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_owners_email"), ["email"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_owners_primary_team_id"), ["primary_team_id"], unique=False
        )

    op.create_table(
        "pipelines",
        sa.Column("portal_id", sa.BigInteger(), nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("object_type", sa.String(length=16), nullable=False),
        sa.Column("label", sa.String(length=255), nullable=False),
        sa.Column("display_order", sa.Integer(), nullable=False),
        sa.Column("archived", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["portal_id"],
            ["portals.id"],
            name=op.f("fk_pipelines_portal_id_portals"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("portal_id", "id", name=op.f("pk_pipelines")),
    )
    op.create_table(
        "sync_checkpoints",
        sa.Column("portal_id", sa.BigInteger(), nullable=False),
        sa.Column("object_type", sa.String(length=32), nullable=False),
        sa.Column(
            "state",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("synced_through", app.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["portal_id"],
            ["portals.id"],
            name=op.f("fk_sync_checkpoints_portal_id_portals"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("portal_id", "object_type", name=op.f("pk_sync_checkpoints")),
    )
    op.create_table(
        "transitions",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("portal_id", sa.BigInteger(), nullable=False),
        sa.Column("object_type", sa.String(length=16), nullable=False),
        sa.Column("object_id", sa.String(length=32), nullable=False),
        sa.Column("property", sa.String(length=64), nullable=False),
        sa.Column("value", sa.String(length=255), nullable=True),
        sa.Column("entered_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("exited_at", app.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("source_id", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["portal_id"],
            ["portals.id"],
            name=op.f("fk_transitions_portal_id_portals"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transitions")),
        sa.UniqueConstraint(
            "portal_id",
            "object_type",
            "object_id",
            "property",
            "entered_at",
            "value",
            name=op.f("uq_transitions_portal_id_object_type_object_id_property_entered_at_value"),
        ),
    )
    with op.batch_alter_table("transitions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_transitions_entered", ["portal_id", "property", "value", "entered_at"], unique=False
        )
        batch_op.create_index(
            "ix_transitions_record",
            ["portal_id", "object_type", "object_id", "property"],
            unique=False,
        )

    op.create_table(
        "pipeline_stages",
        sa.Column("portal_id", sa.BigInteger(), nullable=False),
        sa.Column("pipeline_id", sa.String(length=64), nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=255), nullable=False),
        sa.Column("display_order", sa.Integer(), nullable=False),
        sa.Column("is_closed", sa.Boolean(), nullable=False),
        sa.Column("is_won", sa.Boolean(), nullable=False),
        sa.Column("probability", sa.Numeric(precision=5, scale=4), nullable=True),
        sa.Column("archived", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["portal_id", "pipeline_id"],
            ["pipelines.portal_id", "pipelines.id"],
            name=op.f("fk_pipeline_stages_portal_id_pipelines"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("portal_id", "pipeline_id", "id", name=op.f("pk_pipeline_stages")),
    )


def downgrade() -> None:
    op.drop_table("pipeline_stages")
    with op.batch_alter_table("transitions", schema=None) as batch_op:
        batch_op.drop_index("ix_transitions_record")
        batch_op.drop_index("ix_transitions_entered")

    op.drop_table("transitions")
    op.drop_table("sync_checkpoints")
    op.drop_table("pipelines")
    with op.batch_alter_table("owners", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_owners_primary_team_id"))
        batch_op.drop_index(batch_op.f("ix_owners_email"))

    op.drop_table("owners")
    op.drop_table("lifecycle_stages")
    with op.batch_alter_table("engagements", schema=None) as batch_op:
        batch_op.drop_index("ix_engagements_portal_owner_time")
        batch_op.drop_index("ix_engagements_portal_modified")

    op.drop_table("engagements")
    with op.batch_alter_table("deals", schema=None) as batch_op:
        batch_op.drop_index("ix_deals_portal_stage")
        batch_op.drop_index("ix_deals_portal_owner")
        batch_op.drop_index("ix_deals_portal_modified")

    op.drop_table("deals")
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_index("ix_contacts_portal_owner")
        batch_op.drop_index("ix_contacts_portal_modified")
        batch_op.drop_index("ix_contacts_portal_lifecycle")

    op.drop_table("contacts")
    with op.batch_alter_table("associations", schema=None) as batch_op:
        batch_op.drop_index("ix_associations_to")

    op.drop_table("associations")
    with op.batch_alter_table("webhook_events", schema=None) as batch_op:
        batch_op.drop_index("ix_webhook_events_pending")
        batch_op.drop_index("ix_webhook_events_object")

    op.drop_table("webhook_events")
    with op.batch_alter_table("webhook_dead_letters", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_webhook_dead_letters_received_at"))

    op.drop_table("webhook_dead_letters")
    with op.batch_alter_table("sync_runs", schema=None) as batch_op:
        batch_op.drop_index("ix_sync_runs_started")

    op.drop_table("sync_runs")
    op.drop_table("portals")
