"""Accounts (the tree), numbers, users with their presence, administrators and the one search endpoint
(A-01…A-03, A-08).

Who may do what, where the issue leaves it open:
- Reading accounts, numbers, users and searching needs "view". Changing the account tree (create, rename,
  move, delete) needs "users": accounts group users and numbers, and an account administrator (rights view,
  numbers, users, agents) keeps the accounts inside their own in order. Numbers need "numbers"; users
  "users"; a presence entry "users", or "agents" for the administrator's own telephony user.
- Administrators need "admins", which an account administrator does not hold: they manage no
  administrators (a custom role with "admins" and an account manages only administrators inside it).
- An account administrator (`who.accounts`) reaches only their account's subtree: anything outside it is
  404 like a missing object, an account outside it named in a body is "no such account" (422); they
  cannot create at the root, move anything out of their subtree, or leave a number or user with no account.
- Numbers and users change through the routing core's validation (422 with one error per problem) as the
  next configuration version, audited in the same transaction; refusals that are about other objects are
  409 (a key, number, extension or device in use; a user still referred to).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from admin_api.app import KEY, NUMBER, api, ctx_of
from admin_api.auth import RIGHTS, ROLES, AuthError, Principal, audit, subtree
from admin_api.config import change_config, invalid
from admin_api.core import Ctx, Param, Problem, forbidden, json_response, not_found
from admin_api.lists import list_params, list_responses, listing
from pbx.db import load_tenant
from pbx.db.models import AccountRow, AdminRow, NumberRow, PresenceEntryRow, TenantRow, UserDeviceRow, UserRow
from pbx.db.store import NotFound, add_account, clear_presence, load_presence, set_presence
from pbx.routing.model import (
    BarringClass,
    Forwarding,
    NumberConfig,
    PresenceEntry,
    PresenceRule,
    PresenceStatus,
    Target,
    TenantConfig,
    UserConfig,
)
from pbx.routing.validate import InvalidConfig

log = logging.getLogger("admin_api.accounts")

E164 = {"type": "string", "pattern": r"^\+[1-9][0-9]{6,14}$"}
NULL_E164 = {"type": ["string", "null"], "pattern": r"^\+[1-9][0-9]{6,14}$"}
NULL_KEY = {"type": ["string", "null"], "pattern": KEY["pattern"]}
# names, labels and messages are shown in lists and exported to spreadsheets: no control characters
NAME = {"type": "string", "minLength": 1, "maxLength": 200, "pattern": r"^[^\x00-\x1f\x7f]+$"}
TEXT = {"type": "string", "maxLength": 200, "pattern": r"^[^\x00-\x1f\x7f]*$"}
ROW_ID = {"type": "string", "pattern": "^[0-9]{1,18}$"}
STAMP = {"type": "string", "format": "date-time"}
TARGET = {"type": ["string", "null"], "description": "user:KEY, voicemail:KEY, group:KEY, queue:KEY or external:+E.164",
          "pattern": r"^((user|voicemail|group|queue):[a-z0-9][a-z0-9_-]{0,63}|external:\+[1-9][0-9]{6,14})$"}
CONFLICT = {409: ("application/problem+json", None)}
REFUSED = {409: ("application/problem+json", None), 422: ("application/problem+json", None)}

# ================================================================================================
# Shared helpers
# ================================================================================================



async def _read(ctx: Ctx, read: Callable[[Session], Any]) -> Any:
    def run() -> Any:
        with ctx_of(ctx.request).sessions() as session:
            return read(session)
    return await ctx_of(ctx.request).db(run)


async def _write(ctx: Ctx, write: Callable[[Session], Any]) -> Any:
    def run() -> Any:
        with ctx_of(ctx.request).sessions() as session, session.begin():
            return write(session)
    return await ctx_of(ctx.request).db(run)


def _placement(session: Session, who: Principal, tid: int, current: int | None,
               body: dict[str, Any]) -> dict[str, Any]:
    """The account a number or user is in (before) and will be in (id, key) after a change that may move it."""
    target = _account_ref(session, who, tid, body["account"], "body.account") if "account" in body else current
    return {"before": _account_key(session, current), "id": target, "key": _account_key(session, target)}


def _forget(ctx: Ctx, admin_id: int | None = None) -> None:
    """Sign-ins this instance keeps resolved (if it does) see a change of rights or reach at once."""
    ctx_of(ctx.request).forget_principals(admin_id)


def _conflict(detail: str, field: str = "") -> Problem:
    return Problem(409, "conflict", "Conflicts with an existing object", detail,
                   [{"field": field, "message": detail}] if field else None)


def _unprocessable(field: str, message: str) -> Problem:
    return Problem(422, "invalid", "The request is not valid", message, [{"field": field, "message": message}])


def _accounts(session: Session, tid: int) -> dict[int, AccountRow]:
    return {a.id: a for a in session.scalars(select(AccountRow).where(AccountRow.tenant_id == tid)
                                             .order_by(AccountRow.position, AccountRow.id))}


def _reaches(who: Principal, account_id: int | None) -> bool:
    return who.accounts is None or (account_id is not None and account_id in who.accounts)


def _account_ref(session: Session, who: Principal, tid: int, key: str | None, field: str) -> int | None:
    """The id of an account named in a body; one outside the principal's reach is no account at all."""
    if key is None:
        if who.accounts is not None:
            raise forbidden_here("an account administrator keeps everything inside their accounts: name one")
        return None
    account_id = session.scalar(select(AccountRow.id).where(AccountRow.tenant_id == tid, AccountRow.key == key))
    if account_id is None or not _reaches(who, account_id):
        raise _unprocessable(field, f"there is no account {key!r}")
    return account_id


def forbidden_here(detail: str) -> Problem:
    return Problem(403, "forbidden", "Forbidden", detail)


def _account_key(session: Session, account_id: int | None) -> str | None:
    return session.scalar(select(AccountRow.key).where(AccountRow.id == account_id)) if account_id else None


# ================================================================================================
# Accounts
# ================================================================================================

ACCOUNT_ROW = api.schema("AccountRow", {"type": "object", "required": ["key", "name", "parent"], "properties": {
    "key": {"type": "string"}, "name": {"type": "string"}, "parent": {"type": ["string", "null"]},
    "numbers": {"type": "integer"}, "users": {"type": "integer"}, "children": {"type": "integer"}}})
ACCOUNT = api.schema("Account", {"type": "object", "required": ["key", "name", "parent", "numbers", "users",
                                                                 "children"], "properties": {
    "key": {"type": "string"}, "name": {"type": "string"}, "parent": {"type": ["string", "null"]},
    "numbers": {"type": "array", "items": {"type": "string"}}, "users": {"type": "array", "items": {"type": "string"}},
    "children": {"type": "array", "items": {"type": "string"}}}})
