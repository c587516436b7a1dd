"""The live-state store seam (presence, lines, logins, agent ACD state, waiting callers, events); its in-memory form."""

from __future__ import annotations

import asyncio
import bisect
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from types import TracebackType
from typing import Any, Literal, Protocol

from pbx.acd.model import AgentState, CallbackRequest, CallbackStatus
from pbx.routing.model import PresenceEntry, PresenceStatus
from pbx.routing.state import LineStatus, LiveView, StateSnapshot

Outcome = Literal["answered", "missed", "cancelled"]
MISSED_CALLS = "missed calls"  # the pause reason when an agent lets max_missed calls in a row ring out
ALL_TENANTS = "*"

Event = dict[str, Any]
Clock = Callable[[], float]


class ReservationNotHeld(LookupError):
    """release() by a call that does not hold the agent (never did, or its reservation expired and was taken)."""


@dataclass(frozen=True, slots=True)
class WaitingEntry:
    """A caller waiting in a queue. Served by priority (higher first, e.g. VIP), then by joined_at (FIFO)."""

    call_id: str
    caller: str
    channel: str
    joined_at: float
    priority: int = 0
    callback: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"call_id": self.call_id, "caller": self.caller, "channel": self.channel,
                "joined_at": self.joined_at, "priority": self.priority, "callback": self.callback}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> WaitingEntry:
        return cls(call_id=str(data["call_id"]), caller=str(data["caller"]), channel=str(data["channel"]),
                   joined_at=float(data["joined_at"]), priority=int(data["priority"]),
                   callback=None if data.get("callback") is None else str(data["callback"]))


def waiting_order(entry: WaitingEntry) -> tuple[int, float, str]:
    return (-entry.priority, entry.joined_at, entry.call_id)


def callback_to_json(cb: CallbackRequest) -> dict[str, Any]:
    return {"call_id": cb.call_id, "tenant": cb.tenant, "queue": cb.queue, "number": cb.number,
            "joined_at": cb.joined_at, "requested_at": cb.requested_at, "status": cb.status.value,
            "attempts": cb.attempts, "next_attempt_at": cb.next_attempt_at, "agent": cb.agent,
            "changed_at": cb.changed_at, "reason": cb.reason}


def callback_from_json(data: Mapping[str, Any]) -> CallbackRequest:
    return CallbackRequest(
        call_id=str(data["call_id"]), tenant=str(data["tenant"]), queue=str(data["queue"]), number=str(data["number"]),
        joined_at=float(data["joined_at"]), requested_at=float(data["requested_at"]),
        status=CallbackStatus(data["status"]), attempts=int(data["attempts"]),
        next_attempt_at=float(data["next_attempt_at"]), agent=None if data.get("agent") is None else str(data["agent"]),
        changed_at=float(data["changed_at"]), reason=str(data.get("reason") or ""))


def callback_event(cb: CallbackRequest) -> Event:
    return make_event("callback", cb.tenant, cb.changed_at, call=cb.call_id, queue=cb.queue, status=cb.status.value,
                      attempts=cb.attempts, agent=cb.agent, reason=cb.reason)


# --- presence periods as data (events, Redis) and as spans (the reservation check) ---------------


def presence_to_json(entries: Iterable[PresenceEntry]) -> list[dict[str, Any]]:
    return [{"status": e.status.value, "start": e.start.isoformat(),
             "end": None if e.end is None else e.end.isoformat(), "message": e.message} for e in entries]


def presence_from_json(data: Iterable[Mapping[str, Any]]) -> tuple[PresenceEntry, ...]:
    return tuple(PresenceEntry(status=PresenceStatus(d["status"]), start=datetime.fromisoformat(d["start"]),
                               end=None if d.get("end") is None else datetime.fromisoformat(d["end"]),
                               message=str(d.get("message", ""))) for d in data)


