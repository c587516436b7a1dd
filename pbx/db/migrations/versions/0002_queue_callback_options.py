"""Queues: scheduled callbacks (F-13) and who hears of a new callback request (F-10).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("queues") as batch:
        batch.add_column(sa.Column("callback_scheduled", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch.add_column(sa.Column("callback_notify", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("queues") as batch:
        batch.drop_column("callback_notify")
        batch.drop_column("callback_scheduled")
