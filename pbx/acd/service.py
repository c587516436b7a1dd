"""The contact centre's I/O edge: waiting callers in the live store, agents reserved atomically, callers
moved to their agent with AMI. The decisions come from the pure modules beside this one."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from pbx.acd.announce import LastAnnouncement, announcement
from pbx.acd.dispatch import pick_agent
from pbx.acd.ewt import CompletionEstimator
from pbx.routing.engine import AGENT_MISSED, Call, Decision, EnterQueue, Hangup
from pbx.state.store import LiveStore, WaitingEntry
from pbx.tables import TableHolder

log = logging.getLogger("pbx.acd")


class Switch(Protocol):
    """What the service needs of Asterisk (the AMI client, or a fake in unit tests)."""

    async def setvar(self, channel: str | None, name: str, value: str) -> None: ...

    async def redirect(self, channel: str, context: str, exten: str, priority: int = 1,
                       extra_channel: str | None = None) -> None: ...

    async def originate_and_wait(self, channel: str, *, context: str | None = None, exten: str | None = None,
                                 variables: Mapping[str, str] = ..., caller_id: str | None = None,
                                 timeout_ms: int = 30000) -> Any: ...


@dataclass
class _Caller:
    tenant: str
    queue: str
    channel: str
    agent: str | None = None
    answered: bool = False
    skipped: set[str] = field(default_factory=set)  # agents who let this call ring out
    offered_at: float = 0.0
    answered_at: float = 0.0
    callback: str | None = None  # the number to call back on: the caller hung up keeping the place
    attempts: int = 0  # callback calls that did not reach the customer


class AcdService:
    """Callers enter on the router's EnterQueue decisions; a dispatcher pass claims the head caller,
    reserves an agent (atomic in the store, so several controllers may dispatch) and redirects the
    caller's channel to pbx-connect. An agent who does not answer sends the caller back (the route
    request arrives with NOANSWER) with the same join time: the place is kept."""

    def __init__(self, store: LiveStore, tables: TableHolder, switch: Callable[[], Switch | None],
                 clock: Callable[[], datetime], *, ring_s: int = 20, reserve_ttl_s: float = 90.0,
                 max_missed: int = 3, tick_s: float = 0.2, trunk: str = "trunk", callback_attempts: int = 3) -> None:
        self.store = store
        self.tables = tables
        self.switch = switch
        self.clock = clock
        self.ring_s = ring_s
        self.reserve_ttl_s = reserve_ttl_s
        self.max_missed = max_missed
        self.tick_s = tick_s
        self.trunk = trunk
        self.callback_attempts = callback_attempts
        self._background: set[asyncio.Task[None]] = set()
        self.callers: dict[str, _Caller] = {}
        self.estimators: dict[tuple[str, str], CompletionEstimator] = {}
        self.last_told: dict[str, LastAnnouncement] = {}
        self.rr_last: dict[tuple[str, str], str] = {}
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}
        self._ticker: asyncio.Task[None] | None = None
        self.connected = 0

    def now(self) -> float:
        return self.clock().timestamp()

    # --- life cycle ----------------------------------------------------------------------
    def start(self) -> None:
        self._ticker = asyncio.create_task(self._tick(), name="acd-dispatch-tick")

    async def stop(self) -> None:
        for task in list(self._background):
            task.cancel()
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker

    async def _tick(self) -> None:
        """Wrap-ups end and reservations lapse with time, not with events: look again regularly."""
        while True:
            await asyncio.sleep(self.tick_s)
            for tenant in {c.tenant for c in self.callers.values() if c.agent is None}:
                try:
                    await self.dispatch_tenant(tenant)
                except Exception:
                    log.exception("dispatch failed", extra={"event": "acd_dispatch_error", "tenant": tenant})

    # --- from the router and the AMI event stream -----------------------------------------
    async def on_route(self, decision: Decision, call: Call, uniqueid: str, channel: str) -> None:
        known = self.callers.get(uniqueid)
        if decision.callback is not None and decision.tenant is not None and known is None:
            await self._callback_from_menu(decision.tenant, *decision.callback, uniqueid)
        if decision.target is not None and decision.target.startswith("callback:"):
            if isinstance(decision.action, Hangup) and decision.tenant is not None:
                await self._keep_place_for_callback(decision, call, uniqueid, known)
            return  # still keying in the number: the caller keeps waiting where they are
        if known is not None and known.agent is not None and not known.answered and call.result.upper() in AGENT_MISSED:
            record = await self.store.release(known.tenant, known.agent, uniqueid, "missed", self.now(),
                                              self.max_missed)
            log.info("agent did not answer", extra={"event": "acd_missed", "tenant": known.tenant,
                                                     "agent": known.agent, "call": uniqueid,
                                                     "missed_in_row": record.missed_in_row})
            known.skipped.add(known.agent)
            known.agent = None
        action = decision.action
        if isinstance(action, EnterQueue) and decision.tenant is not None:
            if known is None or known.agent is None:
                if known is None or call.result.upper() in AGENT_MISSED:
                    entry = WaitingEntry(uniqueid, call.caller, channel, float(decision.entered or self.now()))
                    await self.store.enqueue(decision.tenant, action.queue, entry)
                skipped = known.skipped if known is not None else set()
                self.callers[uniqueid] = _Caller(decision.tenant, action.queue, channel, skipped=skipped)
                await self.dispatch_tenant(decision.tenant)
        elif known is not None and known.agent is None:
            await self.store.dequeue(known.tenant, known.queue, uniqueid)  # left the queue (overflow)
            self.callers.pop(uniqueid, None)

    async def _keep_place_for_callback(self, decision: Decision, call: Call, uniqueid: str,
                                       known: _Caller | None) -> None:
        """F-12: the caller hung up keeping their place; the request waits in the queue as they did."""
        assert decision.tenant is not None and decision.target is not None
        queue = decision.target.partition(":")[2]
        await self.store.dequeue(decision.tenant, queue, uniqueid)
        await self._file_callback(decision.tenant, queue, uniqueid, call.result or call.caller,
                                  float(decision.entered), known)

    async def _callback_from_menu(self, tenant: str, queue: str, number: str, uniqueid: str) -> None:
        """F-10: a callback asked for in a menu joins the queue's callback list now."""
        await self._file_callback(tenant, queue, uniqueid, number, self.now(), None)
        await self.dispatch_tenant(tenant)

    async def _file_callback(self, tenant: str, queue: str, call_id: str, number: str, joined_at: float,
                             known: _Caller | None) -> None:
        """A callback request waits in the queue like a caller who joined at `joined_at`."""
        await self.store.enqueue(tenant, queue, WaitingEntry(call_id, number, "", joined_at, callback=number))
        keeper = known or _Caller(tenant, queue, "")
        keeper.callback, keeper.channel = number, ""
        self.callers[call_id] = keeper
        log.info("callback requested", extra={"event": "acd_callback_requested", "tenant": tenant, "queue": queue,
                                               "call": call_id, "number": number, "joined_at": joined_at})

    async def on_callback_result(self, call_id: str, status: str) -> None:
        """pbx-callback ended: the customer answered (done) or not (try again, up to the limit)."""
        known = self.callers.get(call_id)
        if known is None or known.callback is None or known.agent is None:
            return  # unknown or already settled: a callback is never made twice
        now = self.now()
        wrapup = self._wrapup_s(known) if status == "ANSWER" else 0
        await self.store.call_ended(known.tenant, known.agent, now, wrapup, known.queue)
        known.agent = None
        if status == "ANSWER":
            self.callers.pop(call_id, None)
            self.connected += 1
            log.info("callback made", extra={"event": "acd_callback_done", "tenant": known.tenant, "call": call_id})
            return
        known.attempts += 1
        if known.attempts >= self.callback_attempts:
            self.callers.pop(call_id, None)
            log.warning("callback failed", extra={"event": "acd_callback_failed", "tenant": known.tenant,
                                                   "call": call_id, "attempts": known.attempts, "status": status})
            return
        # the customer did not answer: try again later, behind the callers waiting now
        await self.store.enqueue(known.tenant, known.queue, WaitingEntry(call_id, known.callback, "", now,
                                                                         callback=known.callback))  # the same request

    async def on_dial_end(self, uniqueid: str, status: str) -> None:
        known = self.callers.get(uniqueid)
        if known is not None and known.agent is not None and status == "ANSWER" and not known.answered:
            known.answered = True
            known.answered_at = self.now()
            key = (known.tenant, known.queue)
            self.estimators[key] = self._estimator(key).observe_answer(known.answered_at - known.offered_at)
            self.connected += 1
            await self.store.release(known.tenant, known.agent, uniqueid, "answered", self.now(), self.max_missed)

    async def on_hangup(self, uniqueid: str) -> None:
        known = self.callers.get(uniqueid)
        if known is not None and known.callback is not None:
            return  # hung up after asking for a callback: the request keeps the place
        self.callers.pop(uniqueid, None)
        self.last_told.pop(uniqueid, None)
        if known is None:
            return
        now = self.now()
        key = (known.tenant, known.queue)
        self.estimators[key] = self._estimator(key).observe_outcome(abandoned=not known.answered)
        if known.agent is None:
            await self.store.dequeue(known.tenant, known.queue, uniqueid)
        elif known.answered:
            wrapup = self._wrapup_s(known)
            self.estimators[key] = self.estimators[key].observe(now - known.answered_at + wrapup)
            await self.store.call_ended(known.tenant, known.agent, now, wrapup, known.queue)
        else:  # the caller hung up while their agent's phone rang
            await self.store.release(known.tenant, known.agent, uniqueid, "cancelled", now, self.max_missed)

    def _wrapup_s(self, caller: _Caller) -> int:
        queue = self.tables.table.tenants[caller.tenant].queues.get(caller.queue)
        return queue.wrapup_s if queue is not None else 0

    # --- dispatch ----------------------------------------------------------------------------
    async def dispatch_tenant(self, tenant: str) -> int:
        """Hand waiting callers to free agents across all of a tenant's queues, in the documented
        order for an agent who serves several queues: the queue with the higher priority first,
        then the head caller with the higher priority (VIP), then the caller waiting longest.
        One caller at a time, so the order is re-evaluated after each hand-over."""
        table = self.tables.table.tenants.get(tenant)
        if table is None:
            return 0
        moved = 0
        while True:
            heads = []
            for queue in table.queues.values():
                waiting = await self.store.waiting(tenant, queue.key)
                if waiting:
                    heads.append((-queue.priority, -waiting[0].priority, waiting[0].joined_at, queue.key))
            for *_, queue_key in sorted(heads):
                lock = self._locks.setdefault((tenant, queue_key), asyncio.Lock())
                async with lock:
                    if await self._dispatch_one(tenant, queue_key):
                        moved += 1
                        break
            else:
                return moved

    async def dispatch(self, tenant: str, queue_key: str) -> int:
        lock = self._locks.setdefault((tenant, queue_key), asyncio.Lock())
        async with lock:
            moved = 0
            while await self._dispatch_one(tenant, queue_key):
                moved += 1
            return moved

    async def _dispatch_one(self, tenant: str, queue_key: str) -> bool:
        table = self.tables.table.tenants.get(tenant)
        queue = table.queues.get(queue_key) if table is not None else None
        switch = self.switch()
        if queue is None or switch is None or not await self.store.waiting(tenant, queue_key):
            return False
        now = self.now()
        ref = f"queue:{queue_key}"
        candidates = [a for a in await self.store.agents(tenant)
                      if ref in a.logged_in and not a.paused and not a.in_wrapup(now)
                      and not a.reserved(now, self.reserve_ttl_s)]
        if not candidates:
            return False
        entry = await self.store.claim_head(tenant, queue_key)
        if entry is None:
            return False
        known = self.callers.get(entry.call_id)
        fresh = [c for c in candidates if known is None or c.user not in known.skipped]
        # an agent who let this call ring out is skipped for it, unless nobody else is free
        candidates = fresh or candidates
        while candidates:
            agent = pick_agent(queue.strategy, candidates, queue.members, now, self.rr_last.get((tenant, queue_key)))
            if agent is None:
                break
            candidates = [c for c in candidates if c.user != agent.user]
            if await self.store.reserve(tenant, agent.user, entry.call_id, ref, now, self.reserve_ttl_s):
                if entry.callback is not None:
                    return self._call_back(switch, tenant, queue_key, entry, agent.user)
                return await self._connect(switch, tenant, queue_key, entry, agent.user)
        await self.store.enqueue(tenant, queue_key, entry)  # nobody could be reserved: keep the place
        return False

    def _call_back(self, switch: Switch, tenant: str, queue_key: str, entry: WaitingEntry, user: str) -> bool:
        """The agent's phone rings first (they hear whom they call back), then the customer's."""
        caller = self.callers.setdefault(entry.call_id, _Caller(tenant, queue_key, "", callback=entry.callback))
        caller.agent = user
        task = asyncio.create_task(self._ring_agent_for_callback(switch, tenant, queue_key, entry, user))
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return True

    async def _ring_agent_for_callback(self, switch: Switch, tenant: str, queue_key: str, entry: WaitingEntry,
                                       user: str) -> None:
        assert entry.callback is not None
        devices = self.tables.table.tenants[tenant].users[user].devices
        variables = {"PBX_CALLBACK": entry.callback, "PBX_CALL": entry.call_id, "PBX_TRUNK": self.trunk}
        try:
            await switch.originate_and_wait(devices[0], context="pbx-callback", exten="s", variables=variables,
                                            caller_id=entry.callback, timeout_ms=self.ring_s * 1000)
        except Exception as exc:  # the agent did not answer (or AMI failed): back in line, keeping the place
            log.info("agent did not take the callback", extra={"event": "acd_callback_agent_missed", "tenant": tenant,
                                                               "agent": user, "call": entry.call_id,
                                                               "error": repr(exc)})
            await self.store.release(tenant, user, entry.call_id, "missed", self.now(), self.max_missed)
            caller = self.callers.get(entry.call_id)
            if caller is not None:
                caller.agent = None
                caller.skipped.add(user)
            await self.store.enqueue(tenant, queue_key, entry)
            return
        await self.store.release(tenant, user, entry.call_id, "answered", self.now(), self.max_missed)

    async def _connect(self, switch: Switch, tenant: str, queue_key: str, entry: WaitingEntry, user: str) -> bool:
        devices = self.tables.table.tenants[tenant].users[user].devices
        caller = self.callers.setdefault(entry.call_id, _Caller(tenant, queue_key, entry.channel))
        caller.agent = user
        if not caller.offered_at:
            caller.offered_at = self.now()
        self.rr_last[(tenant, queue_key)] = user
        try:
            await switch.setvar(entry.channel, "PBX_AGENT", "&".join(devices))
            await switch.setvar(entry.channel, "PBX_RING_S", str(self.ring_s))
            await switch.redirect(entry.channel, "pbx-connect", "s", 1)
        except Exception as exc:  # the caller hung up meanwhile, or AMI is down: free the agent
            log.warning("could not move the caller to the agent", extra={
                "event": "acd_connect_failed", "tenant": tenant, "agent": user, "call": entry.call_id,
                "error": repr(exc)})
            caller.agent = None
            await self.store.release(tenant, user, entry.call_id, "cancelled", self.now(), self.max_missed)
            return False
        log.info("caller sent to agent", extra={"event": "acd_connect", "tenant": tenant, "queue": queue_key,
                                                 "agent": user, "call": entry.call_id})
        return True

    # --- what a waiting caller hears ----------------------------------------------------------
    def _estimator(self, key: tuple[str, str]) -> CompletionEstimator:
        return self.estimators.get(key) or CompletionEstimator()

    async def announce(self, decision: Decision, call: Call, uniqueid: str) -> tuple[str, ...]:
        """Prompts for a waiting caller's tick: position and estimated wait, said only when they
        change (pbx.acd.announce), and the callback offer."""
        action = decision.action
        if not isinstance(action, EnterQueue) or decision.tenant is None or call.result != "TICK":
            return action.prompts
        tenant, queue_key = decision.tenant, action.queue
        position = await self.store.position(tenant, queue_key, uniqueid)
        if position is None:
            return action.prompts
        now = self.now()
        ref = f"queue:{queue_key}"
        estimator = self._estimator((tenant, queue_key))
        staffed = [a for a in await self.store.agents(tenant) if ref in a.logged_in and not a.paused]
        # agents not free now: the rest of their wrap-up, or (on a call or ringing) half a handle time
        busy = [max(a.wrapup_until - now, 0.0) if a.in_wrapup(now) else estimator.aht_s / 2
                for a in staffed if a.in_wrapup(now) or a.reserved_for is not None]
        ewt = estimator.estimate(position, len(staffed), busy, 0.0, now - call.entered if call.entered else 0.0)
        prompts, told = announcement(position, ewt, self.last_told.get(uniqueid), now, action.callback_key)
        self.last_told[uniqueid] = told
        return (*action.prompts, *prompts)

    def stats(self) -> dict[str, Any]:
        return {"callers": len(self.callers), "connected": self.connected}
