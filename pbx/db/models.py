"""The SQL tables: configuration, account trees, presence, voicemail messages and recordings (SQLAlchemy 2 models)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, ClassVar, cast

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    MetaData,
    String,
    Table,
    UniqueConstraint,
    false,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

# Deterministic constraint names: Alembic can only drop or alter what it can name, and SQLite's
# batch mode needs names to rebuild a table.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s",
    "pk": "pk_%(table_name)s",
}

# Replacing a tenant's configuration deletes and re-inserts its rows. Without AUTOINCREMENT, SQLite
# reuses the highest freed row id, and a new row could take the identity of a stale object still
# held by a Session; PostgreSQL identities never go back, so this only matters on SQLite.
NO_ID_REUSE = {"sqlite_autoincrement": True}


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware instant, stored in UTC on every backend and always read back aware (UTC).

    SQLite has no time zone type: it stores text and hands back naive values, so we normalise to
    UTC before writing and attach UTC when reading. Naive datetimes are refused, not guessed.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: store timezone-aware instants only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    # Unbounded strings: limits belong to validation (pbx.routing.validate), and SQLite would not
    # enforce a VARCHAR length anyway, so both backends behave the same.
    type_annotation_map: ClassVar[dict[Any, Any]] = {str: String(), datetime: UTCDateTime()}


# ---------------------------------------------------------------------------------------------
# Tenants and their account trees
# ---------------------------------------------------------------------------------------------


class TenantRow(Base):
    __tablename__ = "tenants"
    __table_args__ = NO_ID_REUSE

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(unique=True)
    name: Mapped[str]
    timezone: Mapped[str]
    language: Mapped[str]
    config_version: Mapped[int]
    fallback: Mapped[str | None]  # a Target as "kind:ref"
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())

    # passive_deletes: the database cascades (ON DELETE CASCADE), so deleting a tenant does not
    # load its rows first.
    numbers: Mapped[list[NumberRow]] = relationship(
        order_by="NumberRow.position", cascade="all, delete-orphan", passive_deletes=True)
    prompts: Mapped[list[PromptRow]] = relationship(
        order_by="PromptRow.position", cascade="all, delete-orphan", passive_deletes=True)
    schedules: Mapped[list[ScheduleRow]] = relationship(
        order_by="ScheduleRow.position", cascade="all, delete-orphan", passive_deletes=True)
    flows: Mapped[list[FlowRow]] = relationship(
        order_by="FlowRow.position", cascade="all, delete-orphan", passive_deletes=True)
    users: Mapped[list[UserRow]] = relationship(
        order_by="UserRow.position", cascade="all, delete-orphan", passive_deletes=True)
    groups: Mapped[list[GroupRow]] = relationship(
        order_by="GroupRow.position", cascade="all, delete-orphan", passive_deletes=True)
    queues: Mapped[list[QueueRow]] = relationship(
        order_by="QueueRow.position", cascade="all, delete-orphan", passive_deletes=True)
    boxes: Mapped[list[VoicemailBoxRow]] = relationship(
        order_by="VoicemailBoxRow.position", cascade="all, delete-orphan", passive_deletes=True)


class AccountRow(Base):
    """An account of a tenant: the main account (no parent) and sub-accounts under it, as a tree.

    Accounts are not part of TenantConfig (routing never reads them); they group numbers and users
    for administration and billing, so they survive a replacement of the tenant's configuration.
    """

    __tablename__ = "accounts"
    __table_args__ = (UniqueConstraint("tenant_id", "key"), NO_ID_REUSE)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    key: Mapped[str]
    name: Mapped[str]
    position: Mapped[int] = mapped_column(default=0)

    parent: Mapped[AccountRow | None] = relationship(remote_side=[id])


# ---------------------------------------------------------------------------------------------
# Numbers and prompts
# ---------------------------------------------------------------------------------------------


class NumberRow(Base):
    """A main number (→ flow) or direct number (→ user). Unique across all tenants."""

    __tablename__ = "numbers"
    __table_args__ = (Index(None, "tenant_id", "position"), NO_ID_REUSE)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"), index=True)
    position: Mapped[int]
    number: Mapped[str] = mapped_column(unique=True)  # E.164; the unique index is the per-call lookup
    # Flows and users are referenced by key, as in the domain model: a dangling key is a
    # validation problem (pbx.routing.validate), not something the database should refuse.
    flow_key: Mapped[str | None]
    user_key: Mapped[str | None]
    via: Mapped[str]
    label: Mapped[str]
    record: Mapped[bool] = mapped_column(server_default=false())


class PromptRow(Base):
    __tablename__ = "prompts"
    __table_args__ = (UniqueConstraint("tenant_id", "key"), NO_ID_REUSE)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    position: Mapped[int]
    key: Mapped[str]
    name: Mapped[str]
    language: Mapped[str]
    # Where the converted audio lives (pbx.ivr); not part of PromptConfig, kept across saves.
    file_path: Mapped[str | None]


# ---------------------------------------------------------------------------------------------
# Schedules
# ---------------------------------------------------------------------------------------------


class ScheduleRow(Base):
    __tablename__ = "schedules"
    __table_args__ = (UniqueConstraint("tenant_id", "key"), NO_ID_REUSE)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    position: Mapped[int]
    key: Mapped[str]
    name: Mapped[str]
    timezone: Mapped[str]
    # How many entries ScheduleConfig.weekly has (7 in any valid schedule): stored so that a day
    # without intervals at the end of the week still comes back as an empty day.
    weekly_days: Mapped[int]
    # Holiday template; country NULL means the schedule has none.
    holiday_country: Mapped[str | None]
    holiday_categories: Mapped[list[str] | None] = mapped_column(JSON)
    holiday_exclude: Mapped[list[str] | None] = mapped_column(JSON)
    # Manual override; state NULL means none.
    override_state: Mapped[str | None]
    override_until: Mapped[datetime | None]
    override_message: Mapped[str | None]

    intervals: Mapped[list[ScheduleIntervalRow]] = relationship(
        order_by=lambda: [ScheduleIntervalRow.weekday, ScheduleIntervalRow.position],
        cascade="all, delete-orphan", passive_deletes=True)
    exceptions: Mapped[list[ScheduleExceptionRow]] = relationship(
        order_by="ScheduleExceptionRow.position", cascade="all, delete-orphan", passive_deletes=True)


class ScheduleIntervalRow(Base):
    """One weekly opening interval, in minutes after local midnight."""

    __tablename__ = "schedule_intervals"
    __table_args__ = (UniqueConstraint("schedule_id", "weekday", "position"), NO_ID_REUSE)

    id: Mapped[int] = mapped_column(primary_key=True)
    schedule_id: Mapped[int] = mapped_column(ForeignKey("schedules.id", ondelete="CASCADE"))
    weekday: Mapped[int]  # Monday = 0
    position: Mapped[int]
    start_min: Mapped[int]
    end_min: Mapped[int]


class ScheduleExceptionRow(Base):
    __tablename__ = "schedule_exceptions"
    __table_args__ = (UniqueConstraint("schedule_id", "position"), NO_ID_REUSE)

    id: Mapped[int] = mapped_column(primary_key=True)
    schedule_id: Mapped[int] = mapped_column(ForeignKey("schedules.id", ondelete="CASCADE"))
    position: Mapped[int]
    day: Mapped[date] = mapped_column(Date)
    name: Mapped[str]
    recurs_yearly: Mapped[bool]
    holiday: Mapped[bool]

    intervals: Mapped[list[ScheduleExceptionIntervalRow]] = relationship(
        order_by="ScheduleExceptionIntervalRow.position", cascade="all, delete-orphan", passive_deletes=True)


class ScheduleExceptionIntervalRow(Base):
    """An open interval on an exception day; an exception without any is closed all day."""

    __tablename__ = "schedule_exception_intervals"
    __table_args__ = (UniqueConstraint("exception_id", "position"), NO_ID_REUSE)

    id: Mapped[int] = mapped_column(primary_key=True)
    exception_id: Mapped[int] = mapped_column(ForeignKey("schedule_exceptions.id", ondelete="CASCADE"))
    position: Mapped[int]
    start_min: Mapped[int]
    end_min: Mapped[int]


# ---------------------------------------------------------------------------------------------
# Flows
# ---------------------------------------------------------------------------------------------


class FlowRow(Base):
    __tablename__ = "flows"
    __table_args__ = (UniqueConstraint("tenant_id", "key"), NO_ID_REUSE)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    position: Mapped[int]
    key: Mapped[str]
    name: Mapped[str]
    entry: Mapped[str]
    # Which of the flow's versions (flow_versions) these rows are; flows stored before versions existed
    # are version 1 (the migration records that version for them).
    version: Mapped[int] = mapped_column(server_default="1")

    nodes: Mapped[list[FlowNodeRow]] = relationship(
        order_by="FlowNodeRow.position", cascade="all, delete-orphan", passive_deletes=True)


class FlowNodeRow(Base):
    """One node of a flow. The fields that differ by kind live in `params` (see pbx.db.codec):
    ten kinds with two to nine fields each would otherwise be ten tables or a wide sparse one."""

    __tablename__ = "flow_nodes"
    __table_args__ = (UniqueConstraint("flow_id", "key"), NO_ID_REUSE)

    id: Mapped[int] = mapped_column(primary_key=True)
    flow_id: Mapped[int] = mapped_column(ForeignKey("flows.id", ondelete="CASCADE"))
    position: Mapped[int]
    key: Mapped[str]
    kind: Mapped[str]
    name: Mapped[str]
    params: Mapped[dict[str, Any]] = mapped_column(JSON)


class FlowVersionRow(Base):
    """One numbered version of a flow, as published (now or earlier): what a publish copies into `flows` and
    `flow_nodes`, and what a call in progress on that version is routed by. Never changed once written.

    Keyed by flow key, not by `flows.id`: the live rows are replaced on every save, the history stays (and
    outlives a deleted flow while calls on it finish). `nodes`: [{kind, key, name, params}] (pbx.db.codec)."""

    __tablename__ = "flow_versions"
    __table_args__ = (UniqueConstraint("tenant_id", "flow_key", "version"), NO_ID_REUSE)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    flow_key: Mapped[str]
    version: Mapped[int]
    name: Mapped[str]
    entry: Mapped[str]
    nodes: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    created_at: Mapped[datetime]
    created_by: Mapped[str]


class FlowDraftRow(Base):
    """The draft of a flow being edited: at most one per flow. It gets a version number when published.
    `based_on`: the version that was published when the draft was started (None for a new flow)."""

    __tablename__ = "flow_drafts"
    __table_args__ = (UniqueConstraint("tenant_id", "flow_key"), NO_ID_REUSE)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    flow_key: Mapped[str]
    name: Mapped[str]
    entry: Mapped[str]
    nodes: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    based_on: Mapped[int | None]
    updated_at: Mapped[datetime]
    updated_by: Mapped[str]


class FlowPublicationRow(Base):
    """A publish event: from `at`, `version` of the flow is the one new calls get (a rollback is one more
    of these, naming an earlier version); `version` None: the flow was deleted then. Consecutive events tell
    how long each version was in force, which is how long calls on it may still be in progress."""

    __tablename__ = "flow_publications"
    __table_args__ = (Index(None, "tenant_id", "flow_key", "at"), Index(None, "at"), NO_ID_REUSE)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    flow_key: Mapped[str]
    version: Mapped[int | None]
    at: Mapped[datetime]
    by: Mapped[str]


# ---------------------------------------------------------------------------------------------
# Users
# ---------------------------------------------------------------------------------------------


class UserRow(Base):
    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("tenant_id", "key"), NO_ID_REUSE)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"), index=True)
    position: Mapped[int]
    key: Mapped[str]
    name: Mapped[str]
    extension: Mapped[str | None]
    kind: Mapped[str]
    fixed_number: Mapped[str | None]
    mobile_number: Mapped[str | None]
    voicemail_box: Mapped[str | None]  # a voicemail box key
    call_waiting: Mapped[bool]
    barred: Mapped[list[str]] = mapped_column(JSON)  # BarringClass values, sorted
    forward_always: Mapped[str | None]  # Targets as "kind:ref"
    forward_on_busy: Mapped[str | None]
    forward_on_no_answer: Mapped[str | None]
    no_answer_after_s: Mapped[int]
    email: Mapped[str | None]
    record: Mapped[bool] = mapped_column(server_default=false())
    outbound_caller_id: Mapped[str | None]  # U-04: "main", "fixed", "mobile" or a +E.164 number; None: the default
    ring: Mapped[str] = mapped_column(server_default="parallel")  # parallel | sequential (issue 7)
    ring_each_s: Mapped[int] = mapped_column(server_default="15")  # seconds per phone in sequence

    devices: Mapped[list[UserDeviceRow]] = relationship(
        order_by="UserDeviceRow.position", cascade="all, delete-orphan", passive_deletes=True)
    presence_rules: Mapped[list[PresenceRuleRow]] = relationship(
        order_by="PresenceRuleRow.position", cascade="all, delete-orphan", passive_deletes=True)


class UserDeviceRow(Base):
    __tablename__ = "user_devices"
    __table_args__ = (UniqueConstraint("user_id", "position"), NO_ID_REUSE)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    position: Mapped[int]
    device: Mapped[str]


class PresenceRuleRow(Base):
    __tablename__ = "presence_rules"
    __table_args__ = (UniqueConstraint("user_id", "position"), NO_ID_REUSE)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    position: Mapped[int]
    status: Mapped[str]
    target: Mapped[str | None]
    applies_to: Mapped[str]
    announce: Mapped[bool]


class PresenceEntryRow(Base):
    """A presence period of a user, set now or planned ahead: live-ish data, not configuration.

    It names the user by key rather than by row id because saving a tenant's configuration
    replaces the user rows, and that must not wipe everybody's presence.
    """

    __tablename__ = "presence_entries"
    __table_args__ = (Index(None, "tenant_id", "user_key", "starts_at"), NO_ID_REUSE)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    user_key: Mapped[str]
    status: Mapped[str]
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime | None]
    message: Mapped[str]


# ---------------------------------------------------------------------------------------------
# Answer groups, queues, voicemail boxes
# ---------------------------------------------------------------------------------------------


class GroupRow(Base):
    __tablename__ = "answer_groups"
    __table_args__ = (UniqueConstraint("tenant_id", "key"), NO_ID_REUSE)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    position: Mapped[int]
    key: Mapped[str]
    name: Mapped[str]
    strategy: Mapped[str]
    overflow_after_s: Mapped[int]
    overflow_when_empty: Mapped[bool]
    waiting_prompt: Mapped[str | None]

    members: Mapped[list[GroupMemberRow]] = relationship(
        order_by="GroupMemberRow.position", cascade="all, delete-orphan", passive_deletes=True)


class GroupMemberRow(Base):
    __tablename__ = "answer_group_members"
    __table_args__ = (UniqueConstraint("group_id", "position"), NO_ID_REUSE)

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("answer_groups.id", ondelete="CASCADE"))
    position: Mapped[int]  # ring order of a sequential group
    user_key: Mapped[str]
    ring_s: Mapped[int]


class QueueRow(Base):
    __tablename__ = "queues"
    __table_args__ = (UniqueConstraint("tenant_id", "key"), NO_ID_REUSE)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    position: Mapped[int]
    key: Mapped[str]
    name: Mapped[str]
    strategy: Mapped[str]
    wrapup_s: Mapped[int]
    announce_every_s: Mapped[int]
    callback_key: Mapped[str | None]
    max_wait_s: Mapped[int]
    join_empty: Mapped[bool]
    priority: Mapped[int]
    callback_scheduled: Mapped[bool] = mapped_column(server_default=false())
    callback_notify: Mapped[list[str] | None] = mapped_column(JSON)
    record: Mapped[bool] = mapped_column(server_default=false())

    members: Mapped[list[QueueMemberRow]] = relationship(
        order_by="QueueMemberRow.position", cascade="all, delete-orphan", passive_deletes=True)


class QueueMemberRow(Base):
    __tablename__ = "queue_members"
    __table_args__ = (UniqueConstraint("queue_id", "position"), NO_ID_REUSE)

    id: Mapped[int] = mapped_column(primary_key=True)
    queue_id: Mapped[int] = mapped_column(ForeignKey("queues.id", ondelete="CASCADE"))
    position: Mapped[int]
    user_key: Mapped[str]


class VoicemailBoxRow(Base):
    __tablename__ = "voicemail_boxes"
    __table_args__ = (UniqueConstraint("tenant_id", "key"), NO_ID_REUSE)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    position: Mapped[int]
    key: Mapped[str]
    name: Mapped[str]
    shared: Mapped[bool]
    greeting: Mapped[str | None]
    email: Mapped[list[str]] = mapped_column(JSON)
    notify: Mapped[list[str] | None] = mapped_column(JSON)

    listeners: Mapped[list[VoicemailListenerRow]] = relationship(
        order_by="VoicemailListenerRow.position", cascade="all, delete-orphan", passive_deletes=True)


class VoicemailListenerRow(Base):
    __tablename__ = "voicemail_box_listeners"
    __table_args__ = (UniqueConstraint("box_id", "position"), NO_ID_REUSE)

    id: Mapped[int] = mapped_column(primary_key=True)
    box_id: Mapped[int] = mapped_column(ForeignKey("voicemail_boxes.id", ondelete="CASCADE"))
    position: Mapped[int]
    user_key: Mapped[str]


# ---------------------------------------------------------------------------------------------
# Media: voicemail messages, call recordings, their deletion log and retention (pbx.voicemail, pbx.recording)
# ---------------------------------------------------------------------------------------------


class VoicemailMessageRow(Base):
    """A message left in a voicemail box. The audio is a file under the media root (`file`, relative to it).

    Boxes are named by key, like presence entries name users: saving the configuration replaces the
    box rows, and that must not take the messages with it. One call leaves at most one message per
    box (the unique constraint makes a repeated deposit a no-op rather than a duplicate)."""

    __tablename__ = "voicemail_messages"
    __table_args__ = (UniqueConstraint("tenant_id", "box", "call_id"), Index(None, "tenant_id", "received_at"))

    id: Mapped[str] = mapped_column(primary_key=True)  # a UUID, also the file's name
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    box: Mapped[str]
    call_id: Mapped[str]
    caller: Mapped[str]
    dialled: Mapped[str]
    received_at: Mapped[datetime]
    duration_s: Mapped[float]
    file: Mapped[str]
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str]
    # One heard state per message, whoever listened and on whatever device (F-06).
    heard: Mapped[bool]
    heard_at: Mapped[datetime | None]
    heard_by: Mapped[str | None]
    folder: Mapped[str]  # "new" | "saved"


class RecordingRow(Base):
    """A call recording (F-14): continuous per number, or started on demand during a call."""

    __tablename__ = "recordings"
    __table_args__ = (Index(None, "tenant_id", "started_at"), Index(None, "tenant_id", "call_id"))

    id: Mapped[str] = mapped_column(primary_key=True)  # a UUID, also the file's name
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    call_id: Mapped[str]
    kind: Mapped[str]  # "continuous" | "on-demand"
    caller: Mapped[str]
    dialled: Mapped[str]
    user_key: Mapped[str | None]  # the user or agent in the call, if any
    queue_key: Mapped[str | None]
    started_at: Mapped[datetime]
    duration_s: Mapped[float]
    file: Mapped[str]
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str]


class MediaDeletionRow(Base):
    """The deletion log: every voicemail message or recording removed, by whom (or "retention") and why."""

    __tablename__ = "media_deletions"
    __table_args__ = (Index(None, "tenant_id", "deleted_at"), NO_ID_REUSE)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    kind: Mapped[str]  # "voicemail" | "recording"
    ref: Mapped[str]  # the message's or recording's id
    file: Mapped[str]
    deleted_at: Mapped[datetime]
    deleted_by: Mapped[str]
    reason: Mapped[str]


class MediaSettingsRow(Base):
    """A tenant's retention limits in days; NULL keeps media until someone deletes it."""

    __tablename__ = "media_settings"

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True)
    recording_retention_days: Mapped[int | None]
    voicemail_retention_days: Mapped[int | None]


