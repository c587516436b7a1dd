"""The live wallboard: a WebSocket stream of queue and agent state, and per-queue alarm thresholds.

GET /wallboard is one snapshot as JSON; GET /wallboard/stream upgrades to a WebSocket that sends a snapshot
at once, then a new one when the figures change (looked at every second, and at once on a live-store
event), alarms as they are raised and cleared, and a heartbeat when there is nothing else to say. The stream
re-checks its sign-in every few seconds and closes (4401) once the session is signed out or expired, or
(4403) when the right "view" was taken away. A browser sends its session cookie with any WebSocket
handshake, even one a foreign page opens, so a cookie-signed handshake must come from our own origin.

Thresholds (/queues/{key}/alarms) need the right "reports": they are supervision, like the reports. An
account administrator sees the queues with a member in their account subtree; queues belong to the tenant.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from aiohttp import WSMsgType, web
from sqlalchemy import select
from sqlalchemy.orm import Session

from admin_api.app import CTX, KEY, NULLABLE_STAMP, STAMP, _token_of, api, ctx_of
from admin_api.auth import Principal, audit
from admin_api.core import PROBLEM, Ctx, Param, Problem, json_response, not_found
from admin_api.lists import list_params, list_responses, listing
from pbx.db.models import QueueMemberRow, QueueRow, UserRow
from pbx.stats.alarm_models import QueueAlarmRow
from pbx.stats.alarms import CLEARED_EVENT, METRICS, RAISED_EVENT, AlarmWatcher, rule_problems
from pbx.stats.wallboard import AGENT_STATES, QueueBoard, TodayCounts, read_live
from pbx.stats.wallboard import board as build_board

log = logging.getLogger("admin_api.wallboard")

SNAPSHOT_EVERY_S = 1.0
HEARTBEAT_EVERY_S = 15.0
RECHECK_SIGN_IN_S = 2.0
CLOSE_SIGNED_OUT = 4401  # application close codes (4000–4999)
CLOSE_FORBIDDEN = 4403
CLOSE_TRY_AGAIN = 1013


class WallboardWatcher(AlarmWatcher):
    """The alarm watcher with today's answered and missed callers taken from the call records and this
    controller's calls not written yet (pbx.stats.wallboard.TodayCounts), not from an in-process tally of the
    store's events: a restart, or another instance on the same database, shows the same counts."""

    def __init__(self, controller: Any, sessions: Callable[[], Session], **kw: Any) -> None:
        super().__init__(controller, sessions, **kw)
        writer = getattr(controller, "record_writer", None)
        # the records are where this controller writes them (the API's database when it writes none)
        self.counts = TodayCounts(controller.records, writer.store.sessions if writer is not None else sessions)

    async def boards(self, tenant: str) -> tuple[float, list[QueueBoard]] | None:
        cached = self._boards.get(tenant)
        if cached is not None and time.monotonic() - cached[0] < self.board_cache_s:
            return cached[1], cached[2]
        table = self.controller.tables.table.tenants.get(tenant)
        if table is None:
            return None
        now = self.now()
        today = await self.counts.today(tenant, now, self.tz(tenant)) if table.queues else {}
        live = await read_live(self.controller, tenant, today)
        if live is None:
            return None
        boards = build_board(live, now)
        self._boards[tenant] = (time.monotonic(), now, boards)
        return now, boards

    async def _count(self, event: Mapping[str, Any]) -> None:
        self._boards.pop(str(event.get("tenant", "")), None)  # live state changed: the next wallboard is built afresh


@dataclass
class _Watching:
    watcher: AlarmWatcher | None = None


WATCHING = web.AppKey("wallboard_watching", _Watching)

# --- the document --------------------------------------------------------------------------------------------

NUMBER = {"type": "number"}
AGENT_BOARD = {"type": "object", "required": ["user", "name", "state"], "properties": {
    "user": {"type": "string"}, "name": {"type": "string"}, "state": {"type": "string", "enum": list(AGENT_STATES)},
    "pause_reason": {"type": "string"},
    "line": {"type": "string", "enum": ["", "free", "ringing", "in_call", "unavailable"],
             "description": "the agent's line (U-06); empty for an agent who is not logged in"}}}
