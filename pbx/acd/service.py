"""The contact centre's I/O edge: waiting callers in the live store, agents reserved atomically, callers
moved to their agent with AMI. The decisions come from the pure modules beside this one."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from pbx.acd import callback as cbm
from pbx.acd.agents import wrapup_seconds
from pbx.acd.announce import LastAnnouncement, announcement
from pbx.acd.dispatch import pick_agent
from pbx.acd.ewt import CompletionEstimator
from pbx.acd.model import CallbackRequest
from pbx.acd.model import CallbackStatus as CS
from pbx.routing.engine import AGENT_MISSED, Call, Decision, EnterQueue, Hangup
from pbx.state.store import LiveStore, ReservationNotHeld, WaitingEntry, make_event
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


DEFAULT_RETRY = cbm.RetryPolicy(max_attempts=3, interval_s=300)
IN_LINE = (CS.WAITING, CS.DUE, CS.RETRY_DUE)  # a callback request holding a place in its queue


def _callback_entry(cb: CallbackRequest) -> WaitingEntry:
    """A callback request's place in the queue: where its caller was (F-12) or when it was asked for (F-10)."""
    return WaitingEntry(cb.call_id, cb.number, "", cb.joined_at, callback=cb.number)


@dataclass(frozen=True, slots=True)
class AcdEvent:
    """What happened to a call in the contact centre, told to an observer (the call records, pbx.stats).
    `kind`: joined | answered | abandoned | overflowed | callback_requested | callback_made | callback_failed |
    wrapup_started | wrapup_ended (the last has no call: it is the agent's; `seconds` is a wrap-up's length)."""

    kind: str
    tenant: str
    call_id: str
    queue: str
    at: float  # epoch seconds
    agent: str | None = None
    seconds: float | None = None