ACCOUNT_NODE = api.schema("AccountNode", {"type": "object", "required": ["key", "name", "children"], "properties": {
    "key": {"type": "string"}, "name": {"type": "string"},
    "numbers": {"type": "array", "items": {"type": "string"}}, "users": {"type": "array", "items": {"type": "string"}},
    "children": {"type": "array", "items": {"$ref": "#/components/schemas/AccountNode"}}}})


class _Tree:
    """A tenant's accounts as the principal sees them: their subtree, its top with no parent shown."""

    def __init__(self, session: Session, who: Principal) -> None:
        self.who = who
        self.rows = _accounts(session, who.tenant_id)
        # the reach is read again here: an account created in this transaction is already in it
        reach = None if who.account_id is None or who.accounts is None else subtree(session, who.tenant_id,
                                                                                     who.account_id)
        self.visible = {i: a for i, a in self.rows.items() if reach is None or i in reach}
        self.numbers: dict[int, list[str]] = defaultdict(list)
        self.users: dict[int, list[str]] = defaultdict(list)
        for number, account_id in session.execute(select(NumberRow.number, NumberRow.account_id).where(
                NumberRow.tenant_id == who.tenant_id).order_by(NumberRow.position)).tuples():
            if account_id is not None:
                self.numbers[account_id].append(number)
        for user, account_id in session.execute(select(UserRow.key, UserRow.account_id).where(
                UserRow.tenant_id == who.tenant_id).order_by(UserRow.position)).tuples():
            if account_id is not None:
                self.users[account_id].append(user)
        self.children: dict[int | None, list[int]] = defaultdict(list)
        for i, a in self.rows.items():
            self.children[a.parent_id].append(i)

    def by_key(self, key: str) -> AccountRow:
        found = next((a for a in self.visible.values() if a.key == key), None)
        if found is None:
            raise not_found(f"account {key}")
        return found

    def parent_key(self, a: AccountRow) -> str | None:
        return self.visible[a.parent_id].key if a.parent_id in self.visible else None

    def one(self, a: AccountRow) -> dict[str, Any]:
        return {"key": a.key, "name": a.name, "parent": self.parent_key(a), "numbers": self.numbers[a.id],
                "users": self.users[a.id], "children": [self.rows[c].key for c in self.children[a.id]]}

    def flat(self) -> list[dict[str, Any]]:
        return [{"key": a.key, "name": a.name, "parent": self.parent_key(a), "numbers": len(self.numbers[i]),
                 "users": len(self.users[i]), "children": len(self.children[i])} for i, a in self.visible.items()]

    def nested(self) -> list[dict[str, Any]]:
        def node(i: int) -> dict[str, Any]:
            a = self.rows[i]
            return {"key": a.key, "name": a.name, "numbers": self.numbers[i], "users": self.users[i],
                    "children": [node(c) for c in self.children[i]]}
        return [node(i) for i, a in self.visible.items() if a.parent_id not in self.visible]


@api.op("GET", "/accounts", "The tenant's accounts, flat, each with its parent (an account administrator: their "
        "subtree)", tag="accounts", right="view",
        params=list_params(["key", "name", "parent", "numbers", "users", "children"], [
            Param("parent", "query", KEY, "only this account's direct sub-accounts")]),
        responses=list_responses(ACCOUNT_ROW))
async def list_accounts(ctx: Ctx) -> web.StreamResponse:
    rows = await _read(ctx, lambda s: _Tree(s, ctx.who).flat())
    return listing(ctx, rows, ["key", "name", "parent", "numbers", "users", "children"], "accounts",
                   exact=["parent"])


@api.op("GET", "/account-tree", "The account tree: the main account (or the account administrator's own) with its "
        "sub-accounts nested, and the numbers and users of each", tag="accounts", right="view",
        responses={200: ("application/json", {"type": "object", "required": ["roots"], "properties": {
            "roots": {"type": "array", "items": ACCOUNT_NODE}}})})
async def account_tree(ctx: Ctx) -> web.StreamResponse:
    return json_response({"roots": await _read(ctx, lambda s: _Tree(s, ctx.who).nested())})


@api.op("GET", "/accounts/{key}", "One account with its numbers, users and sub-accounts", tag="accounts",
        right="view", params=[Param("key", "path", KEY)], responses={200: ("application/json", ACCOUNT)})
async def get_account(ctx: Ctx) -> web.StreamResponse:
    def read(session: Session) -> dict[str, Any]:
        tree = _Tree(session, ctx.who)
        return tree.one(tree.by_key(ctx.path["key"]))
    return json_response(await _read(ctx, read))


@api.op("POST", "/accounts", "Create an account under a parent (the main account: no parent, once per tenant)",
        tag="accounts", right="users",
        body={"type": "object", "required": ["key", "name"], "additionalProperties": False, "properties": {
            "key": KEY, "name": NAME, "parent": NULL_KEY}},
        responses={201: ("application/json", ACCOUNT), **REFUSED})
async def create_account(ctx: Ctx) -> web.StreamResponse:
    who, body = ctx.who, ctx.body
    app = ctx_of(ctx.request)

    def write(session: Session) -> dict[str, Any]:
        parent = body.get("parent")
        if parent is None and who.accounts is not None:
            raise forbidden_here("an account administrator creates accounts inside their own account only")
        _account_ref(session, who, who.tenant_id, parent, "body.parent")
        if session.scalar(select(AccountRow.id).where(AccountRow.tenant_id == who.tenant_id,
                                                      AccountRow.key == body["key"])) is not None:
            raise _conflict(f"there is already an account {body['key']!r}", "body.key")
        try:
            add_account(session, who.tenant, body["key"], body["name"], parent)
        except ValueError as exc:  # a second main account
            raise _conflict(f"{exc}: give a parent", "body.parent") from None
        tree = _Tree(session, who)
        created = tree.one(tree.by_key(body["key"]))
        audit(session, who, "create", "account", body["key"], None, created, at=app.clock())
        return created
    created = await _write(ctx, write)
    _forget(ctx)  # an account administrator's subtree just grew
    return json_response(created, 201)


@api.op("PATCH", "/accounts/{key}", "Rename an account or move it under another parent (never under itself)",
        tag="accounts", right="users", params=[Param("key", "path", KEY)],
        body={"type": "object", "minProperties": 1, "additionalProperties": False, "properties": {
            "name": NAME, "parent": NULL_KEY}},
        responses={200: ("application/json", ACCOUNT), **REFUSED})
async def update_account(ctx: Ctx) -> web.StreamResponse:
    who, body = ctx.who, ctx.body
    app = ctx_of(ctx.request)

    def write(session: Session) -> dict[str, Any]:
        session.scalar(select(TenantRow.id).where(TenantRow.id == who.tenant_id).with_for_update())
        tree = _Tree(session, who)
        account = tree.by_key(ctx.path["key"])
        before = tree.one(account)
        if "parent" in body and body["parent"] != before["parent"]:
            parent = body["parent"]
            if parent is None:
                if account.parent_id is not None:
                    raise _unprocessable("body.parent", "a tenant has one main account: give a parent")
            else:
                parent_id = _account_ref(session, who, who.tenant_id, parent, "body.parent")
                if parent_id in subtree(session, who.tenant_id, account.id):
                    raise _unprocessable("body.parent", f"{parent!r} is {account.key!r} or under it: "
                                                        "an account cannot move under itself")
                account.parent_id = parent_id
        if "name" in body:
            account.name = body["name"]
        session.flush()
        after = _Tree(session, who).one(account)
        audit(session, who, "update", "account", account.key, before, after, at=app.clock())
        return after
    after = await _write(ctx, write)
    _forget(ctx)  # a move changes account administrators' subtrees
    return json_response(after)