def presence_spans(entries: Iterable[PresenceEntry]) -> list[list[float]]:
    """[start, end (-1 = open), available (1/0)] in epoch seconds: what the reservation check (Python or Lua) reads."""
    return [[e.start.timestamp(), -1.0 if e.end is None else e.end.timestamp(),
             1.0 if e.status is PresenceStatus.AVAILABLE else 0.0] for e in entries]


def available_at(spans: Sequence[Sequence[float]], now: float) -> bool:
    """Same rule as StateSnapshot.presence: the latest-starting active period decides; none means available."""
    best: Sequence[float] | None = None
    for span in spans:
        if span[0] <= now and (span[1] < 0 or now < span[1]) and (best is None or span[0] >= best[0]):
            best = span
    return best is None or best[2] == 1.0


def reservation_refusal(agent: AgentState, line: LineStatus, spans: Sequence[Sequence[float]], queue_ref: str,
                        now: float, ttl_s: float, by_hand: bool = False) -> str | None:
    """Why `agent` may not be reserved for a call from `queue_ref` at `now` (None: it may). Mirrored in Lua.
    `by_hand`: the agent picked the call themself, so their logins, pause and presence do not count."""
    if queue_ref not in agent.logged_in and not by_hand:
        return "not logged in"
    if agent.paused and not by_hand:
        return "paused"
    if line is not LineStatus.IDLE:
        return "line " + line.value
    if agent.in_wrapup(now):
        return "wrap-up"
    if not by_hand and not available_at(spans, now):
        return "presence"
    if agent.reserved(now, ttl_s):
        return "reserved"
    return None


# --- the sync view decisions read ----------------------------------------------------------------


class LiveReplica:
    """Presence, lines and logins held locally, so routing's sync LiveView answers without I/O.

    MemoryStore keeps its state here; RedisStore keeps a copy here, updated from its own writes and from
    the events every instance publishes (so another instance's change shows up within milliseconds).
    """

    def __init__(self) -> None:
        self.presences: dict[tuple[str, str], tuple[PresenceEntry, ...]] = {}
        self.lines: dict[tuple[str, str], LineStatus] = {}
        self.members: dict[tuple[str, str, str], frozenset[str]] = {}

    # LiveView
    def presence(self, tenant: str, user: str, now: datetime) -> PresenceEntry | None:
        entries = self.presences.get((tenant, user))
        return StateSnapshot(presences={(tenant, user): entries}).presence(tenant, user, now) if entries else None

    def line(self, tenant: str, user: str) -> LineStatus:
        return self.lines.get((tenant, user), LineStatus.IDLE)

    def logged_in(self, tenant: str, kind: str, key: str) -> frozenset[str]:
        return self.members.get((tenant, kind, key), frozenset())

    # updates
    def replace(self, other: LiveReplica) -> None:
        self.presences, self.lines, self.members = other.presences, other.lines, other.members

    def apply(self, event: Mapping[str, Any]) -> None:
        """Fold in an event that carries live state; events are full values, so applying one twice is harmless."""
        kind, tenant, user = event.get("kind"), str(event.get("tenant")), str(event.get("user"))
        if kind == "presence":
            self.presences[(tenant, user)] = presence_from_json(event["entries"])
        elif kind == "line":
            self.lines[(tenant, user)] = LineStatus(event["status"])
        elif kind in ("login", "logout"):
            member_kind, _, key = str(event["ref"]).partition(":")
            current = self.members.get((tenant, member_kind, key), frozenset())
            self.members[(tenant, member_kind, key)] = current | {user} if kind == "login" else current - {user}


# --- event subscriptions -----------------------------------------------------------------------


class Subscription:
    """Events of one tenant (or "*": all), oldest first: `async for event in sub`, or `await sub.get(timeout)`."""

    async def get(self, timeout: float | None = None) -> Event:
        """The next event; TimeoutError if none arrives within `timeout` seconds."""
        raise NotImplementedError

    async def aclose(self) -> None:
        raise NotImplementedError

    def __aiter__(self) -> AsyncIterator[Event]:
        return self

    async def __anext__(self) -> Event:
        return await self.get()

    async def __aenter__(self) -> Subscription:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.aclose()


