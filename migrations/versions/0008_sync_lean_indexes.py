"""drop indexes that no query uses from the tables the sync writes

`ix_transitions_record` (portal, type, record, property) repeats the leading columns of the
transitions' unique constraint, whose index serves the same lookups. The `modified_at`
indexes of contacts, deals and engagements served no query: change detection reads records
by primary key. Every sync page paid for all four on each row it wrote.

Revision ID: 0008_sync_lean_indexes
Revises: 0007_sla_lean_indexes
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008_sync_lean_indexes"
down_revision: str | None = "0007_sla_lean_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_MODIFIED = ("contacts", "deals", "engagements")


def upgrade() -> None:
    with op.batch_alter_table("transitions", schema=None) as batch_op:
        batch_op.drop_index("ix_transitions_record")
    for table in _MODIFIED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(f"ix_{table}_portal_modified")


def downgrade() -> None:
    for table in _MODIFIED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(
                f"ix_{table}_portal_modified", ["portal_id", "modified_at"], unique=False
            )
    with op.batch_alter_table("transitions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_transitions_record",
            ["portal_id", "object_type", "object_id", "property"],
            unique=False,
        )