QUEUE_BOARD = api.schema("QueueBoard", {
    "type": "object",
    "required": ["queue", "name", "agents_logged_in", "agents_free", "agents_busy", "agents_paused", "agents_wrapup",
                 "agents_away", "callers_waiting", "callbacks_waiting", "longest_wait_s", "average_wait_s",
                 "answered_today", "missed_today", "service_level", "service_level_s", "agents"],
    "properties": {
        "queue": {"type": "string"}, "name": {"type": "string"},
        **{name: {"type": "integer", "minimum": 0} for name in (
            "agents_logged_in", "agents_free", "agents_busy", "agents_paused", "agents_wrapup", "agents_away",
            "callers_waiting", "callbacks_waiting", "answered_today", "missed_today")},
        "longest_wait_s": NUMBER, "average_wait_s": NUMBER,
        "service_level": {"type": ["number", "null"], "description": "percent of today's callers answered within "
                          "service_level_s seconds (missed callers count against it); null before the first"},
        "service_level_s": NUMBER,
        "agents": {"type": "array", "items": AGENT_BOARD}}})
RAISED = api.schema("RaisedAlarm", {"type": "object", "required": ["alarm", "queue", "metric", "threshold"],
                                    "properties": {
    "alarm": {"type": "integer"}, "queue": {"type": "string"}, "name": {"type": "string"},
    "metric": {"type": "string"}, "threshold": NUMBER, "value": {"type": ["number", "null"]},
    "raised_at": NULLABLE_STAMP}})
WALLBOARD = api.schema("Wallboard", {"type": "object", "required": ["type", "tenant", "at", "queues", "alarms"],
                                     "properties": {
    "type": {"const": "snapshot"}, "tenant": {"type": "string"}, "at": STAMP,
    "queues": {"type": "array", "items": QUEUE_BOARD}, "alarms": {"type": "array", "items": RAISED}}})

# no spaces, no control characters: spelt out, as Python and JavaScript disagree on \s (\x1c-\x1f, \ufeff)
_SHOWN = r"\s\x00-\x1f\x7f-\x9f\ufeff"
EMAIL = {"type": "string", "maxLength": 254, "pattern": f"^[^@{_SHOWN}]+@[^@{_SHOWN}]+\\.[^@{_SHOWN}]+$"}
URL = {"type": "string", "maxLength": 2000, "pattern": f"^https?://[^/?#@{_SHOWN}]+(/[^{_SHOWN}]*)?$",
       "description": "an http(s) URL; each delivery is JSON signed with HMAC-SHA256 (X-PBX-Signature)"}
RULE_FIELDS: dict[str, Any] = {
    "name": {"type": "string", "maxLength": 100},
    "metric": {"type": "string", "enum": list(METRICS), "description": "callers_waiting, longest_wait_s, "
               "average_wait_s and missed_today raise at or above the threshold; agents_free_below and "
               "service_level_below (percent) raise below it"},
    "threshold": {"type": "number", "minimum": 0, "maximum": 1000000},
    "clear_at": {"type": ["number", "null"], "minimum": 0, "maximum": 1000000,
                 "description": "clears only past this value (hysteresis); null: back past the threshold"},
    "clear_after_s": {"type": "integer", "minimum": 0, "maximum": 3600,
                      "description": "the figure must stay back this long before the alarm clears"},
    "event": {"type": "boolean", "description": "show the alarm on the wallboard stream"},
    "emails": {"type": "array", "maxItems": 20, "uniqueItems": True, "items": EMAIL},
    "webhooks": {"type": "array", "maxItems": 10, "uniqueItems": True, "items": URL},
    "enabled": {"type": "boolean"},
}
ALARM = api.schema("QueueAlarm", {
    "type": "object",
    "required": ["id", "queue", "name", "metric", "threshold", "clear_at", "clear_after_s", "event", "emails",
                 "webhooks", "enabled", "raised", "created_at"],
    "properties": {"id": {"type": "integer"}, "queue": {"type": "string"}, **RULE_FIELDS,
                   "raised": {"type": "boolean"}, "raised_at": NULLABLE_STAMP,
                   "raised_value": {"type": ["number", "null"]}, "created_at": STAMP}})
ALARM_ID = {"type": "string", "pattern": "^[0-9]{1,9}$"}


# --- who sees which queues -----------------------------------------------------------------------------------


