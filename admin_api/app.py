"""The admin API application: sign-in, tokens, and the resources built so far (numbers, voicemail, prompts,
recordings, the audit log). Every lookup is scoped by the signed-in administrator's tenant, so another
tenant's object is 404 exactly like one that does not exist; an account administrator sees only their
account's subtree."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.orm import Session

from admin_api.auth import AdminStore, Principal, audit
from admin_api.core import PRINCIPAL, PROBLEM, Api, Ctx, Param, Problem, json_response, not_found, problems_middleware
from admin_api.limits import LoginLimiter, LoginLimits
from admin_api.lists import list_params, list_responses, listing
from pbx.db.models import AccountRow, AdminRow, AuditRow, NumberRow
from pbx.db.session import in_db
from pbx.db.store import NotFound
from pbx.ivr.audio import AudioRejected, MediaToolsMissing
from pbx.ivr.prompts import PromptStore
from pbx.recording.index import RecordingIndex
from pbx.voicemail.messages import VoicemailStore

log = logging.getLogger("admin_api")
T = TypeVar("T")

PREFIX = "/api/v1"
COOKIE = "pbx_session"
MAX_UPLOAD = 25 * 1024 * 1024

SendSms = Callable[[str, str], Awaitable[None]]  # (number, text)
BoxChanged = Callable[[str, str], Awaitable[None]]  # (tenant, box): message-waiting lamps


@dataclass
class ApiContext:
    sessions: Callable[[], Session]
    admins: AdminStore
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    voicemail: VoicemailStore | None = None
    prompts: PromptStore | None = None
    recordings: RecordingIndex | None = None
    send_sms: SendSms | None = None
    box_changed: BoxChanged | None = None
    limiter: LoginLimits = field(default_factory=LoginLimiter)  # admin_api.limits: in memory or in Redis
    secure_cookies: bool = False  # behind TLS: the session cookie is Secure
    controller: Any | None = None  # the live controller of this process: agents, live calls, recording control
    # A resolved token is trusted for this long without asking the database again: a revocation or a
    # change of rights made on another instance takes effect within it (on this one, at once).
    principal_ttl_s: float = 5.0
    principals: dict[str, tuple[float, Principal]] = field(default_factory=dict)

    # Reads of a tenant's configuration (and lists built from it) are kept this long. Any change made
    # through this process drops the tenant's entries at once (read_cache_middleware), so an
    # administrator always reads their own writes; a change made through another instance is seen
    # within this time, as controllers see a publish within their polling period.
    read_cache_ttl_s: float = 0.5
    read_cache: dict[tuple[int, str], tuple[float, Any]] = field(default_factory=dict)

    async def db(self, fn: Callable[..., T], /, *args: Any) -> T:
        """`fn(*args)` on the database's own threads (pbx.db.session.in_db): for database work only."""
        return await in_db(self.sessions, fn, *args)

    async def cached_read(self, tenant_id: int, name: str, load: Callable[[], Awaitable[T]]) -> T:
        now = time.monotonic()
        hit = self.read_cache.get((tenant_id, name))
        if hit is not None and hit[0] > now:
            value: T = hit[1]
            return value
        value = await load()
        if self.read_cache_ttl_s > 0:
            self.read_cache[(tenant_id, name)] = (now + self.read_cache_ttl_s, value)
        return value

    def forget_reads(self, tenant_id: int) -> None:
        for key in [k for k in self.read_cache if k[0] == tenant_id]:
            self.read_cache.pop(key, None)

    def forget_principals(self, admin_id: int | None = None) -> None:
        """Drop cached sign-ins (of one administrator, or all) after a change to who may do what."""
        if admin_id is None:
            self.principals.clear()
            return
        for key in [k for k, (_, p) in self.principals.items() if p.admin_id == admin_id]:
            self.principals.pop(key, None)


api = Api("PBX admin API", "1.0.0", PREFIX)
CTX = web.AppKey("ctx", ApiContext)

KEY = {"type": "string", "pattern": "^[a-z0-9][a-z0-9_-]{0,63}$"}
ID = {"type": "string", "pattern": "^[A-Za-z0-9-]{1,64}$"}
STAMP = {"type": "string", "format": "date-time"}
NULLABLE_STAMP = {"type": ["string", "null"], "format": "date-time"}

