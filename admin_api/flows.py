"""Flows: drafts, validation, atomic publish, roll back to any earlier version, and what-if.

How it fits together (decisions the issue leaves open):
- A flow has numbered versions (pbx.db flow_versions). Editing happens in its one draft, which has no number
  until it is published; publishing copies the draft or any earlier version into the configuration in force
  as the tenant's next configuration version, in one transaction with its audit entry. A rollback is a
  publish of an earlier number: the numbers never change meaning, and each publish is recorded (who, when).
- Flows stored before versions existed are version 1 (the migration records it), and a flow saved some other
  way (save_tenant: the demo, an import) becomes the next version when its nodes differ.
- A call's position names the version it started on ("huvud@3"), and the controllers keep recent earlier
  versions in their tables, so a call in progress finishes on its version after a publish.
- Reading (lists, a flow, its versions, validating a draft, what-if) needs "view"; every change needs
  "flows". Flows belong to the whole tenant; the numbers shown with a flow, and what-if, are limited to an
  account administrator's accounts (a number outside them is 404).
- What-if is POST /what-if: it is about a number, which may ring a user rather than a flow (and as
  /flows/what-if the path would also match /flows/{key}, whose methods the server would then advertise for it).
  It runs the routing core (pbx.routing.whatif) on a table compiled from the tenant's configuration with the
  asked version of the number's flow: no call is placed. Members of groups and queues count as logged in unless
  asked otherwise; presence is what is stored.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any, TypeVar

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.orm import Session

from admin_api.app import KEY, NULLABLE_STAMP, STAMP, api, ctx_of
from admin_api.auth import Principal, audit
from admin_api.core import PROBLEM, Ctx, Param, Problem, json_response
from admin_api.lists import list_params, list_responses, listing
from pbx.db import (
    Conflict,
    FlowHistory,
    FlowVersion,
    NotFound,
    delete_draft,
    delete_flow,
    flow_history,
    list_flows,
    load_presence,
    load_tenant,
    publish_flow,
    save_draft,
)
from pbx.db.codec import NODE_TYPES, nodes_from_json, nodes_to_json, params_schema
from pbx.db.models import NumberRow, UserRow
from pbx.ivr.catalogue import SYSTEM_PROMPTS
from pbx.routing import Decision, PlayMenu, TenantTable
from pbx.routing.compile import compile_table
from pbx.routing.model import Flow, Menu, TenantConfig, node_links
from pbx.routing.state import StateSnapshot, everyone_logged_in
from pbx.routing.validate import InvalidConfig, validate_tenant
from pbx.routing.validate import Problem as ConfigProblem
from pbx.routing.whatif import Outcome, describe, what_if

log = logging.getLogger("admin_api.flows")
T = TypeVar("T")

MAX_NODES = 200
VERSION_PATH = {"type": "string", "pattern": "^[1-9][0-9]{0,8}$"}
VERSION_NUMBER = {"type": "integer", "minimum": 1, "maximum": 999999999}
NODE_KEY = {"type": "string", "minLength": 1, "maxLength": 64}
NAME = {"type": "string", "minLength": 1, "maxLength": 200}

NODE_IN = api.schema("FlowNodeInput", {"oneOf": [
    {"type": "object", "required": ["kind", "key", "params"], "additionalProperties": False, "properties": {
        "kind": {"const": kind.value}, "key": NODE_KEY, "name": {"type": "string", "maxLength": 200},
        "params": params_schema(kind)}}
    for kind in NODE_TYPES]})
NODE_OUT = api.schema("FlowNode", {"type": "object", "required": ["kind", "key", "name", "params"], "properties": {
    "kind": {"type": "string", "enum": [k.value for k in NODE_TYPES]}, "key": {"type": "string"},
    "name": {"type": "string"}, "params": {"type": "object"}}})
NODES_IN = {"type": "array", "maxItems": MAX_NODES, "items": NODE_IN}
VERSION = api.schema("FlowVersion", {
    "type": "object", "required": ["state", "name", "entry", "nodes", "at", "by"], "properties": {
        "version": {"type": "integer", "description": "the version's number (a draft has none)"},
        "state": {"type": "string", "enum": ["draft", "published", "earlier"]},
        "name": {"type": "string"}, "entry": {"type": "string"}, "nodes": {"type": "array", "items": NODE_OUT},
        "at": STAMP, "by": {"type": "string"},
        "based_on": {"type": ["integer", "null"], "description": "a draft: the version in force when it began"}}})
NULL_VERSION = {"anyOf": [VERSION, {"type": "null"}]}
FLOW = api.schema("Flow", {"type": "object", "required": ["key", "name", "published", "draft", "numbers"],
                           "properties": {
    "key": {"type": "string"}, "name": {"type": "string"}, "published": NULL_VERSION, "draft": NULL_VERSION,
    "numbers": {"type": "array", "items": {"type": "string"}},
    "published_at": NULLABLE_STAMP, "published_by": {"type": ["string", "null"]}}})
FLOW_ROW = api.schema("FlowListItem", {"type": "object", "required": ["key", "name", "published_version", "draft"],
                                       "properties": {
    "key": {"type": "string"}, "name": {"type": "string"}, "published_version": {"type": ["integer", "null"]},
    "published_at": NULLABLE_STAMP, "published_by": {"type": ["string", "null"]}, "draft": {"type": "boolean"},
    "draft_at": NULLABLE_STAMP, "draft_by": {"type": ["string", "null"]}, "versions": {"type": "integer"},
    "numbers": {"type": "array", "items": {"type": "string"}}}})
VERSION_ROW = api.schema("FlowVersionListItem", {"type": "object", "required": ["state", "name"],
                                                 "properties": {
    "version": {"type": "integer", "description": "absent for the draft"},
    "state": {"type": "string", "enum": ["draft", "published", "earlier"]},
    "name": {"type": "string"}, "nodes": {"type": "integer"}, "at": STAMP, "by": {"type": "string"},
    "published_times": {"type": "integer"}, "last_published_at": NULLABLE_STAMP,
    "last_published_by": {"type": ["string", "null"]}}})
CHECK = api.schema("FlowProblem", {"type": "object", "required": ["code", "node", "message", "where"], "properties": {
    "code": {"type": "string"}, "node": {"type": ["string", "null"], "description": "null: the flow as a whole"},
    "message": {"type": "string"}, "where": {"type": "string"}}})
VALIDATION = api.schema("FlowValidation", {"type": "object", "required": ["valid", "problems"], "properties": {
    "valid": {"type": "boolean"}, "problems": {"type": "array", "items": CHECK}}})
PUBLISHED = api.schema("FlowPublished", {"type": "object", "required": ["key", "before", "after", "config_version"],
                                         "properties": {
    "key": {"type": "string"}, "before": {"type": ["integer", "null"]}, "after": {"type": "integer"},
    "config_version": {"type": "integer"}, "published_at": STAMP, "published_by": {"type": "string"}}})
WHAT_IF = api.schema("WhatIf", {"type": "object", "required": ["number", "at", "decisions", "outcome"],
                                "properties": {
    "number": {"type": "string"}, "tenant": {"type": "string"}, "flow": {"type": ["string", "null"]},
    "version": {"type": ["integer", "string", "null"]}, "at": STAMP,
    "digits": {"type": "array", "items": {"type": "string"}},
    "decisions": {"type": "array", "items": {"type": "object", "required": ["steps", "action", "kind"], "properties": {
        "steps": {"type": "array", "items": {"type": "string"}}, "action": {"type": "string"},
        "kind": {"type": "string"}, "prompts": {"type": "array", "items": {"type": "string"}},
        "flow": {"type": ["string", "null"]}, "node": {"type": ["string", "null"]},
        "target": {"type": ["string", "null"]},
        "path": {"type": "array", "description": "the nodes of the flow this decision passed, in order, each with "
                 "the path that led to it (null: the flow's entry, or a node reached otherwise)", "items": {
            "type": "object", "required": ["node", "via"], "properties": {
                "node": {"type": "string"}, "via": {"type": ["string", "null"], "description": "next, digit 1, "
                                                    "timeout, invalid, retry, open, closed, holiday, override, "
                                                    "overflow"}}}}}}},
    "explanation": {"type": "array", "items": {"type": "string"}}, "outcome": {"type": "string"}}})

FLOW_PARAM = [Param("key", "path", KEY)]


# --- helpers ---------------------------------------------------------------------------------------


async def _in_session(ctx: Ctx, work: Callable[[Session], T], write: bool = False) -> T:
    """`work` in a session of its own, off the event loop; a write commits with its audit entry or not at all."""
    sessions = ctx_of(ctx.request).sessions

    def run() -> T:
        with sessions() as session:
            if not write:
                return work(session)
            with session.begin():
                return work(session)
    try:
        return await ctx_of(ctx.request).db(run)
    except NotFound as exc:
        raise Problem(404, "not-found", "Not found", str(exc)) from None
    except Conflict as exc:
        raise Problem(409, "conflict", "Conflicts with the current state", str(exc)) from None


def _numbers(who: Principal, numbers: tuple[tuple[str, int | None], ...]) -> list[str]:
    return [number for number, account in numbers if who.accounts is None or account in who.accounts]


def _version(v: FlowVersion, published: int | None) -> dict[str, Any]:
    """A version, or the draft: it has no number (and no "version") until it is published."""
    state = "draft" if v.version is None else "published" if v.version == published else "earlier"
    out = {"state": state, "name": v.flow.name, "entry": v.flow.entry, "nodes": nodes_to_json(v.flow.nodes),
           "at": v.at, "by": v.by, "based_on": v.based_on}
    return out if v.version is None else {"version": v.version, **out}


def _audited(v: FlowVersion | None) -> dict[str, Any] | None:
    """A version as the audit log keeps it (JSON-ready)."""
    if v is None:
        return None
    return {"version": v.version, "name": v.flow.name, "entry": v.flow.entry, "nodes": nodes_to_json(v.flow.nodes)}


def _flow_view(who: Principal, h: FlowHistory) -> dict[str, Any]:
    current = h.current
    last = next((p for p in reversed(h.publications) if p.version == h.published), None)
    name = current.flow.name if current is not None else h.draft.flow.name if h.draft is not None else h.key
    return {"key": h.key, "name": name, "published": _version(current, h.published) if current else None,
            "draft": _version(h.draft, h.published) if h.draft else None, "numbers": _numbers(who, h.numbers),
            "published_at": last.at if last else None, "published_by": last.by if last else None}


def _flow_from_body(key: str, name: str, entry: str, nodes: list[dict[str, Any]]) -> Flow:
    try:
        return Flow(key, name, entry, nodes_from_json(nodes))
    except (TypeError, ValueError) as exc:  # the schema should have caught it; say so rather than fail
        raise Problem(422, "invalid", "The request is not valid", str(exc),
                      [{"field": "body.nodes", "message": str(exc)}]) from None


def _problems(key: str, problems: list[ConfigProblem]) -> list[dict[str, Any]]:
    """The routing core's problems, each pinned to a node of flow `key` where it is about one."""
    prefix = f"flow {key}"
    out = []
    for p in problems:
        node = None
        if p.where.startswith(prefix + " node "):
            node = p.where[len(prefix + " node "):]
        out.append({"code": p.code, "node": node, "message": p.message, "where": p.where})
    return out


