"""Schedules (with overrides), answer groups and queues with their agents, callbacks, live calls and
recording control on a live call.

Configuration (schedules, groups, queues) changes through `change_config`: checked by the routing core,
stored as the next version, audited. Live operations (agents, callbacks, calls, recording) act on the
controller of this process (`ApiContext.controller`); an API instance without one answers 503.

Who may act for an agent: the right "agents" acts for any agent the administrator reaches (an account
administrator: users of their account subtree). Without it, an administrator whose login is tied to a user
(`Principal.user_key`) may still log that user in and out, pause and unpause them and end their wrap-up:
members log in and out themselves (F-08, F-11, U-09), by phone with no right at all, so the API asks no more
of them than "view". Schedules, groups, queues and callbacks belong to the whole tenant (not to accounts);
live calls belong to the account of the number dialled or of the agent on the call."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any, cast

from aiohttp import web
from sqlalchemy import select

from admin_api.app import KEY, NULLABLE_STAMP, STAMP, _record, api, ctx_of
from admin_api.config import change_config, read_config
from admin_api.core import PROBLEM, Ctx, Param, Problem, forbidden, json_response, not_found
from admin_api.lists import list_params, list_responses, listing
from pbx.acd import callback as cbm
from pbx.acd.model import FINAL_CALLBACK_STATUSES, AgentState, CallbackRequest, CallbackStatus
from pbx.acd.service import AgentError
from pbx.asterisk.ami import AMIActionError, AMIError
from pbx.calls import TransferError
from pbx.db.models import NumberRow, UserRow
from pbx.recording.control import LiveRecording, RecordingError
from pbx.routing.model import (
    DTMF_KEYS,
    CallbackNode,
    GroupConfig,
    GroupMember,
    GroupNode,
    QueueConfig,
    QueueNode,
    ScheduleSwitch,
    Target,
    TenantConfig,
)
from pbx.routing.schedule import (
    DAY_ABBREVIATIONS,
    HolidayTemplate,
    Interval,
    Override,
    ScheduleConfig,
    ScheduleException,
    ScheduleState,
    compile_schedule,
    format_minutes,
    parse_intervals,
)
from pbx.state.store import presence_spans
from pbx.stats.wallboard import AgentLive, agent_state

log = logging.getLogger("admin_api.operations")

CALL_ID = {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"}
DAYS = tuple(d.lower() for d in DAY_ABBREVIATIONS)  # mon … sun
_HOURS = r"[0-9]{1,2}:[0-9]{2} *[-–—] *[0-9]{1,2}:[0-9]{2}"
HOURS = {"type": "string", "maxLength": 200, "pattern": f"^( *{_HOURS} *(, *{_HOURS} *)*)?$",
         "description": "open intervals, e.g. 08:00-12:00,12:45-17:00; empty: closed"}
PRINTABLE = "^[^\\x00-\\x1f\\x7f]*$"  # no control characters: names end up in exports and on screens
UNAVAILABLE = {503: (PROBLEM, None)}
CONFLICT = {409: (PROBLEM, None)}
INVALID = {422: (PROBLEM, None)}

# --- schemas -------------------------------------------------------------------------------------

WEEKLY = {"type": "object", "additionalProperties": False, "properties": {d: HOURS for d in DAYS},
          "description": "opening hours per weekday; a day left out is closed"}
EXCEPTION = {"type": "object", "required": ["date"], "additionalProperties": False, "properties": {
    "date": {"type": "string", "format": "date", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"},
    "hours": HOURS, "name": {"type": "string", "maxLength": 100, "pattern": PRINTABLE},
    "recurs_yearly": {"type": "boolean"}, "holiday": {"type": "boolean",
                                                      "description": "closed as a holiday, not just closed"}}}
HOLIDAYS = {"type": ["object", "null"], "required": ["country"], "additionalProperties": False, "properties": {
    "country": {"type": "string", "pattern": "^[A-Z]{2}$"},
    "categories": {"type": "array", "maxItems": 10, "items": {"type": "string", "pattern": "^[a-z_]{1,40}$"}},
    "exclude": {"type": "array", "maxItems": 50, "items": {"type": "string", "minLength": 1, "maxLength": 100,
                                                            "pattern": PRINTABLE}}}}
OVERRIDE_BODY = {"type": "object", "required": ["state"], "additionalProperties": False, "properties": {
    "state": {"type": "string", "enum": ["open", "closed", "holiday"]},
    "until": {"type": "string", "format": "date-time", "maxLength": 64,
              "description": "when the override ends (with a UTC offset); left out: until removed"},
    "message": {"type": "string", "maxLength": 200, "pattern": PRINTABLE}}}
OVERRIDE = {"type": ["object", "null"], "required": ["state", "until", "message"], "properties": {
    "state": {"type": "string"}, "until": NULLABLE_STAMP, "message": {"type": "string"}}}
SCHEDULE_STATE = api.schema("ScheduleState", {
    "type": "object", "required": ["at", "state", "reason", "overridden"], "properties": {
        "at": STAMP, "state": {"type": "string", "enum": ["open", "closed", "holiday"]},
        "reason": {"type": "string"}, "overridden": {"type": "boolean"}, "next_change": NULLABLE_STAMP}})
SCHEDULE = api.schema("Schedule", {
    "type": "object", "required": ["key", "name", "timezone", "weekly", "exceptions", "holidays", "override"],
    "properties": {
        "key": {"type": "string"}, "name": {"type": "string"}, "timezone": {"type": "string"},
        "weekly": {"type": "object", "additionalProperties": {"type": "string"}},
        "exceptions": {"type": "array", "items": {"type": "object"}}, "holidays": {"type": ["object", "null"]},
        "override": OVERRIDE, "now": SCHEDULE_STATE}})
SCHEDULE_FIELDS: dict[str, Any] = {
    "name": {"type": "string", "minLength": 1, "maxLength": 100, "pattern": PRINTABLE},
    "timezone": {"type": "string", "minLength": 1, "maxLength": 64, "description": "IANA, e.g. Europe/Stockholm"},
    "weekly": WEEKLY, "exceptions": {"type": "array", "maxItems": 400, "items": EXCEPTION}, "holidays": HOLIDAYS}
SCHEDULE_SCHEMA_ROW = {"type": "object", "properties": {
    "key": {"type": "string"}, "name": {"type": "string"}, "timezone": {"type": "string"},
    "state": {"type": "string"}, "reason": {"type": "string"}, "overridden": {"type": "boolean"}}}

MEMBER = {"type": "object", "required": ["user"], "additionalProperties": False, "properties": {
    "user": KEY, "ring_s": {"type": "integer", "minimum": 1, "maximum": 600}}}
GROUP_FIELDS: dict[str, Any] = {
    "name": {"type": "string", "minLength": 1, "maxLength": 100, "pattern": PRINTABLE},
    "members": {"type": "array", "maxItems": 200, "items": MEMBER},
    "strategy": {"type": "string", "enum": ["sequential", "parallel"]},
    "overflow_after_s": {"type": "integer", "minimum": 0, "maximum": 86400},
    "overflow_when_empty": {"type": "boolean"},
    "waiting_prompt": {"type": ["string", "null"], "pattern": KEY["pattern"]}}
QUEUE_FIELDS: dict[str, Any] = {
    "name": {"type": "string", "minLength": 1, "maxLength": 100, "pattern": PRINTABLE},
    "members": {"type": "array", "maxItems": 500, "items": KEY},
    "strategy": {"type": "string", "enum": ["longest_idle", "round_robin", "fewest_calls", "ring_all", "priority"]},
    "wrapup_s": {"type": "integer", "minimum": 0, "maximum": 3600},
    "announce_every_s": {"type": "integer", "minimum": 0, "maximum": 3600},
    "callback_key": {"type": ["string", "null"], "enum": [*sorted(DTMF_KEYS), None]},
    "max_wait_s": {"type": "integer", "minimum": 1, "maximum": 86400},
    "join_empty": {"type": "boolean"}, "priority": {"type": "integer", "minimum": -100, "maximum": 100},
    "callback_scheduled": {"type": "boolean"},
    "callback_notify": {"type": "array", "maxItems": 20, "items": {"type": "string", "minLength": 1,
                                                                   "maxLength": 200, "pattern": PRINTABLE},
                        "description": "e-mail addresses, +E.164 numbers (SMS) and https:// webhooks"},
    "record": {"type": "boolean"}}
AGENT = api.schema("AgentState", {"type": "object", "required": ["user", "status"], "properties": {
    "user": {"type": "string"}, "status": {"type": "string",
                                           "enum": ["logged_out", "free", "busy", "paused", "wrapup", "away"]},
    "logged_in": {"type": "boolean"}, "logged_in_to": {"type": "array", "items": {"type": "string"}},
    "paused": {"type": "boolean"}, "pause_reason": {"type": "string"}, "wrapup_until": NULLABLE_STAMP,
    "on_call": {"type": "boolean"}, "calls_taken": {"type": "integer"}}})
WAITING = {"type": "object", "required": ["call_id", "position", "joined_at"], "properties": {
    "call_id": {"type": "string"}, "caller": {"type": "string"}, "position": {"type": "integer"},
    "joined_at": STAMP, "waited_s": {"type": "number"}, "callback": {"type": ["string", "null"]}}}
LIVE = {"type": ["object", "null"], "description": "live state (null: no controller in this process)",
        "properties": {"agents": {"type": "array", "items": AGENT}, "waiting": {"type": "array", "items": WAITING},
                       "logged_in": {"type": "integer"}, "free": {"type": "integer"},
                       "paused": {"type": "integer"}, "in_wrapup": {"type": "integer"},
                       "callers_waiting": {"type": "integer"}, "longest_wait_s": {"type": "number"}}}
GROUP = api.schema("AnswerGroup", {"type": "object", "required": ["key", "name", "members", "strategy"],
                                   "properties": {"key": {"type": "string"}, **GROUP_FIELDS,
                                                  "members": {"type": "array", "items": {"type": "object"}},
                                                  "live": LIVE}})
QUEUE = api.schema("Queue", {"type": "object", "required": ["key", "name", "members", "strategy"],
                             "properties": {"key": {"type": "string"}, **QUEUE_FIELDS,
                                            "callback_key": {"type": ["string", "null"]}, "live": LIVE}})
CALLBACK = api.schema("Callback", {"type": "object", "required": ["id", "queue", "number", "status"], "properties": {
    "id": {"type": "string"}, "queue": {"type": "string"}, "number": {"type": "string"},
    "status": {"type": "string", "enum": [s.value for s in CallbackStatus]}, "requested_at": STAMP,
    "joined_at": STAMP, "attempts": {"type": "integer"}, "next_attempt_at": NULLABLE_STAMP,
    "agent": {"type": ["string", "null"]}, "changed_at": STAMP, "reason": {"type": "string"}}})
LIVE_RECORDING = api.schema("LiveRecording", {"type": "object", "required": ["id", "call_id", "state"], "properties": {
    "id": {"type": "string"}, "call_id": {"type": "string"}, "state": {"type": "string",
                                                                       "enum": ["recording", "paused"]},
    "kind": {"type": "string"}, "started_at": STAMP}})
LIVE_CALL = api.schema("LiveCall", {"type": "object", "required": ["id", "caller", "dialled", "started"],
                                    "properties": {
    "id": {"type": "string"}, "caller": {"type": "string"}, "dialled": {"type": "string"}, "started": STAMP,
    "duration_s": {"type": "number"}, "path": {"type": "array", "items": {"type": "string"}},
    "queue": {"type": ["string", "null"]}, "agent": {"type": ["string", "null"]}, "answered": {"type": "boolean"},
    "recording": {"oneOf": [{"type": "null"}, LIVE_RECORDING]}}})


def _body(required: list[str], fields: dict[str, Any], *, key: bool) -> dict[str, Any]:
    props = {"key": KEY, **fields} if key else fields
    return {"type": "object", "required": required, "additionalProperties": False, "properties": props,
            **({} if key else {"minProperties": 1})}


# --- shared helpers ------------------------------------------------------------------------------


def _controller(ctx: Ctx) -> Any:
    controller = ctx_of(ctx.request).controller
    if controller is None:
        raise Problem(503, "unavailable", "Not available here",
                      "this API instance runs without a controller: live state and live actions are not here")
    return controller


def _find(items: tuple[Any, ...], key: str, what: str) -> Any:
    found = next((item for item in items if item.key == key), None)
    if found is None:
        raise not_found(f"{what} {key}")
    return found


def _stamp(epoch: float) -> datetime | None:
    return datetime.fromtimestamp(epoch, UTC) if epoch else None


def _unprocessable(field: str, message: str) -> Problem:
    return Problem(422, "invalid", "The request is not valid", message, [{"field": field, "message": message}])


def _referrers(cfg: TenantConfig, kind: str, key: str) -> list[str]:
    """Everything in the published configuration that sends calls to this schedule, group or queue."""
    found: list[str] = []
    for flow in cfg.flows:
        for node in flow.nodes:
            if ((kind == "schedule" and isinstance(node, ScheduleSwitch) and node.schedule == key)
                    or (kind == "group" and isinstance(node, GroupNode) and node.group == key)
                    or (kind == "queue" and isinstance(node, QueueNode | CallbackNode) and node.queue == key)):
                found.append(f"flow {flow.key} node {node.key}")
    wanted = Target(cast(Any, kind), key)
    if cfg.fallback == wanted:
        found.append("the tenant's fallback")
    for user in cfg.users:
        fw = user.forwarding
        if wanted in (fw.always, fw.on_busy, fw.on_no_answer) or any(r.target == wanted for r in user.presence_rules):
            found.append(f"user {user.key}'s forwarding")
    return found


def _refuse_if_used(cfg: TenantConfig, kind: str, key: str) -> None:
    users = _referrers(cfg, kind, key)
    if users:
        raise Problem(409, "in-use", f"The {kind} is in use", f"{kind} {key} is used by {', '.join(users)}",
                      [{"field": "path.key", "message": f"used by {u}"} for u in users])


async def _accounts_of(ctx: Ctx) -> tuple[dict[str, int | None], dict[str, int | None]]:
    """(user → account id, number → account id) of the signed-in administrator's tenant."""
    tenant_id = ctx.who.tenant_id

    def read() -> tuple[dict[str, int | None], dict[str, int | None]]:
        with ctx_of(ctx.request).sessions() as session:
            users = dict(session.execute(select(UserRow.key, UserRow.account_id)
                                         .where(UserRow.tenant_id == tenant_id)).tuples().all())
            numbers = dict(session.execute(select(NumberRow.number, NumberRow.account_id)
                                           .where(NumberRow.tenant_id == tenant_id)).tuples().all())
            return users, numbers
    return await ctx_of(ctx.request).db(read)