ME = api.schema("Me", {"type": "object", "required": ["login", "name", "tenant", "role", "rights"], "properties": {
    "login": {"type": "string"}, "name": {"type": "string"}, "tenant": {"type": "string"},
    "role": {"type": "string"}, "rights": {"type": "array", "items": {"type": "string"}},
    "account": {"type": ["string", "null"]}, "user": {"type": ["string", "null"]}}})
LOGIN_RESULT = api.schema("LoginResult", {"type": "object", "required": ["verified", "second_factor"], "properties": {
    "verified": {"type": "boolean"}, "second_factor": {"type": "string", "enum": ["none", "totp", "sms"]}}})
TOKEN = api.schema("Token", {"type": "object", "required": ["id", "name", "created_at"], "properties": {
    "id": {"type": "string"}, "name": {"type": "string"}, "created_at": STAMP, "expires_at": NULLABLE_STAMP,
    "last_used_at": NULLABLE_STAMP, "token": {"type": "string", "description": "shown once, at creation"}}})
NUMBER = api.schema("Number", {"type": "object", "required": ["number", "label"], "properties": {
    "number": {"type": "string"}, "label": {"type": "string"}, "flow": {"type": ["string", "null"]},
    "user": {"type": ["string", "null"]}, "via": {"type": "string"}, "account": {"type": ["string", "null"]},
    "record": {"type": "boolean"}}})
MESSAGE = api.schema("VoicemailMessage", {"type": "object", "required": ["id", "box", "caller", "received_at"],
                                          "properties": {
    "id": {"type": "string"}, "box": {"type": "string"}, "caller": {"type": "string"}, "dialled": {"type": "string"},
    "call_id": {"type": "string"}, "received_at": STAMP, "duration_s": {"type": "number"},
    "heard": {"type": "boolean"}, "heard_at": NULLABLE_STAMP, "heard_by": {"type": ["string", "null"]},
    "folder": {"type": "string", "enum": ["new", "saved"]}, "size_bytes": {"type": "integer"}}})
BOX = api.schema("VoicemailBox", {"type": "object", "required": ["key", "name", "shared", "listeners", "new", "heard"],
                                  "properties": {
    "key": {"type": "string"}, "name": {"type": "string"}, "shared": {"type": "boolean"},
    "listeners": {"type": "array", "items": {"type": "string"}}, "greeting": {"type": ["string", "null"]},
    "email": {"type": "array", "items": {"type": "string"}}, "notify": {"type": "array", "items": {"type": "string"}},
    "new": {"type": "integer", "description": "unheard messages"}, "heard": {"type": "integer"}}})
PROMPT = api.schema("Prompt", {"type": "object", "required": ["key", "name", "language"], "properties": {
    "key": {"type": "string"}, "name": {"type": "string"}, "language": {"type": "string"},
    "has_audio": {"type": "boolean"}, "seconds": {"type": ["number", "null"]}, "rate": {"type": ["integer", "null"]}}})
RECORDING = api.schema("Recording", {"type": "object", "required": ["id", "call_id", "started_at"], "properties": {
    "id": {"type": "string"}, "call_id": {"type": "string"}, "kind": {"type": "string"},
    "caller": {"type": "string"}, "dialled": {"type": "string"}, "user": {"type": ["string", "null"]},
    "queue": {"type": ["string", "null"]}, "started_at": STAMP, "duration_s": {"type": "number"},
    "size_bytes": {"type": "integer"}}})
AUDIT = api.schema("AuditEntry", {"type": "object", "required": ["at", "actor", "action", "resource", "ref"],
                                  "properties": {
    "id": {"type": "integer"}, "at": STAMP, "actor": {"type": "string"}, "action": {"type": "string"},
    "resource": {"type": "string"}, "ref": {"type": "string"}, "before": {}, "after": {}}})


def ctx_of(request: web.Request) -> ApiContext:
    return request.app[CTX]


# --- signing in ----------------------------------------------------------------------------------


def _token_of(request: web.Request) -> tuple[str | None, bool]:
    """(token, came in a cookie)"""
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip(), False
    cookie = request.cookies.get(COOKIE)
    return (cookie, True) if cookie else (None, False)


