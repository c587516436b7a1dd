"""Statistics and reports from call records (F-09, A-05): queue figures with the service level, the call
specification of a number (dialled numbers maskable), report periods, and XLSX workbooks. The figures are
pure functions of the records; reading them is one query."""

from __future__ import annotations

import io
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from pbx.stats.models import CallRecordRow

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DEFAULT_SERVICE_LEVEL_S = 20
MASKED_DIGITS = 3  # "+46701234xxx": enough to hide whom was called, enough to see the kind of number

CALL_COLUMNS = ("entered_at", "ended_at", "caller", "dialled", "queue", "wait_s", "answered_by", "talk_s",
                "wrapup_s", "outcome", "answered", "abandoned", "overflowed", "callback", "voicemail", "cause",
                "call_id")
SPEC_COLUMNS = ("entered_at", "ended_at", "direction", "caller", "dialled", "answered_by", "wait_s", "talk_s",
                "outcome")
QUEUE_COLUMNS = ("queue", "offered", "answered", "abandoned", "overflowed", "callbacks", "voicemail",
                 "answered_within_sl", "service_level_pct", "avg_wait_s", "longest_wait_s", "avg_talk_s",
                 "avg_wrapup_s")


# --- reading records ---------------------------------------------------------------------------------


def record_dict(r: CallRecordRow) -> dict[str, Any]:
    return {"call_id": r.call_id, "caller": r.caller, "dialled": r.dialled, "entered_at": r.entered_at,
            "ended_at": r.ended_at, "path": list(r.path or []), "queue": r.queue, "queued_at": r.queued_at,
            "wait_s": r.wait_s, "answered_by": r.answered_by, "answered_at": r.answered_at, "talk_s": r.talk_s,
            "wrapup_s": r.wrapup_s, "answered": r.answered, "abandoned": r.abandoned, "overflowed": r.overflowed,
            "callback": r.callback, "voicemail": r.voicemail, "voicemail_box": r.voicemail_box, "cause": r.cause,
            "outcome": r.outcome, "queue_outcome": r.queue_outcome, "queues": list(r.queues or [])}


def load_records(session: Session, tenant_id: int, start: datetime | None = None, end: datetime | None = None,
                 *, numbers: Collection[str] | None = None, queue: str | None = None) -> list[dict[str, Any]]:
    """A tenant's records that entered in [start, end), oldest first; `numbers`: only calls to or from one of
    them (an account administrator's numbers, or the number of a call specification)."""
    query = select(CallRecordRow).where(CallRecordRow.tenant_id == tenant_id)
    if start is not None:
        query = query.where(CallRecordRow.entered_at >= start)
    if end is not None:
        query = query.where(CallRecordRow.entered_at < end)
    if numbers is not None:
        query = query.where(or_(CallRecordRow.caller.in_(numbers), CallRecordRow.dialled.in_(numbers)))
    records = [record_dict(r) for r in session.scalars(query.order_by(CallRecordRow.entered_at, CallRecordRow.id))]
    if queue is not None:  # a call belongs to every queue it went through (the list is JSON: filtered here)
        records = [r for r in records if queue in {q for q, _ in queue_legs(r)}]
    return records


# --- queue figures -----------------------------------------------------------------------------------


def _avg(values: Sequence[float]) -> float | None:
    return round(sum(values) / len(values), 1) if values else None