# ---------------------------------------------------------------------------------------------
# Administration (issue 6): the people who sign in to the admin API, their sessions and tokens, and the
# audit log. Not part of TenantConfig: a publish of the configuration never touches them.
# ---------------------------------------------------------------------------------------------


class AdminRow(Base):
    """Someone who administers a tenant. `role`: super_admin | admin | account_admin | custom;
    `account_id` bounds an account administrator (and a custom role, if set) to that account's subtree."""

    __tablename__ = "admins"
    __table_args__ = (NO_ID_REUSE,)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    login: Mapped[str] = mapped_column(unique=True)  # lower-case; one login name across all tenants
    name: Mapped[str]
    password_hash: Mapped[str]  # argon2id
    role: Mapped[str]
    rights: Mapped[list[str]] = mapped_column(JSON)
    second_factor: Mapped[str]  # none | totp | sms
    totp_secret: Mapped[str | None]
    sms_number: Mapped[str | None]
    user_key: Mapped[str | None]  # the telephony user this person is, for agents' own actions
    created_at: Mapped[datetime]
    disabled: Mapped[bool] = mapped_column(server_default=false())
    # RFC 6238 §5.2: the time step of the last TOTP code accepted; a code of this step or an earlier one is refused
    totp_last_step: Mapped[int | None]