async def authenticate(request: web.Request) -> Principal | None:
    token, from_cookie = _token_of(request)
    if not token:
        return None
    if from_cookie and request.method not in ("GET", "HEAD") and request.headers.get("X-Requested-With") != "pbx":
        # a cookie rides along on any request the browser makes; a custom header cannot come cross-site
        raise Problem(403, "csrf", "Missing X-Requested-With", "send X-Requested-With: pbx with a session cookie")
    app = ctx_of(request)
    now = time.monotonic()
    cached = app.principals.get(token)
    if cached is not None and cached[0] > now:
        return cached[1]
    principal: Principal | None = await app.db(app.admins.resolve, token)
    if principal is not None and app.principal_ttl_s > 0:
        if len(app.principals) > 10_000:  # bounded: drop the expired, or everything
            for key in [k for k, (until, _) in app.principals.items() if until <= now] or list(app.principals):
                app.principals.pop(key, None)
        app.principals[token] = (now + app.principal_ttl_s, principal)
    return principal


async def _refuse_if_limited(app: ApiContext, *keys: str) -> None:
    wait = await app.limiter.retry_after(*keys)
    if wait > 0:
        raise Problem(429, "rate-limited", "Too many attempts", f"try again in {int(wait) + 1} s",
                      headers={"Retry-After": str(int(wait) + 1)})


def _set_cookie(response: web.Response, request: web.Request, token: str, max_age: int) -> None:
    response.set_cookie(COOKIE, token, max_age=max_age, httponly=True, samesite="Strict", path="/",
                        secure=ctx_of(request).secure_cookies)


@api.op("POST", "/login", "Sign in with login and password; a second factor may follow", tag="session", right=None,
        body={"type": "object", "required": ["login", "password"], "additionalProperties": False, "properties": {
            "login": {"type": "string", "minLength": 1, "maxLength": 200},
            "password": {"type": "string", "minLength": 1, "maxLength": 1000}}},
        responses={200: ("application/json", LOGIN_RESULT), 401: (PROBLEM, None), 429: (PROBLEM, None)})
async def login(ctx: Ctx) -> web.StreamResponse:
    app = ctx_of(ctx.request)
    who = ctx.body["login"].lower()
    keys = (f"login:{who}", f"addr:{ctx.request.remote}")
    await _refuse_if_limited(app, *keys)
    admin = await asyncio.to_thread(app.admins.authenticate, who, ctx.body["password"])
    if admin is None:
        await app.limiter.failed(*keys)
        log.info("sign-in refused", extra={"event": "login_failed", "login": who, "addr": ctx.request.remote})
        raise Problem(401, "bad-credentials", "Wrong login or password")
    await app.limiter.succeeded(keys[0])
    new = await app.db(app.admins.open, admin, "session")
    if new.sms_code and admin.sms_number:
        if app.send_sms is None:
            raise Problem(503, "sms-unavailable", "No SMS gateway", "ask for a TOTP second factor instead")
        await app.send_sms(admin.sms_number, f"PBX sign-in code: {new.sms_code}")
    response = json_response({"verified": new.verified, "second_factor": new.second_factor})
    _set_cookie(response, ctx.request, new.token, int(timedelta(hours=12).total_seconds()))
    log.info("signed in", extra={"event": "login", "login": who, "verified": new.verified})
    return response


@api.op("POST", "/login/verify", "Give the second factor (TOTP or SMS code) for this session", tag="session",
        right=None, body={"type": "object", "required": ["code"], "additionalProperties": False, "properties": {
            "code": {"type": "string", "pattern": "^[0-9]{6}$"}}},
        responses={200: ("application/json", LOGIN_RESULT), 401: (PROBLEM, None), 429: (PROBLEM, None)})
async def verify(ctx: Ctx) -> web.StreamResponse:
    app = ctx_of(ctx.request)
    token, _ = _token_of(ctx.request)
    key = f"verify:{(token or '')[:20]}"
    await _refuse_if_limited(app, key)
    if not token or not await asyncio.to_thread(app.admins.verify, token, ctx.body["code"]):
        await app.limiter.failed(key)
        raise Problem(401, "bad-code", "Wrong or expired code")
    return json_response({"verified": True, "second_factor": "none"})


@api.op("POST", "/logout", "End this session", tag="session", right="view", responses={204: ("", None)})
async def logout(ctx: Ctx) -> web.StreamResponse:
    await ctx_of(ctx.request).db(ctx_of(ctx.request).admins.revoke, ctx.who, ctx.who.token_id)
    ctx_of(ctx.request).forget_principals(ctx.who.admin_id)
    response = web.Response(status=204)
    response.del_cookie(COOKIE, path="/")
    return response


