"""escalations and reminders: sla_events.follow_up joins the events' unique key

An instance has one event of each engine type, but several escalation steps and reminders:
`follow_up` (empty for the engine's events, `ROUTE/N` for follow-ups) tells them apart, and the
unique key over it lets the escalation job insert each follow-up once, whoever races it.

Revision ID: 0012_alert_escalations
Revises: 0011_audit_log
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_alert_escalations"
down_revision: str | None = "0011_audit_log"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sla_events", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("follow_up", sa.String(length=160), server_default="", nullable=False)
        )
        batch_op.drop_constraint("uq_sla_events_instance_id_type", type_="unique")
        batch_op.create_unique_constraint(
            batch_op.f("uq_sla_events_instance_id_type_follow_up"),
            ["instance_id", "type", "follow_up"],
        )


def downgrade() -> None:
    op.execute("DELETE FROM sla_events WHERE follow_up <> ''")
    with op.batch_alter_table("sla_events", schema=None) as batch_op:
        batch_op.drop_constraint("uq_sla_events_instance_id_type_follow_up", type_="unique")
        batch_op.create_unique_constraint(
            batch_op.f("uq_sla_events_instance_id_type"), ["instance_id", "type"]
        )
        batch_op.drop_column("follow_up")