def _refused(key: str, exc: InvalidConfig) -> Problem:
    problems = _problems(key, exc.problems)
    return Problem(422, "invalid-flow", "The flow is not valid", "; ".join(p["message"] for p in problems[:5]),
                   [{"field": f"nodes.{p['node']}" if p["node"] else p["where"], "message": p["message"],
                     "code": p["code"], "node": p["node"]} for p in problems])


# --- reading -------------------------------------------------------------------------------------


@api.op("GET", "/flows", "The tenant's flows: published version, draft, and the numbers that lead to each",
        tag="flows", right="view", params=list_params(["key", "name", "published_version", "published_at"], [
            Param("draft", "query", {"type": "boolean"}, "only flows with (true) or without (false) a draft")]),
        responses=list_responses(FLOW_ROW))
async def list_all_flows(ctx: Ctx) -> web.StreamResponse:
    who = ctx.who
    summaries = await _in_session(ctx, lambda s: list_flows(s, who.tenant))
    rows = [{"key": f.key, "name": f.name, "published_version": f.published, "published_at": f.published_at,
             "published_by": f.published_by, "draft": f.draft_at is not None, "draft_at": f.draft_at,
             "draft_by": f.draft_by, "versions": f.versions, "numbers": _numbers(who, f.numbers)}
            for f in summaries]
    return listing(ctx, rows, ["key", "name", "published_version", "published_at", "published_by", "draft",
                               "draft_at", "versions", "numbers"], "flows", exact=["draft"])