@api.op("GET", "/me", "Who is signed in, and what they may do", tag="session", right="view",
        responses={200: ("application/json", ME)})
async def me(ctx: Ctx) -> web.StreamResponse:
    who = ctx.who

    def read() -> str | None:
        with ctx_of(ctx.request).sessions() as session:
            return session.scalar(select(AccountRow.key).where(AccountRow.id == who.account_id)) \
                if who.account_id else None
    return json_response({"login": who.login, "name": who.name, "tenant": who.tenant, "role": who.role,
                          "rights": sorted(who.rights), "account": await ctx_of(ctx.request).db(read),
                          "user": who.user_key})


@api.op("POST", "/tokens", "Create a bearer token for an integration (shown once)", tag="session", right="view",
        body={"type": "object", "required": ["name"], "additionalProperties": False, "properties": {
            "name": {"type": "string", "minLength": 1, "maxLength": 100},
            "expires_days": {"type": "integer", "minimum": 1, "maximum": 3650}}},
        responses={201: ("application/json", TOKEN)})
async def create_token(ctx: Ctx) -> web.StreamResponse:
    app = ctx_of(ctx.request)
    days = ctx.body.get("expires_days")

    def make() -> dict[str, Any]:
        with app.sessions() as session:
            admin = session.get(AdminRow, ctx.who.admin_id)
            assert admin is not None
            session.expunge(admin)
        new = app.admins.open(admin, "bearer", ctx.body["name"], timedelta(days=days) if days else None)
        with app.sessions() as session, session.begin():
            audit(session, ctx.who, "create", "token", new.token_id, after={"name": ctx.body["name"],
                                                                          "expires_days": days}, at=app.clock())
        listed = next(t for t in app.admins.tokens(ctx.who) if t["id"] == new.token_id)
        return {**listed, "token": new.token}
    return json_response(await app.db(make), 201)


@api.op("GET", "/tokens", "The signed-in administrator's bearer tokens", tag="session", right="view",
        responses={200: ("application/json", {"type": "array", "items": TOKEN})})
async def list_tokens(ctx: Ctx) -> web.StreamResponse:
    return json_response(await ctx_of(ctx.request).db(ctx_of(ctx.request).admins.tokens, ctx.who))


@api.op("DELETE", "/tokens/{id}", "Revoke one of your bearer tokens", tag="session", right="view",
        params=[Param("id", "path", ID)], responses={204: ("", None)})
async def delete_token(ctx: Ctx) -> web.StreamResponse:
    app = ctx_of(ctx.request)

    def revoke() -> bool:
        done = app.admins.revoke(ctx.who, ctx.path["id"])
        if done:
            with app.sessions() as session, session.begin():
                audit(session, ctx.who, "delete", "token", ctx.path["id"], at=app.clock())
        return done
    done = await app.db(revoke)
    app.forget_principals(ctx.who.admin_id)  # on the event loop: the cache is the loop's
    if not done:
        raise not_found(f"token {ctx.path['id']}")
    return web.Response(status=204)


# --- numbers -------------------------------------------------------------------------------------


@api.op("GET", "/numbers", "The tenant's numbers (an account administrator: their accounts')", tag="numbers",
        right="view", params=list_params(["number", "label", "flow", "user", "account"], [
            Param("account", "query", KEY, "only this account's numbers")]),
        responses=list_responses(NUMBER))
async def list_numbers(ctx: Ctx) -> web.StreamResponse:
    who, app = ctx.who, ctx_of(ctx.request)

    def read() -> list[dict[str, Any]]:
        with app.sessions() as session:
            accounts = dict(session.execute(select(AccountRow.id, AccountRow.key)
                                            .where(AccountRow.tenant_id == who.tenant_id)).tuples().all())
            rows = session.execute(select(NumberRow.number, NumberRow.label, NumberRow.flow_key, NumberRow.user_key,
                                          NumberRow.via, NumberRow.account_id, NumberRow.record)
                                   .where(NumberRow.tenant_id == who.tenant_id).order_by(NumberRow.position))
            return [{"number": number, "label": label, "flow": flow, "user": user, "via": via,
                     "account": accounts.get(account_id) if account_id else None, "record": record}
                    for number, label, flow, user, via, account_id, record in rows
                    if who.accounts is None or account_id in who.accounts]
    reach = "all" if who.accounts is None else ",".join(map(str, sorted(who.accounts)))
    rows = await app.cached_read(who.tenant_id, f"numbers:{reach}", lambda: app.db(read))
    return listing(ctx, rows, ["number", "label", "flow", "user", "via", "account", "record"], "numbers",
                   exact=["account"])


