"""The contact-centre service on both stores: callbacks (retries after an interval, a restart, a claim left behind
by a stopped controller), agents' own actions, wrap-up events and transfers. Asterisk is a fake switch here."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import pytest
import redis.asyncio as aioredis

from pbx.acd.callback import RetryPolicy
from pbx.acd.model import CallbackRequest, CallbackStatus
from pbx.acd.service import AcdService
from pbx.demo import STOCKHOLM, annat, exempel
from pbx.routing.state import LineStatus
from pbx.state.redis_store import RedisStore
from pbx.state.store import LiveStore, MemoryStore
from pbx.tables import TableHolder, compile_from

AT = datetime(2026, 11, 24, 10, 0, tzinfo=STOCKHOLM)
T, Q = "exempel", "support"


class Clock:
    def __init__(self) -> None:
        self.t = AT.timestamp()

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.t, STOCKHOLM)


class Switch:
    """Records originates; `block` makes the agent's phone ring for ever (the controller stops meanwhile)."""

    def __init__(self, block: bool = False) -> None:
        self.originated: list[dict[str, str]] = []
        self.block = block

    async def setvar(self, channel: str | None, name: str, value: str) -> None:
        raise AssertionError("a callback never moves a caller's channel")

    async def redirect(self, channel: str, context: str, exten: str, priority: int = 1,
                       extra_channel: str | None = None) -> None:
        raise AssertionError("a callback never moves a caller's channel")

    async def originate_and_wait(self, channel: str, *, context: str | None = None, exten: str | None = None,
                                 variables: Any = None, caller_id: str | None = None, timeout_ms: int = 30000) -> Any:
        assert context == "pbx-callback"
        self.originated.append({"channel": channel, **variables})
        if self.block:
            await asyncio.Event().wait()
        return {"Response": "Success"}


@asynccontextmanager
async def stores(url: str | None, prefix: str, clock: Clock) -> AsyncIterator[LiveStore]:
    if url is None:
        yield MemoryStore(clock=lambda: clock.t)
        return
    client = aioredis.Redis.from_url(url)
    store = RedisStore(client, prefix=prefix, clock=lambda: clock.t)
    await store.start()
    try:
        yield store
    finally:
        await store.aclose()
        await client.aclose()