@api.op("DELETE", "/accounts/{key}", "Delete an account that holds nothing (no numbers, users, sub-accounts or "
        "administrators)", tag="accounts", right="users", params=[Param("key", "path", KEY)],
        responses={204: ("", None), **CONFLICT})
async def delete_account(ctx: Ctx) -> web.StreamResponse:
    who = ctx.who
    app = ctx_of(ctx.request)

    def write(session: Session) -> None:
        session.scalar(select(TenantRow.id).where(TenantRow.id == who.tenant_id).with_for_update())
        tree = _Tree(session, who)
        account = tree.by_key(ctx.path["key"])
        before = tree.one(account)
        admins = session.scalar(select(func.count()).select_from(AdminRow).where(AdminRow.account_id == account.id))
        held = [(what, n) for what, n in (("numbers", len(before["numbers"])), ("users", len(before["users"])),
                                          ("children", len(before["children"])), ("administrators", admins or 0))
                if n]
        if held:
            errors = [{"field": what, "message": f"{n} {what.replace('children', 'sub-accounts')} belong to it: "
                                                 "move or delete them first"} for what, n in held]
            raise Problem(409, "account-in-use", "The account is not empty",
                          "; ".join(e["message"] for e in errors), errors)
        session.delete(account)
        audit(session, who, "delete", "account", account.key, before, None, at=app.clock())
    await _write(ctx, write)
    _forget(ctx)
    return web.Response(status=204)


# ================================================================================================
# Numbers (the list is in admin_api/app.py)
# ================================================================================================

NUMBER_FIELDS: dict[str, Any] = {
    "label": TEXT, "flow": NULL_KEY, "user": NULL_KEY,
    "via": {"type": "string", "enum": ["fixed", "mobile"]}, "account": NULL_KEY, "record": {"type": "boolean"}}


def _number_json(n: NumberConfig, account: str | None) -> dict[str, Any]:
    return {"number": n.number, "label": n.label, "flow": n.flow, "user": n.user, "via": n.via, "account": account,
            "record": n.record}


def _number_row(session: Session, who: Principal, tid: int, number: str) -> NumberRow:
    row = session.scalar(select(NumberRow).where(NumberRow.tenant_id == tid, NumberRow.number == number))
    if row is None or not _reaches(who, row.account_id):
        raise not_found(f"number {number}")
    return row


def _check_user_ref(session: Session, who: Principal, tid: int, user: str | None, field: str) -> None:
    """An account administrator points numbers only at users they reach (the core checks the rest)."""
    if user is None or who.accounts is None:
        return
    account_id = session.scalar(select(UserRow.account_id).where(UserRow.tenant_id == tid, UserRow.key == user))
    if not _reaches(who, account_id):
        raise _unprocessable(field, f"there is no user {user!r}")


def _place(session: Session, tid: int, model: Any, column: Any, ref: str, account_id: int | None) -> None:
    session.execute(update(model).where(model.tenant_id == tid, column == ref).values(account_id=account_id))


@api.op("GET", "/numbers/{number}", "One number", tag="numbers", right="view", params=[Param("number", "path", E164)],
        responses={200: ("application/json", NUMBER)})
async def get_number(ctx: Ctx) -> web.StreamResponse:
    def read(session: Session) -> dict[str, Any]:
        row = _number_row(session, ctx.who, ctx.who.tenant_id, ctx.path["number"])
        return {"number": row.number, "label": row.label, "flow": row.flow_key, "user": row.user_key, "via": row.via,
                "account": _account_key(session, row.account_id), "record": row.record}
    return json_response(await _read(ctx, read))


@api.op("POST", "/numbers", "Add a number pointing at a flow or a user, in an account", tag="numbers", right="numbers",
        body={"type": "object", "required": ["number"], "additionalProperties": False,
              "properties": {"number": E164, **NUMBER_FIELDS}},
        responses={201: ("application/json", NUMBER), **REFUSED})
async def create_number(ctx: Ctx) -> web.StreamResponse:
    who, body = ctx.who, ctx.body
    number = body["number"]
    account: dict[str, Any] = {"key": body.get("account"), "id": None}
    if who.accounts is not None and account["key"] is None:
        account["id"] = who.account_id  # an account administrator's number lands in their own account

    def check(session: Session, tid: int) -> None:
        if session.scalar(select(NumberRow.id).where(NumberRow.number == number)) is not None:
            # the same answer whether this tenant or another has it: nothing about another tenant leaks
            raise _conflict(f"the number {number} is already in use", "body.number")
        if account["id"] is None:
            account["id"] = _account_ref(session, who, tid, account["key"], "body.account")
        account["key"] = _account_key(session, account["id"])
        _check_user_ref(session, who, tid, body.get("user"), "body.user")

    def mutate(cfg: TenantConfig) -> tuple[TenantConfig, Any, Any]:
        new = NumberConfig(number, flow=body.get("flow"), user=body.get("user"), via=body.get("via", "fixed"),
                           label=body.get("label", ""), record=body.get("record", False))
        return replace(cfg, numbers=(*cfg.numbers, new)), None, _number_json(new, account["key"])

    after = await change_config(ctx, "create", "number", number, mutate, check=check,
                          then=lambda s, tid: _place(s, tid, NumberRow, NumberRow.number, number, account["id"]))
    return json_response(after, 201)


@api.op("PATCH", "/numbers/{number}", "Change a number's flow or user, label, account or recording", tag="numbers",
        right="numbers", params=[Param("number", "path", E164)],
        body={"type": "object", "minProperties": 1, "additionalProperties": False, "properties": NUMBER_FIELDS},
        responses={200: ("application/json", NUMBER), **REFUSED})
async def update_number(ctx: Ctx) -> web.StreamResponse:
    who, body, number = ctx.who, ctx.body, ctx.path["number"]
    account: dict[str, Any] = {}

    def check(session: Session, tid: int) -> None:
        row = _number_row(session, who, tid, number)
        account.update(_placement(session, who, tid, row.account_id, body))
        _check_user_ref(session, who, tid, body.get("user"), "body.user")

    def mutate(cfg: TenantConfig) -> tuple[TenantConfig, Any, Any]:
        old = next(n for n in cfg.numbers if n.number == number)
        flow, user = body.get("flow", old.flow), body.get("user", old.user)
        if body.get("flow") is not None and "user" not in body:
            user = None  # pointing the number at a flow lets go of the user, and the other way round
        if body.get("user") is not None and "flow" not in body:
            flow = None
        new = replace(old, flow=flow, user=user, via=body.get("via", old.via), label=body.get("label", old.label),
                      record=body.get("record", old.record))
        numbers = tuple(new if n.number == number else n for n in cfg.numbers)
        return (replace(cfg, numbers=numbers), _number_json(old, account["before"]),
                _number_json(new, account["key"]))

    after = await change_config(ctx, "update", "number", number, mutate, check=check,
                          then=lambda s, tid: _place(s, tid, NumberRow, NumberRow.number, number, account["id"]))
    return json_response(after)