@api.op("GET", "/flows/{key}", "One flow: the published version and the draft, if any", tag="flows", right="view",
        params=FLOW_PARAM, responses={200: ("application/json", FLOW)})
async def get_flow(ctx: Ctx) -> web.StreamResponse:
    history = await _in_session(ctx, lambda s: flow_history(s, ctx.who.tenant, ctx.path["key"]))
    return json_response(_flow_view(ctx.who, history))


@api.op("GET", "/flows/{key}/versions", "Every version of a flow (and its draft), with when each was published",
        tag="flows", right="view", params=[*FLOW_PARAM, *list_params(["version", "at", "state"], [
            Param("state", "query", {"type": "string", "enum": ["draft", "published", "earlier"]})])],
        responses=list_responses(VERSION_ROW))
async def list_flow_versions(ctx: Ctx) -> web.StreamResponse:
    history = await _in_session(ctx, lambda s: flow_history(s, ctx.who.tenant, ctx.path["key"]))
    rows = []
    for v in (*history.versions, *((history.draft,) if history.draft else ())):
        times = [p for p in history.publications if v.version is not None and p.version == v.version]
        row = _version(v, history.published)
        rows.append({**({"version": v.version} if v.version is not None else {}), "state": row["state"],
                     "name": v.flow.name, "nodes": len(v.flow.nodes), "at": v.at, "by": v.by,
                     "published_times": len(times), "last_published_at": times[-1].at if times else None,
                     "last_published_by": times[-1].by if times else None})
    return listing(ctx, rows, ["version", "state", "name", "nodes", "at", "by", "published_times",
                               "last_published_at", "last_published_by"], f"flow-{ctx.path['key']}-versions",
                   exact=["state"])


