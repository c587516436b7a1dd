"""Flow versions: drafts and every published version of each flow, and when each was published (issue 6).

Every flow already stored becomes version 1, published by "migration": the live rows (`flows.version`)
and the history (`flow_versions`, `flow_publications`) agree from the start.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 05:20:00
"""

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # a plain ADD COLUMN: SQLite's batch mode would rebuild `flows`, and dropping the old table would cascade
    # to flow_nodes
    op.add_column("flows", sa.Column("version", sa.Integer(), server_default="1", nullable=False))

    op.create_table(
        "flow_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("flow_key", sa.String(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("entry", sa.String(), nullable=False),
        sa.Column("nodes", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_flow_versions_tenant_id"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flow_versions")),
        sa.UniqueConstraint("tenant_id", "flow_key", "version",
                            name=op.f("uq_flow_versions_tenant_id_flow_key_version")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "flow_drafts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("flow_key", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("entry", sa.String(), nullable=False),
        sa.Column("nodes", sa.JSON(), nullable=False),
        sa.Column("based_on", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_flow_drafts_tenant_id"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flow_drafts")),
        sa.UniqueConstraint("tenant_id", "flow_key", name=op.f("uq_flow_drafts_tenant_id_flow_key")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "flow_publications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("flow_key", sa.String(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("by", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_flow_publications_tenant_id"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flow_publications")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_flow_publications_at"), "flow_publications", ["at"])
    op.create_index(op.f("ix_flow_publications_tenant_id_flow_key_at"), "flow_publications",
                    ["tenant_id", "flow_key", "at"])
    _flows_become_version_1()


def _flows_become_version_1() -> None:
    bind = op.get_bind()
    flows = sa.table("flows", sa.column("id", sa.Integer()), sa.column("tenant_id", sa.Integer()),
                     sa.column("key", sa.String()), sa.column("name", sa.String()), sa.column("entry", sa.String()))
    nodes = sa.table("flow_nodes", sa.column("flow_id", sa.Integer()), sa.column("position", sa.Integer()),
                     sa.column("key", sa.String()), sa.column("kind", sa.String()), sa.column("name", sa.String()),
                     sa.column("params", sa.JSON()))
    versions = sa.table("flow_versions", sa.column("tenant_id", sa.Integer()), sa.column("flow_key", sa.String()),
                        sa.column("version", sa.Integer()), sa.column("name", sa.String()),
                        sa.column("entry", sa.String()), sa.column("nodes", sa.JSON()),
                        sa.column("created_at", sa.DateTime(timezone=True)), sa.column("created_by", sa.String()))
    publications = sa.table("flow_publications", sa.column("tenant_id", sa.Integer()),
                            sa.column("flow_key", sa.String()), sa.column("version", sa.Integer()),
                            sa.column("at", sa.DateTime(timezone=True)), sa.column("by", sa.String()))
    # SQLite keeps instants as naive UTC text (what pbx.db.models.UTCDateTime writes there)
    now = datetime.now(UTC)
    if bind.dialect.name == "sqlite":
        now = now.replace(tzinfo=None)
    by_flow: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in bind.execute(sa.select(nodes).order_by(nodes.c.flow_id, nodes.c.position)):
        by_flow[row.flow_id].append({"kind": row.kind, "key": row.key, "name": row.name, "params": row.params})
    rows = bind.execute(sa.select(flows)).all()
    if not rows:
        return
    bind.execute(versions.insert(), [
        {"tenant_id": r.tenant_id, "flow_key": r.key, "version": 1, "name": r.name, "entry": r.entry,
         "nodes": by_flow[r.id], "created_at": now, "created_by": "migration"} for r in rows])
    bind.execute(publications.insert(), [
        {"tenant_id": r.tenant_id, "flow_key": r.key, "version": 1, "at": now, "by": "migration"} for r in rows])


def downgrade() -> None:
    op.drop_index(op.f("ix_flow_publications_tenant_id_flow_key_at"), table_name="flow_publications")
    op.drop_index(op.f("ix_flow_publications_at"), table_name="flow_publications")
    op.drop_table("flow_publications")
    op.drop_table("flow_drafts")
    op.drop_table("flow_versions")
    op.drop_column("flows", "version")  # SQLite 3.35+ drops a column in place (no rebuild, no cascade)
