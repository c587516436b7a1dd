"""Users' e-mail addresses and voicemail boxes' SMS/webhook recipients (F-06: listeners are notified);
continuous recording per number, user and queue (F-14).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("email", sa.String(), nullable=True))
        batch.add_column(sa.Column("record", sa.Boolean(), server_default=sa.false(), nullable=False))
    with op.batch_alter_table("voicemail_boxes") as batch:
        batch.add_column(sa.Column("notify", sa.JSON(), nullable=True))
    for table in ("numbers", "queues"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("record", sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    for table in ("queues", "numbers"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("record")
    with op.batch_alter_table("voicemail_boxes") as batch:
        batch.drop_column("notify")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("record")
        batch.drop_column("email")
