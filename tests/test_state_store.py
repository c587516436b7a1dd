"""The live-state store, one suite on both forms (in memory and on a real Redis), plus concurrency on Redis."""

from __future__ import annotations

import asyncio
import itertools
import random
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ProcessPoolExecutor
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from multiprocessing import get_context
from typing import Any

import pytest
import redis.asyncio as aioredis

from pbx.routing.model import PresenceEntry, PresenceStatus
from pbx.routing.state import LineStatus
from pbx.state.redis_store import RedisStore
from pbx.state.store import MISSED_CALLS, LiveStore, MemoryStore, ReservationNotHeld, Subscription, WaitingEntry

NOW = 1_750_000_000.0
TTL = 15.0
T = "acme"
SALES = "queue:sales"


# --- fixtures ------------------------------------------------------------------------------------


class Backend:
    """Opens stores of one kind inside a test's event loop; on Redis each test gets its own key prefix."""

    def __init__(self, name: str, url: str | None) -> None:
        self.name = name
        self.url = url
        self.prefix = f"pbxtest:{uuid.uuid4().hex[:12]}:"

    @asynccontextmanager
    async def open(self, count: int = 1) -> AsyncIterator[list[Any]]:
        """`count` instances sharing state: separate RedisStores with their own connections, or one MemoryStore."""
        if self.url is None:
            memory = MemoryStore()
            try:
                yield [memory] * count
            finally:
                await memory.aclose()
            return
        clients = [aioredis.Redis.from_url(self.url) for _ in range(count)]
        stores = [RedisStore(client, prefix=self.prefix) for client in clients]
        try:
            for store in stores:
                await store.start()
            yield stores
        finally:
            for store in stores:
                await store.aclose()
            await _delete_prefix(clients[0], self.prefix)
            for client in clients:
                await client.aclose()

    def run(self, test: Callable[..., Awaitable[None]], count: int = 1) -> None:
        async def main() -> None:
            async with self.open(count) as stores:
                await test(*stores)

        asyncio.run(main())


async def _delete_prefix(client: aioredis.Redis, prefix: str) -> None:
    keys = [key async for key in client.scan_iter(match=prefix + "*", count=1000)]
    if keys:
        await client.delete(*keys)


@pytest.fixture(params=["memory", "redis"])
def backend(request: pytest.FixtureRequest) -> Backend:
    url = request.getfixturevalue("redis_url") if request.param == "redis" else None
    return Backend(request.param, url)


async def logged_in_agent(store: LiveStore, user: str = "anna", tenant: str = T) -> None:
    await store.login(tenant, user, "queue", "sales")
    await store.set_line(tenant, user, LineStatus.IDLE)