# --- voicemail -----------------------------------------------------------------------------------


def _set_up(store: T | None, what: str) -> T:
    """A store this instance may lack (no media directory configured): 503 rather than a crash."""
    if store is None:
        raise Problem(503, "unavailable", f"{what} is not set up here")
    return store


def _vm(ctx: Ctx) -> VoicemailStore:
    return _set_up(ctx_of(ctx.request).voicemail, "Voicemail")


def _message(m: Any) -> dict[str, Any]:
    return {"id": m.id, "box": m.box, "caller": m.caller, "dialled": m.dialled, "call_id": m.call_id,
            "received_at": m.received_at, "duration_s": m.duration_s, "heard": m.heard, "heard_at": m.heard_at,
            "heard_by": m.heard_by, "folder": m.folder, "size_bytes": m.size_bytes}


@api.op("GET", "/voicemail/messages", "Voicemail messages of the tenant's boxes", tag="voicemail",
        right="voicemail", params=list_params(["received_at", "box", "caller", "duration_s", "heard"], [
            Param("box", "query", KEY), Param("heard", "query", {"type": "boolean"}),
            Param("folder", "query", {"type": "string", "enum": ["new", "saved"]})]),
        responses=list_responses(MESSAGE))
async def list_messages(ctx: Ctx) -> web.StreamResponse:
    messages = await _vm(ctx).amessages(ctx.who.tenant)
    return listing(ctx, [_message(m) for m in messages],
                   ["received_at", "box", "caller", "dialled", "duration_s", "heard", "heard_by", "folder", "id"],
                   "voicemail", exact=["box", "heard", "folder"])


async def _boxes(ctx: Ctx) -> list[dict[str, Any]]:
    from admin_api.config import read_config
    config = await read_config(ctx)
    counts = await ctx_of(ctx.request).db(_vm(ctx).box_counts, ctx.who.tenant)
    return [{"key": b.key, "name": b.name, "shared": b.shared, "listeners": list(b.listeners), "greeting": b.greeting,
             "email": list(b.email), "notify": list(b.notify), "new": counts.get(b.key, (0, 0))[0],
             "heard": counts.get(b.key, (0, 0))[1]} for b in config.boxes]


@api.op("GET", "/voicemail/boxes", "The tenant's voicemail boxes, their listeners and message counts",
        tag="voicemail", right="voicemail", params=list_params(["key", "name", "shared", "new", "heard"], [
            Param("shared", "query", {"type": "boolean"}, "only shared (true) or personal (false) boxes")]),
        responses=list_responses(BOX))
async def list_boxes(ctx: Ctx) -> web.StreamResponse:
    return listing(ctx, await _boxes(ctx), ["key", "name", "shared", "new", "heard"], "voicemail-boxes",
                   exact=["shared"])


@api.op("GET", "/voicemail/boxes/{key}", "One voicemail box", tag="voicemail", right="voicemail",
        params=[Param("key", "path", KEY)], responses={200: ("application/json", BOX)})
async def get_box(ctx: Ctx) -> web.StreamResponse:
    found = [b for b in await _boxes(ctx) if b["key"] == ctx.path["key"]]
    if not found:
        raise not_found(f"voicemail box {ctx.path['key']}")
    return json_response(found[0])


async def _one_message(ctx: Ctx) -> Any:
    try:
        return await _vm(ctx).amessage(ctx.who.tenant, ctx.path["id"])
    except NotFound:
        raise not_found(f"message {ctx.path['id']}") from None


@api.op("GET", "/voicemail/messages/{id}", "One message", tag="voicemail", right="voicemail",
        params=[Param("id", "path", ID)], responses={200: ("application/json", MESSAGE)})
async def get_message(ctx: Ctx) -> web.StreamResponse:
    return json_response(_message(await _one_message(ctx)))


@api.op("GET", "/voicemail/messages/{id}/audio", "Play or download a message (WAV)", tag="voicemail",
        right="voicemail", params=[Param("id", "path", ID)], responses={200: ("audio/wav", None)})