# --- schedules -----------------------------------------------------------------------------------


def _hours_text(intervals: tuple[Interval, ...]) -> str:
    return ",".join(f"{format_minutes(iv.start)}-{format_minutes(iv.end)}" for iv in intervals)


def _schedule(s: ScheduleConfig) -> dict[str, Any]:
    return {
        "key": s.key, "name": s.name, "timezone": s.timezone,
        "weekly": {DAYS[i]: _hours_text(day) for i, day in enumerate(s.weekly[:7])},
        "exceptions": [{"date": e.day.isoformat(), "hours": _hours_text(e.intervals), "name": e.name,
                        "recurs_yearly": e.recurs_yearly, "holiday": e.holiday} for e in s.exceptions],
        "holidays": None if s.holidays is None else {"country": s.holidays.country,
                                                     "categories": list(s.holidays.categories),
                                                     "exclude": list(s.holidays.exclude)},
        "override": None if s.override is None else {"state": s.override.state.value, "until": s.override.until,
                                                     "message": s.override.message},
    }


def _state(s: ScheduleConfig, at: datetime) -> dict[str, Any]:
    compiled = compile_schedule(s)
    status = compiled.state_at(at)
    return {"at": at, "state": status.state.value, "reason": status.reason, "overridden": status.overridden,
            "next_change": compiled.next_change(at)}


