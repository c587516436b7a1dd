"""Call records: every call's history, for statistics and reports (issue 6).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 05:20:00
"""

from collections.abc import Sequence

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
