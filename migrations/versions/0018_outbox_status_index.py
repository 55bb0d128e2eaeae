"""Indexes that answer the outbox status (health, /metrics, the System page) without reading
every delivery

Revision ID: 0018_outbox_status_index
Revises: 0017_writeback
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018_outbox_status_index"
down_revision: str | None = "0017_writeback"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Must read exactly as alerts.outbox.status.FALLBACK renders: SQLite matches a partial index's
# WHERE to a query's textually.
_FALLBACK = "reason LIKE 'fallback for %'"


def upgrade() -> None:
    op.create_index(
        "ix_alert_deliveries_status",
        "alert_deliveries",
        ["state", "target_kind", "created_at"],
        unique=False,
    )
    op.create_index(
        "ix_alert_deliveries_latency", "alert_deliveries", ["latency_seconds"], unique=False
    )
    op.create_index(
        "ix_alert_deliveries_fallback",
        "alert_deliveries",
        ["id"],
        unique=False,
        sqlite_where=sa.text(_FALLBACK),
        postgresql_where=sa.text(_FALLBACK),
    )


def downgrade() -> None:
    op.drop_index("ix_alert_deliveries_fallback", table_name="alert_deliveries")
    op.drop_index("ix_alert_deliveries_latency", table_name="alert_deliveries")
    op.drop_index("ix_alert_deliveries_status", table_name="alert_deliveries")
