"""Wallboard alarm thresholds per queue (issue 6).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 05:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "queue_alarms",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("queue", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("metric", sa.String(), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("clear_at", sa.Float(), nullable=True),
        sa.Column("clear_after_s", sa.Integer(), nullable=False),
        sa.Column("notify_event", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("emails", sa.JSON(), nullable=False),
        sa.Column("webhooks", sa.JSON(), nullable=False),
        sa.Column("enabled", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("raised_value", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_queue_alarms_tenant_id"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_queue_alarms")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("queue_alarms", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_queue_alarms_tenant_id_queue"), ["tenant_id", "queue"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("queue_alarms", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_queue_alarms_tenant_id_queue"))
    op.drop_table("queue_alarms")
