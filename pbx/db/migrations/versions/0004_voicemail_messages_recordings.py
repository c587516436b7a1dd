"""Voicemail messages (F-06, U-02), call recordings (F-14), the media deletion log and retention settings.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "voicemail_messages",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("box", sa.String(), nullable=False),
        sa.Column("call_id", sa.String(), nullable=False),
        sa.Column("caller", sa.String(), nullable=False),
        sa.Column("dialled", sa.String(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("duration_s", sa.Float(), nullable=False),
        sa.Column("file", sa.String(), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(), nullable=False),
        sa.Column("heard", sa.Boolean(), nullable=False),
        sa.Column("heard_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("heard_by", sa.String(), nullable=True),
        sa.Column("folder", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_voicemail_messages_tenant_id"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_voicemail_messages")),
        sa.UniqueConstraint("tenant_id", "box", "call_id", name=op.f("uq_voicemail_messages_tenant_id_box_call_id")),
    )
    op.create_index(
        op.f("ix_voicemail_messages_tenant_id_received_at"), "voicemail_messages", ["tenant_id", "received_at"]
    )
    op.create_table(
        "recordings",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("caller", sa.String(), nullable=False),
        sa.Column("dialled", sa.String(), nullable=False),
        sa.Column("user_key", sa.String(), nullable=True),
        sa.Column("queue_key", sa.String(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("duration_s", sa.Float(), nullable=False),
        sa.Column("file", sa.String(), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_recordings_tenant_id"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recordings")),
    )
    op.create_index(op.f("ix_recordings_tenant_id_started_at"), "recordings", ["tenant_id", "started_at"])
    op.create_index(op.f("ix_recordings_tenant_id_call_id"), "recordings", ["tenant_id", "call_id"])
    op.create_table(
        "media_deletions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("ref", sa.String(), nullable=False),
        sa.Column("file", sa.String(), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_by", sa.String(), nullable=False),
        sa.Column("reason", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_media_deletions_tenant_id"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_media_deletions")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_media_deletions_tenant_id_deleted_at"), "media_deletions", ["tenant_id", "deleted_at"])
    op.create_table(
        "media_settings",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("recording_retention_days", sa.Integer(), nullable=True),
        sa.Column("voicemail_retention_days", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_media_settings_tenant_id"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_media_settings")),
    )


def downgrade() -> None:
    op.drop_table("media_settings")
    op.drop_index(op.f("ix_media_deletions_tenant_id_deleted_at"), table_name="media_deletions")
    op.drop_table("media_deletions")
    op.drop_index(op.f("ix_recordings_tenant_id_call_id"), table_name="recordings")
    op.drop_index(op.f("ix_recordings_tenant_id_started_at"), table_name="recordings")
    op.drop_table("recordings")
    op.drop_index(op.f("ix_voicemail_messages_tenant_id_received_at"), table_name="voicemail_messages")
    op.drop_table("voicemail_messages")