async def cleanup(url: str, prefix: str) -> None:
    client = aioredis.Redis.from_url(url)
    keys = [k async for k in client.scan_iter(match=prefix + "*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()


def service(store: LiveStore, switch: Switch, clock: Clock, **kw: Any) -> AcdService:
    tables = TableHolder(compile_from([exempel(), annat()]))
    return AcdService(store, tables, lambda: switch, clock.now, tick_s=3600, **kw)


async def agent_ready(store: LiveStore, user: str = "david") -> None:
    await store.login(T, user, "queue", Q)
    await store.set_line(T, user, LineStatus.IDLE)


async def settle(acd: AcdService) -> None:
    for _ in range(50):
        await asyncio.sleep(0)
    while acd._background:
        await asyncio.sleep(0.001)


async def status(store: LiveStore, call: str = "c1") -> CallbackRequest:
    cb = await store.callback(T, call)
    assert cb is not None
    return cb


@pytest.fixture(params=["memory", "redis"])
def url(request: pytest.FixtureRequest) -> str | None:
    return request.getfixturevalue("redis_url") if request.param == "redis" else None  # type: ignore[no-any-return]


def run(body: Callable[[], Awaitable[None]], url: str | None, prefix: str) -> None:
    async def main() -> None:
        try:
            await body()
        finally:
            if url is not None:
                await cleanup(url, prefix)
    asyncio.run(main())


def test_a_customer_who_does_not_answer_is_called_again_after_the_interval_until_the_attempts_end(
        url: str | None) -> None:
    prefix = f"pbxtest:{uuid.uuid4().hex[:10]}:"
    clock = Clock()

    async def body() -> None:
        async with stores(url, prefix, clock) as store:
            switch = Switch()
            acd = service(store, switch, clock, retry=RetryPolicy(max_attempts=3, interval_s=120))
            await acd.start()
            await agent_ready(store)
            await acd._callback_from_menu(T, Q, "0701234567", "c1")
            await settle(acd)
            assert len(switch.originated) == 1
            assert switch.originated[0]["PBX_CALL"] == "exempel/c1"
            assert switch.originated[0]["PBX_CALLBACK"] == "0701234567"
            assert (await status(store)).status is CallbackStatus.CUSTOMER_DIALLED
            for attempt in (1, 2):
                await acd.on_callback_result("exempel/c1", "NOANSWER")
                cb = await status(store)
                assert (cb.status, cb.attempts) == (CallbackStatus.RETRY_SCHEDULED, attempt)
                assert cb.next_attempt_at == clock.t + 120
                await acd.on_callback_result("exempel/c1", "NOANSWER")  # the same result twice: applied once
                assert (await status(store)).attempts == attempt
                clock.t += 119
                await acd._callbacks_due()
                await settle(acd)
                assert len(switch.originated) == attempt  # not before the interval
                clock.t += 2
                await acd._callbacks_due()
                await settle(acd)
                assert len(switch.originated) == attempt + 1
            await acd.on_callback_result("exempel/c1", "BUSY")
            cb = await status(store)
            assert (cb.status, cb.attempts, cb.agent) == (CallbackStatus.FAILED, 3, None)
            clock.t += 3600
            await acd._callbacks_due()
            await acd.dispatch_tenant(T)
            await settle(acd)
            assert len(switch.originated) == 3
            assert await store.waiting(T, Q) == []
            assert (await store.agent(T, "david")).reserved_for is None
            await acd.stop()

    run(body, url, prefix)


def test_an_answered_callback_gives_the_agent_wrap_up_their_own_when_set(url: str | None) -> None:
    prefix = f"pbxtest:{uuid.uuid4().hex[:10]}:"
    clock = Clock()

    async def body() -> None:
        async with stores(url, prefix, clock) as store:
            switch = Switch()
            acd = service(store, switch, clock)
            await acd.start()
            await agent_ready(store)
            await store.set_wrapup_override(T, "david", 90)
            await acd._callback_from_menu(T, Q, "0701234567", "c1")
            await settle(acd)
            await acd.on_callback_result("exempel/c1", "ANSWER")
            assert (await status(store)).status is CallbackStatus.DONE
            david = await store.agent(T, "david")
            assert david.wrapup_until == clock.t + 90 and david.calls_taken == 1
            await acd.stop()

    run(body, url, prefix)


def test_callback_requests_survive_a_restart_and_are_made_once(redis_url: str) -> None:
    prefix = f"pbxtest:{uuid.uuid4().hex[:10]}:"
    clock = Clock()

    async def body() -> None:
        first_switch, second_switch = Switch(), Switch()
        async with stores(redis_url, prefix, clock) as store:
            first = service(store, first_switch, clock)
            await first.start()
            await first._callback_from_menu(T, Q, "0701234567", "c1")  # nobody logged in: it waits
            await first._callback_from_menu(T, Q, "0705555555", "c2")
            await first.stop()
        async with stores(redis_url, prefix, clock) as store:  # a new controller process
            second = service(store, second_switch, clock)
            await second.start()
            assert [cb.call_id for cb in await store.callbacks(T)] == ["c1", "c2"]
            await agent_ready(store, "david")
            await agent_ready(store, "eva")
            await second.dispatch_tenant(T)
            await settle(second)
            await second.dispatch_tenant(T)
            await settle(second)
            await second.stop()
        assert first_switch.originated == []
        assert sorted(o["PBX_CALL"] for o in second_switch.originated) == ["exempel/c1", "exempel/c2"]

    run(body, redis_url, prefix)


def test_a_callback_claimed_by_a_controller_that_stopped_is_given_back_and_made_once(redis_url: str) -> None:
    prefix = f"pbxtest:{uuid.uuid4().hex[:10]}:"
    clock = Clock()

    async def body() -> None:
        stuck, fresh = Switch(block=True), Switch()
        async with stores(redis_url, prefix, clock) as store:
            first = service(store, stuck, clock)
            await first.start()
            await agent_ready(store)
            await first._callback_from_menu(T, Q, "0701234567", "c1")
            for _ in range(100):
                if stuck.originated:
                    break
                await asyncio.sleep(0.005)
            assert (await status(store)).status is CallbackStatus.AGENT_CALLED
            await first.stop()  # the controller dies while the agent's phone rings
        async with stores(redis_url, prefix, clock) as store:
            second = service(store, fresh, clock)
            await second.start()
            await second._callbacks_due()
            assert fresh.originated == []  # too early to tell: the first controller may still be ringing
            clock.t += second.reserve_ttl_s + second.ring_s + 1
            await second._callbacks_due()
            await second.dispatch_tenant(T)
            await settle(second)
            assert len(fresh.originated) == 1
            assert (await status(store)).status is CallbackStatus.CUSTOMER_DIALLED
            await second.stop()
        assert len(stuck.originated) == 1

    run(body, redis_url, prefix)


# --- agents' own actions, wrap-up events, transfers -------------------------------------------------


class ConnectSwitch(Switch):
    """Records callers moved to agents (Setvar PBX_AGENT + Redirect to pbx-connect)."""

    def __init__(self) -> None:
        super().__init__()
        self.connected: list[tuple[str, str]] = []
        self.agent = ""

    async def setvar(self, channel: str | None, name: str, value: str) -> None:
        if name == "PBX_AGENT":
            self.agent = value

    async def redirect(self, channel: str, context: str, exten: str, priority: int = 1,
                       extra_channel: str | None = None) -> None:
        assert (context, exten) == ("pbx-connect", "s")
        self.connected.append((channel, self.agent))


def vip_tables() -> TableHolder:
    from dataclasses import replace

    from pbx.routing.model import QueueConfig
    cfg = exempel()
    return TableHolder(compile_from([replace(cfg, queues=(*cfg.queues, QueueConfig("vip", "VIP", ("eva",),
                                                                                   wrapup_s=10))), annat()]))


def queue_decision(queue: str, entered: float) -> Any:
    from pbx.routing.engine import Decision, EnterQueue
    return Decision(EnterQueue((), queue, "longest_idle", 600, 45, None), T, "main", f"{queue}-node", None, 0, 1, AT,
                    (), int(entered))


async def events_of(sub: Any, kinds: set[str]) -> list[dict[str, Any]]:
    seen = []
    while True:
        try:
            ev = await sub.get(0.2)
        except TimeoutError:
            return seen
        if ev["kind"] in kinds:
            seen.append(ev)


def test_agents_log_in_and_out_pause_and_end_wrap_up_themselves_and_each_change_is_an_event(url: str | None) -> None:
    from pbx.acd.service import AgentError
    from pbx.routing.engine import Call
    prefix = f"pbxtest:{uuid.uuid4().hex[:10]}:"
    clock = Clock()

    async def body() -> None:
        async with stores(url, prefix, clock) as store:
            switch = ConnectSwitch()
            acd = AcdService(store, vip_tables(), lambda: switch, clock.now, tick_s=3600)
            await acd.start()
            sub = await store.subscribe(T)
            assert acd.memberships(T, "eva") == ("queue:support", "queue:vip")
            assert await acd.agent_login(T, "eva", "queue:vip") == ("queue:vip",)
            assert await acd.agent_login(T, "eva", by="boss") == ("queue:support", "queue:vip")
            with pytest.raises(AgentError) as bad:
                await acd.agent_login(T, "david", "queue:vip")
            assert bad.value.code == "not-a-member"
            with pytest.raises(AgentError):
                await acd.agent_login("annat", "eva")  # another tenant's Eva does not exist
            with pytest.raises(AgentError):
                await acd.agent_pause(T, "eva", "   ")
            await acd.agent_pause(T, "eva", "lunch")
            await store.set_line(T, "eva", LineStatus.IDLE)
            await acd.on_route(queue_decision("vip", clock.t), Call("+4681", "+4670", T), "c1", "PJSIP/trunk-1")
            assert switch.connected == []  # paused: nobody is offered
            await acd.agent_unpause(T, "eva")
            assert switch.connected == [("PJSIP/trunk-1", "PJSIP/eva")]  # unpausing offers the waiting caller
            await acd.on_dial_end("c1", "ANSWER")
            clock.t += 60
            await acd.on_hangup("c1")
            eva = await store.agent(T, "eva")
            assert eva.wrapup_until == clock.t + 10 and eva.wrapup_queue == "vip"
            await acd.on_route(queue_decision("support", clock.t), Call("+4681", "+4671", T), "c2", "PJSIP/trunk-2")
            assert len(switch.connected) == 1  # in wrap-up: no call
            assert await acd.end_wrapup(T, "eva")  # ready early
            assert switch.connected[-1] == ("PJSIP/trunk-2", "PJSIP/eva")
            assert not await acd.end_wrapup(T, "eva")
            assert await acd.agent_logout(T, "eva", "queue:vip") == ("queue:support",)
            seen = await events_of(sub, {"login", "paused", "unpaused", "wrapup_started", "wrapup_ended", "logout"})
            summary = [(e["kind"], e.get("ref") or e.get("queue") or e.get("reason"), e.get("by")) for e in seen]
            assert summary == [("login", "queue:vip", None), ("login", "queue:support", "boss"),
                               ("paused", "lunch", None), ("unpaused", None, None),
                               ("wrapup_started", "vip", None), ("wrapup_ended", "vip", None),
                               ("logout", "queue:vip", None)]
            await sub.aclose()
            await acd.stop()

    run(body, url, prefix)


def test_wrap_up_that_runs_out_says_so_and_a_transfer_into_another_queue_does_not_reset_it(url: str | None) -> None:
    from pbx.routing.engine import Call
    prefix = f"pbxtest:{uuid.uuid4().hex[:10]}:"
    clock = Clock()

    async def body() -> None:
        async with stores(url, prefix, clock) as store:
            switch = ConnectSwitch()
            acd = AcdService(store, vip_tables(), lambda: switch, clock.now, tick_s=3600)
            await acd.start()
            sub = await store.subscribe(T)
            await acd.agent_login(T, "eva", "queue:vip")
            await store.set_line(T, "eva", LineStatus.IDLE)
            await acd.on_route(queue_decision("vip", clock.t), Call("+4681", "+4670", T), "c1", "PJSIP/trunk-1")
            await acd.on_dial_end("c1", "ANSWER")
            clock.t += 30
            # Eva transfers the caller into Support: her call ends, her VIP wrap-up (10 s) starts
            await acd.on_route(queue_decision("support", clock.t), Call("+4681", "+4670", T, result="TRANSFER"), "c1",
                               "PJSIP/trunk-1")
            started = clock.t
            assert [e.call_id for e in await store.waiting(T, "support")] == ["c1"]  # waiting anew in Support
            eva = await store.agent(T, "eva")
            assert (eva.wrapup_until, eva.wrapup_queue) == (started + 10, "vip")
            clock.t += 4
            await acd.on_hangup("c1")  # the transferred caller leaves later: Eva's wrap-up stays as it was
            eva = await store.agent(T, "eva")
            assert (eva.wrapup_until, eva.wrapup_queue) == (started + 10, "vip")
            await acd._wrapups_over()
            clock.t += 7
            await acd._wrapups_over()
            seen = await events_of(sub, {"wrapup_started", "wrapup_ended"})
            assert [(e["kind"], e["user"], e["queue"], e.get("reason")) for e in seen] == [
                ("wrapup_started", "eva", "vip", None), ("wrapup_ended", "eva", "vip", "elapsed")]
            await sub.aclose()
            await acd.stop()

    run(body, url, prefix)