async def next_event(sub: Subscription, kind: str, timeout: float = 2.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        event = await sub.get(max(0.0, deadline - time.monotonic()))
        if event["kind"] == kind:
            return event


def at(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


# --- membership, pause --------------------------------------------------------------------------


def test_login_logout_and_pause_show_in_agent_record_and_view(backend: Backend) -> None:
    async def test(store: LiveStore) -> None:
        await store.login(T, "anna", "queue", "sales")
        await store.login(T, "anna", "group", "reception", by="boss")
        await store.login(T, "bo", "queue", "sales")
        assert await store.logged_in(T, "queue", "sales") == {"anna", "bo"}
        assert store.view().logged_in(T, "queue", "sales") == {"anna", "bo"}
        assert (await store.agent(T, "anna")).logged_in == {"queue:sales", "group:reception"}

        await store.logout(T, "bo", "queue", "sales")
        await store.pause(T, "anna", "lunch")
        anna = await store.agent(T, "anna")
        assert (anna.paused, anna.pause_reason) == (True, "lunch")
        assert await store.logged_in(T, "queue", "sales") == {"anna"}
        assert store.view().logged_in(T, "queue", "sales") == {"anna"}
        assert [a.user for a in await store.agents(T)] == ["anna", "bo"]

        await store.unpause(T, "anna")
        anna = await store.agent(T, "anna")
        assert (anna.paused, anna.pause_reason) == (False, "")

    backend.run(test)


def test_presence_and_line_readable_async_and_from_view(backend: Backend) -> None:
    async def test(store: LiveStore) -> None:
        lunch = PresenceEntry(PresenceStatus.LUNCH, start=at(NOW - 60), end=at(NOW + 3600), message="back at 1")
        await store.set_presence(T, "anna", [lunch])
        await store.set_line(T, "anna", LineStatus.BUSY)
        assert await store.presence_entries(T, "anna") == (lunch,)
        assert await store.line(T, "anna") is LineStatus.BUSY
        assert store.view().presence(T, "anna", at(NOW)) == lunch
        assert store.view().presence(T, "anna", at(NOW + 7200)) is None
        assert store.view().line(T, "anna") is LineStatus.BUSY
        assert store.view().line(T, "nobody") is LineStatus.IDLE

    backend.run(test)


def test_view_sees_another_instance_change_within_milliseconds(backend: Backend) -> None:
    async def test(mine: LiveStore, other: LiveStore) -> None:
        await other.login(T, "anna", "queue", "sales")
        await other.set_line(T, "anna", LineStatus.RINGING)
        deadline = time.monotonic() + 2
        while mine.view().line(T, "anna") is not LineStatus.RINGING and time.monotonic() < deadline:
            await asyncio.sleep(0.001)
        assert mine.view().line(T, "anna") is LineStatus.RINGING
        assert mine.view().logged_in(T, "queue", "sales") == {"anna"}

    backend.run(test, count=2)


def test_new_instance_view_starts_with_existing_state(redis_url: str) -> None:
    backend = Backend("redis", redis_url)

    async def test(store: LiveStore) -> None:
        await logged_in_agent(store)
        away = PresenceEntry(PresenceStatus.AWAY, start=at(NOW - 60))
        await store.set_presence(T, "anna", [away])
        async with aioredis.Redis.from_url(redis_url) as client:
            late = RedisStore(client, prefix=backend.prefix)
            async with late:
                assert late.view().logged_in(T, "queue", "sales") == {"anna"}
                assert late.view().presence(T, "anna", at(NOW)) == away
                assert late.view().line(T, "anna") is LineStatus.IDLE

    backend.run(test)


def test_view_repairs_itself_after_the_event_stream_drops(redis_url: str) -> None:
    backend = Backend("redis", redis_url)

    async def test(store: LiveStore) -> None:
        await logged_in_agent(store)
        async with aioredis.Redis.from_url(redis_url) as raw:
            # A change whose event this instance never sees (as if published while its connection was down)…
            await raw.hset(f"{backend.prefix}{{{T}}}:user:anna", "line", "busy")
            await asyncio.sleep(0.05)
            assert store.view().line(T, "anna") is LineStatus.IDLE
            await raw.execute_command("CLIENT", "KILL", "TYPE", "pubsub")
            deadline = time.monotonic() + 5
            while store.view().line(T, "anna") is not LineStatus.BUSY and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
        # …is picked up by the reload that follows the reconnection.
        assert store.view().line(T, "anna") is LineStatus.BUSY

    backend.run(test)


# --- reservation ------------------------------------------------------------------------------------


async def _paused(store: LiveStore) -> None:
    await store.pause(T, "anna", "coffee")


async def _in_wrapup(store: LiveStore) -> None:
    await store.start_wrapup(T, "anna", "sales", until=NOW + 30)


async def _line_busy(store: LiveStore) -> None:
    await store.set_line(T, "anna", LineStatus.BUSY)


async def _away(store: LiveStore) -> None:
    await store.set_presence(T, "anna", [PresenceEntry(PresenceStatus.MEETING, start=at(NOW - 60), end=at(NOW + 60))])


async def _already_reserved(store: LiveStore) -> None:
    assert await store.reserve(T, "anna", "call-0", SALES, NOW - 1, TTL)


async def _logged_in_elsewhere(store: LiveStore) -> None:
    await store.logout(T, "anna", "queue", "sales")
    await store.login(T, "anna", "queue", "support")


OBSTACLES = {"paused": _paused, "wrap-up": _in_wrapup, "line busy": _line_busy, "presence": _away,
             "already reserved": _already_reserved, "not logged in to that queue": _logged_in_elsewhere}


@pytest.mark.parametrize("obstacle", OBSTACLES)
def test_reservation_refused(backend: Backend, obstacle: str) -> None:
    async def test(store: LiveStore) -> None:
        await logged_in_agent(store)
        await logged_in_agent(store, "bo")
        await OBSTACLES[obstacle](store)
        assert not await store.reserve(T, "anna", "call-1", SALES, NOW, TTL)
        assert (await store.agent(T, "anna")).reserved_for != "call-1"
        assert await store.reserve(T, "bo", "call-1", SALES, NOW, TTL)  # the same call, an agent who is free

    backend.run(test)


@pytest.mark.parametrize("obstacle", OBSTACLES)
def test_a_reservation_by_hand_passes_logins_pause_and_presence_but_no_call_or_wrap_up(backend: Backend,
                                                                                      obstacle: str) -> None:
    """A callback the agent takes from the panel: the agent chose it, so only what stops a call stops it."""
    async def test(store: LiveStore) -> None:
        await logged_in_agent(store)
        await OBSTACLES[obstacle](store)
        stands = obstacle in ("wrap-up", "line busy", "already reserved")
        assert await store.reserve(T, "anna", "call-1", SALES, NOW, TTL, by_hand=True) is not stands
        assert ((await store.agent(T, "anna")).reserved_for == "call-1") is not stands

    backend.run(test)


def test_reservation_allowed_again_when_obstacles_clear(backend: Backend) -> None:
    async def test(store: LiveStore) -> None:
        await logged_in_agent(store)
        await store.start_wrapup(T, "anna", "sales", until=NOW + 30)
        await store.set_presence(T, "anna", [PresenceEntry(PresenceStatus.LUNCH, start=at(NOW), end=at(NOW + 10)),
                                             PresenceEntry(PresenceStatus.AVAILABLE, start=at(NOW + 5))])
        assert not await store.reserve(T, "anna", "call-1", SALES, NOW + 29, TTL)  # wrap-up
        assert not await store.reserve(T, "anna", "call-1", SALES, NOW + 3, TTL + 30)  # still at lunch
        assert await store.reserve(T, "anna", "call-1", SALES, NOW + 30, TTL)  # wrap-up over, back earlier

    backend.run(test)


def test_reservation_lapses_after_ttl(backend: Backend) -> None:
    async def test(store: LiveStore) -> None:
        await logged_in_agent(store)
        assert await store.reserve(T, "anna", "call-1", SALES, NOW, TTL)
        assert not await store.reserve(T, "anna", "call-2", SALES, NOW + TTL, TTL)
        assert await store.reserve(T, "anna", "call-2", SALES, NOW + TTL + 0.001, TTL)
        anna = await store.agent(T, "anna")
        assert (anna.reserved_for, anna.reserved_at) == ("call-2", NOW + TTL + 0.001)
        with pytest.raises(ReservationNotHeld):  # the dispatcher of call-1 came back too late
            await store.release(T, "anna", "call-1", "answered", NOW + 20)

    backend.run(test)


def test_release_by_a_call_not_holding_the_agent_is_refused(backend: Backend) -> None:
    async def test(store: LiveStore) -> None:
        await logged_in_agent(store)
        assert await store.reserve(T, "anna", "call-1", SALES, NOW, TTL)
        with pytest.raises(ReservationNotHeld):
            await store.release(T, "anna", "call-2", "cancelled", NOW + 1)
        assert (await store.agent(T, "anna")).reserved_for == "call-1"
        released = await store.release(T, "anna", "call-1", "cancelled", NOW + 1)
        assert released.reserved_for is None
        with pytest.raises(ReservationNotHeld):  # released twice
            await store.release(T, "anna", "call-1", "cancelled", NOW + 1)

    backend.run(test)


def test_answered_call_counts_then_wrapup_keeps_agent_from_next_call(backend: Backend) -> None:
    async def test(store: LiveStore) -> None:
        await logged_in_agent(store)
        assert await store.reserve(T, "anna", "call-1", SALES, NOW, TTL)
        await store.release(T, "anna", "call-1", "missed", NOW + 20)
        assert await store.reserve(T, "anna", "call-2", SALES, NOW + 30, TTL)
        anna = await store.release(T, "anna", "call-2", "answered", NOW + 35)
        assert (anna.calls_taken, anna.missed_in_row, anna.reserved_for) == (1, 0, None)

        await store.call_ended(T, "anna", NOW + 100, wrapup_s=20, queue="sales")
        anna = await store.agent(T, "anna")
        assert (anna.last_call_end, anna.wrapup_until, anna.wrapup_queue) == (NOW + 100, NOW + 120, "sales")
        assert not await store.reserve(T, "anna", "call-3", SALES, NOW + 110, TTL)
        await store.end_wrapup(T, "anna")
        assert await store.reserve(T, "anna", "call-3", SALES, NOW + 110, TTL)

    backend.run(test)


def test_third_missed_call_pauses_agent_and_says_so(backend: Backend) -> None:
    async def test(store: LiveStore) -> None:
        await logged_in_agent(store)
        async with await store.subscribe(T) as events:
            for n in range(3):
                assert await store.reserve(T, "anna", f"call-{n}", SALES, NOW + 60 * n, TTL)
                anna = await store.release(T, "anna", f"call-{n}", "missed", NOW + 60 * n + 20)
            assert (anna.paused, anna.pause_reason, anna.missed_in_row) == (True, MISSED_CALLS, 3)
            paused = await next_event(events, "paused")
            assert (paused["user"], paused["reason"], paused["tenant"]) == ("anna", MISSED_CALLS, T)
        assert not await store.reserve(T, "anna", "call-4", SALES, NOW + 300, TTL)
        await store.unpause(T, "anna")
        assert (await store.agent(T, "anna")).missed_in_row == 0
        assert await store.reserve(T, "anna", "call-4", SALES, NOW + 300, TTL)

    backend.run(test)


# --- waiting callers --------------------------------------------------------------------------------


def caller(n: int, joined: float, priority: int = 0, callback: str | None = None) -> WaitingEntry:
    return WaitingEntry(f"call-{n}", f"+4670000000{n}", f"PJSIP/trunk-{n:08x}", joined, priority, callback)


def test_waiting_callers_vip_first_then_first_come_first_served(backend: Backend) -> None:
    async def test(store: LiveStore) -> None:
        await store.enqueue(T, "sales", caller(1, NOW + 1))
        await store.enqueue(T, "sales", caller(2, NOW + 2, callback="+46701112233"))
        await store.enqueue(T, "sales", caller(3, NOW + 3, priority=5))  # VIP, arrived last
        await store.enqueue(T, "sales", caller(4, NOW + 0.5))
        await store.enqueue(T, "sales", caller(5, NOW + 0.5001))  # sub-millisecond apart still in order
        assert [w.call_id for w in await store.waiting(T, "sales")] == ["call-3", "call-4", "call-5", "call-1",
                                                                        "call-2"]
        assert (await store.waiting(T, "sales"))[4] == caller(2, NOW + 2, callback="+46701112233")
        assert await store.position(T, "sales", "call-1") == 4
        assert await store.position(T, "sales", "call-9") is None

        assert await store.dequeue(T, "sales", "call-4")  # hung up
        assert not await store.dequeue(T, "sales", "call-4")
        assert await store.position(T, "sales", "call-1") == 3
        assert await store.claim_head(T, "sales") == caller(3, NOW + 3, priority=5)
        assert [w.call_id for w in await store.waiting(T, "sales")] == ["call-5", "call-1", "call-2"]

    backend.run(test)


def test_claim_head_never_hands_out_a_caller_twice(backend: Backend) -> None:
    async def test(*stores: LiveStore) -> None:
        for n in range(60):
            await stores[0].enqueue(T, "sales", caller(n, NOW + n))

        async def drain(store: LiveStore) -> list[str]:
            got = []
            while (head := await store.claim_head(T, "sales")) is not None:
                got.append(head.call_id)
            return got

        claims = await asyncio.gather(*(drain(s) for s in stores for _ in range(3)))
        every = [c for claimed in claims for c in claimed]
        assert sorted(every) == sorted(f"call-{n}" for n in range(60))
        assert await stores[0].claim_head(T, "sales") is None

    backend.run(test, count=3)


# --- tenants, events ----------------------------------------------------------------------------


def test_tenants_do_not_see_each_other(backend: Backend) -> None:
    async def test(store: LiveStore) -> None:
        for tenant in ("acme", "globex"):
            await logged_in_agent(store, "anna", tenant)
            await store.enqueue(tenant, "sales", caller(1, NOW))
        await store.pause("globex", "anna", "lunch")
        await store.set_line("globex", "anna", LineStatus.BUSY)
        await store.logout("globex", "anna", "queue", "sales")
        assert await store.reserve("acme", "anna", "call-1", SALES, NOW, TTL)
        assert (await store.agent("globex", "anna")).reserved_for is None
        assert await store.claim_head("globex", "sales") is not None
        assert await store.position("acme", "sales", "call-1") == 1
        assert await store.logged_in("acme", "queue", "sales") == {"anna"}
        assert await store.logged_in("globex", "queue", "sales") == frozenset()
        assert store.view().line("acme", "anna") is LineStatus.IDLE
        assert not (await store.agent("acme", "anna")).paused
        assert [a.user for a in await store.agents("acme")] == ["anna"]

    backend.run(test)


def test_subscriber_gets_its_tenants_events_and_star_gets_all(backend: Backend) -> None:
    async def test(store: LiveStore) -> None:
        async with await store.subscribe("acme") as acme, await store.subscribe("*") as everything:
            await store.pause("globex", "bo", "lunch")
            await store.login("acme", "anna", "queue", "sales", by="boss")
            await store.publish("acme", {"kind": "note", "text": "hej"})
            login = await acme.get(2)
            assert {k: login[k] for k in ("kind", "tenant", "user", "ref", "by")} == {
                "kind": "login", "tenant": "acme", "user": "anna", "ref": "queue:sales", "by": "boss"}
            assert isinstance(login["at"], float)
            assert (await acme.get(2))["kind"] == "note"
            with pytest.raises(TimeoutError):
                await acme.get(0.05)
            assert [(e["tenant"], e["kind"]) for e in [await everything.get(2) for _ in range(3)]] == [
                ("globex", "paused"), ("acme", "login"), ("acme", "note")]

    backend.run(test)


# --- concurrency on Redis: dispatchers in tasks and in other processes ---------------------------------

AGENTS = [f"agent-{n}" for n in range(4)]
CALLERS = 400


async def _dispatch(url: str, prefix: str, seed: int) -> tuple[list[str], list[tuple[str, str, float, float]], int]:
    """One dispatcher on its own connection: claim callers and hold a free agent for each, briefly.

    A hold is recorded from when reserve() returned to just before release() was sent: the agent is
    certainly held by that call throughout, so two overlapping holds of one agent would be a double booking."""
    rng = random.Random(seed)
    client = aioredis.Redis.from_url(url, single_connection_client=True)
    store = RedisStore(client, prefix=prefix)
    claimed: list[str] = []
    holds: list[tuple[str, str, float, float]] = []
    refused = 0
    try:
        while (head := await store.claim_head(T, "sales")) is not None:
            claimed.append(head.call_id)
            while True:
                agent = rng.choice(AGENTS)
                if await store.reserve(T, agent, head.call_id, SALES, time.time(), 60):
                    start = time.time()
                    await asyncio.sleep(rng.choice((0, 0, 0.0005, 0.001)))
                    end = time.time()
                    await store.release(T, agent, head.call_id, "answered", time.time())
                    holds.append((agent, head.call_id, start, end))
                    break
                refused += 1
    finally:
        await client.aclose()
    return claimed, holds, refused


def _dispatcher_process(url: str, prefix: str, seed: int) -> tuple[list[str], list[tuple[str, str, float, float]], int]:
    async def main() -> tuple[list[str], list[tuple[str, str, float, float]], int]:
        client = aioredis.Redis.from_url(url)
        try:
            await client.incr(prefix + "ready")
            while not await client.exists(prefix + "go"):
                await asyncio.sleep(0.001)
        finally:
            await client.aclose()
        return await _dispatch(url, prefix, seed)

    return asyncio.run(main())


def test_concurrent_dispatchers_never_double_book_an_agent_or_a_caller(redis_url: str) -> None:
    backend = Backend("redis", redis_url)

    async def test(store: LiveStore) -> None:
        for agent in AGENTS:
            await logged_in_agent(store, agent)
        for n in range(CALLERS):
            await store.enqueue(T, "sales", caller(n, NOW + n, priority=n % 3))
        loop = asyncio.get_running_loop()
        async with aioredis.Redis.from_url(redis_url) as control:
            with ProcessPoolExecutor(max_workers=2, mp_context=get_context("spawn")) as pool:
                processes = [loop.run_in_executor(pool, _dispatcher_process, redis_url, backend.prefix, 100 + i)
                             for i in range(2)]
                deadline = time.monotonic() + 30
                while int(await control.get(backend.prefix + "ready") or 0) < 2:
                    assert time.monotonic() < deadline, "dispatcher processes did not start"
                    await asyncio.sleep(0.01)
                await control.set(backend.prefix + "go", 1)
                tasks = [_dispatch(redis_url, backend.prefix, seed) for seed in range(8)]
                results = await asyncio.gather(*tasks, *processes)

        claimed = [c for r in results for c in r[0]]
        assert len(claimed) == len(set(claimed)) == CALLERS  # every caller claimed once, none twice
        assert all(r[0] for r in results[8:]), "each process should have claimed callers alongside the tasks"
        assert sum(r[2] for r in results) > 0, "no contention: the test proved nothing"
        holds = sorted((h for r in results for h in r[1]), key=lambda h: (h[0], h[2]))
        assert len(holds) == CALLERS
        for before, after in itertools.pairwise(holds):
            if before[0] == after[0]:
                assert before[3] <= after[2], f"{before[0]} held by {before[1]} and {after[1]} at once"
        for agent in await store.agents(T):
            assert agent.reserved_for is None
        assert sum(a.calls_taken for a in await store.agents(T)) == CALLERS

    backend.run(test)


# --- callbacks, seeded logins, wrap-up overrides ----------------------------------------------------


def test_callback_requests_change_only_by_compare_and_set(backend: Backend) -> None:
    from pbx.acd import callback as cbm
    from pbx.acd.model import CallbackStatus as S

    async def test(store: LiveStore) -> None:
        sub = await store.subscribe(T)
        cb = cbm.confirm(cbm.request("c1", T, "sales", "+46701234567", NOW - 100, NOW), NOW)
        assert await store.save_callback(cb)  # new
        assert not await store.save_callback(cb)  # a second "new" with the same id is refused
        assert (await next_event(sub, "callback"))["status"] == "waiting"
        claimed = cbm.claim(cbm.due(cb, NOW + 1), "anna", NOW + 1)
        assert await store.save_callback(claimed, expect=[S.WAITING, S.DUE])
        # a second controller that read the same request still "waiting" loses
        other = cbm.claim(cbm.due(cb, NOW + 1), "bo", NOW + 1)
        assert not await store.save_callback(other, expect=[S.WAITING, S.DUE])
        stored = await store.callback(T, "c1")
        assert stored == claimed and stored is not None and stored.agent == "anna"
        assert await store.callback(T, "nope") is None
        assert await store.callback("other-tenant", "c1") is None
        cb2 = cbm.confirm(cbm.request("c0", T, "sales", "0812345", NOW - 200, NOW), NOW)
        assert await store.save_callback(cb2)
        assert [c.call_id for c in await store.callbacks(T)] == ["c0", "c1"]  # in place order
        assert await store.callbacks("other-tenant") == []
        assert T in await store.callback_tenants()
        await sub.aclose()

    backend.run(test)


def test_seed_login_happens_once_so_an_agent_who_logged_out_stays_out(backend: Backend) -> None:
    async def test(store: LiveStore) -> None:
        assert await store.seed_login(T, "anna", "queue", "sales")
        assert store.view().logged_in(T, "queue", "sales") == {"anna"}
        await store.logout(T, "anna", "queue", "sales")
        assert not await store.seed_login(T, "anna", "queue", "sales")  # the next start leaves her choice alone
        assert await store.logged_in(T, "queue", "sales") == frozenset()
        assert await store.seed_login(T, "anna", "queue", "support")  # a new membership is seeded
        assert (await store.agent(T, "anna")).logged_in == {"queue:support"}

    backend.run(test)


def test_wrapup_override_is_kept_per_agent(backend: Backend) -> None:
    async def test(store: LiveStore) -> None:
        await store.set_wrapup_override(T, "anna", 90)
        assert (await store.agent(T, "anna")).wrapup_override_s == 90
        assert (await store.agent(T, "bo")).wrapup_override_s is None
        await store.set_wrapup_override(T, "anna", None)
        assert (await store.agent(T, "anna")).wrapup_override_s is None

    backend.run(test)