def queue_legs(r: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """What a call did in each queue it went through, in order: (queue, {answered, abandoned, overflowed,
    callback, voicemail, wait_s, talk_s, wrapup_s}). A caller who overflowed from one queue into another is
    offered to both; what happened after the last queue (a message, a callback asked for) belongs to it.
    Records written before the list of queues existed have their one queue."""
    legs = [leg for leg in (r.get("queues") or []) if isinstance(leg, Mapping) and leg.get("queue")]
    if not legs:
        if not r.get("queue"):
            return []
        return [(r["queue"], {"answered": bool(r["answered"]), "abandoned": bool(r["abandoned"] and not r["answered"]),
                              "overflowed": bool(r["overflowed"]), "callback": bool(r.get("callback")),
                              "voicemail": bool(r["voicemail"]), "wait_s": r.get("wait_s"),
                              "talk_s": r.get("talk_s"), "wrapup_s": r.get("wrapup_s")})]
    out = []
    for i, leg in enumerate(legs):
        last, outcome = i == len(legs) - 1, leg.get("outcome")
        answered = outcome == "answered"
        out.append((str(leg["queue"]), {
            "answered": answered, "abandoned": outcome == "missed", "overflowed": outcome == "overflowed",
            "callback": outcome == "callback" or (last and bool(r.get("callback"))),
            "voicemail": last and bool(r["voicemail"]), "wait_s": leg.get("wait_s"),
            "talk_s": r.get("talk_s") if answered else None, "wrapup_s": r.get("wrapup_s") if answered else None}))
    return out


def queue_figures(records: Iterable[dict[str, Any]], service_level_s: float,
                  queues: Iterable[str] = ()) -> list[dict[str, Any]]:
    """Per queue: calls offered (every call that entered it or asked it for a callback), answered, abandoned,
    overflowed, callbacks asked for, messages left after it; answered within `service_level_s` of joining and
    the service level (those ÷ offered, in %); average and longest wait, average talk and wrap-up (answered
    calls). `queues`: listed even when no call came (all zeros)."""
    by_queue: dict[str, list[dict[str, Any]]] = {q: [] for q in queues}
    for r in records:
        for queue, leg in queue_legs(r):
            by_queue.setdefault(queue, []).append(leg)
    out = []
    for queue in sorted(by_queue):
        rows = by_queue[queue]
        answered = [r for r in rows if r["answered"]]
        waits = [float(r["wait_s"]) for r in rows if r.get("wait_s") is not None]
        within = sum(1 for r in answered if r.get("wait_s") is not None and r["wait_s"] <= service_level_s)
        out.append({
            "queue": queue,
            "offered": len(rows),
            "answered": len(answered),
            "abandoned": sum(1 for r in rows if r["abandoned"] and not r["answered"]),
            "overflowed": sum(1 for r in rows if r["overflowed"]),
            "callbacks": sum(1 for r in rows if r.get("callback")),
            "voicemail": sum(1 for r in rows if r["voicemail"]),
            "answered_within_sl": within,
            "service_level_pct": round(100.0 * within / len(rows), 1) if rows else None,
            "avg_wait_s": _avg(waits),
            "longest_wait_s": round(max(waits), 1) if waits else None,
            "avg_talk_s": _avg([float(r["talk_s"]) for r in answered if r.get("talk_s") is not None]),
            "avg_wrapup_s": _avg([float(r["wrapup_s"]) for r in answered if r.get("wrapup_s") is not None]),
        })
    return out


def queue_days(records: Iterable[dict[str, Any]], service_level_s: float, tz: ZoneInfo) -> list[dict[str, Any]]:
    """The same figures per queue and local day."""
    by_day: dict[date, list[dict[str, Any]]] = {}
    for r in records:
        by_day.setdefault(r["entered_at"].astimezone(tz).date(), []).append(r)
    return [{"day": day.isoformat(), **figures} for day in sorted(by_day)
            for figures in queue_figures(by_day[day], service_level_s)]


# --- the call specification ----------------------------------------------------------------------------


def mask(number: str, digits: int = MASKED_DIGITS) -> str:
    """The last `digits` digits replaced by x (GDPR: the report says a call was made, not to whom)."""
    chars = list(number)
    left = digits
    for i in range(len(chars) - 1, -1, -1):
        if left == 0:
            break
        if chars[i].isdigit():
            chars[i] = "x"
            left -= 1
    return "".join(chars)


def call_specification(records: Iterable[dict[str, Any]], number: str, hide_dialled: bool) -> list[dict[str, Any]]:
    """Every call to or from `number`, oldest first; `hide_dialled` masks each call's dialled number."""
    out = []
    for r in records:
        if number not in (r["caller"], r["dialled"]):
            continue
        out.append({"call_id": r["call_id"], "entered_at": r["entered_at"], "ended_at": r["ended_at"],
                    "direction": "in" if r["dialled"] == number else "out", "caller": r["caller"],
                    "dialled": mask(r["dialled"]) if hide_dialled else r["dialled"], "answered_by": r["answered_by"],
                    "wait_s": r["wait_s"], "talk_s": r["talk_s"], "outcome": r["outcome"]})
    return out


# --- periods -----------------------------------------------------------------------------------------

INSTANT = re.compile(r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?([Zz]|[+-]\d{2}:\d{2})?$")


def parse_instant(text: str, tz: ZoneInfo) -> datetime:
    """An RFC 3339 date-time (a leap second is read as :59), or a local time of the tenant without an offset,
    as an instant in UTC; the first and last representable days are clamped to the edges. Raises ValueError
    for anything else."""
    m = INSTANT.match(text.strip())
    if m is None:
        raise ValueError("not a date-time such as 2026-11-24T08:00:00+01:00")
    year, month, day, hour, minute = (int(m.group(i)) for i in range(1, 6))
    second = min(int(m.group(6) or 0), 59)
    micro = int((m.group(7) or ".0")[1:7].ljust(6, "0"))
    zone = m.group(8)
    naive = datetime(year, month, day, hour, minute, second, micro)
    try:
        if zone is None:
            return naive.replace(tzinfo=tz).astimezone(UTC)
        if zone in ("Z", "z"):
            return naive.replace(tzinfo=UTC)
        offset = timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))
        if offset >= timedelta(hours=24):
            raise ValueError("a UTC offset is less than 24 hours")
        return (naive - offset if zone[0] == "+" else naive + offset).replace(tzinfo=UTC)
    except OverflowError:  # within a day of year 1 or 9999: the edge itself
        return (datetime.min if year < 5000 else datetime.max).replace(tzinfo=UTC)


