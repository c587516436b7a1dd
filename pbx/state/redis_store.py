"""LiveStore on Redis, shared by every controller instance: one Lua script per check-and-set, pub/sub per tenant.

Key layout (the tenant is a hash tag, so one tenant's keys share a Cluster slot and a script may touch several):
  {P}{T}:user:U          hash: line, presence (JSON), spans (JSON for Lua), paused, pause_reason, wrapup_until,
                         wrapup_queue, reserved_for, reserved_at, last_call_end, calls_taken, missed_in_row,
                         devices (JSON: the user's phones' device states as Asterisk names them)
  {P}{T}:in:U            set of "queue:KEY"/"group:KEY" U is logged in to
  {P}{T}:members:K:KEY   set of users logged in to K ("queue"|"group") KEY
  {P}{T}:agents          set of users with ACD state (logins, pauses, wrap-up…)
  {P}{T}:wait:Q          sorted set of waiting callers: score -priority, member "<joined_at:017.6f>:<call_id>",
                         so equal priorities sort by member: by joined_at, then call_id (exact FIFO, no float mix)
  {P}{T}:waitinfo:Q      hash call_id -> the caller as JSON (with its member, for removal)
  {P}{T}:cb              hash call_id -> callback request as JSON (F-10/F-12/F-13), changed by compare-and-set
  {P}{T}:seeded          set of "user|ref" memberships logged in once at first sight (seed_login)
  {P}events:T            pub/sub channel of tenant T's events (JSON)
Tenant, user and queue keys are the configuration's slugs; they must not contain "{" or "}".
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.client import PubSub
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from pbx.acd.model import AgentState, CallbackRequest, CallbackStatus
from pbx.routing.model import PresenceEntry
from pbx.routing.state import LineStatus, LiveView
from pbx.state.store import (
    MISSED_CALLS,
    Clock,
    Event,
    LiveReplica,
    LiveStore,
    Outcome,
    ReservationNotHeld,
    Subscription,
    WaitingEntry,
    callback_event,
    callback_from_json,
    callback_to_json,
    make_event,
    membership_ref,
    presence_from_json,
    presence_spans,
    presence_to_json,
)

log = logging.getLogger(__name__)

# Mirrors store.reservation_refusal: every check and the write happen inside one script, so no other
# client's command can run in between (Redis runs scripts to completion, one at a time). Scripts publish
# their event themselves (prepared by Python, passed in ARGV): it goes out with the change, in write order.
RESERVE_LUA = """
local now, ttl, by_hand = tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[7] == '1'
if not by_hand and redis.call('SISMEMBER', KEYS[2], ARGV[2]) == 0 then return 'not logged in' end
local f = redis.call('HMGET', KEYS[1], 'paused', 'line', 'wrapup_until', 'reserved_for', 'reserved_at', 'spans')
if not by_hand and f[1] == '1' then return 'paused' end
if f[2] and f[2] ~= 'idle' then return 'line ' .. f[2] end
if f[3] and now < tonumber(f[3]) then return 'wrap-up' end
if f[6] and not by_hand then
  local best = nil
  for _, s in ipairs(cjson.decode(f[6])) do
    if s[1] <= now and (s[2] < 0 or now < s[2]) and (best == nil or s[1] >= best[1]) then best = s end
  end
  if best ~= nil and best[3] ~= 1 then return 'presence' end
end
if f[4] and f[5] and tonumber(f[5]) + ttl >= now then return 'reserved' end
redis.call('HSET', KEYS[1], 'reserved_for', ARGV[1], 'reserved_at', ARGV[3])
redis.call('PUBLISH', ARGV[5], ARGV[6])
return 'ok'
"""

RELEASE_LUA = """
if redis.call('HGET', KEYS[1], 'reserved_for') ~= ARGV[1] then return false end
redis.call('HDEL', KEYS[1], 'reserved_for', 'reserved_at')
local auto = 0
if ARGV[2] == 'answered' then
  redis.call('HSET', KEYS[1], 'missed_in_row', '0')
  redis.call('HINCRBY', KEYS[1], 'calls_taken', 1)
