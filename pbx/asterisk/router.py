"""The FastAGI request handler: Asterisk asks "what next?", the routing core answers via PBX_POS/PBX_DO."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pbx.asterisk.agi_server import AGIHangupError, AGISession
from pbx.asterisk.contract import (
    ContractError,
    ContractSettings,
    call_from_args,
    encode_action,
    encode_position,
    phone_position,
    split_phone_position,
)
from pbx.routing.compile import RoutingTable
from pbx.routing.engine import Call, Decision, EnterQueue, Hangup, Service, decide
from pbx.routing.phone import Feature, decide_phone
from pbx.routing.state import LiveView
from pbx.tables import TableHolder

log = logging.getLogger("pbx.router")

SERVICE_TIMEOUT_S = 10.0  # a phone service step may read and write files and the database


@dataclass
class RouterStats:
    decisions: int = 0
    bad_requests: int = 0
    unknown_scripts: int = 0
    hangups: int = 0
    errors: int = 0
    recorded: int = 0
    latency_ns_total: int = 0
    by_action: dict[str, int] = field(default_factory=dict)


class Router:
    """Handles one FastAGI session. Stateless: the call's position comes in the request and goes
    back in PBX_POS, so any controller instance can answer any step of any call."""

    def __init__(self, tables: TableHolder, state: LiveView, clock: Callable[[], datetime],
                 settings: ContractSettings | None = None,
                 on_decision: Callable[[Decision, str, Call], None] | None = None,
                 on_recorded: Callable[[str, str, str, str, str], Awaitable[None]] | None = None,
                 on_route: Callable[[Decision, Call, str, str], Awaitable[None]] | None = None,
                 announcer: Callable[[Decision, Call, str], Awaitable[tuple[str, ...]]] | None = None,
                 on_callback_result: Callable[[str, str], Awaitable[None]] | None = None,
                 services: Callable[[Decision, Call, str], Awaitable[Decision]] | None = None,
                 features: Callable[[Feature], Awaitable[tuple[str, ...]]] | None = None) -> None:
        """`features`: carries out a feature code dialled from a phone (pbx.routing.phone) and answers what the
        phone hears; without it every feature code answers that the service is not working."""
        self.tables = tables
        self.state = state
        self.clock = clock
        self.settings = settings or ContractSettings()
        self.on_decision = on_decision
        self.on_recorded = on_recorded
        self.on_route = on_route
        self.announcer = announcer
        self.on_callback_result = on_callback_result
        self.services = services
        self.features = features
        self._background: set[asyncio.Task[None]] = set()
        self.stats = RouterStats()

    async def __call__(self, session: AGISession) -> None:
        uniqueid = session.env.get("agi_uniqueid", "")
        if session.script == "recorded":
            # a message was recorded (pbx-voicemail's h extension): dialled, PBX_POS, RECORDED_FILE
            self.stats.recorded += 1
            args = session.args
            if self.on_recorded is not None and len(args) >= 3:
                self._spawn(self._recorded(args[0], args[1], args[2], session.env.get("agi_callerid", ""),
                                           uniqueid))
            return
        if session.script == "callback-result":
            # a callback call ended (pbx-callback's h extension): request id and the customer's DIALSTATUS
            args = session.args
            if self.on_callback_result is not None and len(args) >= 2:
                self._spawn(self._callback_result(args[0], args[1]))
            return
        if session.script != "route":
            self.stats.unknown_scripts += 1
            log.warning("unknown FastAGI script", extra={"event": "agi_unknown_script", "script": session.script,
                                                          "uniqueid": uniqueid})
            return
        t0 = time.perf_counter_ns()
        table = self.tables.table
        route_args = list(session.args)
        # a call from a user's phone carries its endpoint as the position's last field (contract.py)
        endpoint: str | None = None
        if len(route_args) > 1:
            route_args[1], endpoint = split_phone_position(route_args[1])
        try:
            call = call_from_args(route_args, session.env.get("agi_callerid", ""))
        except ContractError as exc:
            # A broken position must not leave the caller in silence: route as a new call
            # to the dialled number, which ends at the flow's start or the "no service" answer.
            self.stats.bad_requests += 1
            log.warning("bad route request", extra={"event": "agi_bad_request", "error": str(exc),
                                                     "uniqueid": uniqueid})
            dialled = route_args[0] if route_args else ""
            call = call_from_args((dialled or "unknown",), session.env.get("agi_callerid", ""))
        try:
            caller_id: str | None = None
            if endpoint is None:
                decision = decide(table, self.state, call, self.clock())
                service_call = call
            else:
                phone = decide_phone(table, self.state, call, endpoint, self.clock())
                decision, caller_id = phone.decision, phone.caller_id
                if phone.user is None:
                    log.warning("call from a phone of no user refused", extra={
                        "event": "phone_unknown", "endpoint": endpoint, "uniqueid": uniqueid})
                if phone.feature is not None:
                    decision = await self._feature(decision, phone.feature, uniqueid)
                # a phone service knows its listener by number: give it the one that names this phone's user
                service_call = dataclasses.replace(call, caller=_service_caller(table, decision, phone.user,
                                                                                  endpoint))
            if self.announcer is not None and (isinstance(decision.action, EnterQueue) or (
                    isinstance(decision.action, Hangup) and (decision.target or "").startswith("callback:"))):
                decision = await self._announce(decision, call, uniqueid)
            elif isinstance(decision.action, Service):
                decision = await self._service(decision, service_call, uniqueid)
            position = encode_position(decision)
            if endpoint is not None:
                position = phone_position(position, endpoint)
            todo = encode_action(decision, table, uniqueid, self.settings, caller_id)
        except Exception:
            self.stats.errors += 1
            log.exception("routing failed", extra={"event": "route_error", "uniqueid": uniqueid,
                                                   "dialled": call.dialled})
            position, todo = "", "hangup^pbx/sv/ss-noservice^41"
            decision = None
        try:
            await session.set_variable("PBX_POS", position)
            await session.set_variable("PBX_DO", todo)
        except AGIHangupError:
            self.stats.hangups += 1
            return
        self.stats.decisions += 1
        self.stats.latency_ns_total += time.perf_counter_ns() - t0
        action = todo.partition("^")[0]
        self.stats.by_action[action] = self.stats.by_action.get(action, 0) + 1
        if decision is not None:
            if log.isEnabledFor(logging.DEBUG):
                log.debug("decision", extra={"event": "decision", "uniqueid": uniqueid, "tenant": decision.tenant,
                                             "node": decision.node, "do": todo, "trace": " → ".join(decision.steps)})
            if self.on_decision is not None:
                self.on_decision(decision, uniqueid, call)
            if self.on_route is not None:
                # after the answer is on its way: the dialplan must not wait for the contact centre
                self._spawn(self._after(decision, call, uniqueid, session.env.get("agi_channel", "")))

    async def _announce(self, decision: Decision, call: Call, uniqueid: str) -> Decision:
        """Position and wait for a waiting caller, from live state; without it (slow or failing
        store) the caller just keeps waiting — never a failed request."""
        assert self.announcer is not None and isinstance(decision.action, EnterQueue | Hangup)
        try:
            prompts = await asyncio.wait_for(self.announcer(decision, call, uniqueid), 0.5)
        except Exception as exc:
            log.warning("no announcement", extra={"event": "announce_failed", "uniqueid": uniqueid,
                                                  "error": repr(exc)})
            return decision
        return decision._replace(action=decision.action._replace(prompts=prompts))

    async def _service(self, decision: Decision, call: Call, uniqueid: str) -> Decision:
        """A phone service's next step (voicemail by phone, prompt recording); if it cannot answer in
        time the caller hears that the service is not working, never silence."""
        try:
            if self.services is None:
                raise RuntimeError("no phone services configured")
            return await asyncio.wait_for(self.services(decision, call, uniqueid), SERVICE_TIMEOUT_S)
        except Exception as exc:
            self.stats.errors += 1
            log.warning("phone service failed", extra={"event": "service_failed", "uniqueid": uniqueid,
                                                       "error": repr(exc)})
            return decision._replace(action=Hangup(("service-failed",), "failure"), target=None)

    async def _feature(self, decision: Decision, feature: Feature, uniqueid: str) -> Decision:
        """Carry out a feature code; the phone hears what was done, or that it could not be done."""
        try:
            if self.features is None:
                raise RuntimeError("no feature code service configured")
            prompts = await asyncio.wait_for(self.features(feature), SERVICE_TIMEOUT_S)
        except Exception as exc:
            self.stats.errors += 1
            log.warning("feature code failed", extra={"event": "feature_failed", "uniqueid": uniqueid,
                                                      "tenant": feature.tenant, "user": feature.user,
                                                      "feature": feature.kind, "error": repr(exc)})
            prompts = ("service-failed",)
        return decision._replace(action=Hangup(prompts))

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run `work` after this request's answer; keep a reference so the task is not collected."""
        task = asyncio.create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _recorded(self, dialled: str, position: str, file: str, caller: str, uniqueid: str) -> None:
        assert self.on_recorded is not None
        try:
            await self.on_recorded(dialled, position, file, caller, uniqueid)
        except Exception:  # the file stays in the spool: nothing is lost, and the log says where it is
            log.exception("recorded message not stored", extra={"event": "recorded_hook_error", "file": file,
                                                                 "uniqueid": uniqueid})

    async def _callback_result(self, call_id: str, status: str) -> None:
        assert self.on_callback_result is not None
        try:
            await self.on_callback_result(call_id, status)
        except Exception:
            log.exception("callback result hook failed", extra={"event": "callback_hook_error", "call": call_id})

    async def _after(self, decision: Decision, call: Call, uniqueid: str, channel: str) -> None:
        assert self.on_route is not None
        try:
            await self.on_route(decision, call, uniqueid, channel)
        except Exception:
            log.exception("after-route hook failed", extra={"event": "route_hook_error", "uniqueid": uniqueid})


def _service_caller(table: RoutingTable, decision: Decision, user_key: str | None, endpoint: str) -> str:
    """The number (or extension, or phone) by which the phone services know `user_key`: the first that names
    exactly this user, so a listener never reaches a colleague's messages; "" (refused) when none does."""
    from pbx.ivr.services import identify  # pbx.ivr.services imports this package: import when first used
    tenant = table.tenants.get(decision.tenant or "")
    user = tenant.users.get(user_key) if tenant is not None and user_key is not None else None
    if tenant is None or user is None:
        return ""
    for candidate in (user.fixed_number, user.mobile_number, user.extension, endpoint):
        found = identify(tenant, candidate) if candidate else None
        if found is not None and found.key == user.key:
            return candidate or ""
    return ""