def _intervals(text: str, field: str) -> tuple[Interval, ...]:
    try:
        return parse_intervals(text)
    except ValueError as exc:
        raise _unprocessable(field, str(exc)) from None


def _schedule_from(body: dict[str, Any], base: ScheduleConfig) -> ScheduleConfig:
    """`base` with the fields the body gives (each replaced whole)."""
    s = replace(base, name=body.get("name", base.name), timezone=body.get("timezone", base.timezone))
    if "weekly" in body:
        week = [_intervals(body["weekly"].get(day, ""), f"body.weekly.{day}") for day in DAYS]
        s = replace(s, weekly=tuple(week))
    if "exceptions" in body:
        exceptions = []
        for i, e in enumerate(body["exceptions"]):
            try:
                day = date.fromisoformat(e["date"])
            except ValueError as exc:
                raise _unprocessable(f"body.exceptions.{i}.date", str(exc)) from None
            exceptions.append(ScheduleException(day, _intervals(e.get("hours", ""), f"body.exceptions.{i}.hours"),
                                                e.get("name", ""), recurs_yearly=e.get("recurs_yearly", False),
                                                holiday=e.get("holiday", False)))
        s = replace(s, exceptions=tuple(exceptions))
    if "holidays" in body:
        h = body["holidays"]
        s = replace(s, holidays=None if h is None else HolidayTemplate(
            h["country"], tuple(h.get("categories", ("public",))), tuple(h.get("exclude", ()))))
    return s


def _at(ctx: Ctx) -> datetime:
    raw = ctx.query.get("at")
    if raw is None:
        return ctx_of(ctx.request).clock()
    try:
        at = datetime.fromisoformat(str(raw))
    except ValueError as exc:
        raise _bad_query("at", f"not a date-time: {exc}", str(exc)) from None
    if at.tzinfo is None:
        raise _bad_query("at", "needs a UTC offset, e.g. 2026-11-24T10:00:00+01:00", "at needs a UTC offset")
    return at


def _bad_query(name: str, message: str, detail: str) -> Problem:
    """A query parameter its schema lets through but the operation cannot take: 400, naming it."""
    return Problem(400, "invalid", "The request is not valid", detail, [{"field": f"query.{name}", "message": message}])


AT = Param("at", "query", {"type": "string", "format": "date-time", "maxLength": 64},
           "the state at this instant (default: now)")


@api.op("GET", "/schedules", "Schedules, each with its state now", tag="schedules", right="view",
        params=list_params(["key", "name", "state"], [
            Param("state", "query", {"type": "string", "enum": ["open", "closed", "holiday"]})]),
        responses=list_responses(SCHEDULE_SCHEMA_ROW))
async def list_opening_schedules(ctx: Ctx) -> web.StreamResponse:
    cfg, now = await read_config(ctx), ctx_of(ctx.request).clock()
    rows = []
    for s in cfg.schedules:
        state = _state(s, now)
        rows.append({"key": s.key, "name": s.name, "timezone": s.timezone, "state": state["state"],
                     "reason": state["reason"], "overridden": state["overridden"]})
    return listing(ctx, rows, ["key", "name", "timezone", "state", "reason", "overridden"], "schedules",
                   exact=["state"])


@api.op("GET", "/schedules/{key}", "A schedule and its state now (open, closed or holiday, and why)",
        tag="schedules", right="view", params=[Param("key", "path", KEY), AT],
        responses={200: ("application/json", SCHEDULE)})
async def get_opening_schedule(ctx: Ctx) -> web.StreamResponse:
    s = _find((await read_config(ctx)).schedules, ctx.path["key"], "schedule")
    return json_response({**_schedule(s), "now": _state(s, _at(ctx))})


MAX_DAYS = 400
DAY_VIEW = api.schema("ScheduleDay", {"type": "object", "required": ["date", "kind", "open", "holidays", "reason"],
                                      "properties": {
    "date": {"type": "string", "format": "date"},
    "kind": {"type": "string", "enum": ["open", "closed", "holiday", "exception"]},
    "open": {"type": "array", "items": {"type": "string"}, "description": "open hours, e.g. 08:00-12:00"},
    "holidays": {"type": "array", "items": {"type": "object", "required": ["name", "native"], "properties": {
        "name": {"type": "string"}, "native": {"type": "string"}}}},
    "exception": {"type": ["string", "null"], "description": "the exception's name, on a day one decides"},
    "reason": {"type": "string"}}})


def _day_param(name: str, what: str) -> Param:
    return Param(name, "query", {"type": "string", "format": "date", "maxLength": 10}, what)


@api.op("GET", "/schedules/{key}/days", f"A schedule's days as planned (hours, holidays, exceptions; no override), "
        f"from a date to a date inclusive, at most {MAX_DAYS} days: for a year view", tag="schedules", right="view",
        params=[Param("key", "path", KEY), _day_param("from", "the first day (default: today in its zone)"),
                _day_param("to", "the last day (default: 364 days after the first)")],
        responses={200: ("application/json", {"type": "object", "required": ["key", "timezone", "days"],
                                              "properties": {"key": {"type": "string"},
                                                             "timezone": {"type": "string"},
                                                             "days": {"type": "array", "items": DAY_VIEW}}})})
async def schedule_days(ctx: Ctx) -> web.StreamResponse:
    s = _find((await read_config(ctx)).schedules, ctx.path["key"], "schedule")
    compiled = compile_schedule(s)
    days: dict[str, date] = {}
    for name in ("from", "to"):
        raw = ctx.query.get(name)
        if raw is not None:
            try:
                days[name] = date.fromisoformat(str(raw))
            except ValueError as exc:
                raise _bad_query(name, f"not a date (YYYY-MM-DD): {exc}", str(exc)) from None
    first = days.get("from", ctx_of(ctx.request).clock().astimezone(compiled.tz).date())
    last = days.get("to", first + timedelta(days=364))
    if last < first or (last - first).days >= MAX_DAYS:
        raise _bad_query("to", f"must be on or after from, at most {MAX_DAYS} days", f"from {first} to {last}")
    out = []
    for n in range((last - first).days + 1):
        v = compiled.describe_day(first + timedelta(days=n))
        out.append({"date": v.day.isoformat(), "kind": v.kind,
                    "open": [f"{format_minutes(a)}-{format_minutes(b)}" for a, b in v.open],
                    "holidays": [{"name": en, "native": native} for en, native in v.holidays],
                    "exception": v.exception or None, "reason": v.reason})
    return json_response({"key": s.key, "timezone": s.timezone, "days": out})


@api.op("POST", "/schedules", "Create a schedule", tag="schedules", right="flows",
        body=_body(["key", "name"], SCHEDULE_FIELDS, key=True),
        responses={201: ("application/json", SCHEDULE), **CONFLICT, **INVALID})