class AgentError(ValueError):
    """An agent action that cannot be done; `code` is stable for the API and feature codes to map to a message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


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
                 max_missed: int = 3, tick_s: float = 0.2, trunk: str = "trunk",
                 retry: cbm.RetryPolicy = DEFAULT_RETRY, rescan_s: float = 30.0,
                 on_callback_filed: Callable[[CallbackRequest, str], Awaitable[None]] | None = None,
                 on_event: Callable[[AcdEvent], None] | None = None) -> None:
        self.store = store
        self.tables = tables
        self.switch = switch
        self.clock = clock
        self.ring_s = ring_s
        self.reserve_ttl_s = reserve_ttl_s
        self.max_missed = max_missed
        self.tick_s = tick_s
        self.trunk = trunk
        self.retry = retry
        self.rescan_s = rescan_s
        self.on_callback_filed = on_callback_filed
        self.on_event = on_event
        self.scheduled: dict[tuple[str, str], float] = {}  # (tenant, call) -> when its retry is due
        self.held: dict[tuple[str, str], float] = {}  # claimed callbacks to give back if their agent call never ends
        self._rescanned_at = 0.0
        self.offers: dict[str, float] = {}  # call -> the callback time it was told (F-13)
        self.wrapups: dict[tuple[str, str], float] = {}  # (tenant, agent) -> end of the wrap-up this instance started
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

    def _observe(self, kind: str, tenant: str, call_id: str, queue: str, at: float | None = None,
                 agent: str | None = None, seconds: float | None = None) -> None:
        """Tell the observer; an observer that fails must not disturb the contact centre."""
        if self.on_event is None:
            return
        try:
            self.on_event(AcdEvent(kind, tenant, call_id, queue, self.now() if at is None else at, agent, seconds))
        except Exception:
            log.exception("ACD observer failed", extra={"event": "acd_observer_error", "kind": kind,
                                                        "tenant": tenant, "call": call_id})

    # --- life cycle ----------------------------------------------------------------------
    async def start(self) -> None:
        await self.recover_callbacks()
        self._ticker = asyncio.create_task(self._tick(), name="acd-dispatch-tick")

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

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
            try:
                await self._callbacks_due()
                await self._wrapups_over()
            except Exception:
                log.exception("timers failed", extra={"event": "acd_timer_error"})
            for tenant in {c.tenant for c in self.callers.values() if c.agent is None}:
                try:
                    await self.dispatch_tenant(tenant)
                except Exception:
                    log.exception("dispatch failed", extra={"event": "acd_dispatch_error", "tenant": tenant})

    # --- what agents (or their administrators) do: feature codes and the admin API call these -------
    def memberships(self, tenant: str, user: str) -> tuple[str, ...]:
        """Every "queue:KEY"/"group:KEY" the configuration makes `user` a member of."""
        table = self.tables.table.tenants.get(tenant)
        if table is None:
            raise AgentError("unknown-tenant", f"no tenant {tenant!r}")
        if user not in table.users:
            raise AgentError("unknown-user", f"no user {user!r} in tenant {tenant!r}")
        refs = [f"queue:{q.key}" for q in table.queues.values() if user in q.members]
        refs += [f"group:{g.key}" for g in table.groups.values() if any(m.user == user for m in g.members)]
        return tuple(refs)

    def _chosen(self, tenant: str, user: str, member: str | None) -> tuple[str, ...]:
        refs = self.memberships(tenant, user)
        if member is None:
            return refs
        if member not in refs:
            raise AgentError("not-a-member", f"{user!r} is not a member of {member!r}")
        return (member,)

    async def agent_login(self, tenant: str, user: str, member: str | None = None, by: str | None = None
                          ) -> tuple[str, ...]:
        """Log in to one queue/group ("queue:KEY") or to all of the agent's; returns what they are logged in to."""
        current = (await self.store.agent(tenant, user)).logged_in
        for ref in self._chosen(tenant, user, member):
            if ref not in current:  # logging in again changes nothing and says nothing
                kind, _, key = ref.partition(":")
                await self.store.login(tenant, user, kind, key, by=by)
        await self.dispatch_tenant(tenant)
        return tuple(sorted((await self.store.agent(tenant, user)).logged_in))

    async def agent_logout(self, tenant: str, user: str, member: str | None = None, by: str | None = None
                           ) -> tuple[str, ...]:
        """Log out of one or all; a call in progress is not touched (its wrap-up still runs)."""
        current = (await self.store.agent(tenant, user)).logged_in
        for ref in self._chosen(tenant, user, member):
            if ref in current:
                kind, _, key = ref.partition(":")
                await self.store.logout(tenant, user, kind, key, by=by)
        return tuple(sorted((await self.store.agent(tenant, user)).logged_in))

    async def agent_pause(self, tenant: str, user: str, reason: str, by: str | None = None) -> None:
        self.memberships(tenant, user)
        reason = reason.strip()
        if not reason or len(reason) > 64 or not reason.isprintable():
            raise AgentError("bad-reason", "a pause needs a reason of 1–64 printable characters")
        await self.store.pause(tenant, user, reason, by=by)

    async def agent_unpause(self, tenant: str, user: str, by: str | None = None) -> None:
        self.memberships(tenant, user)
        if (await self.store.agent(tenant, user)).paused:
            await self.store.unpause(tenant, user, by=by)
            await self.dispatch_tenant(tenant)

    async def end_wrapup(self, tenant: str, user: str, by: str | None = None) -> bool:
        """The agent is ready before their wrap-up time is up: end it now and offer them the next call."""
        self.memberships(tenant, user)
        if not (await self.store.agent(tenant, user)).in_wrapup(self.now()):
            return False
        await self.store.end_wrapup(tenant, user, by=by)
        self.wrapups.pop((tenant, user), None)
        self._observe("wrapup_ended", tenant, "", "", agent=user)
        await self.dispatch_tenant(tenant)
        return True

    async def take_callback(self, tenant: str, user: str, call_id: str) -> CallbackRequest:
        """An agent takes one waiting callback by hand (the agent panel's "take"): it leaves the line, and the
        agent's phone rings first, then the customer's, as when the queue hands it out.

        The agent must be a member of the callback's queue, but need not be logged in to it nor unpaused: a
        free agent logged in is handed the head of the line anyway, so taking by hand is how an agent who is
        paused for callback work, or not taking the queue's calls, works through callbacks in their own order.
        Only a request in line (waiting or due) can be taken: a booked time is the customer's, and one an agent
        has is theirs. A call on the agent's line, wrap-up, or a call being offered to them stands in the way."""
        now = self.now()
        cb = await self.store.callback(tenant, call_id)
        if cb is None:
            raise AgentError("unknown-callback", f"no callback {call_id!r}")
        ref = f"queue:{cb.queue}"
        if ref not in self.memberships(tenant, user):
            raise AgentError("not-a-member", f"{user} is not a member of queue {cb.queue}")
        if cb.status not in IN_LINE:
            raise AgentError("not-waiting", f"the callback is {cb.status.value}, not waiting in line")
        if (await self.store.agent(tenant, user)).in_wrapup(now):
            raise AgentError("in-wrapup", f"{user} is in wrap-up: end it first")
        switch = self.switch()
        if switch is None:
            raise AgentError("no-switch", "Asterisk is not connected")
        async with self._locks.setdefault((tenant, cb.queue), asyncio.Lock()):
            if not await self.store.reserve(tenant, user, call_id, ref, now, self.reserve_ttl_s, by_hand=True):
                raise AgentError("busy", f"{user} is on a call or being offered one")
            if not await self.store.dequeue(tenant, cb.queue, call_id):  # another agent or controller was first
                await self.store.release(tenant, user, call_id, "cancelled", now, self.max_missed)
                raise AgentError("taken", f"callback {call_id} was taken meanwhile")
            await self._call_back(switch, cb, _callback_entry(cb), user)
        taken = await self.store.callback(tenant, call_id)
        if taken is None or taken.agent != user:  # claimed by another controller between our read and our claim
            raise AgentError("taken", f"callback {call_id} was taken meanwhile")
        log.info("callback taken", extra={"event": "acd_callback_taken", "tenant": tenant, "agent": user,
                                          "call": call_id, "queue": cb.queue})
        return taken

    async def set_wrapup(self, tenant: str, user: str, seconds: float | None, by: str | None = None) -> None:
        """A team lead's per-agent wrap-up (every queue), or None to use each queue's own."""
        self.memberships(tenant, user)
        if seconds is not None and not 0 <= seconds <= 3600:
            raise AgentError("bad-wrapup", "wrap-up must be between 0 and 3600 seconds")
        await self.store.set_wrapup_override(tenant, user, seconds)

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
        if (isinstance(action, EnterQueue) and known is not None and known.answered and known.agent is not None
                and decision.tenant == known.tenant):
            # transferred by its agent into a queue: the agent's call ended (their wrap-up runs), the caller
            # waits anew in the queue it was sent to
            self._observe_end(known)
            await self._agent_call_ended(known.tenant, known.agent, known.queue, answered=True, call_id=uniqueid)
            log.info("caller transferred into a queue", extra={"event": "acd_transferred", "tenant": known.tenant,
                                                               "agent": known.agent, "call": uniqueid,
                                                               "from_queue": known.queue, "queue": action.queue})
            self.callers.pop(uniqueid, None)
            known = None
        if (isinstance(action, EnterQueue) and known is not None and known.agent is None
                and (known.tenant, known.queue) != (decision.tenant, action.queue)):
            # overflowed from one queue straight into another: out of the first, waiting anew in the second
            await self.store.dequeue(known.tenant, known.queue, uniqueid)
            self._observe("overflowed", known.tenant, uniqueid, known.queue)
            log.info("caller overflowed into another queue", extra={
                "event": "acd_overflow_queue", "tenant": known.tenant, "call": uniqueid, "from_queue": known.queue,
                "queue": action.queue})
            self.callers.pop(uniqueid, None)
            known = None
        if isinstance(action, EnterQueue) and decision.tenant is not None:
            if known is None or known.agent is None:
                if known is None or call.result.upper() in AGENT_MISSED:
                    entry = WaitingEntry(uniqueid, call.caller, channel, float(decision.entered or self.now()))
                    await self.store.enqueue(decision.tenant, action.queue, entry)
                    if known is None:
                        self._observe("joined", decision.tenant, uniqueid, action.queue, entry.joined_at)
                skipped = known.skipped if known is not None else set()
                self.callers[uniqueid] = _Caller(decision.tenant, action.queue, channel, skipped=skipped)
                await self.dispatch_tenant(decision.tenant)
        elif known is not None and known.agent is None:
            await self.store.dequeue(known.tenant, known.queue, uniqueid)  # left the queue (overflow)
            self.callers.pop(uniqueid, None)
            self._observe("overflowed", known.tenant, uniqueid, known.queue)

    async def _keep_place_for_callback(self, decision: Decision, call: Call, uniqueid: str,
                                       known: _Caller | None) -> None:
        """F-12: the caller hung up keeping their place; the request waits in the queue as they did."""
        assert decision.tenant is not None and decision.target is not None
        queue = decision.target.partition(":")[2]
        await self.store.dequeue(decision.tenant, queue, uniqueid)
        config = self.tables.table.tenants[decision.tenant].queues.get(queue)
        offered = self.offers.pop(uniqueid, None)
        book_at = None
        if config is not None and config.callback_scheduled:  # F-13: booked for the time the caller was told
            book_at = offered or (await self.callback_offer(decision.tenant, queue, None)).timestamp()
        await self._file_callback(decision.tenant, queue, uniqueid, call.result or call.caller,
                                  float(decision.entered), known, "queue", book_at)

    async def _callback_from_menu(self, tenant: str, queue: str, number: str, uniqueid: str) -> None:
        """F-10: a callback asked for in a menu joins the queue's callback list now, and is sent on."""
        if await self._file_callback(tenant, queue, uniqueid, number, self.now(), None, "menu"):
            await self.dispatch_tenant(tenant)

    async def _file_callback(self, tenant: str, queue: str, call_id: str, number: str, joined_at: float,
                             known: _Caller | None, source: str, book_at: float | None = None) -> bool:
        """A callback request, persisted, waits in the queue like a caller who joined at `joined_at`
        (or, booked, for its time)."""
        now = self.now()
        try:
            cb = cbm.confirm(cbm.request(call_id, tenant, queue, number, joined_at, now), now)
            if book_at is not None:
                cb = cbm.book(cb, max(book_at, now), now)
        except ValueError as exc:  # the router checked the number already; a bad one is refused, not filed
            log.warning("callback refused", extra={"event": "acd_callback_refused", "tenant": tenant,
                                                   "call": call_id, "error": str(exc)})
            return False
        if not await self.store.save_callback(cb):
            return False  # this request is filed already (a repeated request): never twice
        keeper = known or _Caller(tenant, queue, "")
        keeper.callback, keeper.channel = number, ""
        self.callers[call_id] = keeper
        if cb.status is CS.SCHEDULED:
            self.scheduled[(tenant, call_id)] = cb.next_attempt_at
        else:
            await self.store.enqueue(tenant, queue, _callback_entry(cb))
        log.info("callback requested", extra={"event": "acd_callback_requested", "tenant": tenant, "queue": queue,
                                               "call": call_id, "number": number, "joined_at": joined_at,
                                               "source": source, "booked_for": cb.next_attempt_at or None})
        if self.on_callback_filed is not None:
            self._spawn(self._notify_filed(cb, source))
        self._observe("callback_requested", tenant, call_id, queue, now)
        return True

    async def _notify_filed(self, cb: CallbackRequest, source: str) -> None:
        assert self.on_callback_filed is not None
        try:
            await self.on_callback_filed(cb, source)
        except Exception:
            log.exception("callback notification failed", extra={"event": "acd_callback_notify_error",
                                                                  "tenant": cb.tenant, "call": cb.call_id})

    async def on_callback_result(self, ref: str, status: str) -> None:
        """pbx-callback ended (`ref` is "tenant/call"): the customer answered (done) or not (a retry after
        the policy's interval, or failed when the attempts are used up). Read from the store, so the
        controller that dialled need not be the one that hears the result (it may have restarted)."""
        tenant, _, call_id = ref.partition("/")
        cb = await self.store.callback(tenant, call_id)
        if cb is None:
            log.warning("result for an unknown callback", extra={"event": "acd_callback_unknown", "ref": ref})
            return
        was = cb.status
        now = self.now()
        if cb.status is CS.AGENT_CALLED:  # the result overtook our own note that the customer is dialled
            cb = cbm.customer_dialled(cb, now)
        if cb.status is not CS.CUSTOMER_DIALLED or cb.agent is None:
            return  # settled already: a result is applied once
        agent = cb.agent
        if status == "ANSWER":
            new = cbm.completed(cbm.customer_answered(cb, now), now)
        else:
            new = cbm.customer_no_answer(cb, now, self.retry)
        if not await self.store.save_callback(new, [was]):
            return  # another controller applied this result first
        await self._agent_call_ended(tenant, agent, cb.queue, answered=status == "ANSWER", call_id=call_id)
        caller = self.callers.get(call_id)
        if caller is not None:
            caller.agent = None
        if new.status is CS.RETRY_SCHEDULED:
            self.scheduled[(tenant, call_id)] = new.next_attempt_at
            log.info("callback not answered, retry later", extra={
                "event": "acd_callback_retry", "tenant": tenant, "call": call_id, "attempts": new.attempts,
                "status": status, "next_attempt_at": new.next_attempt_at})
            return
        self.callers.pop(call_id, None)
        if new.status is CS.DONE:
            self.connected += 1
            self._observe("callback_made", tenant, call_id, cb.queue, now, agent)
            log.info("callback made", extra={"event": "acd_callback_done", "tenant": tenant, "call": call_id,
                                              "agent": agent, "attempts": new.attempts})
        else:
            self._observe("callback_failed", tenant, call_id, cb.queue, now, agent)
            log.warning("callback failed", extra={"event": "acd_callback_failed", "tenant": tenant, "call": call_id,
                                                   "attempts": new.attempts, "status": status})

    # --- callbacks that wait for a time: retries, restarts --------------------------------------
    async def recover_callbacks(self) -> None:
        """Pick up persisted requests (at start, and now and then for another instance that stopped):
        retries get their timers; requests held by an agent longer than a call can ring are given back."""
        self._rescanned_at = self.now()
        for tenant in await self.store.callback_tenants():
            for cb in await self.store.callbacks(tenant):
                if cb.status in (CS.RETRY_SCHEDULED, CS.SCHEDULED):
                    self.scheduled[(tenant, cb.call_id)] = cb.next_attempt_at
                elif cb.status in (CS.AGENT_RESERVED, CS.AGENT_CALLED):
                    self.held[(tenant, cb.call_id)] = cb.changed_at + self.reserve_ttl_s + self.ring_s

    async def _callbacks_due(self) -> None:
        now = self.now()
        if now - self._rescanned_at >= self.rescan_s:
            await self.recover_callbacks()
        for key, at in sorted(self.scheduled.items(), key=lambda kv: kv[1]):
            if at <= now:
                del self.scheduled[key]
                await self._retry_due(*key, now)
        for key, at in list(self.held.items()):
            if at <= now:
                del self.held[key]
                await self._give_back_if_stuck(*key, now)

    async def _retry_due(self, tenant: str, call_id: str, now: float) -> None:
        cb = await self.store.callback(tenant, call_id)
        if cb is None or cb.status not in (CS.RETRY_SCHEDULED, CS.SCHEDULED):
            return
        if cb.next_attempt_at > now:
            self.scheduled[(tenant, call_id)] = cb.next_attempt_at
            return
        ready = cbm.due(cb, now)
        if await self.store.save_callback(ready, [cb.status]):
            # back in line at its original place: the customer has waited already
            await self.store.enqueue(tenant, cb.queue, _callback_entry(ready))
            await self.dispatch_tenant(tenant)

    async def _give_back_if_stuck(self, tenant: str, call_id: str, now: float) -> None:
        """A request claimed by a controller that stopped before the agent's phone answered."""
        cb = await self.store.callback(tenant, call_id)
        if cb is None or cb.status not in (CS.AGENT_RESERVED, CS.AGENT_CALLED) or cb.agent is None:
            return
        if now < cb.changed_at + self.reserve_ttl_s + self.ring_s:
            self.held[(tenant, call_id)] = cb.changed_at + self.reserve_ttl_s + self.ring_s
            return
        back = cbm.agent_missed(cb, now)
        if await self.store.save_callback(back, [cb.status]):
            with contextlib.suppress(ReservationNotHeld):
                await self.store.release(tenant, cb.agent, call_id, "cancelled", now, self.max_missed)
            await self.store.enqueue(tenant, cb.queue, _callback_entry(back))
            log.warning("callback given back: its agent call never completed", extra={
                "event": "acd_callback_recovered", "tenant": tenant, "call": call_id, "agent": cb.agent})

    async def on_dial_end(self, uniqueid: str, status: str) -> None:
        known = self.callers.get(uniqueid)
        if known is not None and known.agent is not None and status == "ANSWER" and not known.answered:
            known.answered = True
            known.answered_at = self.now()
            key = (known.tenant, known.queue)
            self.estimators[key] = self._estimator(key).observe_answer(known.answered_at - known.offered_at)
            self.connected += 1
            await self.store.release(known.tenant, known.agent, uniqueid, "answered", self.now(), self.max_missed)
            self._observe("answered", known.tenant, uniqueid, known.queue, known.answered_at, known.agent)

    async def on_hangup(self, uniqueid: str) -> None:
        known = self.callers.get(uniqueid)
        if known is not None and known.callback is not None:
            return  # hung up after asking for a callback: the request keeps the place
        self.callers.pop(uniqueid, None)
        self.last_told.pop(uniqueid, None)
        self.offers.pop(uniqueid, None)
        if known is None:
            return
        self._observe_end(known)
        if known.agent is None:
            await self.store.dequeue(known.tenant, known.queue, uniqueid)
            self._observe("abandoned", known.tenant, uniqueid, known.queue)
        elif known.answered:
            await self._agent_call_ended(known.tenant, known.agent, known.queue, answered=True, call_id=uniqueid)
        else:  # the caller hung up while their agent's phone rang
            await self.store.release(known.tenant, known.agent, uniqueid, "cancelled", self.now(), self.max_missed)
            self._observe("abandoned", known.tenant, uniqueid, known.queue, agent=known.agent)

    def _observe_end(self, known: _Caller) -> None:
        """Teach the queue's wait estimator how this call went (abandoned, or its handle time)."""
        key = (known.tenant, known.queue)
        estimator = self._estimator(key).observe_outcome(abandoned=not known.answered)
        if known.answered:
            wrapup = self.tables.table.tenants[known.tenant].queues.get(known.queue)
            estimator = estimator.observe(self.now() - known.answered_at + (wrapup.wrapup_s if wrapup else 0))
        self.estimators[key] = estimator

    async def _agent_call_ended(self, tenant: str, user: str, queue: str, *, answered: bool,
                                call_id: str = "") -> None:
        """The agent's ACD call is over: wrap-up starts (an event says so, and another when it ends). A wrap-up
        already running (e.g. from the call they transferred on) is neither reset nor moved to this queue."""
        now = self.now()
        agent = await self.store.agent(tenant, user)
        wrapup = await self._wrapup_s(tenant, queue, user) if answered else 0.0
        origin = queue
        if agent.in_wrapup(now):
            wrapup, origin = agent.wrapup_until - now, agent.wrapup_queue or queue
        await self.store.call_ended(tenant, user, now, wrapup, origin)
        if wrapup > 0 and not agent.in_wrapup(now):
            await self.store.publish(tenant, make_event("wrapup_started", tenant, now, user=user, queue=origin,
                                                        until=now + wrapup))
            self.wrapups[(tenant, user)] = now + wrapup
            self._observe("wrapup_started", tenant, call_id, origin, now, user, wrapup)

    async def _wrapups_over(self) -> None:
        """Wrap-up ends with time, not with an event from Asterisk: say so, and offer the agent the next call."""
        now = self.now()
        for (tenant, user), until in list(self.wrapups.items()):
            if until > now:
                continue
            del self.wrapups[(tenant, user)]
            agent = await self.store.agent(tenant, user)
            if agent.wrapup_until != until:
                continue  # ended early (its own event went out) or extended
            await self.store.publish(tenant, make_event("wrapup_ended", tenant, now, user=user,
                                                        queue=agent.wrapup_queue, reason="elapsed"))
            self._observe("wrapup_ended", tenant, "", agent.wrapup_queue or "", until, user)

    async def _wrapup_s(self, tenant: str, queue_key: str, user: str) -> float:
        """The queue's wrap-up, or the agent's own when a team lead set one."""
        agent = await self.store.agent(tenant, user)
        if agent.wrapup_override_s is not None:
            return max(0.0, agent.wrapup_override_s)
        queue = self.tables.table.tenants[tenant].queues.get(queue_key)
        return wrapup_seconds(queue.wrapup_s if queue is not None else 0, user, queue_key)

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
        request = None
        if entry.callback is not None:
            request = await self.store.callback(tenant, entry.call_id)
            if request is None or request.status not in IN_LINE:
                log.info("settled callback dropped from the queue", extra={
                    "event": "acd_callback_stale", "tenant": tenant, "call": entry.call_id})
                return True  # not a caller any more; look at the next one
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
                if request is not None:
                    return await self._call_back(switch, request, entry, agent.user)
                return await self._connect(switch, tenant, queue_key, entry, agent.user)
        await self.store.enqueue(tenant, queue_key, entry)  # nobody could be reserved: keep the place
        return False

    async def _call_back(self, switch: Switch, request: CallbackRequest, entry: WaitingEntry, user: str) -> bool:
        """The agent's phone rings first (they hear whom they call back), then the customer's."""
        now = self.now()
        ready = cbm.due(request, now) if request.status is CS.WAITING else request
        claimed = cbm.claim(ready, user, now)
        if not await self.store.save_callback(claimed, [request.status]):
            # another controller took it between our read and our claim: it is theirs
            await self.store.release(request.tenant, user, request.call_id, "cancelled", now, self.max_missed)
            return True
        caller = self.callers.setdefault(request.call_id, _Caller(request.tenant, request.queue, "",
                                                                  callback=request.number))
        caller.agent = user
        self._spawn(self._ring_agent_for_callback(switch, claimed, entry, user))
        return True

    async def _ring_agent_for_callback(self, switch: Switch, cb: CallbackRequest, entry: WaitingEntry,
                                       user: str) -> None:
        tenant = cb.tenant
        called = cbm.agent_called(cb, self.now())
        if not await self.store.save_callback(called, [CS.AGENT_RESERVED]):
            return
        devices = self.tables.table.tenants[tenant].users[user].devices
        variables = {"PBX_CALLBACK": cb.number, "PBX_CALL": f"{tenant}/{cb.call_id}", "PBX_TRUNK": self.trunk}
        try:
            await switch.originate_and_wait(devices[0], context="pbx-callback", exten="s", variables=variables,
                                            caller_id=cb.number, timeout_ms=self.ring_s * 1000)
        except Exception as exc:  # the agent did not answer (or AMI failed): back in line, keeping the place
            log.info("agent did not take the callback", extra={"event": "acd_callback_agent_missed", "tenant": tenant,
                                                               "agent": user, "call": cb.call_id,
                                                               "error": repr(exc)})
            now = self.now()
            back = cbm.agent_missed(called, now)
            if not await self.store.save_callback(back, [CS.AGENT_CALLED]):
                return
            with contextlib.suppress(ReservationNotHeld):
                await self.store.release(tenant, user, cb.call_id, "missed", now, self.max_missed)
            caller = self.callers.get(cb.call_id)
            if caller is not None:
                caller.agent = None
                caller.skipped.add(user)
            await self.store.enqueue(tenant, cb.queue, _callback_entry(back))
            return
        now = self.now()
        # the agent answered and hears whom they call back; the dialplan dials the customer next
        await self.store.save_callback(cbm.customer_dialled(called, now), [CS.AGENT_CALLED])
        with contextlib.suppress(ReservationNotHeld):
            await self.store.release(tenant, user, cb.call_id, "answered", now, self.max_missed)

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

    async def callback_offer(self, tenant: str, queue_key: str, call_id: str | None) -> datetime:
        """F-13: when the queue will have worked through the callers ahead (all waiting, or those ahead of
        `call_id`) and the callbacks booked already, with its handle time and the agents logged in."""
        table = self.tables.table.tenants[tenant]
        waiting = await self.store.waiting(tenant, queue_key)
        ahead = next((i for i, e in enumerate(waiting) if e.call_id == call_id), len(waiting))
        ref = f"queue:{queue_key}"
        staffed = sum(1 for a in await self.store.agents(tenant) if ref in a.logged_in and not a.paused)
        booked = sum(1 for cb in await self.store.callbacks(tenant)
                     if cb.queue == queue_key and cb.status is CS.SCHEDULED)
        stats = cbm.QueueStats(ahead, self._estimator((tenant, queue_key)).aht_s, staffed, booked)
        return cbm.scheduled_offer(self.clock().astimezone(table.tz), stats)

    async def announce(self, decision: Decision, call: Call, uniqueid: str) -> tuple[str, ...]:
        """Prompts for a waiting caller's tick: position and estimated wait, said only when they
        change (pbx.acd.announce), and the callback offer; for a confirmed callback, when to expect it."""
        action = decision.action
        if isinstance(action, Hangup) and decision.tenant is not None and decision.target is not None:
            queue = decision.target.partition(":")[2]
            if queue not in self.tables.table.tenants[decision.tenant].queues:
                return action.prompts
            at = await self.callback_offer(decision.tenant, queue, uniqueid)
            self.offers[uniqueid] = at.timestamp()
            return (*action.prompts, "callback-at", f"time:{at:%H:%M}")
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