def _queue_scope(ctx: Ctx) -> set[str] | None:
    """The queue keys an account administrator may see (those with a member in their subtree); None: all."""
    who = ctx.who
    if who.accounts is None:
        return None
    with ctx_of(ctx.request).sessions() as session:
        rows = session.scalars(
            select(QueueRow.key).join(QueueMemberRow, QueueMemberRow.queue_id == QueueRow.id)
            .join(UserRow, (UserRow.tenant_id == QueueRow.tenant_id) & (UserRow.key == QueueMemberRow.user_key))
            .where(QueueRow.tenant_id == who.tenant_id, UserRow.account_id.in_(who.accounts)))
        return set(rows)


def _watcher(request: web.Request) -> AlarmWatcher | None:
    watching = request.app.get(WATCHING)
    return watching.watcher if watching is not None else None


async def _snapshot(watcher: AlarmWatcher, who: Principal, scope: set[str] | None) -> dict[str, Any]:
    got = await watcher.boards(who.tenant)
    now, boards = got if got is not None else (watcher.now(), [])
    shown = [b for b in boards if scope is None or b.queue in scope]
    figures = {b.queue: b for b in shown}
    alarms = [{"alarm": rule.id, "queue": rule.queue, "name": rule.name, "metric": rule.metric,
               "threshold": rule.threshold, "value": figures[rule.queue].metric(rule.metric),
               "raised_at": datetime.fromtimestamp(state.raised_at, UTC).isoformat() if state.raised_at else None}
              for rule, state in watcher.raised(who.tenant) if rule.queue in figures]
    return {"type": "snapshot", "tenant": who.tenant, "at": datetime.fromtimestamp(now, UTC).isoformat(),
            "queues": [b.to_json() for b in shown], "alarms": alarms}


def _unavailable() -> Problem:
    return Problem(503, "unavailable", "No live state here",
                   "this API process runs no controller, so it has no live queue state")


@api.op("GET", "/wallboard", "The live wallboard of the tenant's queues, once (the stream pushes it)",
        tag="wallboard", right="view", responses={200: ("application/json", WALLBOARD), 503: (PROBLEM, None)})
async def wallboard_snapshot(ctx: Ctx) -> web.StreamResponse:
    watcher = _watcher(ctx.request)
    if watcher is None:
        raise _unavailable()
    scope = await ctx_of(ctx.request).db(_queue_scope, ctx)
    return json_response(await _snapshot(watcher, ctx.who, scope))


# --- the stream ----------------------------------------------------------------------------------------------


def _same_origin(request: web.Request) -> bool:
    origin = request.headers.get("Origin")
    if not origin:
        return False
    parts = urlsplit(origin)
    return parts.scheme in ("http", "https") and parts.netloc.lower() == request.host.lower()


@api.op("GET", "/wallboard/stream",
        "WebSocket (send Upgrade: websocket): a snapshot (as GET /wallboard) at once, then new snapshots as the "
        "figures change, {type: alarm | alarm_cleared, alarm, queue, metric, threshold, value, at} as alarms "
        "are raised and cleared, and {type: heartbeat} every 15 s of quiet. Closes with 4401 when the session "
        "ends, 4403 when the right is taken away, 1013 when this process has no live state. A handshake signed "
        "with the session cookie must come from this origin (Origin header).",
        tag="wallboard", right="view",
        responses={101: ("application/json", None), 426: (PROBLEM, None), 403: (PROBLEM, None)})
async def wallboard_stream(ctx: Ctx) -> web.StreamResponse:
    request = ctx.request
    ws = web.WebSocketResponse(heartbeat=20.0)
    if not ws.can_prepare(request).ok:
        raise Problem(426, "upgrade-required", "This is a WebSocket", "connect with a WebSocket client "
                      "(Upgrade: websocket), or GET /api/v1/wallboard for one snapshot",
                      headers={"Upgrade": "websocket"})
    token, from_cookie = _token_of(request)
    if from_cookie and not _same_origin(request):
        log.warning("cross-origin wallboard handshake refused", extra={
            "event": "wallboard_cross_origin", "origin": request.headers.get("Origin"), "host": request.host,
            "login": ctx.who.login})
        raise Problem(403, "cross-origin", "Cross-origin WebSocket refused",
                      "a handshake signed with the session cookie must come from this site (Origin header)")
    scope = await ctx_of(ctx.request).db(_queue_scope, ctx)
    await ws.prepare(request)
    watcher = _watcher(request)
    if watcher is None:
        await ws.send_json({"type": "unavailable", "detail": _unavailable().detail})
        await ws.close(code=CLOSE_TRY_AGAIN, message=b"no live state")
        return ws
    log.info("wallboard stream opened", extra={"event": "wallboard_open", "tenant": ctx.who.tenant,
                                                "login": ctx.who.login})
    try:
        await _stream(ws, ctx, watcher, token or "", scope)
    finally:
        if not ws.closed:
            await ws.close()
        log.info("wallboard stream closed", extra={"event": "wallboard_closed", "tenant": ctx.who.tenant,
                                                    "login": ctx.who.login, "code": ws.close_code})
    return ws