class AdminTokenRow(Base):
    """A browser session or a bearer token. Only a hash of the secret is kept."""

    __tablename__ = "admin_tokens"

    id: Mapped[str] = mapped_column(primary_key=True)  # random, shown in the token before the secret
    admin_id: Mapped[int] = mapped_column(ForeignKey("admins.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str]  # session | bearer
    secret_sha256: Mapped[str]
    name: Mapped[str]
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]
    verified: Mapped[bool]  # the second factor was given (always true for a bearer token)
    pending_code_sha256: Mapped[str | None]  # an SMS code sent for this session
    last_used_at: Mapped[datetime | None]


class AuditRow(Base):
    """Every change made through the admin API: who, when, what, before and after."""

    __tablename__ = "audit_log"
    __table_args__ = (Index(None, "tenant_id", "at"), NO_ID_REUSE)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    at: Mapped[datetime]
    actor: Mapped[str]
    action: Mapped[str]  # create | update | delete | login | …
    resource: Mapped[str]
    ref: Mapped[str]
    before: Mapped[Any | None] = mapped_column(JSON)
    after: Mapped[Any | None] = mapped_column(JSON)


# Tables whose rows are the tenant's configuration proper (children cascade from them): these are
# what a save replaces. Accounts and presence entries are kept.
CONFIG_TABLES: tuple[Table, ...] = tuple(cast(Table, row_type.__table__) for row_type in (
    NumberRow, PromptRow, ScheduleRow, FlowRow, UserRow, GroupRow, QueueRow, VoicemailBoxRow))


def table_of(row_type: type[Base]) -> Table:
    """The Core table of a model, typed as such (for bulk statements that bypass the ORM)."""
    return cast(Table, row_type.__table__)