@api.op("GET", "/flows/{key}/versions/{version}", "One version of a flow, with its nodes", tag="flows",
        right="view", params=[*FLOW_PARAM, Param("version", "path", VERSION_PATH)],
        responses={200: ("application/json", VERSION)})
async def get_flow_version(ctx: Ctx) -> web.StreamResponse:
    history = await _in_session(ctx, lambda s: flow_history(s, ctx.who.tenant, ctx.path["key"]))
    try:
        version = history.version(int(ctx.path["version"]))
    except NotFound as exc:
        raise Problem(404, "not-found", "Not found", str(exc)) from None
    return json_response(_version(version, history.published))


# --- drafts ----------------------------------------------------------------------------------------


@api.op("POST", "/flows", "Create a new flow, as a draft (publish it to put it in force)", tag="flows",
        right="flows", body={"type": "object", "required": ["key", "name", "entry", "nodes"],
                             "additionalProperties": False, "properties": {
            "key": KEY, "name": NAME, "entry": NODE_KEY, "nodes": NODES_IN}},
        responses={201: ("application/json", FLOW), 409: (PROBLEM, None)})
async def create_flow(ctx: Ctx) -> web.StreamResponse:
    app, who, body = ctx_of(ctx.request), ctx.who, ctx.body
    flow = _flow_from_body(body["key"], body["name"], body["entry"], body["nodes"])

    def create(session: Session) -> FlowHistory:
        _, after = save_draft(session, who.tenant, flow, by=who.login, at=app.clock(), new=True)
        audit(session, who, "create", "flow_draft", flow.key, None, _audited(after), at=app.clock())
        return flow_history(session, who.tenant, flow.key)
    history = await _in_session(ctx, create, write=True)
    log.info("flow created as a draft", extra={"event": "flow_created", "tenant": who.tenant, "flow": flow.key})
    return json_response(_flow_view(who, history), 201)