def local_day(at: datetime, tz: ZoneInfo) -> date:
    """The tenant's calendar day of an instant (the edges of time stay as they are)."""
    try:
        return at.astimezone(tz).date()
    except OverflowError:
        return at.date()


EVERY = ("daily", "weekly", "monthly")


def _boundary(every: str, day: date) -> date:
    """The first day of the period `day` is in."""
    if every == "daily":
        return day
    if every == "weekly":
        return day - timedelta(days=day.weekday())
    return day.replace(day=1)


def _next_boundary(every: str, day: date) -> date:
    start = _boundary(every, day)
    if every == "daily":
        return start + timedelta(days=1)
    if every == "weekly":
        return start + timedelta(days=7)
    return (start.replace(day=28) + timedelta(days=4)).replace(day=1)


def next_run(every: str, hour: int, after: datetime, tz: ZoneInfo) -> datetime:
    """When a report sent `every` day/week/month at `hour` local time is next due, strictly after `after`:
    the start of the next period (Monday, the 1st) at that hour."""
    day = after.astimezone(tz).date()
    candidate = _boundary(every, day)
    while True:
        at = datetime.combine(candidate, time(hour), tz)
        if at > after:
            return at.astimezone(UTC)
        candidate = _next_boundary(every, candidate)


def period_before(every: str, due: datetime, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The whole period a run due at `due` reports on: the day, week (Mon–Sun) or month before it, local time."""
    end_day = _boundary(every, due.astimezone(tz).date())
    start_day = _boundary(every, end_day - timedelta(days=1))
    return datetime.combine(start_day, time(0), tz), datetime.combine(end_day, time(0), tz)


# --- workbooks ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Sheet:
    title: str
    columns: Sequence[str]
    rows: Sequence[dict[str, Any]]


def _cell(value: Any, tz: ZoneInfo) -> Any:
    if isinstance(value, str):
        return ILLEGAL_CHARACTERS_RE.sub("", value)  # control characters (a caller ID's) cannot go in a sheet
    if isinstance(value, datetime):
        return value.astimezone(tz).replace(tzinfo=None)  # Excel has no time zones: local time of the tenant
    if isinstance(value, list | tuple):
        return ILLEGAL_CHARACTERS_RE.sub("", " | ".join(map(str, value)))
    return value


def workbook(sheets: Sequence[Sheet], tz: ZoneInfo) -> bytes:
    book = Workbook()
    first = book.active
    assert first is not None
    book.remove(first)
    for sheet in sheets:
        ws = book.create_sheet(sheet.title[:31])
        ws.append(list(sheet.columns))
        for row in sheet.rows:
            ws.append([_cell(row.get(c), tz) for c in sheet.columns])
        for column in ws.columns:
            letter = column[0].column_letter
            ws.column_dimensions[letter].width = max(10, min(40, max(len(str(c.value or "")) for c in column) + 2))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def queue_report(records: list[dict[str, Any]], service_level_s: float, tz: ZoneInfo,
                 queues: Iterable[str] = ()) -> dict[str, Any]:
    return {"service_level_s": service_level_s, "queues": queue_figures(records, service_level_s, queues),
            "days": queue_days(records, service_level_s, tz)}


def queue_workbook(report: dict[str, Any], tz: ZoneInfo) -> bytes:
    return workbook([Sheet("Queues", QUEUE_COLUMNS, report["queues"]),
                     Sheet("Per day", ("day", *QUEUE_COLUMNS), report["days"])], tz)


def specification_workbook(number: str, calls: list[dict[str, Any]], tz: ZoneInfo) -> bytes:
    return workbook([Sheet(f"Calls {number}", SPEC_COLUMNS, calls)], tz)
