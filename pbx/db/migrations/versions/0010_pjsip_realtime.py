"""Users' phones in Asterisk's PJSIP realtime tables (ps_endpoints, ps_auths, ps_aors: the columns of Asterisk's own
schema that the provisioning sets) and which user of which tenant each phone belongs to (devices), issue 7.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ps_endpoints",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("transport", sa.String(), nullable=True),
        sa.Column("aors", sa.String(), nullable=True),
        sa.Column("auth", sa.String(), nullable=True),
        sa.Column("context", sa.String(), nullable=True),
        sa.Column("disallow", sa.String(), nullable=True),
        sa.Column("allow", sa.String(), nullable=True),
        sa.Column("direct_media", sa.String(), nullable=True),
        sa.Column("force_rport", sa.String(), nullable=True),
        sa.Column("rewrite_contact", sa.String(), nullable=True),
        sa.Column("rtp_symmetric", sa.String(), nullable=True),
        sa.Column("dtmf_mode", sa.String(), nullable=True),
        sa.Column("language", sa.String(), nullable=True),
        sa.Column("tenantid", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ps_endpoints")),
    )
    op.create_table(
        "ps_auths",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("auth_type", sa.String(), nullable=True),
        sa.Column("md5_cred", sa.String(), nullable=True),
        sa.Column("realm", sa.String(), nullable=True),
        sa.Column("username", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ps_auths")),
    )
    op.create_table(
        "ps_aors",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("max_contacts", sa.Integer(), nullable=True),
        sa.Column("remove_existing", sa.String(), nullable=True),
        sa.Column("qualify_frequency", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ps_aors")),
    )
    op.create_table(
        "devices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("user_key", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("endpoint", sa.String(), nullable=False),
        sa.Column("label", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("password_set_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_devices_tenant_id"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_devices")),
        sa.UniqueConstraint("endpoint", name=op.f("uq_devices_endpoint")),
        sa.UniqueConstraint("tenant_id", "name", name=op.f("uq_devices_tenant_id_name")),
        sqlite_autoincrement=True,
    )


def downgrade() -> None:
    op.drop_table("devices")
    op.drop_table("ps_aors")
    op.drop_table("ps_auths")
    op.drop_table("ps_endpoints")