async def _save_draft(ctx: Ctx, make: Callable[[FlowHistory], Flow]) -> web.StreamResponse:
    app, who, key = ctx_of(ctx.request), ctx.who, ctx.path["key"]

    def save(session: Session) -> FlowVersion:
        history = flow_history(session, who.tenant, key)
        before, after = save_draft(session, who.tenant, make(history), by=who.login, at=app.clock())
        audit(session, who, "update" if before else "create", "flow_draft", key, _audited(before), _audited(after),
              at=app.clock())
        return after
    draft = await _in_session(ctx, save, write=True)
    return json_response(_version(draft, draft.based_on))


@api.op("PUT", "/flows/{key}/draft", "Replace the flow's draft (or start one) with these nodes", tag="flows",
        right="flows", params=FLOW_PARAM, body={"type": "object", "required": ["name", "entry", "nodes"],
                                                "additionalProperties": False, "properties": {
            "name": NAME, "entry": NODE_KEY, "nodes": NODES_IN}},
        responses={200: ("application/json", VERSION)})
async def put_draft(ctx: Ctx) -> web.StreamResponse:
    flow = _flow_from_body(ctx.path["key"], ctx.body["name"], ctx.body["entry"], ctx.body["nodes"])
    return await _save_draft(ctx, lambda _history: flow)


@api.op("PATCH", "/flows/{key}/draft", "Change the draft (started from the published version if there is none): "
        "name, entry, or nodes by key (PUT replaces them all)", tag="flows", right="flows", params=FLOW_PARAM,
        body={"type": "object", "minProperties": 1, "additionalProperties": False, "properties": {
            "name": NAME, "entry": NODE_KEY,
            "upsert": {**NODES_IN, "description": "nodes that replace the node of the same key, or are added"},
            "remove": {"type": "array", "maxItems": MAX_NODES, "items": NODE_KEY,
                       "description": "keys of nodes to take out"}}},
        responses={200: ("application/json", VERSION)})
async def patch_draft(ctx: Ctx) -> web.StreamResponse:
    body = ctx.body

    def patched(history: FlowHistory) -> Flow:
        base = history.draft or history.current
        assert base is not None  # flow_history finds a flow only with a published version or a draft
        nodes = nodes_to_json(base.flow.nodes)
        keys = {n["key"] for n in nodes}
        missing = [k for k in body.get("remove", ()) if k not in keys]
        if missing:
            raise Problem(422, "invalid", "The request is not valid", f"no nodes {missing} to remove",
                          [{"field": "body.remove", "message": f"the draft has no node {k!r}"} for k in missing])
        nodes = [n for n in nodes if n["key"] not in set(body.get("remove", ()))]
        for new in body.get("upsert", ()):
            at = next((i for i, n in enumerate(nodes) if n["key"] == new["key"]), None)
            if at is None:
                nodes.append(new)
            else:
                nodes[at] = new
        return _flow_from_body(history.key, body.get("name", base.flow.name), body.get("entry", base.flow.entry),
                               nodes)
    return await _save_draft(ctx, patched)


@api.op("DELETE", "/flows/{key}/draft", "Throw the draft away (a flow that was only a draft is gone with it)",
        tag="flows", right="flows", params=FLOW_PARAM, responses={204: ("", None)})
async def drop_draft(ctx: Ctx) -> web.StreamResponse:
    app, who, key = ctx_of(ctx.request), ctx.who, ctx.path["key"]

    def drop(session: Session) -> None:
        gone = delete_draft(session, who.tenant, key)
        if gone is None:
            raise NotFound(f"flow {key!r} has no draft")
        audit(session, who, "delete", "flow_draft", key, _audited(gone), None, at=app.clock())
    await _in_session(ctx, drop, write=True)
    return web.Response(status=204)


@api.op("POST", "/flows/{key}/draft/validate", "Check the draft with the routing core, per node; nothing is "
        "published", tag="flows", right="view", params=FLOW_PARAM, responses={200: ("application/json", VALIDATION)})
async def validate_draft(ctx: Ctx) -> web.StreamResponse:
    who, key = ctx.who, ctx.path["key"]

    def check(session: Session) -> list[ConfigProblem]:
        history = flow_history(session, who.tenant, key)
        if history.draft is None:
            raise NotFound(f"flow {key!r} has no draft")
        return validate_tenant(load_tenant(session, who.tenant).with_flow(history.draft.flow))
    problems = _problems(key, await _in_session(ctx, check))
    return json_response({"valid": not problems, "problems": problems})