@api.op("DELETE", "/numbers/{number}", "Remove a number from the tenant", tag="numbers", right="numbers",
        params=[Param("number", "path", E164)], responses={204: ("", None), **REFUSED})
async def delete_number(ctx: Ctx) -> web.StreamResponse:
    who, number = ctx.who, ctx.path["number"]
    account: dict[str, Any] = {}

    def check(session: Session, tid: int) -> None:
        account["key"] = _account_key(session, _number_row(session, who, tid, number).account_id)

    def mutate(cfg: TenantConfig) -> tuple[TenantConfig, Any, Any]:
        old = next(n for n in cfg.numbers if n.number == number)
        return (replace(cfg, numbers=tuple(n for n in cfg.numbers if n.number != number)),
                _number_json(old, account["key"]), None)

    await change_config(ctx, "delete", "number", number, mutate, check=check, refuse=_number_in_use(number))
    return web.Response(status=204)


def _number_in_use(number: str) -> Callable[[InvalidConfig], Problem]:
    """A number users present as their caller ID (U-04: chosen, or as the last main number) is in use: 409."""
    def refuse(exc: InvalidConfig) -> Problem:
        if not all(p.code == "caller-id-not-owned" for p in exc.problems):
            return invalid(exc)
        errors = [{"field": p.where, "message": p.message, "code": "in-use"} for p in exc.problems]
        return Problem(409, "number-in-use", "The number is still in use",
                       f"{number} is the caller ID of " + ", ".join(p.where for p in exc.problems[:5])
                       + ": change those first", errors)
    return refuse


# ================================================================================================
# Users
# ================================================================================================

FORWARDING = {"type": "object", "additionalProperties": False, "properties": {
    "always": TARGET, "on_busy": TARGET, "on_no_answer": TARGET,
    "no_answer_after_s": {"type": "integer", "minimum": 5, "maximum": 300}}}
PRESENCE_RULE = {"type": "object", "required": ["status"], "additionalProperties": False, "properties": {
    "status": {"type": "string", "enum": [s.value for s in PresenceStatus]}, "target": TARGET,
    "applies_to": {"type": "string", "enum": ["both", "fixed", "mobile"]}, "announce": {"type": "boolean"}}}
USER_FIELDS: dict[str, Any] = {
    "name": NAME,
    "extension": {"type": ["string", "null"], "pattern": "^[0-9]{2,8}$"},
    "kind": {"type": "string", "enum": ["fixed", "mobile", "both"]},
    "fixed_number": NULL_E164, "mobile_number": NULL_E164,
    "devices": {"type": "array", "maxItems": 10, "uniqueItems": True,
                "items": {"type": "string", "pattern": r"^[A-Za-z0-9][A-Za-z0-9/_.@:-]{0,99}$"}},
    "voicemail": NULL_KEY,
    "forwarding": FORWARDING,
    "presence_rules": {"type": "array", "maxItems": 10, "items": PRESENCE_RULE,
                       "description": "activity-based forwarding: where calls go in each presence status"},
    "barred": {"type": "array", "uniqueItems": True, "items": {"type": "string",
                                                                "enum": [b.value for b in BarringClass]}},
    "call_waiting": {"type": "boolean"},
    "email": {"type": ["string", "null"], "maxLength": 254, "pattern": r"^[^\x00-\x1f\x7f]*$"},
    "record": {"type": "boolean"},
    "outbound_caller_id": {"type": ["string", "null"], "pattern": r"^(main|fixed|mobile|\+[1-9][0-9]{6,14})$",
                           "description": "U-04: the number outbound calls present: main (the tenant's main number), "
                           "fixed or mobile (the user's own) or a +E.164 number the tenant owns; null: the fixed "
                           "number, else the main number"},
    "ring": {"type": "string", "enum": ["parallel", "sequential"],
             "description": "a call to the user rings their phones all at once or one after the other"},
    "ring_each_s": {"type": "integer", "minimum": 5, "maximum": 300,
                    "description": "seconds each phone rings in sequence (within the no-answer time)"},
    "account": NULL_KEY,
}
USER = api.schema("User", {"type": "object", "required": ["key", "name"], "properties": {
    "key": {"type": "string"}, "name": {"type": "string"}, "extension": {"type": ["string", "null"]},
    "kind": {"type": "string"}, "fixed_number": {"type": ["string", "null"]},
    "mobile_number": {"type": ["string", "null"]}, "devices": {"type": "array", "items": {"type": "string"}},
    "voicemail": {"type": ["string", "null"]}, "forwarding": {"type": "object"},
    "presence_rules": {"type": "array"}, "barred": {"type": "array", "items": {"type": "string"}},
    "call_waiting": {"type": "boolean"}, "email": {"type": ["string", "null"]}, "record": {"type": "boolean"},
    "outbound_caller_id": {"type": ["string", "null"]}, "ring": {"type": "string", "enum": ["parallel", "sequential"]},
    "ring_each_s": {"type": "integer"}, "account": {"type": ["string", "null"]}}})
USER_ROW = api.schema("UserRow", {"type": "object", "required": ["key", "name"], "properties": {
    "key": {"type": "string"}, "name": {"type": "string"}, "extension": {"type": ["string", "null"]},
    "kind": {"type": "string"}, "fixed_number": {"type": ["string", "null"]},
    "mobile_number": {"type": ["string", "null"]}, "account": {"type": ["string", "null"]},
    "email": {"type": ["string", "null"]}, "voicemail": {"type": ["string", "null"]},
    "devices": {"type": "array", "items": {"type": "string"}}, "barred": {"type": "array", "items": {"type": "string"}},
    "forward_always": {"type": ["string", "null"]}, "call_waiting": {"type": "boolean"},
    "record": {"type": "boolean"}}})


def _text(target: Target | None) -> str | None:
    return None if target is None else str(target)


def _target(text: str | None) -> Target | None:
    return None if text is None else Target.parse(text)


def _user_json(u: UserConfig, account: str | None) -> dict[str, Any]:
    fw = u.forwarding
    return {"key": u.key, "name": u.name, "extension": u.extension, "kind": u.kind, "fixed_number": u.fixed_number,
            "mobile_number": u.mobile_number, "devices": list(u.devices), "voicemail": u.voicemail,
            "forwarding": {"always": _text(fw.always), "on_busy": _text(fw.on_busy),
                           "on_no_answer": _text(fw.on_no_answer), "no_answer_after_s": fw.no_answer_after_s},
            "presence_rules": [{"status": r.status.value, "target": _text(r.target), "applies_to": r.applies_to,
                                "announce": r.announce} for r in u.presence_rules],
            "barred": sorted(b.value for b in u.barred), "call_waiting": u.call_waiting, "email": u.email,
            "record": u.record, "outbound_caller_id": u.outbound_caller_id, "ring": u.ring,
            "ring_each_s": u.ring_each_s, "account": account}