async def message_audio(ctx: Ctx) -> web.StreamResponse:
    message = await _one_message(ctx)
    path = await _vm(ctx).aaudio_path(ctx.who.tenant, message.id)
    return web.FileResponse(path, headers={"Content-Type": "audio/wav",
                                           "Content-Disposition": f'inline; filename="{message.id}.wav"'})


@api.op("PATCH", "/voicemail/messages/{id}", "Mark a message heard or unheard, or move it to a folder",
        tag="voicemail", right="voicemail", params=[Param("id", "path", ID)],
        body={"type": "object", "minProperties": 1, "additionalProperties": False, "properties": {
            "heard": {"type": "boolean"}, "folder": {"type": "string", "enum": ["saved"]}}},
        responses={200: ("application/json", MESSAGE)})
async def patch_message(ctx: Ctx) -> web.StreamResponse:
    app, vm, who = ctx_of(ctx.request), _vm(ctx), ctx.who

    def audited(session: Session, before: Any, after: Any) -> None:
        audit(session, who, "update", "voicemail_message", before.id, {"heard": before.heard, "folder": before.folder},
              {"heard": after.heard, "folder": after.folder}, at=app.clock())
    try:
        _, after = await vm.achange(who.tenant, ctx.path["id"], who.login, heard=ctx.body.get("heard"),
                                    saved=ctx.body.get("folder") == "saved", also=audited)
    except NotFound:
        raise not_found(f"message {ctx.path['id']}") from None
    if app.box_changed is not None:
        await app.box_changed(who.tenant, after.box)
    return json_response(_message(after))


@api.op("DELETE", "/voicemail/messages/{id}", "Delete a message (logged)", tag="voicemail", right="voicemail",
        params=[Param("id", "path", ID)], responses={204: ("", None)})
async def delete_message(ctx: Ctx) -> web.StreamResponse:
    app = ctx_of(ctx.request)
    message = await _one_message(ctx)
    await _vm(ctx).adelete(ctx.who.tenant, message.id, ctx.who.login, "deleted in the admin API")
    await _record(app, ctx.who, "delete", "voicemail_message", message.id, _message(message), None)
    if app.box_changed is not None:
        await app.box_changed(ctx.who.tenant, message.box)
    return web.Response(status=204)


async def _record(app: ApiContext, who: Principal, action: str, resource: str, ref: str, before: Any,
                  after: Any) -> None:
    def write() -> None:
        with app.sessions() as session, session.begin():
            audit(session, who, action, resource, ref, before, after, at=app.clock())
    await app.db(write)


# --- prompts -------------------------------------------------------------------------------------


def _prompts(ctx: Ctx) -> PromptStore:
    return _set_up(ctx_of(ctx.request).prompts, "Prompts")


@api.op("GET", "/prompts", "The tenant's own prompts and whether each has audio", tag="prompts", right="view",
        params=list_params(["key", "name", "language"]), responses=list_responses(PROMPT))
async def list_prompts(ctx: Ctx) -> web.StreamResponse:
    prompts = await _prompts(ctx).aprompts(ctx.who.tenant)
    rows = [{"key": p.key, "name": p.name, "language": p.language, "has_audio": p.file is not None,
             "seconds": p.seconds, "rate": p.rate} for p in prompts]
    return listing(ctx, rows, ["key", "name", "language", "has_audio", "seconds"], "prompts")


@api.op("PUT", "/prompts/{key}/audio", "Upload a prompt's audio (wav, mp3, ogg, m4a…); converted for telephony",
        tag="prompts", right="prompts", body_media="application/octet-stream",
        params=[Param("key", "path", KEY), Param("wideband", "query", {"type": "boolean", "default": False}),
                Param("filename", "query", {"type": "string", "maxLength": 200, "default": "upload"})],
        responses={200: ("application/json", PROMPT), 413: (PROBLEM, None)})
async def upload_prompt(ctx: Ctx) -> web.StreamResponse:
    store, app = _prompts(ctx), ctx_of(ctx.request)
    try:
        stored = await store.aupload(ctx.who.tenant, ctx.path["key"], ctx.body, str(ctx.query["filename"]),
                                     wideband=bool(ctx.query["wideband"]), by=ctx.who.login)
    except NotFound:
        raise not_found(f"prompt {ctx.path['key']}") from None
    except AudioRejected as exc:
        raise Problem(422, f"audio-{exc.reason}", "The upload is not usable audio", str(exc),
                      [{"field": "body", "message": str(exc)}]) from None
    except MediaToolsMissing as exc:
        raise Problem(503, "unavailable", "Audio conversion is not available", str(exc)) from None
    await _record(app, ctx.who, "update", "prompt_audio", stored.key, None,
                  {"file": stored.file, "seconds": stored.seconds})
    return json_response({"key": stored.key, "name": stored.name, "language": stored.language, "has_audio": True,
                          "seconds": stored.seconds, "rate": stored.rate})