# --- publish, roll back, delete ------------------------------------------------------------------


@api.op("POST", "/flows/{key}/publish", "Publish the draft, or an earlier version again (a rollback): new calls "
        "get it, calls in progress finish on theirs", tag="flows", right="flows", params=FLOW_PARAM,
        body={"type": "object", "additionalProperties": False, "properties": {
            "version": {**VERSION_NUMBER, "description": "an earlier version to publish again (default: the draft)"}}},
        responses={200: ("application/json", PUBLISHED), 409: (PROBLEM, None)})
async def publish(ctx: Ctx) -> web.StreamResponse:
    app, who, key = ctx_of(ctx.request), ctx.who, ctx.path["key"]
    version = ctx.body.get("version") if isinstance(ctx.body, dict) else None
    at = app.clock()

    def run(session: Session) -> dict[str, Any]:
        before = flow_history(session, who.tenant, key)
        try:
            done = publish_flow(session, who.tenant, key, version, by=who.login, at=at)
        except InvalidConfig as exc:
            raise _refused(key, exc) from None
        after = flow_history(session, who.tenant, key)
        audit(session, who, "publish", "flow", key, _audited(before.current),
              _audited(after.current), at=at)
        return {"key": key, "before": done.before, "after": done.after, "config_version": done.config_version,
                "published_at": at, "published_by": who.login}
    result = await _in_session(ctx, run, write=True)
    log.info("flow published", extra={"event": "flow_published", "tenant": who.tenant, "flow": key,
                                      "before": result["before"], "after": result["after"]})
    return json_response(result)


@api.op("DELETE", "/flows/{key}", "Delete a flow (refused while a number leads to it); its versions stay for calls "
        "in progress", tag="flows", right="flows", params=FLOW_PARAM, responses={204: ("", None), 409: (PROBLEM, None)})
async def remove_flow(ctx: Ctx) -> web.StreamResponse:
    app, who, key = ctx_of(ctx.request), ctx.who, ctx.path["key"]

    def run(session: Session) -> None:
        gone = delete_flow(session, who.tenant, key, by=who.login, at=app.clock())
        audit(session, who, "delete", "flow", key, {"published": _audited(gone.current), "draft": _audited(gone.draft)},
              None, at=app.clock())
    await _in_session(ctx, run, write=True)
    log.info("flow deleted", extra={"event": "flow_deleted", "tenant": who.tenant, "flow": key})
    return web.Response(status=204)


# --- what-if -------------------------------------------------------------------------------------

E164 = {"type": "string", "pattern": r"^\+[1-9][0-9]{6,14}$"}
EARLIEST, LATEST = 2000, 2100


@api.op("POST", "/what-if", "Where a call to this number at this time, pressing these digits, goes and why "
        "(the published flow, its draft or any version; no call is placed)", tag="flows", right="view",
        body={"type": "object", "required": ["number"], "additionalProperties": False, "properties": {
            "number": E164,
            "at": {"type": "string", "format": "date-time", "maxLength": 40,
                   "description": "when (without an offset: the tenant's time zone); default now"},
            "digits": {"oneOf": [
                {"type": "string", "pattern": "^[0-9*#]{0,30}$", "description": "one key per menu, in order"},
                {"type": "array", "maxItems": 30, "items": {"type": "string", "pattern": "^[0-9*#]{0,20}$"},
                 "description": "what is keyed at each menu in turn (empty: nothing, the menu times out)"}]},
            "caller": {"type": "string", "pattern": r"^\+?[0-9]{0,15}$"},
            "flow": {**KEY, "description": "try this flow as if the number led to it (a flow no number leads to "
                                           "yet); default the number's own"},
            "version": {"oneOf": [{"type": "string", "enum": ["published", "draft"]}, VERSION_NUMBER],
                        "description": "which version of the number's flow; default the published one"},
            "logged_in": {"oneOf": [{"type": "string", "enum": ["all", "none"]},
                                    {"type": "array", "maxItems": 500, "items": KEY}],
                          "description": "members of groups and queues logged in: all (default), none, or these"},
            "answer": {"type": "boolean", "description": "whether a ringing destination answers (default true)"}}},
        responses={200: ("application/json", WHAT_IF), 404: (PROBLEM, None)})