def _apply_user(u: UserConfig, body: dict[str, Any]) -> UserConfig:
    """`u` with the fields of a create or update body."""
    simple = {f: body[f] for f in ("name", "extension", "kind", "fixed_number", "mobile_number", "voicemail",
                                   "call_waiting", "email", "record", "outbound_caller_id", "ring", "ring_each_s")
              if f in body}
    u = replace(u, **simple)
    if "devices" in body:
        u = replace(u, devices=tuple(body["devices"]))
    if "barred" in body:
        u = replace(u, barred=frozenset(BarringClass(b) for b in body["barred"]))
    if "forwarding" in body:
        fw, given = u.forwarding, body["forwarding"]
        u = replace(u, forwarding=Forwarding(
            always=_target(given["always"]) if "always" in given else fw.always,
            on_busy=_target(given["on_busy"]) if "on_busy" in given else fw.on_busy,
            on_no_answer=_target(given["on_no_answer"]) if "on_no_answer" in given else fw.on_no_answer,
            no_answer_after_s=given.get("no_answer_after_s", fw.no_answer_after_s)))
    if "presence_rules" in body:
        u = replace(u, presence_rules=tuple(PresenceRule(PresenceStatus(r["status"]), _target(r.get("target")),
                                                         r.get("applies_to", "both"), r.get("announce", True))
                                            for r in body["presence_rules"]))
    return u


def _user_row(session: Session, who: Principal, tid: int, key: str) -> UserRow:
    row = session.scalar(select(UserRow).where(UserRow.tenant_id == tid, UserRow.key == key))
    if row is None or not _reaches(who, row.account_id):
        raise not_found(f"user {key}")
    return row


def _check_clashes(session: Session, tid: int, key: str, body: dict[str, Any]) -> None:
    """What the routing core does not check: extensions are unique in a tenant, and a device (a phone) is one
    user's in the whole system, since a phone's calls are bound to its user."""
    extension = body.get("extension")
    if extension is not None:
        other = session.scalar(select(UserRow.key).where(UserRow.tenant_id == tid, UserRow.extension == extension,
                                                        UserRow.key != key))
        if other is not None:
            raise _conflict(f"extension {extension} is already {other}'s", "body.extension")
    for device in body.get("devices", ()):
        holder = session.execute(select(UserRow.tenant_id, UserRow.key).join(UserDeviceRow, UserDeviceRow.user_id ==
                                                                             UserRow.id)
                                 .where(UserDeviceRow.device == device)).first()
        if holder is not None and tuple(holder) != (tid, key):
            raise _conflict(f"the device {device} is already in use", "body.devices")


def _users_listing(session: Session, who: Principal) -> list[dict[str, Any]]:
    accounts = {i: a.key for i, a in _accounts(session, who.tenant_id).items()}
    rows = session.scalars(select(UserRow).where(UserRow.tenant_id == who.tenant_id).order_by(UserRow.position))
    return [{"key": r.key, "name": r.name, "extension": r.extension, "kind": r.kind, "fixed_number": r.fixed_number,
             "mobile_number": r.mobile_number, "account": accounts.get(r.account_id) if r.account_id else None,
             "email": r.email, "voicemail": r.voicemail_box, "devices": [d.device for d in r.devices],
             "barred": list(r.barred), "forward_always": r.forward_always, "call_waiting": r.call_waiting,
             "record": r.record} for r in rows if _reaches(who, r.account_id)]


@api.op("GET", "/users", "The tenant's users (an account administrator: their accounts')", tag="users", right="view",
        params=list_params(["name", "key", "extension", "account", "kind"], [
            Param("account", "query", KEY, "only this account's users"),
            Param("kind", "query", {"type": "string", "enum": ["fixed", "mobile", "both"]})]),
        responses=list_responses(USER_ROW))
async def list_users(ctx: Ctx) -> web.StreamResponse:
    rows = await _read(ctx, lambda s: _users_listing(s, ctx.who))
    return listing(ctx, rows, ["name", "key", "extension", "kind", "fixed_number", "mobile_number", "account",
                               "email", "voicemail", "devices", "barred", "forward_always"], "users",
                   exact=["account", "kind"])


@api.op("GET", "/users/{key}", "One user: numbers, devices, voicemail, forwarding, presence rules, barring",
        tag="users", right="view", params=[Param("key", "path", KEY)], responses={200: ("application/json", USER)})
async def get_user(ctx: Ctx) -> web.StreamResponse:
    def read(session: Session) -> dict[str, Any]:
        row = _user_row(session, ctx.who, ctx.who.tenant_id, ctx.path["key"])
        cfg = load_tenant(session, ctx.who.tenant)
        user = next(u for u in cfg.users if u.key == row.key)
        return _user_json(user, _account_key(session, row.account_id))
    return json_response(await _read(ctx, read))


@api.op("POST", "/users", "Add a user", tag="users", right="users",
        body={"type": "object", "required": ["key", "name"], "additionalProperties": False,
              "properties": {"key": KEY, **USER_FIELDS}},
        responses={201: ("application/json", USER), **REFUSED})
async def create_user(ctx: Ctx) -> web.StreamResponse:
    who, body = ctx.who, ctx.body
    key = body["key"]
    account: dict[str, Any] = {"id": who.account_id if who.accounts is not None and body.get("account") is None
                               else None}

    def check(session: Session, tid: int) -> None:
        if session.scalar(select(UserRow.id).where(UserRow.tenant_id == tid, UserRow.key == key)) is not None:
            raise _conflict(f"there is already a user {key!r}", "body.key")
        if account["id"] is None:
            account["id"] = _account_ref(session, who, tid, body.get("account"), "body.account")
        account["key"] = _account_key(session, account["id"])
        _check_clashes(session, tid, key, body)
        # presence periods of a user of the same key, deleted before, do not come back to life
        session.execute(delete(PresenceEntryRow).where(PresenceEntryRow.tenant_id == tid,
                                                       PresenceEntryRow.user_key == key))

    def mutate(cfg: TenantConfig) -> tuple[TenantConfig, Any, Any]:
        new = _apply_user(UserConfig(key, body["name"]), body)
        return replace(cfg, users=(*cfg.users, new)), None, _user_json(new, account["key"])

    after = await change_config(ctx, "create", "user", key, mutate, check=check,
                          then=lambda s, tid: _place(s, tid, UserRow, UserRow.key, key, account["id"]),
                          refuse=_refused_user(key, body))
    return json_response(after, 201)