async def _drain(ws: web.WebSocketResponse) -> None:
    """Read what the client sends (nothing is expected) until it closes; the closing handshake needs a reader."""
    async for message in ws:
        if message.type in (WSMsgType.ERROR, WSMsgType.CLOSE):
            break


async def _stream(ws: web.WebSocketResponse, ctx: Ctx, watcher: AlarmWatcher, token: str,
                  scope: set[str] | None) -> None:
    who, app = ctx.who, ctx_of(ctx.request)
    reader = asyncio.create_task(_drain(ws))
    subscription = await watcher.controller.store.subscribe(who.tenant)
    last: str | None = None
    sent_at = checked_at = time.monotonic()
    due = 0.0  # the next snapshot: at once
    try:
        while not reader.done() and not ws.closed:
            clock = time.monotonic()
            if clock >= due:
                snapshot = await _snapshot(watcher, who, scope)
                text = json.dumps({k: v for k, v in snapshot.items() if k != "at"}, sort_keys=True)
                if text != last:
                    await ws.send_json(snapshot)
                    last, sent_at = text, time.monotonic()
                elif clock - sent_at >= HEARTBEAT_EVERY_S:
                    await ws.send_json({"type": "heartbeat", "at": snapshot["at"]})
                    sent_at = time.monotonic()
                due = clock + SNAPSHOT_EVERY_S
            if clock - checked_at >= RECHECK_SIGN_IN_S:
                checked_at = clock
                principal = await ctx_of(ctx.request).db(app.admins.resolve, token)
                if principal is None or principal.admin_id != who.admin_id:
                    await ws.send_json({"type": "closing", "reason": "signed-out"})
                    await ws.close(code=CLOSE_SIGNED_OUT, message=b"signed out")
                    return
                if not principal.can("view"):
                    await ws.send_json({"type": "closing", "reason": "forbidden"})
                    await ws.close(code=CLOSE_FORBIDDEN, message=b"forbidden")
                    return
            try:
                event = await subscription.get(timeout=max(0.05, min(due, checked_at + RECHECK_SIGN_IN_S)
                                                           - time.monotonic()))
            except TimeoutError:
                continue
            kind = event.get("kind")
            if kind in (RAISED_EVENT, CLEARED_EVENT):
                if scope is None or event.get("queue") in scope:
                    await ws.send_json({"type": "alarm" if kind == RAISED_EVENT else "alarm_cleared",
                                        **{k: v for k, v in event.items() if k not in ("kind", "tenant", "at")},
                                        "at": datetime.fromtimestamp(float(event["at"]), UTC).isoformat()})
                    sent_at = time.monotonic()
                due = min(due, time.monotonic() + 0.1)  # the snapshot's alarm list changed too
            else:
                due = min(due, time.monotonic() + 0.2)  # live state changed: a snapshot soon (changes coalesce)
    except ConnectionResetError:
        return  # the wallboard went away mid-send
    finally:
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await reader
        await subscription.aclose()


# --- thresholds ----------------------------------------------------------------------------------------------


def _alarm_json(row: QueueAlarmRow) -> dict[str, Any]:
    return {"id": row.id, "queue": row.queue, "name": row.name, "metric": row.metric, "threshold": row.threshold,
            "clear_at": row.clear_at, "clear_after_s": row.clear_after_s, "event": row.notify_event,
            "emails": list(row.emails or ()), "webhooks": list(row.webhooks or ()), "enabled": row.enabled,
            "raised": row.raised_at is not None, "raised_at": row.raised_at, "raised_value": row.raised_value,
            "created_at": row.created_at}


