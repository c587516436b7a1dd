"""Users' phones (U-01) and their line status (U-06): provisioning a phone into Asterisk (PJSIP realtime, see
pbx/devices/provision.py), its password shown once and reset, and whether each user is free, ringing or in a call.

- Reading needs "view"; adding, resetting and removing a phone needs "users" (as for the user itself).
- A phone is addressed by its name under its user: /users/{key}/devices/{name}. Its SIP username (and PJSIP
  endpoint) is "<tenant>-<name>"; the user's configuration names it PJSIP/<tenant>-<name>, and a phone added or
  removed here is the next configuration version, checked by the routing core and audited in one transaction
  with the rows Asterisk reads. A phone's password never leaves the API again after the answer that made it.
- Phones configured by hand (a dial string in the user's devices, e.g. PJSIP/anna from pjsip.conf) are listed
  too, with no name: they are changed through PATCH /users/{key}.
- Line status comes from the live state (AMI device states, kept by the controller in the live store that every
  instance shares). `line` is "free", "ringing", "in_call" or "unavailable"; where this API instance runs
  without a controller, the list shows no live state (null) and /users/{key}/line answers 503.
- Tenants and account administrators: another tenant's user or phone is 404 like a missing one; an account
  administrator reaches the users of their subtree only.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.orm import Session

from admin_api.app import KEY, api, ctx_of
from admin_api.auth import Principal, audit
from admin_api.config import change_config, read_config
from admin_api.core import PROBLEM, Ctx, Param, Problem, json_response, not_found
from admin_api.lists import list_params, list_responses, listing
from pbx.db.models import UserRow
from pbx.devices.lines import LABELS, device_status, line_label, registered
from pbx.devices.models import DeviceRow, PsAorRow, PsAuthRow, PsEndpointRow
from pbx.devices.provision import DeviceTaken, dial_string, endpoint_id, provision, reset_password
from pbx.routing.model import TenantConfig, UserConfig
from pbx.routing.state import LineStatus

MAX_DEVICES = 10  # as PATCH /users/{key} allows
NAME = {"type": "string", "pattern": "^[a-z0-9][a-z0-9_]{0,31}$",
        "description": "lower-case letters, digits and _ (no hyphen): the SIP username is <tenant>-<name>"}
LABEL = {"type": "string", "maxLength": 100, "pattern": r"^[^\x00-\x1f\x7f]*$"}
STAMP = {"type": ["string", "null"], "format": "date-time"}
LINE = {"type": ["string", "null"], "enum": [*LABELS, None]}
STATE = {"type": ["string", "null"], "description": "the device state as Asterisk names it (NOT_INUSE, INUSE, "
                                                    "RINGING, RINGINUSE, ONHOLD, BUSY, UNAVAILABLE, …)"}
CONFLICT = {409: (PROBLEM, None)}

DEVICE = api.schema("Device", {"type": "object", "required": ["dial", "provisioned", "line", "state", "registered"],
                               "properties": {
    "name": {"type": ["string", "null"], "description": "null: a phone configured by hand, not provisioned here"},
    "user": {"type": "string"}, "dial": {"type": "string", "description": "how the configuration names the phone"},
    "username": {"type": ["string", "null"], "description": "SIP username (= PJSIP endpoint)"},
    "label": {"type": "string"}, "provisioned": {"type": "boolean"}, "created_at": STAMP, "password_set_at": STAMP,
    "line": LINE, "state": STATE,
    "registered": {"type": ["boolean", "null"], "description": "as far as the device state tells; null: unknown"}}})
NEW_DEVICE = api.schema("NewDevice", {"type": "object", "required": ["name", "user", "dial", "username", "password",
                                                                     "realm"], "properties": {
    "name": {"type": "string"}, "user": {"type": "string"}, "dial": {"type": "string"},
    "username": {"type": "string"}, "label": {"type": "string"}, "created_at": STAMP, "password_set_at": STAMP,
    "realm": {"type": "string", "description": "the SIP digest realm the phone is challenged with"},
    "password": {"type": "string", "description": "shown once: only a digest of it is kept"}}})
LINE_STATUS = api.schema("LineStatus", {"type": "object", "required": ["user", "line", "devices"], "properties": {
    "user": {"type": "string"}, "line": {"type": "string", "enum": list(LABELS)},
    "devices": {"type": "array", "items": {"type": "object", "required": ["dial", "line", "state", "registered"],
                                           "properties": {
        "dial": {"type": "string"}, "name": {"type": ["string", "null"]}, "line": {"type": "string"},
        "state": STATE, "registered": {"type": ["boolean", "null"]}}}}}})


# --- helpers -------------------------------------------------------------------------------------


def _user_row(session: Session, who: Principal, tid: int, key: str) -> UserRow:
    row = session.scalar(select(UserRow).where(UserRow.tenant_id == tid, UserRow.key == key))
    if row is None or not (who.accounts is None or (row.account_id is not None and row.account_id in who.accounts)):
        raise not_found(f"user {key}")
    return row


def _device_row(session: Session, tid: int, user: str, name: str) -> DeviceRow:
    row = session.scalar(select(DeviceRow).where(DeviceRow.tenant_id == tid, DeviceRow.name == name,
                                                 DeviceRow.user_key == user))
    if row is None:
        raise not_found(f"device {name} of {user}")
    return row


def _conflict(detail: str, field: str) -> Problem:
    return Problem(409, "conflict", "Conflicts with an existing object", detail, [{"field": field, "message": detail}])


def _config_json(row: DeviceRow) -> dict[str, Any]:
    """What the audit log keeps of a provisioned phone (never a password or its digest)."""
    return {"name": row.name, "user": row.user_key, "dial": dial_string(row.endpoint), "username": row.endpoint,
            "label": row.label, "created_at": row.created_at, "password_set_at": row.password_set_at}


def _live_json(state: str | None) -> dict[str, Any]:
    return {"line": None if state is None else line_label(device_status(state)), "state": state,
            "registered": registered(state)}


async def _states(ctx: Ctx, user: str) -> dict[str, str] | None:
    """The user's phones' device states from the live store; None when no controller runs in this process."""
    controller = ctx_of(ctx.request).controller
    if controller is None:
        return None
    states: dict[str, str] = await controller.store.device_states(ctx.who.tenant, user)
    return states


def _user_config(cfg: TenantConfig, key: str) -> UserConfig:
    user = next((u for u in cfg.users if u.key == key), None)
    if user is None:
        raise not_found(f"user {key}")
    return user


async def _devices(ctx: Ctx, key: str) -> list[dict[str, Any]]:
    """The user's phones in configuration order, provisioned or not, with their live state when known."""
    who = ctx.who

    def read(session: Session) -> dict[str, DeviceRow]:
        _user_row(session, who, who.tenant_id, key)
        rows = list(session.scalars(select(DeviceRow).where(DeviceRow.tenant_id == who.tenant_id,
                                                            DeviceRow.user_key == key)))
        for row in rows:
            session.expunge(row)
        return {dial_string(r.endpoint): r for r in rows}

    def run() -> dict[str, DeviceRow]:
        with ctx_of(ctx.request).sessions() as session:
            return read(session)
    provisioned = await ctx_of(ctx.request).db(run)
    user = _user_config(await read_config(ctx), key)
    states = await _states(ctx, key)
    out = []
    for dial in user.devices:
        row = provisioned.get(dial)
        state = None if states is None else states.get(dial)
        base = _config_json(row) if row is not None else {"name": None, "user": key, "dial": dial, "username": None,
                                                          "label": "", "created_at": None, "password_set_at": None}
        out.append({**base, "provisioned": row is not None, **_live_json(state)})
    return out


