"""Statistics and reports (F-09, F-16, A-05): call records as a list, queue figures with the service level, the
call specification of a number (dialled numbers maskable), the queue report, as JSON or XLSX, and report
schedules mailed by the controllers. For the report pages' charts: the named periods (today, last month…) by
the tenant's clock and time zone, and calls per hour of the day with the distribution of waits. Everything is
read from the tenant's own call records; an administrator limited to accounts sees the calls to and from their
accounts' numbers only."""

from __future__ import annotations

import asyncio
from collections.abc import Collection
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.orm import Session

from admin_api.app import KEY, NULLABLE_STAMP, STAMP, api, ctx_of
from admin_api.auth import Principal, audit
from admin_api.core import Ctx, Param, Problem, json_response, not_found
from admin_api.lists import list_params, list_responses, listing
from pbx.db.models import NumberRow, TenantRow
from pbx.stats.models import ReportScheduleRow
from pbx.stats.reports import (
    CALL_COLUMNS,
    DEFAULT_SERVICE_LEVEL_S,
    EVERY,
    XLSX,
    call_specification,
    load_records,
    local_day,
    next_run,
    parse_instant,
    queue_figures,
    queue_report,
    queue_workbook,
    specification_workbook,
)

NUMBER_PATTERN = {"type": "string", "pattern": "^\\+?[0-9]{2,20}$"}
SCHEDULE_ID = {"type": "string", "pattern": "^[0-9]{1,12}$"}
EMAIL = {"type": "string", "maxLength": 254, "pattern": "^[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(\\.[A-Za-z0-9-]+)+$"}
SL_PARAM = Param("service_level_s", "query", {"type": "integer", "minimum": 1, "maximum": 3600,
                                              "default": DEFAULT_SERVICE_LEVEL_S},
                 "answered within this many seconds of joining the queue counts towards the service level")


def _instant_param(name: str, required: bool, what: str) -> Param:
    return Param(name, "query", {"type": "string", "format": "date-time", "maxLength": 40}, what
                 + " (RFC 3339; without an offset, the tenant's local time)", required)


PERIODS = ("today", "yesterday", "this_week", "last_week", "this_month", "last_month")
PERIOD = Param("period", "query", {"type": "string", "enum": list(PERIODS)},
               "a named period by the tenant's clock and time zone (weeks start on Monday); from and to narrow it")
FROM = _instant_param("from", False, "calls that entered at or after this instant")
TO = _instant_param("to", False, "calls that entered before this instant")
FROM_REQUIRED = _instant_param("from", True, "the period's start, inclusive")
TO_REQUIRED = _instant_param("to", True, "the period's end, exclusive")

_NUM = {"type": ["number", "null"]}
QUEUE_STATS = api.schema("QueueStatistics", {"type": "object", "required": [
    "queue", "offered", "answered", "abandoned", "overflowed", "callbacks", "answered_within_sl",
    "service_level_pct"], "properties": {
    "queue": {"type": "string"}, "offered": {"type": "integer"}, "answered": {"type": "integer"},
    "abandoned": {"type": "integer"}, "overflowed": {"type": "integer"}, "callbacks": {"type": "integer"},
    "voicemail": {"type": "integer"}, "answered_within_sl": {"type": "integer"}, "service_level_pct": _NUM,
    "avg_wait_s": _NUM, "longest_wait_s": _NUM, "avg_talk_s": _NUM, "avg_wrapup_s": _NUM,
    "day": {"type": "string", "format": "date"}}})
QUEUE_STATS_RESULT = api.schema("QueueStatisticsResult", {"type": "object", "required": [
    "service_level_s", "queues"], "properties": {
    "from": NULLABLE_STAMP, "to": NULLABLE_STAMP, "service_level_s": {"type": "number"},
    "queues": {"type": "array", "items": QUEUE_STATS}, "days": {"type": "array", "items": QUEUE_STATS}}})