class LiveStore(Protocol):
    """Live state shared by controller instances; every key is per tenant, every change publishes an event.

    Times (`now`, `until`, `joined_at`) are epoch seconds chosen by the caller: the store never decides time,
    except for stamping events of changes that carry no `now` (its injected clock).
    """

    # presence, line, membership (what routing's LiveView reads)
    async def set_presence(self, tenant: str, user: str, entries: Sequence[PresenceEntry]) -> None: ...
    async def presence_entries(self, tenant: str, user: str) -> tuple[PresenceEntry, ...]: ...
    async def set_line(self, tenant: str, user: str, status: LineStatus) -> None: ...
    async def line(self, tenant: str, user: str) -> LineStatus: ...
    # the device states (as Asterisk names them) of the user's phones, behind their line (pbx.devices.lines)
    async def set_device_states(self, tenant: str, user: str, states: Mapping[str, str]) -> None: ...
    async def device_states(self, tenant: str, user: str) -> dict[str, str]: ...
    async def login(self, tenant: str, user: str, kind: str, key: str, by: str | None = None) -> None: ...
    async def logout(self, tenant: str, user: str, kind: str, key: str, by: str | None = None) -> None: ...
    async def logged_in(self, tenant: str, kind: str, key: str) -> frozenset[str]: ...

    # agents
    async def pause(self, tenant: str, user: str, reason: str, by: str | None = None) -> None: ...
    async def unpause(self, tenant: str, user: str, by: str | None = None) -> None: ...
    async def start_wrapup(self, tenant: str, user: str, queue: str, until: float) -> None: ...
    async def end_wrapup(self, tenant: str, user: str, by: str | None = None) -> None: ...
    async def agent(self, tenant: str, user: str) -> AgentState: ...
    async def agents(self, tenant: str) -> list[AgentState]: ...
    async def reserve(self, tenant: str, user: str, call_id: str, queue_ref: str, now: float, ttl_s: float,
                      by_hand: bool = False) -> bool:
        """Hold `user` for `call_id` if reservation_refusal allows it, atomically. `by_hand`: the agent chose this
        call themself (a callback taken from the panel), so being logged out of its queue, paused or away does
        not stand in the way; a call on the line, wrap-up or another reservation still does."""
        ...
    async def release(self, tenant: str, user: str, call_id: str, outcome: Outcome, now: float,
                      max_missed: int = 3) -> AgentState: ...
    async def call_ended(self, tenant: str, user: str, now: float, wrapup_s: float,
                         queue: str | None = None) -> None: ...
    async def set_wrapup_override(self, tenant: str, user: str, seconds: float | None) -> None: ...
    async def seed_login(self, tenant: str, user: str, kind: str, key: str) -> bool:
        """Log in once, the first time this membership is seen; later starts leave the agent's choice alone."""
        ...

    # callback requests (F-10, F-12, F-13): persisted, changed only by compare-and-set on their status
    async def save_callback(self, cb: CallbackRequest, expect: Sequence[CallbackStatus] = ()) -> bool:
        """Write `cb` if the stored request's status is one of `expect` (empty: no request with that id may
        exist yet). False when another controller changed it first: that is how a callback is never made twice."""
        ...
    async def callback(self, tenant: str, call_id: str) -> CallbackRequest | None: ...
    async def callbacks(self, tenant: str) -> list[CallbackRequest]: ...
    async def callback_tenants(self) -> list[str]: ...

    # waiting callers
    async def enqueue(self, tenant: str, queue: str, caller: WaitingEntry) -> None: ...
    async def dequeue(self, tenant: str, queue: str, call_id: str) -> bool: ...
    async def waiting(self, tenant: str, queue: str) -> list[WaitingEntry]: ...
    async def position(self, tenant: str, queue: str, call_id: str) -> int | None: ...
    async def claim_head(self, tenant: str, queue: str) -> WaitingEntry | None: ...

    # events and the sync view
    async def publish(self, tenant: str, event: Mapping[str, Any]) -> None: ...
    async def subscribe(self, tenant: str) -> Subscription: ...
    def view(self) -> LiveView: ...
    async def aclose(self) -> None: ...