@api.op("GET", "/prompts/{key}/audio", "Play or download a prompt's audio (WAV)", tag="prompts", right="view",
        params=[Param("key", "path", KEY)], responses={200: ("audio/wav", None)})
async def prompt_audio(ctx: Ctx) -> web.StreamResponse:
    try:
        path = await _prompts(ctx).aaudio_path(ctx.who.tenant, ctx.path["key"])
    except NotFound:
        raise not_found(f"audio of prompt {ctx.path['key']}") from None
    return web.FileResponse(path, headers={"Content-Type": "audio/wav"})


@api.op("DELETE", "/prompts/{key}/audio", "Remove a prompt's audio (the prompt stays)", tag="prompts",
        right="prompts", params=[Param("key", "path", KEY)], responses={204: ("", None)})
async def delete_prompt_audio(ctx: Ctx) -> web.StreamResponse:
    try:
        removed = await _prompts(ctx).aremove_audio(ctx.who.tenant, ctx.path["key"], by=ctx.who.login)
    except NotFound:
        raise not_found(f"prompt {ctx.path['key']}") from None
    if not removed:
        raise not_found(f"audio of prompt {ctx.path['key']}")
    await _record(ctx_of(ctx.request), ctx.who, "delete", "prompt_audio", ctx.path["key"], None, None)
    return web.Response(status=204)


# --- recordings ----------------------------------------------------------------------------------


def _recordings(ctx: Ctx) -> RecordingIndex:
    return _set_up(ctx_of(ctx.request).recordings, "Recordings")


def _recording(r: Any) -> dict[str, Any]:
    return {"id": r.id, "call_id": r.call_id, "kind": r.kind, "caller": r.caller, "dialled": r.dialled,
            "user": r.user, "queue": r.queue, "started_at": r.started_at, "duration_s": r.duration_s,
            "size_bytes": r.size_bytes}


@api.op("GET", "/recordings", "Call recordings", tag="recordings", right="recordings",
        params=list_params(["started_at", "duration_s", "caller", "dialled", "user", "queue"], [
            Param("user", "query", KEY), Param("queue", "query", KEY)]),
        responses=list_responses(RECORDING))
async def list_recordings(ctx: Ctx) -> web.StreamResponse:
    recordings = await _recordings(ctx).arecordings(ctx.who.tenant)
    return listing(ctx, [_recording(r) for r in recordings],
                   ["started_at", "duration_s", "caller", "dialled", "user", "queue", "kind", "call_id", "id"],
                   "recordings", exact=["user", "queue"])


@api.op("GET", "/recordings/{id}/audio", "Play or download a recording (WAV)", tag="recordings",
        right="recordings", params=[Param("id", "path", ID)], responses={200: ("audio/wav", None)})
async def recording_audio(ctx: Ctx) -> web.StreamResponse:
    try:
        path = await _recordings(ctx).aaudio_path(ctx.who.tenant, ctx.path["id"])
    except NotFound:
        raise not_found(f"recording {ctx.path['id']}") from None
    return web.FileResponse(path, headers={"Content-Type": "audio/wav"})


@api.op("DELETE", "/recordings/{id}", "Delete a recording (logged)", tag="recordings", right="recordings",
        params=[Param("id", "path", ID)], responses={204: ("", None)})
async def delete_recording(ctx: Ctx) -> web.StreamResponse:
    try:
        gone = await _recordings(ctx).adelete(ctx.who.tenant, ctx.path["id"], ctx.who.login,
                                              "deleted in the admin API")
    except NotFound:
        raise not_found(f"recording {ctx.path['id']}") from None
    await _record(ctx_of(ctx.request), ctx.who, "delete", "recording", gone.id, _recording(gone), None)
    return web.Response(status=204)


# --- audit log -----------------------------------------------------------------------------------