async def create_opening_schedule(ctx: Ctx) -> web.StreamResponse:
    key = ctx.body["key"]

    def mutate(cfg: TenantConfig) -> tuple[TenantConfig, Any, Any]:
        if any(s.key == key for s in cfg.schedules):
            raise Problem(409, "conflict", "Conflicts with an existing object", f"schedule {key} exists")
        base = ScheduleConfig(key, "", cfg.timezone, tuple(() for _ in range(7)))
        new = _schedule_from(ctx.body, base)
        return replace(cfg, schedules=(*cfg.schedules, new)), None, _schedule(new)
    after = await change_config(ctx, "create", "schedule", key, mutate)
    return json_response(after, 201)


@api.op("PATCH", "/schedules/{key}", "Change a schedule: name, time zone, weekly hours, exceptions, holidays "
        "(each given field is replaced whole)", tag="schedules", right="flows", params=[Param("key", "path", KEY)],
        body=_body([], SCHEDULE_FIELDS, key=False), responses={200: ("application/json", SCHEDULE), **INVALID})
async def update_opening_schedule(ctx: Ctx) -> web.StreamResponse:
    key = ctx.path["key"]

    def mutate(cfg: TenantConfig) -> tuple[TenantConfig, Any, Any]:
        old = _find(cfg.schedules, key, "schedule")
        new = _schedule_from(ctx.body, old)
        return (replace(cfg, schedules=tuple(new if s.key == key else s for s in cfg.schedules)),
                _schedule(old), _schedule(new))
    after = await change_config(ctx, "update", "schedule", key, mutate)
    return json_response(after)


@api.op("DELETE", "/schedules/{key}", "Delete a schedule no flow uses", tag="schedules", right="flows",
        params=[Param("key", "path", KEY)], responses={204: ("", None), **CONFLICT})
async def delete_opening_schedule(ctx: Ctx) -> web.StreamResponse:
    key = ctx.path["key"]

    def mutate(cfg: TenantConfig) -> tuple[TenantConfig, Any, Any]:
        old = _find(cfg.schedules, key, "schedule")
        _refuse_if_used(cfg, "schedule", key)
        return replace(cfg, schedules=tuple(s for s in cfg.schedules if s.key != key)), _schedule(old), None
    await change_config(ctx, "delete", "schedule", key, mutate)
    return web.Response(status=204)


@api.op("PUT", "/schedules/{key}/override", "Override a schedule by hand (\"closed until 13:00\"): new calls "
        "see it at once", tag="schedules", right="flows", params=[Param("key", "path", KEY)], body=OVERRIDE_BODY,
        responses={200: ("application/json", SCHEDULE), **INVALID})
async def set_schedule_override(ctx: Ctx) -> web.StreamResponse:
    key, now = ctx.path["key"], ctx_of(ctx.request).clock()
    until = None
    if "until" in ctx.body:
        try:
            until = datetime.fromisoformat(ctx.body["until"])
        except ValueError as exc:
            raise _unprocessable("body.until", f"not a date-time: {exc}") from None
        if until.tzinfo is None:
            raise _unprocessable("body.until", "needs a UTC offset, e.g. 2026-11-24T13:00:00+01:00")
        if until <= now:
            raise _unprocessable("body.until", "is not in the future")
    override = Override(ScheduleState(ctx.body["state"]), until, ctx.body.get("message", ""))

    def mutate(cfg: TenantConfig) -> tuple[TenantConfig, Any, Any]:
        old = _find(cfg.schedules, key, "schedule")
        new = replace(old, override=override)
        return (replace(cfg, schedules=tuple(new if s.key == key else s for s in cfg.schedules)),
                _schedule(old)["override"], _schedule(new)["override"])
    await change_config(ctx, "update", "schedule_override", key, mutate)
    s = _find((await read_config(ctx)).schedules, key, "schedule")
    log.info("schedule overridden", extra={"event": "schedule_override", "tenant": ctx.who.tenant, "schedule": key,
                                           "state": override.state.value, "until": str(until), "by": ctx.who.login})
    return json_response({**_schedule(s), "now": _state(s, now)})


@api.op("DELETE", "/schedules/{key}/override", "Remove a schedule's override: its hours apply again",
        tag="schedules", right="flows", params=[Param("key", "path", KEY)], responses={204: ("", None)})
async def clear_schedule_override(ctx: Ctx) -> web.StreamResponse:
    key = ctx.path["key"]
    s = _find((await read_config(ctx)).schedules, key, "schedule")
    if s.override is None:
        return web.Response(status=204)  # nothing to remove: no new version, nothing to audit

    def mutate(cfg: TenantConfig) -> tuple[TenantConfig, Any, Any]:
        old = _find(cfg.schedules, key, "schedule")
        new = replace(old, override=None)
        return (replace(cfg, schedules=tuple(new if s.key == key else s for s in cfg.schedules)),
                _schedule(old)["override"], None)
    await change_config(ctx, "delete", "schedule_override", key, mutate)
    return web.Response(status=204)


# --- live state of agents ------------------------------------------------------------------------


async def _agents(controller: Any, tenant: str, ref: str, members: tuple[str, ...]) -> list[dict[str, Any]]:
    """Each member's state for `ref` ("queue:KEY", "group:KEY"), decided as the wallboard decides it."""
    store, acd = controller.store, controller.acd
    now = acd.now()
    ttl = float(getattr(acd, "reserve_ttl_s", 90.0))
    on_call = {c.agent for c in list(acd.callers.values()) if c.tenant == tenant and c.agent is not None
               and c.answered}
    rows = []
    for user in members:
        a: AgentState = await store.agent(tenant, user)
        spans = tuple((s[0], s[1], s[2]) for s in presence_spans(await store.presence_entries(tenant, user)))
        status = agent_state(AgentLive(a, await store.line(tenant, user), spans, user in on_call), ref, now, ttl)
        rows.append({"user": a.user, "status": status, "logged_in": ref in a.logged_in,
                     "logged_in_to": sorted(a.logged_in), "paused": a.paused, "pause_reason": a.pause_reason,
                     "wrapup_until": _stamp(a.wrapup_until) if a.in_wrapup(now) else None,
                     "on_call": user in on_call, "calls_taken": a.calls_taken})
    return rows


async def _live(controller: Any, tenant: str, kind: str, key: str, members: tuple[str, ...]) -> dict[str, Any]:
    now = controller.acd.now()
    agents = await _agents(controller, tenant, f"{kind}:{key}", members)
    waiting = await controller.store.waiting(tenant, key) if kind == "queue" else []
    rows = [{"call_id": e.call_id, "caller": e.caller, "position": n, "joined_at": _stamp(e.joined_at),
             "waited_s": round(max(0.0, now - e.joined_at), 1), "callback": e.callback}
            for n, e in enumerate(waiting, start=1)]
    count = {s: sum(1 for a in agents if a["status"] == s) for s in ("free", "paused", "wrapup")}
    return {"agents": agents, "waiting": rows, "logged_in": sum(1 for a in agents if a["logged_in"]),
            "free": count["free"], "paused": count["paused"], "in_wrapup": count["wrapup"],
            "callers_waiting": len(rows), "longest_wait_s": max((r["waited_s"] for r in rows), default=0.0)}


# --- answer groups and queues --------------------------------------------------------------------


def _group(g: GroupConfig) -> dict[str, Any]:
    return {"key": g.key, "name": g.name, "members": [{"user": m.user, "ring_s": m.ring_s} for m in g.members],
            "strategy": g.strategy, "overflow_after_s": g.overflow_after_s,
            "overflow_when_empty": g.overflow_when_empty, "waiting_prompt": g.waiting_prompt}