# --- operations ----------------------------------------------------------------------------------

COLUMNS = ["dial", "name", "label", "line", "state", "registered", "provisioned", "username", "created_at",
           "password_set_at"]


@api.op("GET", "/users/{key}/devices", "A user's phones with their registration and line state", tag="devices",
        right="view", params=[Param("key", "path", KEY), *list_params(["dial", "name", "label", "line", "created_at"], [
            Param("provisioned", "query", {"type": "boolean"}, "only phones provisioned here (true) or by hand")])],
        responses=list_responses(DEVICE))
async def list_user_devices(ctx: Ctx) -> web.StreamResponse:
    return listing(ctx, await _devices(ctx, ctx.path["key"]), COLUMNS, "devices", exact=["provisioned"])


@api.op("GET", "/users/{key}/devices/{name}", "One provisioned phone of a user", tag="devices", right="view",
        params=[Param("key", "path", KEY), Param("name", "path", NAME)], responses={200: ("application/json", DEVICE)})
async def get_user_device(ctx: Ctx) -> web.StreamResponse:
    found = [d for d in await _devices(ctx, ctx.path["key"]) if d["name"] == ctx.path["name"]]
    if not found:
        raise not_found(f"device {ctx.path['name']} of {ctx.path['key']}")
    return json_response(found[0])


@api.op("POST", "/users/{key}/devices", "Provision a phone for a user: its SIP username and password (shown once) "
        "are in the answer, and Asterisk accepts it at once (no reload)", tag="devices", right="users",
        params=[Param("key", "path", KEY)],
        body={"type": "object", "required": ["name"], "additionalProperties": False, "properties": {
            "name": NAME, "label": LABEL}},
        responses={201: ("application/json", NEW_DEVICE), 409: (PROBLEM, None), 422: (PROBLEM, None)})