@api.op("PATCH", "/users/{key}", "Change a user: name, extension, numbers, devices, voicemail, forwarding, "
        "presence rules, barring, call waiting, e-mail, recording, account", tag="users", right="users",
        params=[Param("key", "path", KEY)],
        body={"type": "object", "minProperties": 1, "additionalProperties": False, "properties": USER_FIELDS},
        responses={200: ("application/json", USER), **REFUSED})
async def update_user(ctx: Ctx) -> web.StreamResponse:
    who, body, key = ctx.who, ctx.body, ctx.path["key"]
    account: dict[str, Any] = {}

    def check(session: Session, tid: int) -> None:
        row = _user_row(session, who, tid, key)
        account.update(_placement(session, who, tid, row.account_id, body))
        _check_clashes(session, tid, key, body)

    def mutate(cfg: TenantConfig) -> tuple[TenantConfig, Any, Any]:
        old = next(u for u in cfg.users if u.key == key)
        new = _apply_user(old, body)
        users = tuple(new if u.key == key else u for u in cfg.users)
        return replace(cfg, users=users), _user_json(old, account["before"]), _user_json(new, account["key"])

    after = await change_config(ctx, "update", "user", key, mutate, check=check,
                          then=lambda s, tid: _place(s, tid, UserRow, UserRow.key, key, account["id"]),
                          refuse=_refused_user(key, body))
    return json_response(after)


# the routing core's objections to a user's own settings, by the body field that carries them
_USER_PROBLEM_FIELDS = {"caller-id-not-owned": "outbound_caller_id", "bad-caller-id": "outbound_caller_id",
                        "bad-ring": "ring"}


def _refused_user(key: str, body: dict[str, Any]) -> Callable[[InvalidConfig], Problem]:
    """The routing core's 422, with a problem of this user's that a field of the body caused named by that field
    (`body.outbound_caller_id`: a caller ID the tenant does not own)."""
    def refuse(exc: InvalidConfig) -> Problem:
        problem = invalid(exc)
        for error, p in zip(problem.errors, exc.problems, strict=True):
            name = _USER_PROBLEM_FIELDS.get(p.code)
            if p.where == f"user {key}" and name in body:
                error["field"] = f"body.{name}"
        return problem
    return refuse


def _still_used(key: str) -> Callable[[InvalidConfig], Problem]:
    def refuse(exc: InvalidConfig) -> Problem:
        errors = [{"field": p.where, "message": p.message, "code": "in-use"} for p in exc.problems]
        return Problem(409, "user-in-use", "The user is still in use",
                       f"{key!r} is still referred to by " + ", ".join(p.where for p in exc.problems[:5])
                       + ": change those first", errors)
    return refuse


@api.op("DELETE", "/users/{key}", "Remove a user no longer referred to (by a number, flow, group, queue, voicemail "
        "box, another user's forwarding or an administrator)", tag="users", right="users",
        params=[Param("key", "path", KEY)], responses={204: ("", None), **REFUSED})
async def delete_user(ctx: Ctx) -> web.StreamResponse:
    who, key = ctx.who, ctx.path["key"]
    account: dict[str, Any] = {}

    def check(session: Session, tid: int) -> None:
        account["key"] = _account_key(session, _user_row(session, who, tid, key).account_id)
        if session.scalar(select(AdminRow.id).where(AdminRow.tenant_id == tid, AdminRow.user_key == key)):
            raise Problem(409, "user-in-use", "The user is still in use",
                          f"an administrator's sign-in is linked to {key!r}: change that first",
                          [{"field": "administrator", "message": "linked to this user", "code": "in-use"}])

    def mutate(cfg: TenantConfig) -> tuple[TenantConfig, Any, Any]:
        old = next(u for u in cfg.users if u.key == key)
        return replace(cfg, users=tuple(u for u in cfg.users if u.key != key)), _user_json(old, account["key"]), None

    def then(session: Session, tid: int) -> None:
        clear_presence(session, who.tenant, key)

    await change_config(ctx, "delete", "user", key, mutate, check=check, then=then, refuse=_still_used(key))
    return web.Response(status=204)


# --- presence ------------------------------------------------------------------------------------

PRESENCE_ENTRY = api.schema("PresenceEntry", {"type": "object", "required": ["id", "status", "from", "until",
                                                                             "message", "active"], "properties": {
    "id": {"type": "string"}, "status": {"type": "string"}, "from": STAMP,
    "until": {"type": ["string", "null"], "format": "date-time"}, "message": {"type": "string"},
    "active": {"type": "boolean"}}})
PRESENCE = api.schema("Presence", {"type": "object", "required": ["user", "current", "entries"], "properties": {
    "user": {"type": "string"}, "current": {"anyOf": [PRESENCE_ENTRY, {"type": "null"}]},
    "entries": {"type": "array", "items": PRESENCE_ENTRY}}})