def _queue_or_404(ctx: Ctx) -> str:
    """The path's queue, if it is one of the tenant's (and the administrator's); else 404."""
    key = ctx.path["key"]
    with ctx_of(ctx.request).sessions() as session:
        found = session.scalar(select(QueueRow.id).where(QueueRow.tenant_id == ctx.who.tenant_id,
                                                         QueueRow.key == key))
    scope = _queue_scope(ctx)
    if found is None or (scope is not None and key not in scope):
        raise not_found(f"queue {key}")
    return key


def _row_or_404(ctx: Ctx, session: Session, queue: str) -> QueueAlarmRow:
    row = session.scalar(select(QueueAlarmRow).where(QueueAlarmRow.id == int(ctx.path["id"]),
                                                     QueueAlarmRow.tenant_id == ctx.who.tenant_id,
                                                     QueueAlarmRow.queue == queue))
    if row is None:
        raise not_found(f"alarm {ctx.path['id']} of queue {queue}")
    return row


def _check_rule(metric: str, threshold: float, clear_at: float | None) -> None:
    problems = rule_problems(metric, threshold, clear_at)
    if problems:
        raise Problem(422, "invalid", "The alarm is not valid", problems[0]["message"], problems)


def _changed(ctx: Ctx) -> None:
    watcher = _watcher(ctx.request)
    if watcher is not None:
        watcher.rules_changed()


QUEUE_PATH = Param("key", "path", KEY)
ALARM_PATH = Param("id", "path", ALARM_ID)


@api.op("GET", "/queues/{key}/alarms", "A queue's alarm thresholds, and whether each is raised now", tag="wallboard",
        right="reports", params=[QUEUE_PATH, *list_params(["id", "name", "metric", "threshold", "enabled"], [
            Param("metric", "query", {"type": "string", "enum": list(METRICS)}),
            Param("enabled", "query", {"type": "boolean"})])],
        responses=list_responses(ALARM))
async def list_alarms(ctx: Ctx) -> web.StreamResponse:
    def read() -> list[dict[str, Any]]:
        queue = _queue_or_404(ctx)
        with ctx_of(ctx.request).sessions() as session:
            rows = session.scalars(select(QueueAlarmRow).where(QueueAlarmRow.tenant_id == ctx.who.tenant_id,
                                                               QueueAlarmRow.queue == queue))
            return [_alarm_json(r) for r in rows]
    return listing(ctx, await ctx_of(ctx.request).db(read),
                   ["id", "name", "metric", "threshold", "clear_at", "clear_after_s", "event", "emails", "webhooks",
                    "enabled", "raised", "raised_at"], "alarms", exact=["metric", "enabled"])


@api.op("POST", "/queues/{key}/alarms", "Add an alarm threshold to a queue", tag="wallboard", right="reports",
        params=[QUEUE_PATH], body={"type": "object", "required": ["metric", "threshold"], "additionalProperties": False,
                                   "properties": RULE_FIELDS},
        responses={201: ("application/json", ALARM)})
async def create_alarm(ctx: Ctx) -> web.StreamResponse:
    app, body = ctx_of(ctx.request), ctx.body
    _check_rule(body["metric"], body["threshold"], body.get("clear_at"))

    def write() -> dict[str, Any]:
        queue = _queue_or_404(ctx)
        with app.sessions() as session, session.begin():
            row = QueueAlarmRow(tenant_id=ctx.who.tenant_id, queue=queue, name=body.get("name", ""),
                                metric=body["metric"], threshold=float(body["threshold"]),
                                clear_at=None if body.get("clear_at") is None else float(body["clear_at"]),
                                clear_after_s=body.get("clear_after_s", 10), notify_event=body.get("event", True),
                                emails=list(body.get("emails", [])), webhooks=list(body.get("webhooks", [])),
                                enabled=body.get("enabled", True), created_at=app.clock(), raised_at=None,
                                raised_value=None)
            session.add(row)
            session.flush()
            after = _alarm_json(row)
            audit(session, ctx.who, "create", "queue_alarm", f"{queue}/{row.id}", None, after, at=app.clock())
            return _alarm_json(row)
    created = await ctx_of(ctx.request).db(write)
    _changed(ctx)
    return json_response(created, 201)