async def create_user_device(ctx: Ctx) -> web.StreamResponse:
    who, key, body = ctx.who, ctx.path["key"], ctx.body
    app = ctx_of(ctx.request)
    name, label, at = body["name"], body.get("label", ""), app.clock()
    endpoint = endpoint_id(who.tenant, name)
    dial = dial_string(endpoint)
    made: dict[str, Any] = {}

    def check(session: Session, tid: int) -> None:
        _user_row(session, who, tid, key)
        holder = session.scalar(select(DeviceRow.user_key).where(DeviceRow.tenant_id == tid, DeviceRow.name == name))
        if holder is not None:
            raise _conflict(f"there is already a phone {name!r} ({holder}'s)", "body.name")
        if any(session.get(model, endpoint) is not None for model in (PsEndpointRow, PsAuthRow, PsAorRow)):
            raise _conflict(f"the SIP username {endpoint} is already in use", "body.name")

    def mutate(cfg: TenantConfig) -> tuple[TenantConfig, Any, Any]:
        user = _user_config(cfg, key)
        if dial in user.devices:
            raise _conflict(f"{key} already has the phone {dial}", "body.name")
        if len(user.devices) >= MAX_DEVICES:
            raise Problem(422, "invalid", "The request is not valid", f"a user has at most {MAX_DEVICES} phones",
                          [{"field": "body.name", "message": f"{key} has {len(user.devices)} phones already"}])
        made["language"] = cfg.language
        users = tuple(replace(u, devices=(*u.devices, dial)) if u.key == key else u for u in cfg.users)
        after = {"name": name, "user": key, "dial": dial, "username": endpoint, "label": label, "created_at": at,
                 "password_set_at": at}
        return replace(cfg, users=users), None, after

    def then(session: Session, tid: int) -> None:
        try:
            made["new"] = provision(session, tid, who.tenant, key, name, label=label, language=made.get("language"),
                                    at=at)
        except DeviceTaken:
            raise _conflict(f"the SIP username {endpoint} is already in use", "body.name") from None

    after = await change_config(ctx, "create", "device", f"{key}/{name}", mutate, check=check, then=then)
    return json_response({**after, "realm": who.tenant, "password": made["new"].password}, 201)


@api.op("POST", "/users/{key}/devices/{name}/password", "Give a phone a new password (shown once); the old one "
        "stops working at the phone's next registration or call", tag="devices", right="users",
        params=[Param("key", "path", KEY), Param("name", "path", NAME)],
        responses={200: ("application/json", NEW_DEVICE)})
async def reset_device_password(ctx: Ctx) -> web.StreamResponse:
    who, key, name = ctx.who, ctx.path["key"], ctx.path["name"]
    app = ctx_of(ctx.request)
    at = app.clock()

    def write() -> dict[str, Any]:
        with app.sessions() as session, session.begin():
            _user_row(session, who, who.tenant_id, key)
            device = _device_row(session, who.tenant_id, key, name)
            before = _config_json(device)
            password = reset_password(session, device, who.tenant, at=at)
            after = _config_json(device)
            audit(session, who, "update", "device_password", f"{key}/{name}", before, after, at=at)
            return {**after, "realm": who.tenant, "password": password}
    return json_response(await app.db(write))


@api.op("DELETE", "/users/{key}/devices/{name}", "Remove a provisioned phone: Asterisk stops accepting it at once",
        tag="devices", right="users", params=[Param("key", "path", KEY), Param("name", "path", NAME)],
        responses={204: ("", None), **CONFLICT})
async def delete_user_device(ctx: Ctx) -> web.StreamResponse:
    who, key, name = ctx.who, ctx.path["key"], ctx.path["name"]
    gone: dict[str, Any] = {}

    def check(session: Session, tid: int) -> None:
        _user_row(session, who, tid, key)
        gone.update(_config_json(_device_row(session, tid, key, name)))

    def mutate(cfg: TenantConfig) -> tuple[TenantConfig, Any, Any]:
        users = tuple(replace(u, devices=tuple(d for d in u.devices if d != gone["dial"])) if u.key == key else u
                      for u in cfg.users)
        return replace(cfg, users=users), gone, None

    # the rows Asterisk reads go with the configuration's save (pbx.devices.provision.prune)
    await change_config(ctx, "delete", "device", f"{key}/{name}", mutate, check=check)
    return web.Response(status=204)


@api.op("GET", "/users/{key}/line", "A user's line now (free, ringing, in a call, unavailable) and each phone's "
        "state, as Asterisk reports them", tag="devices", right="view", params=[Param("key", "path", KEY)],
        responses={200: ("application/json", LINE_STATUS), 503: (PROBLEM, None)})
async def get_user_line(ctx: Ctx) -> web.StreamResponse:
    key = ctx.path["key"]
    devices = await _devices(ctx, key)  # 404 for a user out of reach, before anything live is read
    controller = ctx_of(ctx.request).controller
    if controller is None:
        raise Problem(503, "unavailable", "No live state here",
                      "this API instance runs without a controller: line status is not here")
    line = await controller.store.line(ctx.who.tenant, key)
    return json_response({"user": key, "line": line_label(line), "devices": [
        # a phone Asterisk has said nothing about counts as free, as in the user's line (pbx.devices.lines)
        {"dial": d["dial"], "name": d["name"], "line": d["line"] or line_label(LineStatus.IDLE),
         "state": d["state"], "registered": d["registered"]} for d in devices]})