def _queue(q: QueueConfig) -> dict[str, Any]:
    return {"key": q.key, "name": q.name, "members": list(q.members), "strategy": q.strategy,
            "wrapup_s": q.wrapup_s, "announce_every_s": q.announce_every_s, "callback_key": q.callback_key,
            "max_wait_s": q.max_wait_s, "join_empty": q.join_empty, "priority": q.priority,
            "callback_scheduled": q.callback_scheduled, "callback_notify": list(q.callback_notify), "record": q.record}


def _group_from(body: dict[str, Any], base: GroupConfig) -> GroupConfig:
    changes = {k: v for k, v in body.items() if k in GROUP_FIELDS and k != "members"}
    if "members" in body:
        changes["members"] = tuple(GroupMember(m["user"], m.get("ring_s", 20)) for m in body["members"])
    return replace(base, **changes)


def _queue_from(body: dict[str, Any], base: QueueConfig) -> QueueConfig:
    changes = {k: v for k, v in body.items() if k in QUEUE_FIELDS}
    for name in ("members", "callback_notify"):
        if name in changes:
            changes[name] = tuple(changes[name])
    return replace(base, **changes)


def _duplicates(users: list[str], field: str) -> None:
    seen: set[str] = set()
    for user in users:
        if user in seen:
            raise _unprocessable(field, f"{user} is listed twice")
        seen.add(user)


class _Kind:
    """What differs between answer groups and queues; the operations are the same."""

    def __init__(self, name: str, plural: str, attr: str) -> None:
        self.name, self.plural, self.attr = name, plural, attr

    def items(self, cfg: TenantConfig) -> tuple[Any, ...]:
        return cast(tuple[Any, ...], getattr(cfg, self.attr))

    def put(self, cfg: TenantConfig, items: tuple[Any, ...]) -> TenantConfig:
        changes: dict[str, Any] = {self.attr: items}
        return replace(cfg, **changes)

    def show(self, item: Any) -> dict[str, Any]:
        return _group(item) if self.name == "group" else _queue(item)

    def members(self, item: Any) -> tuple[str, ...]:
        return tuple(m.user for m in item.members) if self.name == "group" else tuple(item.members)

    def build(self, body: dict[str, Any], base: Any) -> Any:
        if "members" in body:
            _duplicates([m["user"] if isinstance(m, dict) else m for m in body["members"]], "body.members")
        return _group_from(body, base) if self.name == "group" else _queue_from(body, base)

    def blank(self, key: str) -> Any:
        return GroupConfig(key, "", ()) if self.name == "group" else QueueConfig(key, "", ())

    def with_member(self, item: Any, body: dict[str, Any]) -> Any:
        if self.name == "group":
            return replace(item, members=(*item.members, GroupMember(body["user"], body.get("ring_s", 20))))
        return replace(item, members=(*item.members, body["user"]))

    def without_member(self, item: Any, user: str) -> Any:
        if self.name == "group":
            return replace(item, members=tuple(m for m in item.members if m.user != user))
        return replace(item, members=tuple(m for m in item.members if m != user))


GROUPS, QUEUES = _Kind("group", "groups", "groups"), _Kind("queue", "queues", "queues")


def _register(kind: _Kind, schema: dict[str, Any], fields: dict[str, Any], member_body: dict[str, Any]) -> None:
    tag, base = kind.plural, f"/{kind.plural}"
    label = "answer group" if kind.name == "group" else "queue"

    async def listed(ctx: Ctx) -> web.StreamResponse:
        rows = [kind.show(item) for item in kind.items(await read_config(ctx))]
        return listing(ctx, rows, ["key", "name", "strategy", "members"], kind.plural)

    async def one(ctx: Ctx) -> web.StreamResponse:
        item = _find(kind.items(await read_config(ctx)), ctx.path["key"], label)
        controller = ctx_of(ctx.request).controller
        live = None if controller is None else await _live(controller, ctx.who.tenant, kind.name, item.key,
                                                            kind.members(item))
        return json_response({**kind.show(item), "live": live})

    async def create(ctx: Ctx) -> web.StreamResponse:
        key = ctx.body["key"]

        def mutate(cfg: TenantConfig) -> tuple[TenantConfig, Any, Any]:
            if any(item.key == key for item in kind.items(cfg)):
                raise Problem(409, "conflict", "Conflicts with an existing object", f"{label} {key} exists")
            new = kind.build(ctx.body, kind.blank(key))
            return kind.put(cfg, (*kind.items(cfg), new)), None, kind.show(new)
        return json_response(await change_config(ctx, "create", kind.name, key, mutate), 201)

    async def update(ctx: Ctx) -> web.StreamResponse:
        key = ctx.path["key"]

        def mutate(cfg: TenantConfig) -> tuple[TenantConfig, Any, Any]:
            old = _find(kind.items(cfg), key, label)
            new = kind.build(ctx.body, old)
            return (kind.put(cfg, tuple(new if i.key == key else i for i in kind.items(cfg))), kind.show(old),
                    kind.show(new))
        return json_response(await change_config(ctx, "update", kind.name, key, mutate))

    async def delete(ctx: Ctx) -> web.StreamResponse:
        key = ctx.path["key"]

        def mutate(cfg: TenantConfig) -> tuple[TenantConfig, Any, Any]:
            old = _find(kind.items(cfg), key, label)
            _refuse_if_used(cfg, kind.name, key)
            return kind.put(cfg, tuple(i for i in kind.items(cfg) if i.key != key)), kind.show(old), None
        await change_config(ctx, "delete", kind.name, key, mutate)
        return web.Response(status=204)

    async def add_member(ctx: Ctx) -> web.StreamResponse:
        key, user = ctx.path["key"], ctx.body["user"]

        def mutate(cfg: TenantConfig) -> tuple[TenantConfig, Any, Any]:
            old = _find(kind.items(cfg), key, label)
            if user in kind.members(old):
                raise Problem(409, "conflict", "Already a member", f"{user} is a member of {label} {key} already")
            new = kind.with_member(old, ctx.body)
            return (kind.put(cfg, tuple(new if i.key == key else i for i in kind.items(cfg))), kind.show(old),
                    kind.show(new))
        return json_response(await change_config(ctx, "update", f"{kind.name}_member", f"{key}/{user}", mutate), 201)

    async def remove_member(ctx: Ctx) -> web.StreamResponse:
        key, user = ctx.path["key"], ctx.path["user"]

        def mutate(cfg: TenantConfig) -> tuple[TenantConfig, Any, Any]:
            old = _find(kind.items(cfg), key, label)
            if user not in kind.members(old):
                raise not_found(f"member {user} of {label} {key}")
            new = kind.without_member(old, user)
            return (kind.put(cfg, tuple(new if i.key == key else i for i in kind.items(cfg))), kind.show(old),
                    kind.show(new))
        await change_config(ctx, "delete", f"{kind.name}_member", f"{key}/{user}", mutate)
        controller = ctx_of(ctx.request).controller
        if controller is not None and f"{kind.name}:{key}" in (await controller.store.agent(ctx.who.tenant,
                                                                                         user)).logged_in:
            # logins outlive the configuration: one left behind would still bring this queue's calls
            await controller.store.logout(ctx.who.tenant, user, kind.name, key, by=ctx.who.login)
        return web.Response(status=204)

    path_key = [Param("key", "path", KEY)]
    for handler, name in ((listed, f"list_{kind.plural}"), (one, f"get_{kind.name}"),
                          (create, f"create_{kind.name}"), (update, f"update_{kind.name}"),
                          (delete, f"delete_{kind.name}"), (add_member, f"add_{kind.name}_member"),
                          (remove_member, f"remove_{kind.name}_member")):
        handler.__name__ = name
    api.op("GET", base, f"{label.capitalize()}s", tag=tag, right="view",
           params=list_params(["key", "name", "strategy"]), responses=list_responses(schema))(listed)
    api.op("GET", base + "/{key}", f"One {label}, with its agents and callers now (when a controller runs here)",
           tag=tag, right="view", params=path_key, responses={200: ("application/json", schema)})(one)
    api.op("POST", base, f"Create an {label}" if label[0] == "a" else f"Create a {label}", tag=tag, right="flows",
           body=_body(["key", "name"], fields, key=True),
           responses={201: ("application/json", schema), **CONFLICT, **INVALID})(create)
    api.op("PATCH", base + "/{key}", f"Change a {label} (each given field is replaced whole)", tag=tag,
           right="flows", params=path_key, body=_body([], fields, key=False),
           responses={200: ("application/json", schema), **INVALID})(update)
    api.op("DELETE", base + "/{key}", f"Delete a {label} nothing refers to", tag=tag, right="flows",
           params=path_key, responses={204: ("", None), **CONFLICT})(delete)
    api.op("POST", base + "/{key}/members", f"Add a member to a {label}", tag=tag, right="flows", params=path_key,
           body=member_body, responses={201: ("application/json", schema), **CONFLICT, **INVALID})(add_member)
    api.op("DELETE", base + "/{key}/members/{user}", f"Remove a member from a {label}", tag=tag, right="flows",
           params=[*path_key, Param("user", "path", KEY)], responses={204: ("", None)})(remove_member)