CALL_RECORD = api.schema("CallRecord", {"type": "object", "required": ["call_id", "caller", "dialled", "entered_at",
                                                                       "outcome"], "properties": {
    "call_id": {"type": "string"}, "caller": {"type": "string"}, "dialled": {"type": "string"},
    "entered_at": STAMP, "ended_at": NULLABLE_STAMP, "path": {"type": "array", "items": {"type": "string"}},
    "queue": {"type": ["string", "null"]}, "queued_at": NULLABLE_STAMP, "wait_s": _NUM,
    "answered_by": {"type": ["string", "null"]}, "answered_at": NULLABLE_STAMP, "talk_s": _NUM, "wrapup_s": _NUM,
    "answered": {"type": "boolean"}, "abandoned": {"type": "boolean"}, "overflowed": {"type": "boolean"},
    "callback": {"type": ["string", "null"], "enum": [None, "requested", "made", "failed"]},
    "voicemail": {"type": "boolean"}, "voicemail_box": {"type": ["string", "null"]}, "cause": {"type": "string"},
    "outcome": {"type": "string", "enum": ["answered", "callback", "voicemail", "overflowed", "abandoned",
                                           "ended"]},
    "queue_outcome": {"type": ["string", "null"], "enum": [None, "answered", "missed", "overflowed", "callback"]},
    "queues": {"type": "array", "description": "every queue the call went through, in order", "items": {
        "type": "object", "required": ["queue"], "properties": {
            "queue": {"type": "string"}, "queued_at": NULLABLE_STAMP, "wait_s": _NUM,
            "outcome": {"type": ["string", "null"]}, "answered_by": {"type": ["string", "null"]}}}}}})
SPEC_CALL = api.schema("SpecifiedCall", {"type": "object", "required": ["call_id", "entered_at", "direction",
                                                                        "caller", "dialled", "outcome"],
                                         "properties": {
    "call_id": {"type": "string"}, "entered_at": STAMP, "ended_at": NULLABLE_STAMP,
    "direction": {"type": "string", "enum": ["in", "out"]}, "caller": {"type": "string"},
    "dialled": {"type": "string"}, "answered_by": {"type": ["string", "null"]}, "wait_s": _NUM, "talk_s": _NUM,
    "outcome": {"type": "string"}}})
SPECIFICATION = api.schema("CallSpecification", {"type": "object", "required": [
    "number", "from", "to", "hide_dialled", "calls", "total"], "properties": {
    "number": {"type": "string"}, "from": STAMP, "to": STAMP, "hide_dialled": {"type": "boolean"},
    "calls": {"type": "array", "items": SPEC_CALL}, "total": {"type": "integer"}}})
SCHEDULE_FIELDS: dict[str, Any] = {
    "name": {"type": "string", "minLength": 1, "maxLength": 100, "pattern": "^[^\\x00-\\x1f\\x7f]+$"},
    "report": {"type": "string", "enum": ["calls", "queues"]},
    "number": {**NUMBER_PATTERN, "description": "the number a call specification is of (report: calls)"},
    "hide_dialled": {"type": "boolean", "default": False},
    "service_level_s": {"type": "integer", "minimum": 1, "maximum": 3600, "default": DEFAULT_SERVICE_LEVEL_S},
    "every": {"type": "string", "enum": list(EVERY)},
    "hour": {"type": "integer", "minimum": 0, "maximum": 23, "default": 6,
             "description": "local hour at which it is sent, the day after the period"},
    "recipients": {"type": "array", "minItems": 1, "maxItems": 20, "items": EMAIL},
}
SCHEDULE_BODY = {"type": "object", "required": ["name", "report", "every", "recipients"],
                 "additionalProperties": False, "properties": SCHEDULE_FIELDS,
                 # a call specification is of a number
                 "anyOf": [{"properties": {"report": {"const": "queues"}}}, {"required": ["number"]}]}
SCHEDULE = api.schema("ReportSchedule", {"type": "object", "required": [
    "id", "name", "report", "every", "hour", "recipients", "next_run_at"], "properties": {
    "id": {"type": "string"}, **SCHEDULE_FIELDS, "number": {"type": ["string", "null"]},
    "next_run_at": STAMP, "last_run_at": NULLABLE_STAMP, "last_status": {"type": ["string", "null"]},
    "created_by": {"type": "string"}, "created_at": STAMP}})


# --- helpers -----------------------------------------------------------------------------------------


def _tz(session: Session, who: Principal) -> ZoneInfo:
    name = session.scalar(select(TenantRow.timezone).where(TenantRow.id == who.tenant_id))
    return ZoneInfo(name or "UTC")


