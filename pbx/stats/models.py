"""The SQL tables of statistics and reports: one row per call, and the report schedules (issue 6)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from pbx.db.models import NO_ID_REUSE, Base


class CallRecordRow(Base):
    """Every call the controller routed, as it ended: where it went and why (`path`), its queue and wait,
    who answered and for how long, and how it ended. Keyed by tenant and Asterisk's uniqueid, so several
    controllers writing the same call merge into one row."""

    __tablename__ = "call_records"
    __table_args__ = (UniqueConstraint("tenant_id", "call_id"), Index(None, "tenant_id", "entered_at"),
                      Index(None, "tenant_id", "queue"), NO_ID_REUSE)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    call_id: Mapped[str]  # Asterisk's uniqueid of the caller's channel
    caller: Mapped[str]
    dialled: Mapped[str]
    entered_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    path: Mapped[list[Any]] = mapped_column(JSON)  # each decision's explanation, in order
    queue: Mapped[str | None]  # the last queue the caller was in (the one their outcome belongs to)
    queued_at: Mapped[datetime | None]  # when they joined it
    wait_s: Mapped[float | None]  # how long they waited in it
    answered_by: Mapped[str | None]  # a user (agent) key, or the channel that answered
    answered_at: Mapped[datetime | None]
    talk_s: Mapped[float | None]
    wrapup_s: Mapped[float | None]
    answered: Mapped[bool] = mapped_column(server_default=false())
    abandoned: Mapped[bool] = mapped_column(server_default=false())  # hung up while waiting for an agent
    overflowed: Mapped[bool] = mapped_column(server_default=false())  # left the queue by timeout or empty queue
    callback: Mapped[str | None]  # requested | made | failed
    voicemail: Mapped[bool] = mapped_column(server_default=false())  # left a message
    voicemail_box: Mapped[str | None]
    cause: Mapped[str]  # the hangup cause as Asterisk reported it
    outcome: Mapped[str]  # answered | callback | voicemail | overflowed | abandoned | ended
    # how the caller left `queue`: answered | missed (hung up waiting or while an agent's phone rang) |
    # overflowed | callback; None: no queue, or still waiting. The wallboard counts today's answered and missed by it.
    queue_outcome: Mapped[str | None]
    # every queue the call went through, in order: {queue, queued_at, wait_s, outcome, answered_by}
    queues: Mapped[list[Any] | None] = mapped_column(JSON)


class ReportScheduleRow(Base):
    """A report mailed every day, week or month (A-05), with the XLSX attached. `next_run_at` is claimed
    with a conditional update, so one controller of several sends each run."""

    __tablename__ = "report_schedules"
    __table_args__ = (Index(None, "next_run_at"), NO_ID_REUSE)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    name: Mapped[str]
    report: Mapped[str]  # calls | queues
    params: Mapped[dict[str, Any]] = mapped_column(JSON)  # number, hide_dialled, service_level_s
    every: Mapped[str]  # daily | weekly | monthly
    hour: Mapped[int]  # local hour of the tenant at which it is sent
    recipients: Mapped[list[Any]] = mapped_column(JSON)
    next_run_at: Mapped[datetime]
    last_run_at: Mapped[datetime | None]
    last_status: Mapped[str | None]
    created_by: Mapped[str]
    created_at: Mapped[datetime]