_STAMP_TEXT = re.compile(r"^(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


def parse_instant(text: str, field: str) -> datetime:
    """An RFC 3339 date-time (what the document promises) as an aware instant; a clear 422 otherwise."""
    m = _STAMP_TEXT.match(text)
    if m is None:
        raise _unprocessable(field, f"{text!r} is not a date-time such as 2026-03-02T12:00:00+01:00")
    day, minute, second, fraction, zone = m.groups()
    second = min(int(second), 59)  # a leap second is the last second of its minute
    micro = (fraction or ".0")[1:7].ljust(6, "0")
    try:
        value = datetime.fromisoformat(f"{day}T{minute}:{second:02d}.{micro}{'+00:00' if zone in 'Zz' else zone}")
        return value.astimezone(UTC)
    except (ValueError, OverflowError):
        raise _unprocessable(field, f"{text!r} is not a date-time that exists") from None


def _may_set_presence(who: Principal, user: str) -> None:
    if not (who.can("users") or (who.can("agents") and who.user_key == user)):
        raise forbidden("users")


def _presence(session: Session, who: Principal, key: str, now: datetime) -> dict[str, Any]:
    rows = session.scalars(select(PresenceEntryRow).where(PresenceEntryRow.tenant_id == who.tenant_id,
                                                          PresenceEntryRow.user_key == key)
                           .order_by(PresenceEntryRow.starts_at, PresenceEntryRow.id))
    entries = [{"id": str(r.id), "status": r.status, "from": r.starts_at, "until": r.ends_at, "message": r.message,
                "active": r.starts_at <= now and (r.ends_at is None or now < r.ends_at)} for r in rows]
    current = next((e for e in reversed(entries) if e["active"]), None)  # the latest started wins
    return {"user": key, "current": current, "entries": entries}


async def _tell_controller(ctx: Ctx, key: str) -> None:
    """The live state behind the decisions (memory or Redis) hears the user's presence at once."""
    controller = ctx_of(ctx.request).controller
    if controller is None:
        return
    entries = await _read(ctx, lambda s: load_presence(s, ctx.who.tenant).get((ctx.who.tenant, key), ()))
    await controller.store.set_presence(ctx.who.tenant, key, entries)


@api.op("GET", "/users/{key}/presence", "A user's presence: the one in force now and those planned", tag="users",
        right="view", params=[Param("key", "path", KEY)], responses={200: ("application/json", PRESENCE)})
async def get_presence(ctx: Ctx) -> web.StreamResponse:
    now = ctx_of(ctx.request).clock()

    def read(session: Session) -> dict[str, Any]:
        _user_row(session, ctx.who, ctx.who.tenant_id, ctx.path["key"])
        return _presence(session, ctx.who, ctx.path["key"], now)
    return json_response(await _read(ctx, read))


@api.op("POST", "/users/{key}/presence", "Set a presence (now or planned: lunch until 12:45, a meeting, away…); "
        "one starting at the same instant is replaced", tag="users", right="view", params=[Param("key", "path", KEY)],
        body={"type": "object", "required": ["status"], "additionalProperties": False, "properties": {
            "status": {"type": "string", "enum": [s.value for s in PresenceStatus]},
            "from": {**STAMP, "description": "default: now"},
            "until": {"type": ["string", "null"], "format": "date-time", "description": "null: until changed"},
            "message": TEXT}},
        responses={201: ("application/json", PRESENCE_ENTRY), 422: ("application/problem+json", None)})
async def set_user_presence(ctx: Ctx) -> web.StreamResponse:
    who, body, key = ctx.who, ctx.body, ctx.path["key"]
    app = ctx_of(ctx.request)
    now = app.clock()
    start = parse_instant(body["from"], "body.from") if "from" in body else now.astimezone(UTC)
    end = parse_instant(body["until"], "body.until") if body.get("until") is not None else None
    if end is not None and end <= start:
        raise _unprocessable("body.until", "a presence ends after it starts")
    entry = PresenceEntry(PresenceStatus(body["status"]), start, end, body.get("message", ""))

    def write(session: Session) -> dict[str, Any]:
        _user_row(session, who, who.tenant_id, key)
        _may_set_presence(who, key)
        set_presence(session, who.tenant, key, entry)
        row = session.scalar(select(PresenceEntryRow).where(
            PresenceEntryRow.tenant_id == who.tenant_id, PresenceEntryRow.user_key == key,
            PresenceEntryRow.starts_at == start))
        assert row is not None
        shown: dict[str, Any] = next(e for e in _presence(session, who, key, now)["entries"]
                                     if e["id"] == str(row.id))
        audit(session, who, "create", "presence", f"{key}/{row.id}", None, shown, at=app.clock())
        return shown
    shown = await _write(ctx, write)
    await _tell_controller(ctx, key)
    return json_response(shown, 201)


@api.op("DELETE", "/users/{key}/presence/{id}", "Remove a presence entry", tag="users", right="view",
        params=[Param("key", "path", KEY), Param("id", "path", ROW_ID)], responses={204: ("", None)})
async def delete_presence(ctx: Ctx) -> web.StreamResponse:
    who, key = ctx.who, ctx.path["key"]
    app = ctx_of(ctx.request)

    def write(session: Session) -> None:
        _user_row(session, who, who.tenant_id, key)
        _may_set_presence(who, key)
        shown = next((e for e in _presence(session, who, key, app.clock())["entries"] if e["id"] == ctx.path["id"]),
                     None)
        if shown is None:
            raise not_found(f"presence entry {ctx.path['id']} of {key}")
        clear_presence(session, who.tenant, key, shown["from"])
        audit(session, who, "delete", "presence", f"{key}/{shown['id']}", shown, None, at=app.clock())
    await _write(ctx, write)
    await _tell_controller(ctx, key)
    return web.Response(status=204)


# ================================================================================================
# Administrators
# ================================================================================================

ADMIN = api.schema("Administrator", {"type": "object", "required": ["id", "login", "name", "role", "rights"],
                                     "properties": {
    "id": {"type": "string"}, "login": {"type": "string"}, "name": {"type": "string"},
    "role": {"type": "string", "enum": list(ROLES)}, "rights": {"type": "array", "items": {"type": "string"}},
    "custom_rights": {"type": "array", "items": {"type": "string"}}, "account": {"type": ["string", "null"]},
    "second_factor": {"type": "string"}, "user": {"type": ["string", "null"]},
    "created_at": STAMP, "disabled": {"type": "boolean"},
    "totp_secret": {"type": "string", "description": "shown once, when a TOTP factor is set up or reset"},
    "totp_uri": {"type": "string", "description": "the same as an otpauth:// URI for a QR code"}}})
ADMIN_FIELDS: dict[str, Any] = {
    "name": NAME,
    "role": {"type": "string", "enum": list(ROLES)},
    "rights": {"type": "array", "uniqueItems": True, "items": {"type": "string", "enum": list(RIGHTS)},
               "description": "the custom role's rights"},
    "account": {**NULL_KEY, "description": "an account administrator's account (a custom role may have one)"},
    "second_factor": {"type": "string", "enum": ["none", "totp", "sms"]},
    "sms_number": NULL_E164,
    "user": {**NULL_KEY, "description": "the telephony user this administrator is (agents' own actions)"},
    "password": {"type": "string", "minLength": 10, "maxLength": 1000, "writeOnly": True},
}


def _admin_error(exc: AuthError | NotFound) -> Problem:
    if isinstance(exc, NotFound):
        return not_found(str(exc))
    if exc.code == "forbidden":
        return forbidden_here(exc.message)
    if exc.code == "conflict":
        return _conflict(exc.message, exc.field)
    return _unprocessable(exc.field or "body", exc.message)


def _admin_json(view: dict[str, Any], secret: str | None, tenant: str) -> dict[str, Any]:
    out = {**view, "id": str(view["id"])}
    if secret is not None:
        out["totp_secret"] = secret
        out["totp_uri"] = f"otpauth://totp/PBX%20{tenant}:{view['login']}?secret={secret}&issuer=PBX"
    return out


async def _admins(ctx: Ctx, call: Callable[[], Any]) -> Any:
    try:
        return await asyncio.to_thread(call)
    except (AuthError, NotFound) as exc:
        raise _admin_error(exc) from None


@api.op("GET", "/admins", "The tenant's administrators (no password, no secret)", tag="admins", right="admins",
        params=list_params(["login", "name", "role", "account"], [
            Param("role", "query", {"type": "string", "enum": list(ROLES)}),
            Param("account", "query", KEY)]),
        responses=list_responses(ADMIN))
async def list_admins(ctx: Ctx) -> web.StreamResponse:
    store = ctx_of(ctx.request).admins
    rows = [_admin_json(v, None, ctx.who.tenant) for v in await _admins(ctx, lambda: store.list_admins(ctx.who))]
    return listing(ctx, rows, ["login", "name", "role", "account", "second_factor", "rights", "user", "created_at"],
                   "administrators", exact=["role", "account"])


@api.op("GET", "/admins/{id}", "One administrator", tag="admins", right="admins", params=[Param("id", "path", ROW_ID)],
        responses={200: ("application/json", ADMIN)})
async def get_admin(ctx: Ctx) -> web.StreamResponse:
    store = ctx_of(ctx.request).admins
    view = await _admins(ctx, lambda: store.get_admin(ctx.who, int(ctx.path["id"])))
    return json_response(_admin_json(view, None, ctx.who.tenant))


@api.op("POST", "/admins", "Add an administrator: role, rights (custom), account (account administrator), second "
        "factor; the password is set here and never shown again", tag="admins", right="admins",
        body={"type": "object", "required": ["login", "name", "password", "role"], "additionalProperties": False,
              "properties": {"login": {"type": "string", "minLength": 3, "maxLength": 200,
                                       "pattern": r"^[^\s@\x00-\x1f\x7f]+@[^\s@\x00-\x1f\x7f]+$"}, **ADMIN_FIELDS}},
        responses={201: ("application/json", ADMIN), **REFUSED})
async def create_admin(ctx: Ctx) -> web.StreamResponse:
    store, body = ctx_of(ctx.request).admins, ctx.body
    view, secret = await _admins(ctx, lambda: store.add_admin(
        ctx.who, login=body["login"], name=body["name"], password=body["password"], role=body["role"],
        rights=body.get("rights", ()), account=body.get("account"), second_factor=body.get("second_factor", "none"),
        sms_number=body.get("sms_number"), user=body.get("user")))
    return json_response(_admin_json(view, secret, ctx.who.tenant), 201)


@api.op("PATCH", "/admins/{id}", "Change an administrator: name, role, rights, account, user, password, second factor "
        "(reset_second_factor: a new authenticator secret, shown once)", tag="admins", right="admins",
        params=[Param("id", "path", ROW_ID)],
        body={"type": "object", "minProperties": 1, "additionalProperties": False,
              "properties": {**ADMIN_FIELDS, "reset_second_factor": {"type": "boolean"}}},
        responses={200: ("application/json", ADMIN), **REFUSED})
async def update_admin(ctx: Ctx) -> web.StreamResponse:
    store = ctx_of(ctx.request).admins
    view, secret = await _admins(ctx, lambda: store.update_admin(ctx.who, int(ctx.path["id"]), dict(ctx.body)))
    _forget(ctx, int(ctx.path["id"]))
    return json_response(_admin_json(view, secret, ctx.who.tenant))


@api.op("DELETE", "/admins/{id}", "Remove an administrator (never yourself, never the last super administrator)",
        tag="admins", right="admins", params=[Param("id", "path", ROW_ID)], responses={204: ("", None), **CONFLICT})
async def delete_admin(ctx: Ctx) -> web.StreamResponse:
    store = ctx_of(ctx.request).admins
    await _admins(ctx, lambda: store.delete_admin(ctx.who, int(ctx.path["id"])))
    _forget(ctx, int(ctx.path["id"]))
    return web.Response(status=204)


# ================================================================================================
# Search (A-08)
# ================================================================================================

HIT = api.schema("SearchHit", {"type": "object", "required": ["kind", "key", "label", "match"], "properties": {
    "kind": {"type": "string", "enum": ["user", "number", "account"]}, "key": {"type": "string"},
    "label": {"type": "string"}, "match": {"type": "string", "description": "the field that matched"},
    "value": {"type": "string", "description": "what it holds"}}})


def _digits(text: str) -> str:
    """A phone number as digits, national form (08-123 456 00) turned international (46812345600)."""
    digits = re.sub(r"[^0-9]", "", text)
    if text.strip().startswith("00"):
        return digits[2:]
    if digits.startswith("0"):
        return "46" + digits[1:]
    return digits


def _score(q: str, value: str | None, phone: bool) -> int | None:
    """0 exact, 1 prefix (or a word's start), 2 anywhere; None: no match."""
    if not value:
        return None
    if phone:
        wanted, have = _digits(q), _digits(value)
        if len(wanted) < 3:
            return None
        if wanted == have:
            return 0
        return 1 if have.startswith(wanted) else (2 if wanted in have else None)
    text, value = q.casefold(), value.casefold()
    if text == value:
        return 0
    if value.startswith(text) or any(w.startswith(text) for w in re.split(r"[\s@._-]+", value)):
        return 1
    return 2 if text in value else None


def search_hits(q: str, users: list[dict[str, Any]], numbers: list[dict[str, Any]],
                accounts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every hit with its best-matching field, best first: exact, then prefix, then anywhere; then by kind
    (users, numbers, accounts) and label."""
    phone_like = bool(re.fullmatch(r"[+0-9 ()-]+", q.strip())) and sum(c.isdigit() for c in q) >= 3
    fields = {"user": [("name", False), ("key", False), ("extension", False), ("fixed_number", True),
                       ("mobile_number", True), ("email", False)],
              "number": [("number", True), ("label", False)],
              "account": [("key", False), ("name", False)]}
    hits: list[tuple[int, int, str, dict[str, Any]]] = []
    for order, (kind, rows, key_field, label_field) in enumerate((("user", users, "key", "name"),
                                                                 ("number", numbers, "number", "label"),
                                                                 ("account", accounts, "key", "name"))):
        for row in rows:
            best: tuple[int, str] | None = None
            for name, phone in fields[kind]:
                if phone and not phone_like:
                    continue
                score = _score(q, row.get(name), phone)
                if score is not None and (best is None or score < best[0]):
                    best = (score, name)
            if best is not None:
                label = row.get(label_field) or row[key_field]
                hits.append((best[0], order, label.casefold(), {
                    "kind": kind, "key": row[key_field], "label": label, "match": best[1],
                    "value": str(row.get(best[1]))}))
    return [h for *_, h in sorted(hits, key=lambda h: h[:3])]


@api.op("GET", "/search", "One search field: users (name, extension, numbers), numbers (number, label) and accounts "
        "(key, name); exact matches first", tag="search", right="view",
        params=[Param("q", "query", {"type": "string", "minLength": 1, "maxLength": 100}, required=True),
                Param("limit", "query", {"type": "integer", "minimum": 1, "maximum": 100, "default": 20})],
        responses={200: ("application/json", {"type": "object", "required": ["q", "hits", "total"], "properties": {
            "q": {"type": "string"}, "total": {"type": "integer"}, "hits": {"type": "array", "items": HIT}}})})
async def search(ctx: Ctx) -> web.StreamResponse:
    who, q = ctx.who, str(ctx.query["q"]).strip()

    def read(session: Session) -> list[dict[str, Any]]:
        if not q:
            return []
        users = _users_listing(session, who)
        numbers = [{"number": r.number, "label": r.label}
                   for r in session.scalars(select(NumberRow).where(NumberRow.tenant_id == who.tenant_id))
                   if _reaches(who, r.account_id)]
        accounts = [{"key": a.key, "name": a.name} for a in _Tree(session, who).visible.values()]
        return search_hits(q, users, numbers, accounts)
    hits = await _read(ctx, read)
    return json_response({"q": q, "total": len(hits), "hits": hits[:int(ctx.query["limit"])]})