def _visible_numbers(session: Session, who: Principal) -> Collection[str] | None:
    """None: the whole tenant; else the numbers of the administrator's accounts."""
    if who.accounts is None:
        return None
    return set(session.scalars(select(NumberRow.number).where(NumberRow.tenant_id == who.tenant_id,
                                                              NumberRow.account_id.in_(who.accounts))))


def named_periods(now: datetime, tz: ZoneInfo) -> dict[str, tuple[datetime, datetime]]:
    """Each named period, [from, to) in UTC: today, yesterday, this and last week (Monday to Monday), this and
    last month, by the tenant's calendar at `now`."""
    today = now.astimezone(tz).date()

    def at(day: date) -> datetime:
        return datetime.combine(day, time(0), tz).astimezone(UTC)
    monday = today - timedelta(days=today.weekday())
    first = today.replace(day=1)
    next_first = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    previous_first = (first - timedelta(days=1)).replace(day=1)
    return {"today": (at(today), at(today + timedelta(days=1))),
            "yesterday": (at(today - timedelta(days=1)), at(today)),
            "this_week": (at(monday), at(monday + timedelta(days=7))),
            "last_week": (at(monday - timedelta(days=7)), at(monday)),
            "this_month": (at(first), at(next_first)), "last_month": (at(previous_first), at(first))}


def _period(ctx: Ctx, tz: ZoneInfo) -> tuple[datetime | None, datetime | None]:
    """The period asked for: from and to, within the named period when there is one."""
    start, end = _instants(ctx, tz)
    name = ctx.query.get("period")
    if name is None:
        return start, end
    named_start, named_end = named_periods(ctx_of(ctx.request).clock(), tz)[str(name)]
    return (named_start if start is None else max(start, named_start),
            named_end if end is None else min(end, named_end))


def _instants(ctx: Ctx, tz: ZoneInfo) -> tuple[datetime | None, datetime | None]:
    out: list[datetime | None] = []
    for name in ("from", "to"):
        raw = ctx.query.get(name)
        if raw is None:
            out.append(None)
            continue
        try:
            out.append(parse_instant(str(raw), tz))
        except ValueError as exc:
            raise Problem(400, "invalid", "The request is not valid", str(exc),
                          [{"field": f"query.{name}", "message": str(exc)}]) from None
    return out[0], out[1]


def _xlsx(content: bytes, filename: str) -> web.Response:
    return web.Response(body=content, content_type=XLSX,
                        headers={"Content-Disposition": f'attachment; filename="{filename}"'})


FORMAT = Param("format", "query", {"type": "string", "enum": ["json", "xlsx"], "default": "json"})


# --- statistics --------------------------------------------------------------------------------------


@api.op("GET", "/statistics/queues", "Per queue: offered, answered, abandoned, overflowed, callbacks, the service "
        "level (answered within service_level_s ÷ offered), wait, talk and wrap-up times", tag="statistics",
        right="reports", params=[PERIOD, FROM, TO, SL_PARAM, Param("queue", "query", KEY, "only this queue")],
        responses={200: ("application/json", QUEUE_STATS_RESULT)})
async def queue_statistics(ctx: Ctx) -> web.StreamResponse:
    who, app = ctx.who, ctx_of(ctx.request)

    def read() -> dict[str, Any]:
        with app.sessions() as session:
            start, end = _period(ctx, _tz(session, who))
            records = load_records(session, who.tenant_id, start, end, numbers=_visible_numbers(session, who),
                                   queue=ctx.query.get("queue"))
        sl = float(ctx.query["service_level_s"])
        return {"from": start, "to": end, "service_level_s": sl, "queues": queue_figures(records, sl)}
    return json_response(await ctx_of(ctx.request).db(read))


CALL_FILTERS = [
    PERIOD, FROM, TO, Param("queue", "query", KEY), Param("answered_by", "query", KEY),
    Param("outcome", "query", {"type": "string", "enum": ["answered", "callback", "voicemail", "overflowed",
                                                          "abandoned", "ended"]}),
    Param("number", "query", NUMBER_PATTERN, "calls to or from this number"),
]