async def _one(ctx: Ctx) -> dict[str, Any]:
    def read() -> dict[str, Any]:
        queue = _queue_or_404(ctx)
        with ctx_of(ctx.request).sessions() as session:
            return _alarm_json(_row_or_404(ctx, session, queue))
    return await ctx_of(ctx.request).db(read)


@api.op("GET", "/queues/{key}/alarms/{id}", "One alarm threshold", tag="wallboard", right="reports",
        params=[QUEUE_PATH, ALARM_PATH], responses={200: ("application/json", ALARM)})
async def get_alarm(ctx: Ctx) -> web.StreamResponse:
    return json_response(await _one(ctx))


@api.op("PATCH", "/queues/{key}/alarms/{id}", "Change an alarm threshold (a raised alarm re-evaluates)",
        tag="wallboard", right="reports", params=[QUEUE_PATH, ALARM_PATH],
        body={"type": "object", "minProperties": 1, "additionalProperties": False, "properties": RULE_FIELDS},
        responses={200: ("application/json", ALARM)})
async def patch_alarm(ctx: Ctx) -> web.StreamResponse:
    app, body = ctx_of(ctx.request), ctx.body
    columns = {"name": "name", "metric": "metric", "threshold": "threshold", "clear_at": "clear_at",
               "clear_after_s": "clear_after_s", "event": "notify_event", "emails": "emails", "webhooks": "webhooks",
               "enabled": "enabled"}

    def write() -> dict[str, Any]:
        queue = _queue_or_404(ctx)
        with app.sessions() as session, session.begin():
            row = _row_or_404(ctx, session, queue)
            before = _alarm_json(row)
            metric = body.get("metric", row.metric)
            threshold = float(body.get("threshold", row.threshold))
            clear_at = body["clear_at"] if "clear_at" in body else row.clear_at
            _check_rule(metric, threshold, clear_at)
            for name, value in body.items():
                setattr(row, columns[name], float(value) if name in ("threshold", "clear_at") and value is not None
                        else list(value) if isinstance(value, list) else value)
            if {"metric", "threshold", "clear_at", "enabled"} & set(body):
                # a different rule: it starts over (a raised alarm is cleared by the watcher's next pass)
                row.raised_at, row.raised_value = None, None
            session.flush()
            after = _alarm_json(row)
            audit(session, ctx.who, "update", "queue_alarm", f"{queue}/{row.id}", before, after, at=app.clock())
            return _alarm_json(row)
    changed = await ctx_of(ctx.request).db(write)
    _changed(ctx)
    return json_response(changed)


@api.op("DELETE", "/queues/{key}/alarms/{id}", "Remove an alarm threshold", tag="wallboard", right="reports",
        params=[QUEUE_PATH, ALARM_PATH], responses={204: ("", None)})
async def delete_alarm(ctx: Ctx) -> web.StreamResponse:
    app = ctx_of(ctx.request)

    def write() -> None:
        queue = _queue_or_404(ctx)
        with app.sessions() as session, session.begin():
            row = _row_or_404(ctx, session, queue)
            before = _alarm_json(row)
            session.delete(row)
            audit(session, ctx.who, "delete", "queue_alarm", f"{queue}/{row.id}", before, None, at=app.clock())
    await app.db(write)
    _changed(ctx)
    return web.Response(status=204)


# --- wiring --------------------------------------------------------------------------------------------------


def extra_routes(app: web.Application) -> None:
    """Routes the operation registry cannot describe (the WebSocket), and background work of the app.

    The stream is an operation of its own (it upgrades), so only the alarm watcher is wired here: it runs
    while the application does, when this process has a controller. Safe to call more than once."""
    if WATCHING in app:
        return
    watching = _Watching()
    app[WATCHING] = watching

    async def start(app: web.Application) -> None:
        context = app[CTX]
        if context.controller is None:
            return
        watching.watcher = WallboardWatcher(context.controller, context.sessions)
        await watching.watcher.start()
        log.info("alarm watcher started", extra={"event": "alarm_watcher_up"})

    async def stop(app: web.Application) -> None:
        if watching.watcher is not None:
            await watching.watcher.stop()
            watching.watcher = None

    app.on_startup.append(start)
    app.on_cleanup.append(stop)

