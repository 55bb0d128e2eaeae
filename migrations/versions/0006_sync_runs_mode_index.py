"""index sync_runs by mode and status

The admin health page reads the newest run of each mode and counts runs per mode and status;
without this index both read the whole table (about 100,000 rows a year at the default interval).

Revision ID: 0006_sync_runs_mode
Revises: 0005_webhooks
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006_sync_runs_mode"
down_revision: str | None = "0005_webhooks"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sync_runs", schema=None) as batch_op:
        batch_op.create_index(
            "ix_sync_runs_mode_status_started", ["mode", "status", "started_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("sync_runs", schema=None) as batch_op:
        batch_op.drop_index("ix_sync_runs_mode_status_started")