@api.op("GET", "/statistics/calls", "Call records: every call, where it went, its wait, who answered, talk and "
        "wrap-up, how it ended", tag="statistics", right="reports",
        params=list_params(["entered_at", "caller", "dialled", "queue", "wait_s", "talk_s", "answered_by",
                            "outcome"], CALL_FILTERS), responses=list_responses(CALL_RECORD))
async def list_calls(ctx: Ctx) -> web.StreamResponse:
    who, app = ctx.who, ctx_of(ctx.request)

    def read() -> list[dict[str, Any]]:
        with app.sessions() as session:
            start, end = _period(ctx, _tz(session, who))
            visible = _visible_numbers(session, who)
            number = ctx.query.get("number")
            if number is not None:
                visible = {number} if visible is None or number in visible else set()
            records = load_records(session, who.tenant_id, start, end, numbers=visible)
        queue = ctx.query.get("queue")
        if queue is None:
            return records
        # every queue the call went through, not only its last (a caller who overflowed from one to another)
        return [r for r in records if r.get("queue") == queue or any(leg.get("queue") == queue
                                                                     for leg in r.get("queues") or ())]
    return listing(ctx, await ctx_of(ctx.request).db(read), CALL_COLUMNS, "calls", exact=["answered_by", "outcome"])


# --- for the report pages' charts --------------------------------------------------------------------

PERIOD_SPAN = {"type": "object", "required": ["from", "to"], "properties": {"from": STAMP, "to": STAMP}}
PERIODS_RESULT = api.schema("StatisticsPeriods", {"type": "object", "required": ["now", "timezone", "periods"],
                                                  "properties": {
    "now": STAMP, "timezone": {"type": "string"},
    "periods": {"type": "object", "required": list(PERIODS), "additionalProperties": False,
                "properties": {name: PERIOD_SPAN for name in PERIODS}}}})
WAIT_BUCKETS = (0, 10, 20, 30, 60, 120, 300)  # seconds: [0, 10), [10, 20) … [300, ∞)
_FIGURES: dict[str, Any] = {
    "calls": {"type": "integer"}, "answered": {"type": "integer"},
    "missed": {"type": "integer", "description": "the caller hung up unanswered"},
    "other": {"type": "integer", "description": "ended otherwise: a message, a callback, overflow, the flow"},
    "answered_within_sl": {"type": "integer"}, "avg_wait_s": _NUM, "longest_wait_s": _NUM}
TOTAL = {"type": "object", "required": list(_FIGURES), "properties": _FIGURES}
HOUR = {"type": "object", "required": ["hour", *_FIGURES], "properties": {
    "hour": {"type": "integer", "minimum": 0, "maximum": 23}, **_FIGURES}}
WAIT = {"type": "object", "required": ["from_s", "to_s", "calls", "answered", "missed"], "properties": {
    "from_s": {"type": "integer"}, "to_s": {"type": ["integer", "null"]}, "calls": {"type": "integer"},
    "answered": {"type": "integer"}, "missed": {"type": "integer"}}}
HOURS_RESULT = api.schema("CallsPerHour", {"type": "object", "required": [
    "from", "to", "timezone", "service_level_s", "total", "hours", "waits"], "properties": {
    "from": NULLABLE_STAMP, "to": NULLABLE_STAMP, "timezone": {"type": "string"}, "service_level_s": {"type": "number"},
    "total": TOTAL, "hours": {"type": "array", "minItems": 24, "maxItems": 24, "items": HOUR},
    "waits": {"type": "array", "items": WAIT}}})


def _figures(records: list[dict[str, Any]], service_level_s: float) -> dict[str, Any]:
    waits = [float(r["wait_s"]) for r in records if r.get("wait_s") is not None]
    answered = [r for r in records if r["outcome"] == "answered"]
    missed = sum(1 for r in records if r["outcome"] == "abandoned")
    return {"calls": len(records), "answered": len(answered), "missed": missed,
            "other": len(records) - len(answered) - missed,
            "answered_within_sl": sum(1 for r in answered
                                      if r.get("wait_s") is not None and r["wait_s"] <= service_level_s),
            "avg_wait_s": round(sum(waits) / len(waits), 1) if waits else None,
            "longest_wait_s": round(max(waits), 1) if waits else None}


