"""Call records say how the call left its last queue (`queue_outcome`) and every queue it went through (`queues`),
so the wallboard counts today's answered and missed callers from the records (issue 6).

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("call_records", schema=None) as batch_op:
        batch_op.add_column(sa.Column("queue_outcome", sa.String(), nullable=True))
        batch_op.add_column(sa.Column("queues", sa.JSON(), nullable=True))
    # records written before: their one queue's outcome, from the flags (the same rules the recorder uses)
    records = sa.table("call_records", sa.column("queue", sa.String()), sa.column("queue_outcome", sa.String()),
                       sa.column("answered", sa.Boolean()), sa.column("abandoned", sa.Boolean()),
                       sa.column("overflowed", sa.Boolean()), sa.column("callback", sa.String()))
    with_queue = records.c.queue.is_not(None)
    op.execute(records.update().where(with_queue, records.c.answered.is_(True)).values(queue_outcome="answered"))
    op.execute(records.update().where(with_queue, records.c.queue_outcome.is_(None), records.c.callback.is_not(None))
               .values(queue_outcome="callback"))
    op.execute(records.update().where(with_queue, records.c.queue_outcome.is_(None), records.c.abandoned.is_(True))
               .values(queue_outcome="missed"))
    op.execute(records.update().where(with_queue, records.c.queue_outcome.is_(None), records.c.overflowed.is_(True))
               .values(queue_outcome="overflowed"))


def downgrade() -> None:
    with op.batch_alter_table("call_records", schema=None) as batch_op:
        batch_op.drop_column("queues")
        batch_op.drop_column("queue_outcome")
