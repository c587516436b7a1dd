"""Initial schema: tenants, accounts, numbers, prompts, schedules, flows, users, presence, groups, queues, boxes.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "tenants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("timezone", sa.String(), nullable=False),
        sa.Column("language", sa.String(), nullable=False),
        sa.Column("config_version", sa.Integer(), nullable=False),
        sa.Column("fallback", sa.String(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tenants")),
        sa.UniqueConstraint("key", name=op.f("uq_tenants_key")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "accounts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["parent_id"], ["accounts.id"], name=op.f("fk_accounts_parent_id"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_accounts_tenant_id"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts")),
        sa.UniqueConstraint("tenant_id", "key", name=op.f("uq_accounts_tenant_id_key")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_accounts_parent_id"), "accounts", ["parent_id"])
    op.create_table(
        "answer_groups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("strategy", sa.String(), nullable=False),
        sa.Column("overflow_after_s", sa.Integer(), nullable=False),
        sa.Column("overflow_when_empty", sa.Boolean(), nullable=False),
        sa.Column("waiting_prompt", sa.String(), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_answer_groups_tenant_id"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_answer_groups")),
        sa.UniqueConstraint("tenant_id", "key", name=op.f("uq_answer_groups_tenant_id_key")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "flows",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("entry", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_flows_tenant_id"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flows")),
        sa.UniqueConstraint("tenant_id", "key", name=op.f("uq_flows_tenant_id_key")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "presence_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("user_key", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("message", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_presence_entries_tenant_id"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_presence_entries")),
        sqlite_autoincrement=True,
    )
    op.create_index(
        op.f("ix_presence_entries_tenant_id_user_key_starts_at"),
        "presence_entries",
        ["tenant_id", "user_key", "starts_at"],
    )
    op.create_table(
        "prompts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("language", sa.String(), nullable=False),
        sa.Column("file_path", sa.String(), nullable=True),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_prompts_tenant_id"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_prompts")),
        sa.UniqueConstraint("tenant_id", "key", name=op.f("uq_prompts_tenant_id_key")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "queues",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("strategy", sa.String(), nullable=False),
        sa.Column("wrapup_s", sa.Integer(), nullable=False),
        sa.Column("announce_every_s", sa.Integer(), nullable=False),
        sa.Column("callback_key", sa.String(), nullable=True),
        sa.Column("max_wait_s", sa.Integer(), nullable=False),
        sa.Column("join_empty", sa.Boolean(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_queues_tenant_id"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_queues")),
        sa.UniqueConstraint("tenant_id", "key", name=op.f("uq_queues_tenant_id_key")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "schedules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("timezone", sa.String(), nullable=False),
        sa.Column("weekly_days", sa.Integer(), nullable=False),
        sa.Column("holiday_country", sa.String(), nullable=True),
        sa.Column("holiday_categories", sa.JSON(), nullable=True),
        sa.Column("holiday_exclude", sa.JSON(), nullable=True),
        sa.Column("override_state", sa.String(), nullable=True),
        sa.Column("override_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("override_message", sa.String(), nullable=True),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_schedules_tenant_id"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_schedules")),
        sa.UniqueConstraint("tenant_id", "key", name=op.f("uq_schedules_tenant_id_key")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "voicemail_boxes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("shared", sa.Boolean(), nullable=False),
        sa.Column("greeting", sa.String(), nullable=True),
        sa.Column("email", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_voicemail_boxes_tenant_id"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_voicemail_boxes")),
        sa.UniqueConstraint("tenant_id", "key", name=op.f("uq_voicemail_boxes_tenant_id_key")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "answer_group_members",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("user_key", sa.String(), nullable=False),
        sa.Column("ring_s", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"], ["answer_groups.id"], name=op.f("fk_answer_group_members_group_id"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_answer_group_members")),
        sa.UniqueConstraint("group_id", "position", name=op.f("uq_answer_group_members_group_id_position")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "flow_nodes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("flow_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["flow_id"], ["flows.id"], name=op.f("fk_flow_nodes_flow_id"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flow_nodes")),
        sa.UniqueConstraint("flow_id", "key", name=op.f("uq_flow_nodes_flow_id_key")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "numbers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(), nullable=False),
        sa.Column("flow_key", sa.String(), nullable=True),
        sa.Column("user_key", sa.String(), nullable=True),
        sa.Column("via", sa.String(), nullable=False),
        sa.Column("label", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_numbers_account_id"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_numbers_tenant_id"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_numbers")),
        sa.UniqueConstraint("number", name=op.f("uq_numbers_number")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_numbers_account_id"), "numbers", ["account_id"])
    op.create_index(op.f("ix_numbers_tenant_id_position"), "numbers", ["tenant_id", "position"])
    op.create_table(
        "queue_members",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("queue_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("user_key", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(
            ["queue_id"], ["queues.id"], name=op.f("fk_queue_members_queue_id"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_queue_members")),
        sa.UniqueConstraint("queue_id", "position", name=op.f("uq_queue_members_queue_id_position")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "schedule_exceptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("schedule_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("recurs_yearly", sa.Boolean(), nullable=False),
        sa.Column("holiday", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["schedule_id"], ["schedules.id"], name=op.f("fk_schedule_exceptions_schedule_id"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_schedule_exceptions")),
        sa.UniqueConstraint("schedule_id", "position", name=op.f("uq_schedule_exceptions_schedule_id_position")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "schedule_intervals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("schedule_id", sa.Integer(), nullable=False),
        sa.Column("weekday", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("start_min", sa.Integer(), nullable=False),
        sa.Column("end_min", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["schedule_id"], ["schedules.id"], name=op.f("fk_schedule_intervals_schedule_id"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_schedule_intervals")),
        sa.UniqueConstraint(
            "schedule_id", "weekday", "position", name=op.f("uq_schedule_intervals_schedule_id_weekday_position")
        ),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("extension", sa.String(), nullable=True),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("fixed_number", sa.String(), nullable=True),
        sa.Column("mobile_number", sa.String(), nullable=True),
        sa.Column("voicemail_box", sa.String(), nullable=True),
        sa.Column("call_waiting", sa.Boolean(), nullable=False),
        sa.Column("barred", sa.JSON(), nullable=False),
        sa.Column("forward_always", sa.String(), nullable=True),
        sa.Column("forward_on_busy", sa.String(), nullable=True),
        sa.Column("forward_on_no_answer", sa.String(), nullable=True),
        sa.Column("no_answer_after_s", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=op.f("fk_users_account_id"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_users_tenant_id"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("tenant_id", "key", name=op.f("uq_users_tenant_id_key")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_users_account_id"), "users", ["account_id"])
    op.create_table(
        "voicemail_box_listeners",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("box_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("user_key", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(
            ["box_id"], ["voicemail_boxes.id"], name=op.f("fk_voicemail_box_listeners_box_id"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_voicemail_box_listeners")),
        sa.UniqueConstraint("box_id", "position", name=op.f("uq_voicemail_box_listeners_box_id_position")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "presence_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("target", sa.String(), nullable=True),
        sa.Column("applies_to", sa.String(), nullable=False),
        sa.Column("announce", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_presence_rules_user_id"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_presence_rules")),
        sa.UniqueConstraint("user_id", "position", name=op.f("uq_presence_rules_user_id_position")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "schedule_exception_intervals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("exception_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("start_min", sa.Integer(), nullable=False),
        sa.Column("end_min", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["exception_id"],
            ["schedule_exceptions.id"],
            name=op.f("fk_schedule_exception_intervals_exception_id"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_schedule_exception_intervals")),
        sa.UniqueConstraint(
            "exception_id", "position", name=op.f("uq_schedule_exception_intervals_exception_id_position")
        ),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "user_devices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("device", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_user_devices_user_id"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_devices")),
        sa.UniqueConstraint("user_id", "position", name=op.f("uq_user_devices_user_id_position")),
        sqlite_autoincrement=True,
    )


def downgrade() -> None:
    op.drop_table("user_devices")
    op.drop_table("schedule_exception_intervals")
    op.drop_table("presence_rules")
    op.drop_table("voicemail_box_listeners")
    op.drop_table("users")
    op.drop_table("schedule_intervals")
    op.drop_table("schedule_exceptions")
    op.drop_table("queue_members")
    op.drop_table("numbers")
    op.drop_table("flow_nodes")
    op.drop_table("answer_group_members")
    op.drop_table("voicemail_boxes")
    op.drop_table("schedules")
    op.drop_table("queues")
    op.drop_table("prompts")
    op.drop_table("presence_entries")
    op.drop_table("flows")
    op.drop_table("answer_groups")
    op.drop_table("accounts")
    op.drop_table("tenants")
