"""Users' chosen outbound caller ID (U-04) and how a call rings their phones, in parallel or in sequence (issue 7);
the last TOTP time step each administrator used, so a code is accepted once (RFC 6238 §5.2).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("outbound_caller_id", sa.String(), nullable=True))
        batch.add_column(sa.Column("ring", sa.String(), server_default="parallel", nullable=False))
        batch.add_column(sa.Column("ring_each_s", sa.Integer(), server_default="15", nullable=False))
    with op.batch_alter_table("admins") as batch:
        batch.add_column(sa.Column("totp_last_step", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("admins") as batch:
        batch.drop_column("totp_last_step")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("ring_each_s")
        batch.drop_column("ring")
        batch.drop_column("outbound_caller_id")