async def flow_what_if(ctx: Ctx) -> web.StreamResponse:
    app, who, body = ctx_of(ctx.request), ctx.who, ctx.body
    number = body["number"]
    digits = list(body["digits"]) if isinstance(body.get("digits"), str) else list(body.get("digits", []))
    version = body.get("version", "published")

    def run(session: Session) -> dict[str, Any]:
        row = session.execute(select(NumberRow.flow_key, NumberRow.account_id).where(
            NumberRow.tenant_id == who.tenant_id, NumberRow.number == number)).one_or_none()
        if row is None or (who.accounts is not None and row.account_id not in who.accounts):
            raise NotFound(f"number {number} does not exist")
        cfg = load_tenant(session, who.tenant)
        flow_key: str | None = body.get("flow", row.flow_key)
        used: int | str | None = None
        if flow_key is not None:
            cfg, used = _with_version(session, who, cfg, flow_key, version)
            if flow_key != row.flow_key:
                cfg = replace(cfg, numbers=tuple(replace(n, flow=flow_key, user=None) if n.number == number else n
                                                 for n in cfg.numbers))
        elif version != "published":
            raise Problem(422, "invalid", "The request is not valid", f"{number} rings a user, not a flow",
                          [{"field": "body.version", "message": f"{number} rings a user: it has no flow versions"}])
        try:
            table = compile_table([cfg])
        except InvalidConfig as exc:
            raise _refused(flow_key or "", exc) from None
        tz = table.tenants[cfg.key].tz
        at = _when(body.get("at"), tz, app.clock())
        logged = body.get("logged_in", "all")
        only = None if logged == "all" else frozenset() if logged == "none" else frozenset(logged)
        state = StateSnapshot(presences=load_presence(session, who.tenant), members=everyone_logged_in(table, only))
        caller = body.get("caller") or "+46701234567"
        path = what_if(table, state, number, at, digits, caller, Outcome(answer=body.get("answer", True)))
        walked = _walk(table.tenants[cfg.key], flow_key, path, digits)
        decisions = [{"steps": d.steps, "action": describe(d.action), "kind": type(d.action).__name__,
                      "prompts": list(getattr(d.action, "prompts", ())), "flow": d.flow, "node": d.node,
                      "target": d.target, "path": nodes} for d, nodes in zip(path, walked, strict=True)]
        return {"number": number, "tenant": cfg.key, "flow": flow_key, "version": used,
                "at": at.astimezone(tz), "digits": digits, "decisions": decisions,
                "explanation": [d.explain(tz) for d in path],
                "outcome": describe(path[-1].action) if path else "nothing happens"}
    return json_response(await _in_session(ctx, run))


def _with_version(session: Session, who: Principal, cfg: TenantConfig, key: str,
                  version: int | str) -> tuple[TenantConfig, int | str | None]:
    """The configuration with `version` of flow `key` in place of the published one."""
    history = flow_history(session, who.tenant, key)
    if version == "published":
        if history.published is None:
            raise Problem(422, "invalid", "The request is not valid", f"flow {key!r} is not published yet",
                          [{"field": "body.version", "message": f"flow {key!r} has no published version yet: "
                                                                "try its draft"}])
        return cfg, history.published
    if version == "draft":
        if history.draft is None:
            raise NotFound(f"flow {key!r} has no draft")
        return cfg.with_flow(history.draft.flow), "draft"
    return cfg.with_flow(history.version(int(version)).flow), int(version)


def _when(text: str | None, tz: Any, now: datetime) -> datetime:
    if text is None:
        return now
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        at = None
    if at is None or not EARLIEST <= at.year <= LATEST:
        raise Problem(422, "invalid", "The request is not valid", f"{text!r} is not a usable time",
                      [{"field": "body.at", "message": f"an ISO 8601 date and time between {EARLIEST} and {LATEST}, "
                                                       "like 2026-11-24T10:00:00+01:00"}])
    if at.tzinfo is None:
        at = at.replace(tzinfo=tz)
    return at if at.utcoffset() is not None else at.replace(tzinfo=tz)