@api.op("GET", "/audit", "The audit log: every change, who made it, before and after", tag="audit", right="admins",
        params=list_params(["at", "actor", "action", "resource"], [
            Param("actor", "query", {"type": "string", "maxLength": 200}),
            Param("resource", "query", {"type": "string", "maxLength": 100})]),
        responses=list_responses(AUDIT))
async def list_audit(ctx: Ctx) -> web.StreamResponse:
    def read() -> list[dict[str, Any]]:
        with ctx_of(ctx.request).sessions() as session:
            rows = session.scalars(select(AuditRow).where(AuditRow.tenant_id == ctx.who.tenant_id)
                                   .order_by(AuditRow.id))
            return [{"id": r.id, "at": r.at, "actor": r.actor, "action": r.action, "resource": r.resource,
                     "ref": r.ref, "before": r.before, "after": r.after} for r in rows]
    return listing(ctx, await ctx_of(ctx.request).db(read), ["at", "actor", "action", "resource", "ref"], "audit",
                   exact=["actor", "resource"])


# --- the document and the application ------------------------------------------------------------

DOCS_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>PBX admin API</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
code{background:#f3f3f3;padding:0 .2em}h2{margin-top:2rem;border-bottom:1px solid #ddd}
.op{margin:.4rem 0}.m{display:inline-block;width:4.5rem;font-weight:600}</style></head>
<body><h1>PBX admin API</h1>
<p>The machine-readable document is <a href="openapi.json"><code>openapi.json</code></a> (OpenAPI 3.1).
Sign in with <code>POST /api/v1/login</code>; integrations use <code>Authorization: Bearer …</code>.</p>
<p id="problems">Errors are <a href="https://www.rfc-editor.org/rfc/rfc9457">RFC 9457</a> problem details:
<code>type</code>, <code>title</code>, <code>status</code>, <code>detail</code>, and <code>errors</code>
(<code>field</code>, <code>message</code>) naming each wrong field.</p>
<div id="ops">Loading…</div>
<script>
fetch("openapi.json").then(r => r.json()).then(doc => {
  const byTag = {};
  for (const [path, ops] of Object.entries(doc.paths)) for (const [m, op] of Object.entries(ops))
    (byTag[op.tags[0]] ||= []).push([m.toUpperCase(), path, op.summary]);
  const out = document.getElementById("ops"); out.textContent = "";
  for (const [tag, ops] of Object.entries(byTag)) {
    const h = document.createElement("h2"); h.textContent = tag; out.append(h);
    for (const [m, path, summary] of ops) {
      const d = document.createElement("div"); d.className = "op";
      const s = document.createElement("span"); s.className = "m"; s.textContent = m;
      const c = document.createElement("code"); c.textContent = path;
      d.append(s, c, " — " + summary); out.append(d);
    }
  }
});
</script></body></html>
"""


@web.middleware
async def read_cache_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    """After any request that may change something, the actor's tenant's cached reads are dropped (also
    when it failed half-way: a refusal is cheap to re-read, a stale answer is not)."""
    try:
        return await handler(request)  # type: ignore[no-any-return]
    finally:
        principal = request.get(PRINCIPAL)
        if request.method not in ("GET", "HEAD", "OPTIONS") and principal is not None:
            ctx_of(request).forget_reads(principal.tenant_id)


def create_app(context: ApiContext, *, validate_responses: bool = False) -> web.Application:
    app = web.Application(middlewares=[problems_middleware, read_cache_middleware], client_max_size=MAX_UPLOAD)
    app[CTX] = context
    # the resource modules register their operations on `api` when imported
    import admin_api.accounts
    import admin_api.devices
    import admin_api.flows
    import admin_api.operations
    import admin_api.pages
    import admin_api.stats
    import admin_api.wallboard
    document = api.document()
    body = json.dumps(document)

    async def openapi(_: web.Request) -> web.Response:
        return web.Response(text=body, content_type="application/json")

    async def docs(_: web.Request) -> web.Response:
        return web.Response(text=DOCS_PAGE, content_type="text/html")

    app.router.add_get(f"{PREFIX}/openapi.json", openapi)
    app.router.add_get(f"{PREFIX}/docs", docs)
    api.add_routes(app, authenticate, validate_responses)
    admin_api.wallboard.extra_routes(app)  # the WebSocket stream and its alarm watcher
    admin_api.pages.add_pages(app)  # the web pages at /app/ (no part of the document)
    return app