_register(GROUPS, GROUP, GROUP_FIELDS, MEMBER)
_register(QUEUES, QUEUE, QUEUE_FIELDS, {"type": "object", "required": ["user"], "additionalProperties": False,
                                        "properties": {"user": KEY}})


# --- agents: log in, out, pause, unpause, end wrap-up --------------------------------------------


async def _agent_target(ctx: Ctx, kind: _Kind) -> tuple[Any, str, str]:
    """(controller, "queue:KEY", user) after every check: right or self, tenant, account, membership."""
    key, user, who = ctx.path["key"], ctx.path["user"], ctx.who
    if not who.can("agents") and who.user_key != user:
        raise forbidden("agents")  # or be that user: an agent acts for themself with "view"
    label = "answer group" if kind.name == "group" else "queue"
    item = _find(kind.items(await read_config(ctx)), key, label)
    if user not in kind.members(item):
        raise not_found(f"member {user} of {label} {key}")
    if who.accounts is not None and who.user_key != user:
        users, _ = await _accounts_of(ctx)
        if users.get(user) not in who.accounts:
            raise not_found(f"member {user} of {label} {key}")
    return _controller(ctx), f"{kind.name}:{key}", user


async def _agent_now(controller: Any, tenant: str, user: str, ref: str) -> dict[str, Any]:
    return (await _agents(controller, tenant, ref, (user,)))[0]


def _agent_problem(exc: AgentError) -> Problem:
    if exc.code in ("unknown-user", "not-a-member", "unknown-tenant", "unknown-callback"):
        return not_found(str(exc))
    return _unprocessable("body.reason" if exc.code == "bad-reason" else "body", str(exc))


def _register_agents(kind: _Kind) -> None:
    base = f"/{kind.plural}/{{key}}/{'agents' if kind.name == 'queue' else 'members'}/{{user}}"
    params = [Param("key", "path", KEY), Param("user", "path", KEY)]
    what = "queue" if kind.name == "queue" else "answer group"

    def action(verb: str, summary: str, body: dict[str, Any] | None = None, whole: bool = False) -> None:
        async def handler(ctx: Ctx) -> web.StreamResponse:
            controller, ref, user = await _agent_target(ctx, kind)
            tenant, by, acd = ctx.who.tenant, ctx.who.login, controller.acd
            before = await _agent_now(controller, tenant, user, ref)
            try:
                if verb == "login":
                    await acd.agent_login(tenant, user, ref, by=by)
                elif verb == "logout":
                    await acd.agent_logout(tenant, user, ref, by=by)
                elif verb == "pause":
                    await acd.agent_pause(tenant, user, ctx.body["reason"], by=by)
                elif verb == "unpause":
                    await acd.agent_unpause(tenant, user, by=by)
                elif not await acd.end_wrapup(tenant, user, by=by):
                    raise Problem(409, "not-in-wrapup", "Not in wrap-up", f"{user} is not in wrap-up")
            except AgentError as exc:
                raise _agent_problem(exc) from None
            after = await _agent_now(controller, tenant, user, ref)
            await _record(ctx_of(ctx.request), ctx.who, verb, "agent", f"{ref}/{user}", before, after)
            log.info("agent action", extra={"event": f"agent_{verb}", "tenant": tenant, "agent": user, "member": ref,
                                            "by": by})
            return json_response(after)
        handler.__name__ = f"{verb}_{kind.name}_agent".replace("-", "_")
        note = " (every queue and group of the agent)" if whole else ""
        api.op("POST", f"{base}/{verb}", summary + note, tag="agents", right="view", params=params, body=body,
               responses={200: ("application/json", AGENT), **UNAVAILABLE,
                          **(CONFLICT if verb == "end-wrapup" else {}), **(INVALID if body else {})})(handler)

    action("login", f"Log an agent in to this {what} (the right agents, or the agent themself)")
    action("logout", f"Log an agent out of this {what} (the right agents, or the agent themself)")
    if kind.name == "queue":
        action("pause", "Pause an agent with a reason", whole=True, body={
            "type": "object", "required": ["reason"], "additionalProperties": False,
            "properties": {"reason": {"type": "string", "minLength": 1, "maxLength": 64, "pattern": PRINTABLE}}})
        action("unpause", "End an agent's pause", whole=True)
        action("end-wrapup", "End an agent's wrap-up now: ready for the next call")


_register_agents(QUEUES)
_register_agents(GROUPS)


# --- callbacks -----------------------------------------------------------------------------------


def _callback(cb: CallbackRequest) -> dict[str, Any]:
    return {"id": cb.call_id, "queue": cb.queue, "number": cb.number, "status": cb.status.value,
            "requested_at": _stamp(cb.requested_at), "joined_at": _stamp(cb.joined_at), "attempts": cb.attempts,
            "next_attempt_at": _stamp(cb.next_attempt_at), "agent": cb.agent, "changed_at": _stamp(cb.changed_at),
            "reason": cb.reason}


WITH_AGENT = frozenset({CallbackStatus.AGENT_RESERVED, CallbackStatus.AGENT_CALLED, CallbackStatus.CUSTOMER_DIALLED,
                        CallbackStatus.CONNECTED})


@api.op("GET", "/callbacks", "Callback requests: waiting, booked, in progress, done, failed, cancelled",
        tag="callbacks", right="view", params=list_params(["requested_at", "queue", "status", "number"], [
            Param("queue", "query", KEY),
            Param("status", "query", {"type": "string", "enum": [s.value for s in CallbackStatus]})]),
        responses={**list_responses(CALLBACK), **UNAVAILABLE})
async def list_callbacks(ctx: Ctx) -> web.StreamResponse:
    callbacks = await _controller(ctx).store.callbacks(ctx.who.tenant)
    return listing(ctx, [_callback(cb) for cb in callbacks],
                   ["requested_at", "queue", "number", "status", "attempts", "agent", "next_attempt_at", "reason",
                    "id"], "callbacks", exact=["queue", "status"])


async def _one_callback(ctx: Ctx) -> tuple[Any, CallbackRequest]:
    controller = _controller(ctx)
    cb = await controller.store.callback(ctx.who.tenant, ctx.path["id"])
    if cb is None:
        raise not_found(f"callback {ctx.path['id']}")
    return controller, cb