def membership_ref(kind: str, key: str) -> str:
    if kind not in ("queue", "group"):
        raise ValueError(f"membership kind must be 'queue' or 'group', not {kind!r}")
    return f"{kind}:{key}"


def make_event(kind: str, tenant: str, at: float, **fields: Any) -> Event:
    return {"kind": kind, "tenant": tenant, **fields, "at": at}


# --- in memory -------------------------------------------------------------------------------------


class _QueueSubscription(Subscription):
    def __init__(self, owner: MemoryStore, tenant: str) -> None:
        self.tenant = tenant
        self.queue: asyncio.Queue[Event] = asyncio.Queue()
        self._owner = owner

    async def get(self, timeout: float | None = None) -> Event:
        return await asyncio.wait_for(self.queue.get(), timeout)

    async def aclose(self) -> None:
        self._owner._subscribers.discard(self)


@dataclass
class _MemoryTenants:
    agents: dict[tuple[str, str], AgentState] = field(default_factory=dict)
    queues: dict[tuple[str, str], list[WaitingEntry]] = field(default_factory=lambda: defaultdict(list))
    callbacks: dict[tuple[str, str], CallbackRequest] = field(default_factory=dict)
    seeded: set[tuple[str, str, str]] = field(default_factory=set)


class MemoryStore:
    """LiveStore for one controller (and the embedded default). Each method runs without awaiting in between,
    so on one event loop every operation, reserve and claim_head included, is atomic."""

    def __init__(self, clock: Clock = time.time) -> None:
        self._clock = clock
        self._replica = LiveReplica()
        self._data = _MemoryTenants()
        self._device_states: dict[tuple[str, str], dict[str, str]] = {}
        self._subscribers: set[_QueueSubscription] = set()

    # --- presence, line, membership ---
    async def set_presence(self, tenant: str, user: str, entries: Sequence[PresenceEntry]) -> None:
        self._replica.presences[(tenant, user)] = tuple(entries)
        self._emit(make_event("presence", tenant, self._clock(), user=user, entries=presence_to_json(entries)))

    async def presence_entries(self, tenant: str, user: str) -> tuple[PresenceEntry, ...]:
        return self._replica.presences.get((tenant, user), ())

    async def set_line(self, tenant: str, user: str, status: LineStatus) -> None:
        self._replica.lines[(tenant, user)] = LineStatus(status)
        self._emit(make_event("line", tenant, self._clock(), user=user, status=LineStatus(status).value))

    async def line(self, tenant: str, user: str) -> LineStatus:
        return self._replica.line(tenant, user)

    async def set_device_states(self, tenant: str, user: str, states: Mapping[str, str]) -> None:
        self._device_states[(tenant, user)] = dict(states)

    async def device_states(self, tenant: str, user: str) -> dict[str, str]:
        return dict(self._device_states.get((tenant, user), {}))

    async def login(self, tenant: str, user: str, kind: str, key: str, by: str | None = None) -> None:
        self._membership("login", tenant, user, membership_ref(kind, key), by)

    async def logout(self, tenant: str, user: str, kind: str, key: str, by: str | None = None) -> None:
        self._membership("logout", tenant, user, membership_ref(kind, key), by)

    def _membership(self, kind: str, tenant: str, user: str, ref: str, by: str | None) -> None:
        ev = make_event(kind, tenant, self._clock(), user=user, ref=ref, by=by)
        self._replica.apply(ev)
        rec = self._agent(tenant, user)
        refs = rec.logged_in | {ref} if kind == "login" else rec.logged_in - {ref}
        self._put(replace(rec, logged_in=refs))
        self._emit(ev)

    async def logged_in(self, tenant: str, kind: str, key: str) -> frozenset[str]:
        return self._replica.logged_in(tenant, kind, key)

    # --- agents ---
    def _agent(self, tenant: str, user: str) -> AgentState:
        return self._data.agents.get((tenant, user)) or AgentState(tenant=tenant, user=user)

    def _put(self, rec: AgentState) -> AgentState:
        self._data.agents[(rec.tenant, rec.user)] = rec
        return rec

    async def pause(self, tenant: str, user: str, reason: str, by: str | None = None) -> None:
        self._put(replace(self._agent(tenant, user), paused=True, pause_reason=reason))
        self._emit(make_event("paused", tenant, self._clock(), user=user, reason=reason, by=by))

    async def unpause(self, tenant: str, user: str, by: str | None = None) -> None:
        # A fresh start: the missed calls that caused an automatic pause are forgiven.
        self._put(replace(self._agent(tenant, user), paused=False, pause_reason="", missed_in_row=0))
        self._emit(make_event("unpaused", tenant, self._clock(), user=user, by=by))

    async def start_wrapup(self, tenant: str, user: str, queue: str, until: float) -> None:
        self._put(replace(self._agent(tenant, user), wrapup_until=until, wrapup_queue=queue))
        self._emit(make_event("wrapup_started", tenant, self._clock(), user=user, queue=queue, until=until))

    async def end_wrapup(self, tenant: str, user: str, by: str | None = None) -> None:
        rec = self._agent(tenant, user)
        self._put(replace(rec, wrapup_until=0.0, wrapup_queue=None))
        self._emit(make_event("wrapup_ended", tenant, self._clock(), user=user, queue=rec.wrapup_queue, by=by))

    async def agent(self, tenant: str, user: str) -> AgentState:
        return self._agent(tenant, user)

    async def agents(self, tenant: str) -> list[AgentState]:
        return sorted((r for (t, _), r in self._data.agents.items() if t == tenant), key=lambda r: r.user)

    async def reserve(self, tenant: str, user: str, call_id: str, queue_ref: str, now: float, ttl_s: float,
                      by_hand: bool = False) -> bool:
        rec = self._agent(tenant, user)
        spans = presence_spans(self._replica.presences.get((tenant, user), ()))
        if reservation_refusal(rec, self._replica.line(tenant, user), spans, queue_ref, now, ttl_s,
                               by_hand) is not None:
            return False
        self._put(replace(rec, reserved_for=call_id, reserved_at=now))
        self._emit(make_event("reserved", tenant, now, user=user, call=call_id, queue=queue_ref))
        return True

    async def release(self, tenant: str, user: str, call_id: str, outcome: Outcome, now: float,
                      max_missed: int = 3) -> AgentState:
        rec = self._agent(tenant, user)
        if rec.reserved_for != call_id:
            raise ReservationNotHeld(f"{tenant}/{user} is not reserved for call {call_id}")
        rec = replace(rec, reserved_for=None, reserved_at=0.0)
        auto_pause = False
        if outcome == "answered":
            rec = replace(rec, missed_in_row=0, calls_taken=rec.calls_taken + 1)
        elif outcome == "missed":
            rec = replace(rec, missed_in_row=rec.missed_in_row + 1)
            if rec.missed_in_row >= max_missed and not rec.paused:
                rec = replace(rec, paused=True, pause_reason=MISSED_CALLS)
                auto_pause = True
        self._put(rec)
        self._emit(make_event("released", tenant, now, user=user, call=call_id, reason=outcome))
        if auto_pause:
            self._emit(make_event("paused", tenant, now, user=user, reason=MISSED_CALLS, automatic=True))
        return rec

    async def call_ended(self, tenant: str, user: str, now: float, wrapup_s: float, queue: str | None = None) -> None:
        self._put(replace(self._agent(tenant, user), last_call_end=now, wrapup_until=now + wrapup_s,
                          wrapup_queue=queue))
        self._emit(make_event("call_ended", tenant, now, user=user, queue=queue, wrapup_until=now + wrapup_s))

    async def set_wrapup_override(self, tenant: str, user: str, seconds: float | None) -> None:
        self._put(replace(self._agent(tenant, user), wrapup_override_s=seconds))
        self._emit(make_event("wrapup_override", tenant, self._clock(), user=user, seconds=seconds))

    async def seed_login(self, tenant: str, user: str, kind: str, key: str) -> bool:
        ref = membership_ref(kind, key)
        if (tenant, user, ref) in self._data.seeded:
            return False
        self._data.seeded.add((tenant, user, ref))
        self._membership("login", tenant, user, ref, None)
        return True

    # --- callback requests ---
    async def save_callback(self, cb: CallbackRequest, expect: Sequence[CallbackStatus] = ()) -> bool:
        old = self._data.callbacks.get((cb.tenant, cb.call_id))
        if (old is None and expect) or (old is not None and old.status not in expect):
            return False
        self._data.callbacks[(cb.tenant, cb.call_id)] = cb
        self._emit(callback_event(cb))
        return True

    async def callback(self, tenant: str, call_id: str) -> CallbackRequest | None:
        return self._data.callbacks.get((tenant, call_id))

    async def callbacks(self, tenant: str) -> list[CallbackRequest]:
        return sorted((cb for (t, _), cb in self._data.callbacks.items() if t == tenant),
                      key=lambda cb: (cb.joined_at, cb.call_id))

    async def callback_tenants(self) -> list[str]:
        return sorted({t for t, _ in self._data.callbacks})

    # --- waiting callers ---
    async def enqueue(self, tenant: str, queue: str, caller: WaitingEntry) -> None:
        line = self._data.queues[(tenant, queue)]
        line[:] = [e for e in line if e.call_id != caller.call_id]
        bisect.insort(line, caller, key=waiting_order)
        self._emit(make_event("enqueued", tenant, caller.joined_at, queue=queue, call=caller.call_id,
                         priority=caller.priority))

    async def dequeue(self, tenant: str, queue: str, call_id: str) -> bool:
        line = self._data.queues[(tenant, queue)]
        kept = [e for e in line if e.call_id != call_id]
        if len(kept) == len(line):
            return False
        line[:] = kept
        self._emit(make_event("dequeued", tenant, self._clock(), queue=queue, call=call_id))
        return True

    async def waiting(self, tenant: str, queue: str) -> list[WaitingEntry]:
        return list(self._data.queues.get((tenant, queue), ()))

    async def position(self, tenant: str, queue: str, call_id: str) -> int | None:
        for n, entry in enumerate(self._data.queues.get((tenant, queue), ()), start=1):
            if entry.call_id == call_id:
                return n
        return None

    async def claim_head(self, tenant: str, queue: str) -> WaitingEntry | None:
        line = self._data.queues.get((tenant, queue))
        if not line:
            return None
        head = line.pop(0)
        self._emit(make_event("claimed", tenant, self._clock(), queue=queue, call=head.call_id))
        return head

    # --- events, view ---
    async def publish(self, tenant: str, event: Mapping[str, Any]) -> None:
        self._emit({**event, "tenant": tenant})

    def _emit(self, ev: Event) -> None:
        for sub in self._subscribers:
            if sub.tenant in (ALL_TENANTS, ev["tenant"]):
                sub.queue.put_nowait(ev)

    async def subscribe(self, tenant: str) -> Subscription:
        sub = _QueueSubscription(self, tenant)
        self._subscribers.add(sub)
        return sub

    def view(self) -> LiveView:
        """The state itself (no copy): a sync decision runs between awaits, so it sees one consistent moment."""
        return self._replica

    async def aclose(self) -> None:
        self._subscribers.clear()


_MEMORY_IS_A_LIVE_STORE: Callable[[], LiveStore] = MemoryStore  # mypy checks the Protocol here