def hour_figures(records: list[dict[str, Any]], tz: ZoneInfo, service_level_s: float) -> dict[str, Any]:
    """Calls per local hour of the day over the records (answered, missed: hung up unanswered, other), the
    waits per hour, and how many calls waited how long (those that waited in a queue)."""
    by_hour: list[list[dict[str, Any]]] = [[] for _ in range(24)]
    for r in records:
        by_hour[r["entered_at"].astimezone(tz).hour].append(r)
    waits = []
    for i, low in enumerate(WAIT_BUCKETS):
        high = WAIT_BUCKETS[i + 1] if i + 1 < len(WAIT_BUCKETS) else None
        inside = [r for r in records if r.get("wait_s") is not None and r["wait_s"] >= low
                  and (high is None or r["wait_s"] < high)]
        waits.append({"from_s": low, "to_s": high, "calls": len(inside),
                      "answered": sum(1 for r in inside if r["outcome"] == "answered"),
                      "missed": sum(1 for r in inside if r["outcome"] == "abandoned")})
    return {"total": _figures(records, service_level_s),
            "hours": [{"hour": h, **_figures(rows, service_level_s)} for h, rows in enumerate(by_hour)],
            "waits": waits}


@api.op("GET", "/statistics/periods", "The named report periods (today, yesterday, this and last week, this and "
        "last month) as instants, by the tenant's clock and time zone", tag="statistics", right="view",
        responses={200: ("application/json", PERIODS_RESULT)})
async def statistics_periods(ctx: Ctx) -> web.StreamResponse:
    who, app = ctx.who, ctx_of(ctx.request)

    def read() -> ZoneInfo:
        with app.sessions() as session:
            return _tz(session, who)
    tz = await app.db(read)
    now = app.clock()
    return json_response({"now": now, "timezone": tz.key, "periods": {
        name: {"from": start, "to": end} for name, (start, end) in named_periods(now, tz).items()}})


@api.op("GET", "/statistics/hours", "Calls per hour of the day (answered, missed, other; waits), and how many "
        "waited how long, in a period (without one: every call): the report pages' charts", tag="statistics",
        right="reports",
        params=[PERIOD, FROM, TO, SL_PARAM, Param("queue", "query", KEY, "only calls through this queue"),
                Param("number", "query", NUMBER_PATTERN, "only calls to or from this number")],
        responses={200: ("application/json", HOURS_RESULT)})
async def calls_per_hour(ctx: Ctx) -> web.StreamResponse:
    who, app = ctx.who, ctx_of(ctx.request)
    sl = float(ctx.query["service_level_s"])

    def read() -> dict[str, Any]:
        with app.sessions() as session:
            tz = _tz(session, who)
            start, end = _period(ctx, tz)
            visible = _visible_numbers(session, who)
            number = ctx.query.get("number")
            if number is not None:
                visible = {number} if visible is None or number in visible else set()
            records = load_records(session, who.tenant_id, start, end, numbers=visible, queue=ctx.query.get("queue"))
        return {"from": start, "to": end, "timezone": tz.key, "service_level_s": sl, **hour_figures(records, tz, sl)}
    return json_response(await app.db(read))


# --- reports -----------------------------------------------------------------------------------------


@api.op("GET", "/reports/calls", "Call specification: every call to or from a number in a period; hide_dialled "
        "masks the dialled numbers' last digits (GDPR). JSON or XLSX", tag="reports", right="reports",
        params=[Param("number", "query", NUMBER_PATTERN, "the number", True), FROM_REQUIRED, TO_REQUIRED,
                Param("hide_dialled", "query", {"type": "boolean", "default": False}), FORMAT],
        responses={200: {"application/json": SPECIFICATION, XLSX: None}})
async def call_report(ctx: Ctx) -> web.StreamResponse:
    who, app = ctx.who, ctx_of(ctx.request)
    number, hide = str(ctx.query["number"]), bool(ctx.query["hide_dialled"])

    def read() -> tuple[datetime, datetime, ZoneInfo, list[dict[str, Any]]]:
        with app.sessions() as session:
            tz = _tz(session, who)
            start, end = _period(ctx, tz)
            assert start is not None and end is not None
            visible = _visible_numbers(session, who)
            if visible is not None and number not in visible:
                raise not_found(f"number {number}")
            records = load_records(session, who.tenant_id, start, end, numbers=[number])
        return start, end, tz, call_specification(records, number, hide)
    start, end, tz, calls = await ctx_of(ctx.request).db(read)
    if ctx.query["format"] == "xlsx":
        return _xlsx(await asyncio.to_thread(specification_workbook, number, calls, tz),
                     f"calls-{number}-{local_day(start, tz):%Y%m%d}.xlsx")
    return json_response({"number": number, "from": start, "to": end, "hide_dialled": hide, "calls": calls,
                          "total": len(calls)})