@api.op("GET", "/callbacks/{id}", "One callback request", tag="callbacks", right="view",
        params=[Param("id", "path", CALL_ID)], responses={200: ("application/json", CALLBACK), **UNAVAILABLE})
async def get_callback(ctx: Ctx) -> web.StreamResponse:
    return json_response(_callback((await _one_callback(ctx))[1]))


TAKE_REFUSED = {"not-waiting": "not-waiting", "taken": "taken", "busy": "agent-busy", "in-wrapup": "agent-in-wrapup",
                "not-a-member": "not-a-member"}


@api.op("POST", "/callbacks/{id}/take", "An agent takes a waiting callback out of turn: their phone rings, then the "
        "customer's (the agent themself, or for `agent` with the right agents)", tag="callbacks", right="view",
        params=[Param("id", "path", CALL_ID)],
        body={"type": "object", "additionalProperties": False, "properties": {"agent": KEY}},
        responses={200: ("application/json", CALLBACK), **CONFLICT, **INVALID, **UNAVAILABLE})
async def take_callback(ctx: Ctx) -> web.StreamResponse:
    who = ctx.who
    controller, cb = await _one_callback(ctx)
    user = ctx.body.get("agent") or who.user_key
    if user is None:
        raise _unprocessable("body.agent", "you are not a user: name the agent who takes it")
    if user != who.user_key:
        if not who.can("agents"):
            raise forbidden("agents")  # or be that agent
        if who.accounts is not None and (await _accounts_of(ctx))[0].get(user) not in who.accounts:
            raise not_found(f"user {user}")
    try:
        taken = await controller.acd.take_callback(who.tenant, user, cb.call_id)
    except AgentError as exc:
        if exc.code in TAKE_REFUSED:
            raise Problem(409, TAKE_REFUSED[exc.code], "The callback cannot be taken now", str(exc)) from None
        if exc.code == "no-switch":
            raise Problem(503, "asterisk-unavailable", "Asterisk is not connected", str(exc)) from None
        raise _agent_problem(exc) from None
    await _record(ctx_of(ctx.request), who, "take", "callback", cb.call_id, _callback(cb), _callback(taken))
    log.info("callback taken by hand", extra={"event": "callback_taken", "tenant": who.tenant, "call": cb.call_id,
                                              "agent": user, "by": who.login})
    return json_response(_callback(taken))


@api.op("POST", "/callbacks/{id}/cancel", "Cancel a callback request no agent has taken yet (it stays listed)",
        tag="callbacks", right="agents", params=[Param("id", "path", CALL_ID)],
        body={"type": "object", "additionalProperties": False, "properties": {
            "reason": {"type": "string", "maxLength": 200, "pattern": PRINTABLE}}},
        responses={200: ("application/json", CALLBACK), **CONFLICT, **UNAVAILABLE})
async def cancel_callback(ctx: Ctx) -> web.StreamResponse:
    controller, cb = await _one_callback(ctx)
    if cb.status in FINAL_CALLBACK_STATUSES:
        raise Problem(409, "settled", "The callback is settled", f"callback {cb.call_id} is {cb.status.value}")
    if cb.status in WITH_AGENT:
        raise Problem(409, "in-progress", "An agent is on it", f"{cb.agent} is making callback {cb.call_id} now")
    reason = (ctx.body.get("reason") or "").strip() or f"cancelled by {ctx.who.login}"
    cancelled = cbm.cancel(cb, controller.acd.now(), reason)
    if not await controller.store.save_callback(cancelled, [cb.status]):
        raise Problem(409, "changed", "The callback changed meanwhile", "read it again and retry")
    await controller.store.dequeue(ctx.who.tenant, cb.queue, cb.call_id)  # its place in line goes too
    keeper = controller.acd.callers.get(cb.call_id)
    if keeper is not None and keeper.agent is None:
        controller.acd.callers.pop(cb.call_id, None)
    controller.acd.scheduled.pop((ctx.who.tenant, cb.call_id), None)
    await _record(ctx_of(ctx.request), ctx.who, "cancel", "callback", cb.call_id, _callback(cb), _callback(cancelled))
    log.info("callback cancelled", extra={"event": "callback_cancelled", "tenant": ctx.who.tenant,
                                          "call": cb.call_id, "by": ctx.who.login})
    return json_response(_callback(cancelled))


# --- live calls ----------------------------------------------------------------------------------


def _live_recording(rec: LiveRecording) -> dict[str, Any]:
    return {"id": rec.id, "call_id": rec.call_id, "state": rec.state, "kind": rec.kind, "started_at": rec.started_at}


def _call(controller: Any, rec: Any) -> dict[str, Any]:
    waiting = controller.acd.callers.get(rec.uniqueid)
    recording = controller.recordings.of_call(rec.tenant, rec.uniqueid)
    now = controller.clock()
    return {"id": rec.uniqueid, "caller": rec.caller, "dialled": rec.dialled, "started": rec.started,
            "duration_s": round(max(0.0, (now - rec.started).total_seconds()), 1), "path": list(rec.path),
            "queue": waiting.queue if waiting else None, "agent": waiting.agent if waiting else None,
            "answered": bool(waiting and waiting.answered),
            "recording": _live_recording(recording) if recording is not None else None}


async def _calls(ctx: Ctx) -> tuple[Any, list[Any]]:
    """The tenant's calls in progress that the administrator reaches."""
    controller, who = _controller(ctx), ctx.who
    calls = [rec for rec in list(controller.calls.live.values()) if rec.tenant == who.tenant]
    reach = who.accounts
    if reach is not None and calls:
        users, numbers = await _accounts_of(ctx)

        def reached(rec: Any) -> bool:
            waiting = controller.acd.callers.get(rec.uniqueid)
            agent = waiting.agent if waiting else None
            return numbers.get(rec.dialled) in reach or (agent is not None and users.get(agent) in reach)
        calls = [rec for rec in calls if reached(rec)]
    return controller, calls


async def _one_call(ctx: Ctx) -> tuple[Any, Any]:
    controller, calls = await _calls(ctx)
    found = next((rec for rec in calls if rec.uniqueid == ctx.path["id"]), None)
    if found is None:
        raise not_found(f"call {ctx.path['id']} in progress")
    return controller, found


@api.op("GET", "/calls", "Calls in progress: caller, number dialled, path so far, queue and agent",
        tag="calls", right="view", params=list_params(["started", "caller", "dialled", "queue", "agent"], [
            Param("queue", "query", KEY), Param("agent", "query", KEY)]),
        responses={**list_responses(LIVE_CALL), **UNAVAILABLE})
async def list_live_calls(ctx: Ctx) -> web.StreamResponse:
    controller, calls = await _calls(ctx)
    return listing(ctx, [_call(controller, rec) for rec in calls],
                   ["started", "caller", "dialled", "queue", "agent", "answered", "duration_s", "id", "path"],
                   "calls", exact=["queue", "agent"])


@api.op("GET", "/calls/{id}", "One call in progress", tag="calls", right="view",
        params=[Param("id", "path", CALL_ID)], responses={200: ("application/json", LIVE_CALL), **UNAVAILABLE})
async def get_live_call(ctx: Ctx) -> web.StreamResponse:
    controller, rec = await _one_call(ctx)
    return json_response(_call(controller, rec))


def _ami(controller: Any) -> Any:
    ami = controller.ami
    if ami is None or not ami.connected:
        raise Problem(503, "asterisk-unavailable", "Asterisk is not connected", "try again shortly")
    return ami


@api.op("DELETE", "/calls/{id}", "Hang up a call in progress", tag="calls", right="agents",
        params=[Param("id", "path", CALL_ID)], responses={204: ("", None), **UNAVAILABLE})