elseif ARGV[2] == 'missed' then
  local missed = redis.call('HINCRBY', KEYS[1], 'missed_in_row', 1)
  if missed >= tonumber(ARGV[3]) and redis.call('HGET', KEYS[1], 'paused') ~= '1' then
    redis.call('HSET', KEYS[1], 'paused', '1', 'pause_reason', ARGV[4])
    auto = 1
  end
end
redis.call('PUBLISH', ARGV[5], ARGV[6])
if auto == 1 then redis.call('PUBLISH', ARGV[5], ARGV[7]) end
return {auto, redis.call('HGETALL', KEYS[1]), redis.call('SMEMBERS', KEYS[2])}
"""

ENQUEUE_LUA = """
local old = redis.call('HGET', KEYS[2], ARGV[1])
if old then redis.call('ZREM', KEYS[1], cjson.decode(old)['member']) end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[2])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[4])
redis.call('PUBLISH', ARGV[5], ARGV[6])
return redis.call('ZRANK', KEYS[1], ARGV[2]) + 1
"""

DEQUEUE_LUA = """
local old = redis.call('HGET', KEYS[2], ARGV[1])
if not old then return 0 end
redis.call('ZREM', KEYS[1], cjson.decode(old)['member'])
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('PUBLISH', ARGV[2], ARGV[3])
return 1
"""

POSITION_LUA = """
local info = redis.call('HGET', KEYS[2], ARGV[1])
if not info then return false end
local rank = redis.call('ZRANK', KEYS[1], cjson.decode(info)['member'])
if not rank then return false end
return rank + 1
"""

CLAIM_HEAD_LUA = """
local head = redis.call('ZPOPMIN', KEYS[1])
if #head == 0 then return false end
local call_id = string.sub(head[1], 19)
local info = redis.call('HGET', KEYS[2], call_id)
redis.call('HDEL', KEYS[2], call_id)
return info
"""

# The status check and the write in one script: of two controllers moving the same request on, one wins.
SAVE_CALLBACK_LUA = """
local old = redis.call('HGET', KEYS[1], ARGV[1])
if old then
  local status = cjson.decode(old)['status']
  if not string.find(ARGV[2], ',' .. status .. ',', 1, true) then return 0 end