# --- the nodes a what-if call passed -------------------------------------------------------------
# The routing core names the nodes each decision went through (Decision.passed); the pages also show the path
# between them, which is the label of the link from one node to the next (node_links), and for a decision's first
# node, how the call left the menu it was at: the key pressed, a timeout, a retry.


def _walk(tenant: TenantTable, flow_key: str | None, path: Sequence[Decision],
          digits: Sequence[str]) -> list[list[dict[str, str | None]]]:
    """For each decision, the nodes of flow `flow_key` it passed, each with the path that led to it."""
    pending = list(digits)
    out: list[list[dict[str, str | None]]] = []
    prev: Decision | None = None
    pressed = ""
    for d in path:
        flow = tenant.flows.get(d.flow) if d.flow and d.flow.partition("@")[0] == flow_key else None
        steps: list[dict[str, str | None]] = []
        if flow is not None:
            before = flow.nodes.get(prev.node) if prev is not None and prev.flow == d.flow and prev.node else None
            for key in d.passed:
                steps.append({"node": key, "via": None if before is None else _label(before, key, pressed)})
                before, pressed = flow.nodes.get(key), ""
        out.append(steps)
        pressed = (pending.pop(0) if pending else "") if isinstance(d.action, PlayMenu) else ""
        prev = d
    return out


def _label(node: Any, target: str, pressed: str) -> str | None:
    """Why a call went from `node` to `target`: the link's label (a menu: by what was pressed, or a retry)."""
    links = node_links(node)
    if isinstance(node, Menu):
        if target == node.key:
            return "retry"
        for label in ((f"digit {pressed}", "invalid") if pressed else ("timeout",)):
            if links.get(label) == target:
                return label
    return next((label for label, to in links.items() if to == target), None)


# --- what a node may refer to --------------------------------------------------------------------

NAMED = {"key": {"type": "string"}, "name": {"type": "string"}}
CHOICE = {"type": "object", "required": ["key", "name"], "properties": NAMED}
TARGETS = api.schema("FlowTargets", {
    "type": "object", "required": ["queues", "groups", "users", "schedules", "boxes", "prompts", "flows"],
    "properties": {
        "queues": {"type": "array", "items": CHOICE}, "groups": {"type": "array", "items": CHOICE},
        "users": {"type": "array", "items": CHOICE, "description": "an account administrator: their accounts'"},
        "schedules": {"type": "array", "items": CHOICE}, "boxes": {"type": "array", "items": CHOICE},
        "flows": {"type": "array", "items": CHOICE},
        "prompts": {"type": "array", "items": {**CHOICE, "properties": {
            **NAMED, "system": {"type": "boolean", "description": "one of the default prompts every "
                                               "tenant has (its name: its text in the tenant's language)"}}}}}})


@api.op("GET", "/flow-targets", "What a flow's nodes may refer to: queues, answer groups, users, schedules, voicemail "
        "boxes, prompts (the tenant's own and the default ones) and flows, by key and name", tag="flows",
        right="view", responses={200: ("application/json", TARGETS)})
async def flow_targets(ctx: Ctx) -> web.StreamResponse:
    who = ctx.who

    def read(session: Session) -> dict[str, Any]:
        cfg = load_tenant(session, who.tenant)
        users = cfg.users
        if who.accounts is not None:
            mine = set(session.scalars(select(UserRow.key).where(UserRow.tenant_id == who.tenant_id,
                                                                 UserRow.account_id.in_(who.accounts))))
            users = tuple(u for u in users if u.key in mine)
        language = 1 if cfg.language == "en" else 0

        def named(items: Sequence[Any]) -> list[dict[str, str]]:
            return [{"key": i.key, "name": i.name or i.key} for i in items]  # in the configuration's order
        own = [{**c, "system": False} for c in named(cfg.prompts)]
        system = [{"key": k, "name": texts[language], "system": True} for k, texts in SYSTEM_PROMPTS.items()
                  if k not in {p.key for p in cfg.prompts}]
        return {"queues": named(cfg.queues), "groups": named(cfg.groups), "users": named(users),
                "schedules": named(cfg.schedules), "boxes": named(cfg.boxes), "flows": named(cfg.flows),
                "prompts": own + system}
    return json_response(await _in_session(ctx, read))