async def hang_up_call(ctx: Ctx) -> web.StreamResponse:
    controller, rec = await _one_call(ctx)
    before = _call(controller, rec)
    ami = _ami(controller)
    try:
        channels = await ami.core_show_channels()
        channel = next((m.get("Channel") for m in channels if m.get("Uniqueid") == rec.uniqueid), None)
        if not channel:
            raise not_found(f"call {rec.uniqueid} in progress (it has ended)")
        await ami.hangup(channel)
    except AMIActionError as exc:  # "No such channel": it ended between the list and the hangup
        raise not_found(f"call {rec.uniqueid} in progress ({exc.reason})") from None
    except AMIError as exc:
        raise Problem(503, "asterisk-unavailable", "Asterisk did not answer", str(exc)) from None
    await _record(ctx_of(ctx.request), ctx.who, "hangup", "call", rec.uniqueid, before, None)
    log.info("call hung up by an administrator", extra={"event": "call_hangup", "tenant": ctx.who.tenant,
                                                         "call": rec.uniqueid, "by": ctx.who.login})
    return web.Response(status=204)


TRANSFER_BODY = {"type": "object", "required": ["to", "mode"], "additionalProperties": False, "properties": {
    "to": {"type": "string", "pattern": "^[0-9*#+]{2,32}$",
           "description": "a colleague's extension, a number of the tenant, or an outside number: decided as a call "
                          "from the phone of the user on the call (presence, forwarding, barring, caller ID)"},
    "mode": {"type": "string", "enum": ["blind", "attended"],
             "description": "blind: the caller goes to `to` at once; attended: the caller waits on hold while the "
                            "user's phone calls `to`, and the transfer completes when the user hangs up (no answer "
                            "within 15 s: the user is back with the caller)"}}}
TRANSFER = api.schema("Transfer", {"type": "object", "required": ["call_id", "mode", "to", "transferer"],
                                   "properties": {
    "call_id": {"type": "string"}, "mode": {"type": "string", "enum": ["blind", "attended"]},
    "to": {"type": "string"}, "transferer": {"type": "string", "description": "the user whose phone transfers"}}})


def _transfer_problem(exc: TransferError) -> Problem:
    if exc.code == "not-found":
        return not_found(str(exc))
    if exc.code == "asterisk-unavailable":
        return Problem(503, "asterisk-unavailable", "Asterisk is not connected", str(exc))
    if exc.code == "not-answered":
        return Problem(409, "not-answered", "Nobody has the caller yet", str(exc))
    return Problem(409, "not-a-user", "The call is not with a user's phone", str(exc))


@api.op("POST", "/calls/{id}/transfer", "Transfer a call in progress from the user who has it: blind, or attended "
        "(U-08); the call keeps its record", tag="calls", right="agents", params=[Param("id", "path", CALL_ID)],
        body=TRANSFER_BODY, responses={202: ("application/json", TRANSFER), **CONFLICT, **INVALID, **UNAVAILABLE})
async def transfer_call(ctx: Ctx) -> web.StreamResponse:
    controller, rec = await _one_call(ctx)
    before = _call(controller, rec)
    to, mode = ctx.body["to"], ctx.body["mode"]
    try:
        result = await controller.transfer(ctx.who.tenant, rec.uniqueid, to, mode)
    except TransferError as exc:
        raise _transfer_problem(exc) from None
    except AMIActionError as exc:  # it ended or left its bridge between the look and the transfer
        if "does not exist" in exc.reason:
            raise not_found(f"call {rec.uniqueid} in progress ({exc.reason})") from None
        raise Problem(409, "not-transferable", "Asterisk refused the transfer", exc.reason) from None
    except AMIError as exc:
        raise Problem(503, "asterisk-unavailable", "Asterisk did not answer", str(exc)) from None
    await _record(ctx_of(ctx.request), ctx.who, "transfer", "call", rec.uniqueid, before, result)
    log.info("call transferred by an administrator", extra={
        "event": "call_transfer", "tenant": ctx.who.tenant, "call": rec.uniqueid, "mode": mode, "to": to,
        "by": ctx.who.login})
    return json_response(result, 202)


# --- recording a live call -----------------------------------------------------------------------


def _recording_problem(exc: RecordingError) -> Problem:
    if exc.code == "not-found":
        return not_found(str(exc))
    if exc.code == "already-recording":
        return Problem(409, "already-recording", "The call is being recorded already", str(exc))
    return Problem(503, "asterisk-unavailable", "Asterisk is not connected", str(exc))


async def _recording_of(ctx: Ctx) -> tuple[Any, Any, LiveRecording]:
    controller, call = await _one_call(ctx)
    rec = controller.recordings.of_call(ctx.who.tenant, call.uniqueid)
    if rec is None:
        raise not_found(f"recording in progress on call {call.uniqueid}")
    return controller, call, rec


RECORDING_PARAMS = [Param("id", "path", CALL_ID)]


@api.op("POST", "/calls/{id}/recording", "Start recording a call in progress", tag="calls", right="recordings",
        params=RECORDING_PARAMS, responses={201: ("application/json", LIVE_RECORDING), **CONFLICT, **UNAVAILABLE})
async def start_call_recording(ctx: Ctx) -> web.StreamResponse:
    controller, call = await _one_call(ctx)
    try:
        rec = await controller.start_recording(ctx.who.tenant, call.uniqueid)
    except RecordingError as exc:
        raise _recording_problem(exc) from None
    except AMIError as exc:
        raise Problem(503, "asterisk-unavailable", "Asterisk did not start the recording", str(exc)) from None
    await _record(ctx_of(ctx.request), ctx.who, "create", "call_recording", call.uniqueid, None, _live_recording(rec))
    return json_response(_live_recording(rec), 201)


@api.op("PATCH", "/calls/{id}/recording", "Pause or resume a call's recording (paused stretches are silence)",
        tag="calls", right="recordings", params=RECORDING_PARAMS,
        body={"type": "object", "required": ["state"], "additionalProperties": False, "properties": {
            "state": {"type": "string", "enum": ["paused", "recording"]}}},
        responses={200: ("application/json", LIVE_RECORDING), **UNAVAILABLE})
async def change_call_recording(ctx: Ctx) -> web.StreamResponse:
    controller, call, rec = await _recording_of(ctx)
    try:
        if ctx.body["state"] == "paused":
            after = await controller.recordings.pause(ctx.who.tenant, rec.id)
        else:
            after = await controller.recordings.resume(ctx.who.tenant, rec.id)
    except RecordingError as exc:
        raise _recording_problem(exc) from None
    except AMIError as exc:
        raise Problem(503, "asterisk-unavailable", "Asterisk did not change the recording", str(exc)) from None
    await _record(ctx_of(ctx.request), ctx.who, "update", "call_recording", call.uniqueid, _live_recording(rec),
                  _live_recording(after))
    return json_response(_live_recording(after))


@api.op("DELETE", "/calls/{id}/recording", "Stop a call's recording; the recording is kept and listed",
        tag="calls", right="recordings", params=RECORDING_PARAMS, responses={204: ("", None), **UNAVAILABLE})
async def stop_call_recording(ctx: Ctx) -> web.StreamResponse:
    controller, call, rec = await _recording_of(ctx)
    try:
        await controller.recordings.stop(ctx.who.tenant, rec.id)
    except RecordingError as exc:
        raise _recording_problem(exc) from None
    except AMIError as exc:
        raise Problem(503, "asterisk-unavailable", "Asterisk did not stop the recording", str(exc)) from None
    await _record(ctx_of(ctx.request), ctx.who, "delete", "call_recording", call.uniqueid, _live_recording(rec), None)
    return web.Response(status=204)