elseif ARGV[2] ~= ',' then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('PUBLISH', ARGV[4], ARGV[5])
return 1
"""

SEED_LOGIN_LUA = """
if redis.call('SADD', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('SADD', KEYS[2], ARGV[2])
redis.call('SADD', KEYS[3], ARGV[3])
redis.call('SADD', KEYS[4], ARGV[3])
redis.call('PUBLISH', ARGV[4], ARGV[5])
return 1
"""


def _s(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _hash(flat: Sequence[bytes | str] | Mapping[Any, Any]) -> dict[str, str]:
    """HGETALL's answer (a dict from redis-py, a flat list from a script) as str -> str."""
    if isinstance(flat, Mapping):
        return {_s(k): _s(v) for k, v in flat.items()}
    return {_s(flat[i]): _s(flat[i + 1]) for i in range(0, len(flat), 2)}


def _record(tenant: str, user: str, fields: Mapping[str, str], refs: Any) -> AgentState:
    def number(name: str) -> float | None:
        value = fields.get(name)
        return float(value) if value else None

    return AgentState(
        tenant=tenant, user=user, logged_in=frozenset(_s(r) for r in refs),
        paused=fields.get("paused") == "1", pause_reason=fields.get("pause_reason") or "",
        wrapup_until=number("wrapup_until") or 0.0, wrapup_queue=fields.get("wrapup_queue") or None,
        reserved_for=fields.get("reserved_for") or None, reserved_at=number("reserved_at") or 0.0,
        last_call_end=number("last_call_end") or 0.0, calls_taken=int(fields.get("calls_taken") or 0),
        missed_in_row=int(fields.get("missed_in_row") or 0), wrapup_override_s=number("wrapup_override"))


def _member(entry: WaitingEntry) -> str:
    if not 0 <= entry.joined_at < 1e10:
        raise ValueError(f"joined_at must be epoch seconds, not {entry.joined_at!r}")
    return f"{entry.joined_at:017.6f}:{entry.call_id}"


def _glob_escape(text: str) -> str:
    return re.sub(r"([*?\[\]\\])", r"\\\1", text)


async def _close(pubsub: PubSub) -> None:
    closer: Any = pubsub.aclose  # untyped in redis-py
    await closer()


class _RedisSubscription(Subscription):
    def __init__(self, pubsub: PubSub) -> None:
        self._pubsub = pubsub

    async def get(self, timeout: float | None = None) -> Event:
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while True:
            remaining = None if deadline is None else max(0.0, deadline - loop.time())
            message = await self._pubsub.get_message(ignore_subscribe_messages=True, timeout=remaining)
            if message is not None and message["type"] in ("message", "pmessage"):
                data: Event = json.loads(message["data"])
                return data
            if deadline is not None and loop.time() >= deadline:
                raise TimeoutError("no event")

    async def aclose(self) -> None:
        await _close(self._pubsub)


async def _subscribed(pubsub: PubSub, timeout: float = 5.0) -> None:
    """Wait for the server's confirmation: only then is an event published elsewhere sure to reach us."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        message = await pubsub.get_message(timeout=max(0.0, deadline - loop.time()))
        if message is not None and message["type"] in ("subscribe", "psubscribe"):
            return
    raise RedisTimeoutError("no subscription confirmation from Redis")


class RedisStore:
    """LiveStore on Redis. `client` belongs to the caller (who closes it); call `start()` (or use `async with`)
    to keep `view()` fresh with other instances' changes, and `aclose()` to stop following.

    view() staleness: this instance's own writes show at once; another instance's show when its pub/sub event
    arrives (typically well under a millisecond on a LAN, milliseconds under load). After a lost connection the
    follower reloads the whole replica, so a missed event is repaired, not kept.
    """

    def __init__(self, client: aioredis.Redis, prefix: str = "pbx:", clock: Clock = time.time,
                 retry_s: float = 0.5) -> None:
        self._client = client
        self._prefix = prefix
        self._clock = clock
        self._retry_s = retry_s
        self._replica = LiveReplica()
        self._follower: asyncio.Task[None] | None = None
        self._stale = False
        self._reserve = client.register_script(RESERVE_LUA)
        self._release = client.register_script(RELEASE_LUA)
        self._enqueue = client.register_script(ENQUEUE_LUA)
        self._dequeue = client.register_script(DEQUEUE_LUA)
        self._position = client.register_script(POSITION_LUA)
        self._claim_head = client.register_script(CLAIM_HEAD_LUA)
        self._save_callback = client.register_script(SAVE_CALLBACK_LUA)
        self._seed_login = client.register_script(SEED_LOGIN_LUA)

    # --- keys ---
    def _key(self, tenant: str, *parts: str) -> str:
        return f"{self._prefix}{{{tenant}}}:" + ":".join(parts)

    def _user(self, tenant: str, user: str) -> str:
        return self._key(tenant, "user", user)

    def _in(self, tenant: str, user: str) -> str:
        return self._key(tenant, "in", user)

    def _channel(self, tenant: str) -> str:
        return f"{self._prefix}events:{tenant}"

    async def _write(self, tenant: str, ev: Event, *commands: tuple[str, Sequence[Any]]) -> None:
        """Commands and the event's PUBLISH in one MULTI: events reach followers in the order the writes happened."""
        async with self._client.pipeline(transaction=True) as pipe:
            for name, args in commands:
                pipe.execute_command(name, *args)
            pipe.publish(self._channel(tenant), json.dumps(ev))
            await pipe.execute()

    # --- presence, line, membership ---
    async def set_presence(self, tenant: str, user: str, entries: Sequence[PresenceEntry]) -> None:
        ev = make_event("presence", tenant, self._clock(), user=user, entries=presence_to_json(entries))
        await self._write(tenant, ev, ("HSET", [self._user(tenant, user), "tenant", tenant, "user", user,
                                                "presence", json.dumps(ev["entries"]),
                                                "spans", json.dumps(presence_spans(entries))]))
        self._replica.apply(ev)

    async def presence_entries(self, tenant: str, user: str) -> tuple[PresenceEntry, ...]:
        raw = await self._client.hget(self._user(tenant, user), "presence")
        return presence_from_json(json.loads(raw)) if raw else ()

    async def set_line(self, tenant: str, user: str, status: LineStatus) -> None:
        ev = make_event("line", tenant, self._clock(), user=user, status=LineStatus(status).value)
        await self._write(tenant, ev, ("HSET", [self._user(tenant, user), "tenant", tenant, "user", user,
                                                "line", ev["status"]]))
        self._replica.apply(ev)

    async def line(self, tenant: str, user: str) -> LineStatus:
        raw = await self._client.hget(self._user(tenant, user), "line")
        return LineStatus(_s(raw)) if raw else LineStatus.IDLE

    async def set_device_states(self, tenant: str, user: str, states: Mapping[str, str]) -> None:
        await self._client.hset(self._user(tenant, user), mapping={"tenant": tenant, "user": user,
                                                                   "devices": json.dumps(dict(states))})

    async def device_states(self, tenant: str, user: str) -> dict[str, str]:
        raw = await self._client.hget(self._user(tenant, user), "devices")
        return {str(k): str(v) for k, v in json.loads(raw).items()} if raw else {}

    async def login(self, tenant: str, user: str, kind: str, key: str, by: str | None = None) -> None:
        await self._membership("login", "SADD", tenant, user, kind, key, by)

    async def logout(self, tenant: str, user: str, kind: str, key: str, by: str | None = None) -> None:
        await self._membership("logout", "SREM", tenant, user, kind, key, by)

    async def _membership(self, what: str, command: str, tenant: str, user: str, kind: str, key: str,
                          by: str | None) -> None:
        ref = membership_ref(kind, key)
        ev = make_event(what, tenant, self._clock(), user=user, ref=ref, by=by)
        await self._write(tenant, ev, (command, [self._in(tenant, user), ref]),
                          (command, [self._key(tenant, "members", kind, key), user]),
                          ("SADD", [self._key(tenant, "agents"), user]))
        self._replica.apply(ev)

    async def logged_in(self, tenant: str, kind: str, key: str) -> frozenset[str]:
        return frozenset(_s(u) for u in await self._client.smembers(self._key(tenant, "members", kind, key)))

    # --- agents ---
    async def _agent_fields(self, tenant: str, user: str, ev: Event, *fields: Any, delete: Sequence[str] = ()
                            ) -> None:
        commands: list[tuple[str, Sequence[Any]]] = [("SADD", [self._key(tenant, "agents"), user])]
        if fields:
            commands.append(("HSET", [self._user(tenant, user), *fields]))
        if delete:
            commands.append(("HDEL", [self._user(tenant, user), *delete]))
        await self._write(tenant, ev, *commands)

    async def pause(self, tenant: str, user: str, reason: str, by: str | None = None) -> None:
        ev = make_event("paused", tenant, self._clock(), user=user, reason=reason, by=by)
        await self._agent_fields(tenant, user, ev, "paused", "1", "pause_reason", reason)

    async def unpause(self, tenant: str, user: str, by: str | None = None) -> None:
        # A fresh start: the missed calls that caused an automatic pause are forgiven.
        await self._agent_fields(tenant, user, make_event("unpaused", tenant, self._clock(), user=user, by=by),
                                 "paused", "0", "missed_in_row", "0", delete=["pause_reason"])

    async def start_wrapup(self, tenant: str, user: str, queue: str, until: float) -> None:
        ev = make_event("wrapup_started", tenant, self._clock(), user=user, queue=queue, until=until)
        await self._agent_fields(tenant, user, ev, "wrapup_until", repr(float(until)), "wrapup_queue", queue)

    async def end_wrapup(self, tenant: str, user: str, by: str | None = None) -> None:
        queue = await self._client.hget(self._user(tenant, user), "wrapup_queue")
        ev = make_event("wrapup_ended", tenant, self._clock(), user=user, queue=_s(queue) if queue else None, by=by)
        await self._agent_fields(tenant, user, ev, delete=["wrapup_until", "wrapup_queue"])

    async def call_ended(self, tenant: str, user: str, now: float, wrapup_s: float, queue: str | None = None) -> None:
        until = now + wrapup_s
        ev = make_event("call_ended", tenant, now, user=user, queue=queue, wrapup_until=until)
        await self._agent_fields(tenant, user, ev, "last_call_end", repr(float(now)), "wrapup_until", repr(until),
                                 *(("wrapup_queue", queue) if queue else ()),
                                 delete=() if queue else ["wrapup_queue"])

    async def set_wrapup_override(self, tenant: str, user: str, seconds: float | None) -> None:
        ev = make_event("wrapup_override", tenant, self._clock(), user=user, seconds=seconds)
        if seconds is None:
            await self._agent_fields(tenant, user, ev, delete=["wrapup_override"])
        else:
            await self._agent_fields(tenant, user, ev, "wrapup_override", repr(float(seconds)))

    async def seed_login(self, tenant: str, user: str, kind: str, key: str) -> bool:
        ref = membership_ref(kind, key)
        ev = make_event("login", tenant, self._clock(), user=user, ref=ref, by=None)
        done = await self._seed_login(
            keys=[self._key(tenant, "seeded"), self._in(tenant, user), self._key(tenant, "members", kind, key),
                  self._key(tenant, "agents")],
            args=[f"{user}|{ref}", ref, user, self._channel(tenant), json.dumps(ev)])
        if done:
            self._replica.apply(ev)
        return bool(done)

    # --- callback requests ---
    async def save_callback(self, cb: CallbackRequest, expect: Sequence[CallbackStatus] = ()) -> bool:
        allowed = "," + "".join(f"{s.value}," for s in expect)
        return bool(await self._save_callback(keys=[self._key(cb.tenant, "cb")], args=[
            cb.call_id, allowed, json.dumps(callback_to_json(cb)), self._channel(cb.tenant),
            json.dumps(callback_event(cb))]))

    async def callback(self, tenant: str, call_id: str) -> CallbackRequest | None:
        raw = await self._client.hget(self._key(tenant, "cb"), call_id)
        return callback_from_json(json.loads(raw)) if raw else None

    async def callbacks(self, tenant: str) -> list[CallbackRequest]:
        raw = await self._client.hvals(self._key(tenant, "cb"))
        return sorted((callback_from_json(json.loads(r)) for r in raw), key=lambda cb: (cb.joined_at, cb.call_id))

    async def callback_tenants(self) -> list[str]:
        pattern = _glob_escape(self._prefix) + "{*}:cb"
        keys = [_s(k) async for k in self._client.scan_iter(match=pattern, count=1000, _type="HASH")]
        return sorted(k[len(self._prefix) + 1:-len("}:cb")] for k in keys)

    async def agent(self, tenant: str, user: str) -> AgentState:
        async with self._client.pipeline(transaction=True) as pipe:
            pipe.hgetall(self._user(tenant, user))
            pipe.smembers(self._in(tenant, user))
            fields, refs = await pipe.execute()
        return _record(tenant, user, _hash(fields), refs)

    async def agents(self, tenant: str) -> list[AgentState]:
        users = sorted(_s(u) for u in await self._client.smembers(self._key(tenant, "agents")))
        async with self._client.pipeline(transaction=True) as pipe:
            for user in users:
                pipe.hgetall(self._user(tenant, user))
                pipe.smembers(self._in(tenant, user))
            answers = await pipe.execute()
        return [_record(tenant, user, _hash(answers[2 * i]), answers[2 * i + 1]) for i, user in enumerate(users)]

    async def reserve(self, tenant: str, user: str, call_id: str, queue_ref: str, now: float, ttl_s: float,
                      by_hand: bool = False) -> bool:
        ev = make_event("reserved", tenant, now, user=user, call=call_id, queue=queue_ref)
        verdict = _s(await self._reserve(keys=[self._user(tenant, user), self._in(tenant, user)],
                                         args=[call_id, queue_ref, repr(float(now)), repr(float(ttl_s)),
                                               self._channel(tenant), json.dumps(ev), "1" if by_hand else "0"]))
        if verdict != "ok":
            log.debug("reservation of %s/%s for %s refused: %s", tenant, user, call_id, verdict)
            return False
        return True

    async def release(self, tenant: str, user: str, call_id: str, outcome: Outcome, now: float,
                      max_missed: int = 3) -> AgentState:
        if outcome not in ("answered", "missed", "cancelled"):
            raise ValueError(f"unknown outcome {outcome!r}")
        released = make_event("released", tenant, now, user=user, call=call_id, reason=outcome)
        paused = make_event("paused", tenant, now, user=user, reason=MISSED_CALLS, automatic=True)
        answer = await self._release(keys=[self._user(tenant, user), self._in(tenant, user)],
                                     args=[call_id, outcome, max_missed, MISSED_CALLS, self._channel(tenant),
                                           json.dumps(released), json.dumps(paused)])
        if answer is None:
            raise ReservationNotHeld(f"{tenant}/{user} is not reserved for call {call_id}")
        _auto_pause, fields, refs = answer
        return _record(tenant, user, _hash(fields), refs)

    # --- waiting callers ---
    def _queue_keys(self, tenant: str, queue: str) -> list[str]:
        return [self._key(tenant, "wait", queue), self._key(tenant, "waitinfo", queue)]

    async def enqueue(self, tenant: str, queue: str, caller: WaitingEntry) -> None:
        member = _member(caller)
        info = json.dumps({**caller.to_json(), "member": member})
        ev = make_event("enqueued", tenant, caller.joined_at, queue=queue, call=caller.call_id,
                        priority=caller.priority)
        await self._enqueue(keys=self._queue_keys(tenant, queue), args=[
            caller.call_id, member, -caller.priority, info, self._channel(tenant), json.dumps(ev)])

    async def dequeue(self, tenant: str, queue: str, call_id: str) -> bool:
        ev = make_event("dequeued", tenant, self._clock(), queue=queue, call=call_id)
        return bool(await self._dequeue(keys=self._queue_keys(tenant, queue),
                                        args=[call_id, self._channel(tenant), json.dumps(ev)]))

    async def waiting(self, tenant: str, queue: str) -> list[WaitingEntry]:
        order, info = self._queue_keys(tenant, queue)
        async with self._client.pipeline(transaction=True) as pipe:
            pipe.zrange(order, 0, -1)
            pipe.hgetall(info)
            members, details = await pipe.execute()
        by_call = _hash(details)
        return [WaitingEntry.from_json(json.loads(by_call[_s(m)[18:]])) for m in members]

    async def position(self, tenant: str, queue: str, call_id: str) -> int | None:
        rank = await self._position(keys=self._queue_keys(tenant, queue), args=[call_id])
        return None if rank is None else int(rank)

    async def claim_head(self, tenant: str, queue: str) -> WaitingEntry | None:
        info = await self._claim_head(keys=self._queue_keys(tenant, queue))
        if info is None:
            return None
        head = WaitingEntry.from_json(json.loads(info))
        await self.publish(tenant, make_event("claimed", tenant, self._clock(), queue=queue, call=head.call_id))
        return head

    # --- events ---
    async def publish(self, tenant: str, event: Mapping[str, Any]) -> None:
        await self._client.publish(self._channel(tenant), json.dumps({**event, "tenant": tenant}))

    async def subscribe(self, tenant: str) -> Subscription:
        pubsub = self._client.pubsub()
        try:
            if tenant == "*":
                await pubsub.psubscribe(_glob_escape(self._prefix) + "events:*")
            else:
                await pubsub.subscribe(self._channel(tenant))
            await _subscribed(pubsub)
        except BaseException:
            await _close(pubsub)
            raise
        return _RedisSubscription(pubsub)

    # --- the replica behind view() ---
    def view(self) -> LiveView:
        """The local replica itself: a sync decision runs between awaits, so it sees one consistent moment."""
        return self._replica

    async def start(self) -> None:
        """Load the replica and follow every instance's events until aclose(); returns once loaded."""
        if self._follower is not None:
            return
        loaded: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._follower = asyncio.create_task(self._follow(loaded))
        await loaded

    async def aclose(self) -> None:
        if self._follower is not None:
            self._follower.cancel()
            try:
                await self._follower
            except asyncio.CancelledError:
                pass
            self._follower = None

    async def __aenter__(self) -> RedisStore:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def _follow(self, loaded: asyncio.Future[None]) -> None:
        while True:
            pubsub = self._client.pubsub()
            try:
                # Subscribe first, then load: an event racing the load is applied after it (events are full values).
                await pubsub.psubscribe(_glob_escape(self._prefix) + "events:*")
                await _subscribed(pubsub)
                if pubsub.connection is not None:
                    # redis-py reconnects and resubscribes silently; events published meanwhile are lost to us.
                    pubsub.connection.register_connect_callback(self._reconnected)
                self._stale = False
                self._replica.replace(await self._load_replica())
                if not loaded.done():
                    loaded.set_result(None)
                while True:
                    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                    if self._stale:
                        self._stale = False
                        log.info("live-state event stream reconnected; reloading the replica")
                        self._replica.replace(await self._load_replica())
                    if message is not None and message["type"] == "pmessage":
                        self._replica.apply(json.loads(message["data"]))
            except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
                if not loaded.done():
                    loaded.set_exception(exc)
                    return
                log.warning("lost the live-state event stream (%s); reloading in %.1fs", exc, self._retry_s)
                await asyncio.sleep(self._retry_s)
            finally:
                await _close(pubsub)

    def _reconnected(self, connection: object) -> None:
        self._stale = True

    async def _load_replica(self) -> LiveReplica:
        replica = LiveReplica()
        base = _glob_escape(self._prefix) + "{*}:"
        users = [key async for key in self._client.scan_iter(match=base + "user:*", count=1000, _type="HASH")]
        groups = [key async for key in self._client.scan_iter(match=base + "members:*", count=1000, _type="SET")]
        async with self._client.pipeline(transaction=False) as pipe:
            for key in users:
                pipe.hmget(key, "tenant", "user", "line", "presence")
            for key in groups:
                pipe.smembers(key)
            answers = await pipe.execute()
        for tenant, user, line, presence in answers[:len(users)]:
            if tenant is None or user is None:
                continue
            tenant, user = _s(tenant), _s(user)
            if line:
                replica.lines[(tenant, user)] = LineStatus(_s(line))
            if presence:
                replica.presences[(tenant, user)] = presence_from_json(json.loads(presence))
        for key, members in zip(groups, answers[len(users):], strict=True):
            rest = _s(key)[len(self._prefix) + 1:]
            tenant, _, tail = rest.partition("}:members:")
            kind, _, queue = tail.partition(":")
            if members:
                replica.members[(tenant, kind, queue)] = frozenset(_s(m) for m in members)
        return replica


_REDIS_IS_A_LIVE_STORE: Callable[[aioredis.Redis], LiveStore] = RedisStore  # mypy checks the Protocol here