@api.op("GET", "/reports/queues", "Queue and service-level report for a period: per queue, and per queue and day. "
        "JSON or XLSX", tag="reports", right="reports", params=[FROM_REQUIRED, TO_REQUIRED, SL_PARAM, FORMAT],
        responses={200: {"application/json": QUEUE_STATS_RESULT, XLSX: None}})
async def queue_report_op(ctx: Ctx) -> web.StreamResponse:
    who, app = ctx.who, ctx_of(ctx.request)
    sl = float(ctx.query["service_level_s"])

    def read() -> tuple[datetime, datetime, ZoneInfo, dict[str, Any]]:
        with app.sessions() as session:
            tz = _tz(session, who)
            start, end = _period(ctx, tz)
            assert start is not None and end is not None
            records = load_records(session, who.tenant_id, start, end, numbers=_visible_numbers(session, who))
        return start, end, tz, queue_report(records, sl, tz)
    start, end, tz, report = await ctx_of(ctx.request).db(read)
    if ctx.query["format"] == "xlsx":
        return _xlsx(await asyncio.to_thread(queue_workbook, report, tz), f"queues-{local_day(start, tz):%Y%m%d}.xlsx")
    return json_response({"from": start, "to": end, **report})


# --- report schedules --------------------------------------------------------------------------------


def _schedule(r: ReportScheduleRow) -> dict[str, Any]:
    params = dict(r.params or {})
    return {"id": str(r.id), "name": r.name, "report": r.report, "number": params.get("number"),
            "hide_dialled": bool(params.get("hide_dialled", False)),
            "service_level_s": int(params.get("service_level_s", DEFAULT_SERVICE_LEVEL_S)), "every": r.every,
            "hour": r.hour, "recipients": list(r.recipients or []), "next_run_at": r.next_run_at,
            "last_run_at": r.last_run_at, "last_status": r.last_status, "created_by": r.created_by,
            "created_at": r.created_at}


def _params_of(body: dict[str, Any]) -> dict[str, Any]:
    if body["report"] == "calls":
        return {"number": body["number"], "hide_dialled": bool(body.get("hide_dialled", False))}
    return {"service_level_s": int(body.get("service_level_s", DEFAULT_SERVICE_LEVEL_S))}


def _check_number(session: Session, who: Principal, body: dict[str, Any]) -> None:
    visible = _visible_numbers(session, who)
    if body["report"] == "calls" and visible is not None and body["number"] not in visible:
        raise Problem(422, "invalid", "The body is not valid", "not a number of your accounts",
                      [{"field": "body.number", "message": "not a number of your accounts"}])


def _own_schedule(session: Session, who: Principal, ref: str) -> ReportScheduleRow:
    if int(ref) > 2**31 - 1:  # beyond any id (and PostgreSQL's integer)
        raise not_found(f"report schedule {ref}")
    row = session.scalar(select(ReportScheduleRow).where(ReportScheduleRow.id == int(ref),
                                                         ReportScheduleRow.tenant_id == who.tenant_id))
    if row is None or (who.accounts is not None and row.account_id not in who.accounts):
        raise not_found(f"report schedule {ref}")
    return row


@api.op("GET", "/reports/schedules", "Reports mailed every day, week or month", tag="reports", right="reports",
        params=list_params(["name", "report", "every", "next_run_at"], [
            Param("report", "query", {"type": "string", "enum": ["calls", "queues"]}),
            Param("every", "query", {"type": "string", "enum": list(EVERY)})]),
        responses=list_responses(SCHEDULE))
