"""Scheduled reports (A-05): each due run is claimed in the database with a conditional update, so of several
controllers exactly one builds the workbook and mails it (through the controller's notifier) per due time."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from pbx.db.models import TenantRow
from pbx.notify import Attachment, Message, Notifier
from pbx.stats.models import ReportScheduleRow
from pbx.stats.reports import (
    DEFAULT_SERVICE_LEVEL_S,
    XLSX,
    call_specification,
    load_records,
    next_run,
    period_before,
    queue_report,
    queue_workbook,
    specification_workbook,
)

log = logging.getLogger("pbx.stats")

TEXTS = {
    "sv": ("{name}: {start} – {end}", "Rapporten {name} för perioden {start} – {end} finns i bilagan.\n"),
    "en": ("{name}: {start} – {end}", "The report {name} for {start} – {end} is attached.\n"),
}


@dataclass(frozen=True, slots=True)
class Run:
    schedule_id: int
    due: datetime


@dataclass(frozen=True, slots=True)
class Built:
    tenant: str
    name: str
    recipients: tuple[str, ...]
    message: Message


def build_report(session: Session, row: ReportScheduleRow, due: datetime) -> Built:
    """The workbook of one run: the period before `due`, in the tenant's time zone."""
    tenant = session.get(TenantRow, row.tenant_id)
    assert tenant is not None
    tz = ZoneInfo(tenant.timezone)
    start, end = period_before(row.every, due, tz)
    params: dict[str, Any] = dict(row.params or {})
    stamp = f"{start:%Y-%m-%d}", f"{end - timedelta(days=1):%Y-%m-%d}"
    if row.report == "calls":
        number = str(params.get("number", ""))
        records = load_records(session, row.tenant_id, start, end, numbers=[number])
        calls = call_specification(records, number, bool(params.get("hide_dialled", False)))
        content, filename = specification_workbook(number, calls, tz), f"calls-{number}-{stamp[0]}.xlsx"
    else:
        sl = float(params.get("service_level_s", DEFAULT_SERVICE_LEVEL_S))
        report = queue_report(load_records(session, row.tenant_id, start, end), sl, tz)
        content, filename = queue_workbook(report, tz), f"queues-{stamp[0]}.xlsx"
    subject, text = TEXTS[tenant.language if tenant.language in TEXTS else "en"]
    fields = {"name": row.name, "start": stamp[0], "end": stamp[1]}
    message = Message(tenant=tenant.key, kind="report", ref=str(row.id), subject=subject.format(**fields),
                      text=text.format(**fields), attachments=(Attachment(filename, content, XLSX),))
    return Built(tenant.key, row.name, tuple(str(r) for r in row.recipients or ()), message)


class ReportMailer:
    """`run_due` is the scheduler's job. `notifier` is asked for each run (the controller may replace its own)."""

    def __init__(self, sessions: Callable[[], Session], notifier: Callable[[], Notifier],
                 clock: Callable[[], datetime]) -> None:
        self.sessions = sessions
        self.notifier = notifier
        self.clock = clock
        self.sent = 0

    def _due(self, now: datetime) -> list[Run]:
        with self.sessions() as session:
            rows = session.execute(select(ReportScheduleRow.id, ReportScheduleRow.next_run_at)
                                   .where(ReportScheduleRow.next_run_at <= now)
                                   .order_by(ReportScheduleRow.next_run_at)).tuples().all()
        return [Run(i, at) for i, at in rows]

    def _claim(self, run: Run, now: datetime) -> Built | None:
        """Move the schedule on to its next run, only if nobody did since we looked: the one whose update
        changed the row sends this run. Runs missed while every controller was down collapse into one."""
        with self.sessions() as session, session.begin():
            row = session.get(ReportScheduleRow, run.schedule_id)
            if row is None or row.next_run_at != run.due:
                return None
            tenant = session.get(TenantRow, row.tenant_id)
            tz = ZoneInfo(tenant.timezone if tenant is not None else "UTC")
            claimed = session.execute(
                update(ReportScheduleRow)
                .where(ReportScheduleRow.id == run.schedule_id, ReportScheduleRow.next_run_at == run.due)
                .values(next_run_at=next_run(row.every, row.hour, now, tz), last_run_at=now,
                        last_status="sending")
                .execution_options(synchronize_session=False))
            if getattr(claimed, "rowcount", 0) != 1:
                return None
            return build_report(session, row, run.due)

    def _finish(self, schedule_id: int, status: str) -> None:
        with self.sessions() as session, session.begin():
            session.execute(update(ReportScheduleRow).where(ReportScheduleRow.id == schedule_id)
                            .values(last_status=status).execution_options(synchronize_session=False))

    async def run_due(self) -> int:
        """Send every report that is due; returns how many this instance sent."""
        now = self.clock()
        sent = 0
        try:
            runs = await asyncio.to_thread(self._due, now)
        except Exception:
            log.exception("report schedules not readable", extra={"event": "report_schedule_error"})
            return 0
        for run in runs:
            try:
                built = await asyncio.to_thread(self._claim, run, now)
            except Exception:
                log.exception("report run not claimed", extra={"event": "report_claim_error",
                                                               "schedule": run.schedule_id})
                continue
            if built is None:
                continue  # another controller has it
            results = await self.notifier().notify(built.message, [("email", r) for r in built.recipients])
            delivered = sum(1 for r in results if r.delivered)
            status = f"delivered to {delivered} of {len(results)}"
            failed = [f"{r.recipient}: {r.reason}" for r in results if not r.delivered]
            if failed:
                status += "; " + "; ".join(failed)
            log.info("scheduled report sent", extra={"event": "report_sent", "tenant": built.tenant,
                                                     "schedule": run.schedule_id, "due": run.due.isoformat(),
                                                     "delivered": delivered, "recipients": len(results)})
            try:
                await asyncio.to_thread(self._finish, run.schedule_id, status[:500])
            except Exception:
                log.exception("report status not saved", extra={"event": "report_status_error",
                                                                 "schedule": run.schedule_id})
            sent += 1
        self.sent += sent
        return sent