async def list_schedules(ctx: Ctx) -> web.StreamResponse:
    who, app = ctx.who, ctx_of(ctx.request)

    def read() -> list[dict[str, Any]]:
        with app.sessions() as session:
            rows = session.scalars(select(ReportScheduleRow).where(ReportScheduleRow.tenant_id == who.tenant_id)
                                   .order_by(ReportScheduleRow.id))
            return [_schedule(r) for r in rows if who.accounts is None or r.account_id in who.accounts]
    return listing(ctx, await ctx_of(ctx.request).db(read), ["name", "report", "every", "hour", "number", "recipients",
                                                        "next_run_at", "last_run_at", "last_status", "id"],
                   "report-schedules", exact=["report", "every"])


@api.op("POST", "/reports/schedules", "Mail a report every day, week or month, with the XLSX attached",
        tag="reports", right="reports", body=SCHEDULE_BODY, responses={201: ("application/json", SCHEDULE)})
async def create_schedule(ctx: Ctx) -> web.StreamResponse:
    who, app = ctx.who, ctx_of(ctx.request)
    body = ctx.body

    def create() -> dict[str, Any]:
        now = app.clock()
        with app.sessions() as session, session.begin():
            _check_number(session, who, body)
            hour = int(body.get("hour", 6))
            row = ReportScheduleRow(tenant_id=who.tenant_id, account_id=who.account_id if who.accounts is not None
                                    else None, name=body["name"], report=body["report"], params=_params_of(body),
                                    every=body["every"], hour=hour, recipients=list(body["recipients"]),
                                    next_run_at=next_run(body["every"], hour, now, _tz(session, who)),
                                    last_run_at=None, last_status=None, created_by=who.login, created_at=now)
            session.add(row)
            session.flush()
            out = _schedule(row)
            audit(session, who, "create", "report_schedule", out["id"], after=_audited(out), at=now)
        return out
    return json_response(await ctx_of(ctx.request).db(create), 201)


def _audited(view: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in view.items() if k not in ("next_run_at", "last_run_at", "last_status", "created_at")}


@api.op("GET", "/reports/schedules/{id}", "One report schedule", tag="reports", right="reports",
        params=[Param("id", "path", SCHEDULE_ID)], responses={200: ("application/json", SCHEDULE)})
async def get_schedule(ctx: Ctx) -> web.StreamResponse:
    who, app = ctx.who, ctx_of(ctx.request)

    def read() -> dict[str, Any]:
        with app.sessions() as session:
            return _schedule(_own_schedule(session, who, ctx.path["id"]))
    return json_response(await ctx_of(ctx.request).db(read))


@api.op("PUT", "/reports/schedules/{id}", "Replace a report schedule (its next run is computed anew)",
        tag="reports", right="reports", params=[Param("id", "path", SCHEDULE_ID)], body=SCHEDULE_BODY,
        responses={200: ("application/json", SCHEDULE)})
async def replace_schedule(ctx: Ctx) -> web.StreamResponse:
    who, app = ctx.who, ctx_of(ctx.request)
    body = ctx.body

    def change() -> dict[str, Any]:
        now = app.clock()
        with app.sessions() as session, session.begin():
            row = _own_schedule(session, who, ctx.path["id"])
            _check_number(session, who, body)
            before = _audited(_schedule(row))
            hour = int(body.get("hour", 6))
            row.name, row.report, row.params, row.every = body["name"], body["report"], _params_of(body), body["every"]
            row.hour, row.recipients = hour, list(body["recipients"])
            row.next_run_at = next_run(body["every"], hour, now, _tz(session, who))
            session.flush()
            out = _schedule(row)
            audit(session, who, "update", "report_schedule", out["id"], before=before, after=_audited(out), at=now)
        return out
    return json_response(await ctx_of(ctx.request).db(change))


@api.op("DELETE", "/reports/schedules/{id}", "Stop mailing a report", tag="reports", right="reports",
        params=[Param("id", "path", SCHEDULE_ID)], responses={204: ("", None)})
async def delete_schedule(ctx: Ctx) -> web.StreamResponse:
    who, app = ctx.who, ctx_of(ctx.request)

    def delete() -> None:
        with app.sessions() as session, session.begin():
            row = _own_schedule(session, who, ctx.path["id"])
            before = _audited(_schedule(row))
            session.delete(row)
            audit(session, who, "delete", "report_schedule", ctx.path["id"], before=before, at=app.clock())
    await ctx_of(ctx.request).db(delete)
    return web.Response(status=204)
