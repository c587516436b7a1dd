"""Whole calls through the whole controller: the simulator speaks AMI and FastAGI on real sockets."""

from __future__ import annotations

import asyncio
import json
import uuid
import wave
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
import redis.asyncio as aioredis

from pbx.asterisk.simulator import CallScript, Endpoint, SimCall
from pbx.controller import Controller
from pbx.demo import ANNAT_NUMBER, MAIN_NUMBER, STOCKHOLM, demo_presence, demo_tenants
from pbx.live import simulator_for
from pbx.routing.state import LineStatus
from pbx.settings import Settings
from pbx.state.redis_store import RedisStore

T = TypeVar("T")
TUE_10 = datetime(2026, 11, 24, 10, 0, tzinfo=STOCKHOLM)
SPEED = 200.0


def settings_for(tmp: Path) -> Settings:
    return Settings(database_url="sqlite://", log_level="INFO", agi_port=0, http_port=0, spool=str(tmp / "spool"))


def run(tmp: Path, body: Callable[[Controller, Any], Awaitable[T]], at: datetime = TUE_10,
        endpoints: dict[str, Endpoint] | None = None, speed: float = SPEED, redis_url: str | None = None,
        configs: list[Any] | None = None, media: bool = False) -> T:
    """Run `body` against a controller in front of a simulated Asterisk; live state in memory, or
    in Redis (under a key prefix of its own) when `redis_url` is given."""
    async def main() -> T:
        tenants = configs or demo_tenants()
        settings = settings_for(tmp)
        sim = simulator_for(settings, tenants, at, speed)
        for name, behaviour in (endpoints or {}).items():
            sim.endpoint(name, behaviour)
        client = aioredis.from_url(redis_url) if redis_url else None
        prefix = f"pbx-e2e-{uuid.uuid4().hex[:8]}:"
        store = RedisStore(client, prefix=prefix,
                           clock=lambda: sim.clock.now().timestamp()) if client else None
        controller = Controller(settings, tenants, demo_presence(at.date()), clock=sim.clock.now, simulator=sim,
                                store=store, **(media_stores(tmp, tenants, sim.clock.now) if media else {}))
        await controller.start()
        try:
            return await body(controller, sim)
        finally:
            await controller.stop()
            if client is not None:  # leave a shared Redis as we found it
                async for key in client.scan_iter(f"{prefix}*"):
                    await client.delete(key)
                await client.aclose()
    return asyncio.run(main())


def media_stores(tmp: Path, tenants: list[Any], clock: Callable[[], datetime]) -> dict[str, Any]:
    """Messages, recordings and prompts in a migrated SQLite database holding the tenants, files under
    tmp/media and tmp/prompts."""
    from pbx.db import make_engine, migrate, save_tenant, session_factory
    from pbx.ivr.prompts import PromptStore
    from pbx.recording.index import RecordingIndex
    from pbx.voicemail.messages import VoicemailStore
    url = f"sqlite:///{tmp / 'pbx.sqlite'}"
    migrate(url)
    sessions = session_factory(make_engine(url))
    with sessions() as session:
        for cfg in tenants:
            save_tenant(session, cfg)
        session.commit()
    return {"voicemail": VoicemailStore(sessions, tmp / "media", clock),
            "recording_index": RecordingIndex(sessions, tmp / "media", clock),
            "prompts": PromptStore(sessions, tmp / "prompts"), "sessions": sessions}


async def call(sim: Any, number: str, keys: list[str], timeout: float = 30.0, **script: Any) -> SimCall:
    placed = await sim.place_call("+46701234567", number, CallScript(keys=keys, **script))
    return await asyncio.wait_for(placed.wait(), timeout)


def actions(c: SimCall) -> list[str]:
    return [a.split("^", 1)[0] for a in c.actions]


def test_pressing_1_rings_sales_in_order_and_bjorn_answers(tmp_path: Path) -> None:
    async def body(controller: Controller, sim: Any) -> SimCall:
        return await call(sim, MAIN_NUMBER, ["1"])

    c = run(tmp_path, body, endpoints={"PJSIP/anna": Endpoint(answer_after_s=None), "trunk": Endpoint(None),
                                       "PJSIP/bjorn": Endpoint(answer_after_s=3.0, talk_s=10.0)})
    assert actions(c) == ["menu", "ring"]
    assert c.answered_by == "PJSIP/bjorn"
    assert c.results[0] == "1"


def test_nobody_answers_sales_so_the_caller_leaves_a_message(tmp_path: Path) -> None:
    async def body(controller: Controller, sim: Any) -> SimCall:
        return await call(sim, MAIN_NUMBER, ["1"])

    never = Endpoint(answer_after_s=None)
    c = run(tmp_path, body, endpoints={"PJSIP/anna": never, "PJSIP/bjorn": never, "PJSIP/cecilia": never,
                                       "trunk": never})
    assert actions(c) == ["menu", "ring", "voicemail", "hangup"]  # after the message: goodbye
    assert "TIMEOUT" in c.results
    assert c.recording is not None and f"/voicemail/exempel/salj/{c.uniqueid}" in c.recording
    with wave.open(c.recording + ".wav" if not c.recording.endswith(".wav") else c.recording) as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (8000, 1, 2)
        assert w.getnframes() > 8000  # the caller spoke for seconds


def test_waiting_caller_ticks_in_the_queue_then_overflows_at_max_wait(tmp_path: Path) -> None:
    async def body(controller: Controller, sim: Any) -> SimCall:
        return await call(sim, MAIN_NUMBER, ["2"], timeout=60)

    # both agents are logged in but their phones are unreachable: nobody can be offered the call
    gone = Endpoint(unavailable=True)
    c = run(tmp_path, body, speed=400.0, endpoints={"PJSIP/david": gone, "PJSIP/eva": gone})
    kinds = actions(c)
    assert kinds[0] == "menu" and kinds[-2:] == ["voicemail", "hangup"]
    assert kinds.count("queue") >= 13  # entered, then a tick every 45 s for 10 minutes
    assert c.results.count("TICK") >= 13
    assert "/voicemail/exempel/support/" in (c.recording or "")


def test_evening_caller_hears_closed_and_reaches_the_switchboard_box(tmp_path: Path) -> None:
    async def body(controller: Controller, sim: Any) -> SimCall:
        return await call(sim, MAIN_NUMBER, [])

    c = run(tmp_path, body, at=TUE_10.replace(hour=19))
    assert c.actions[0].startswith("voicemail^pbx/sv/welcome&pbx/sv/closed&pbx/sv/voicemail-greeting^")
    assert "/voicemail/exempel/vaxel/" in (c.recording or "")


def test_reception_at_lunch_forwards_to_david_who_answers(tmp_path: Path) -> None:
    async def body(controller: Controller, sim: Any) -> SimCall:
        return await call(sim, "+46812345610", [])

    c = run(tmp_path, body, at=TUE_10.replace(hour=12, minute=10))
    assert c.actions[0].startswith("dial^pbx/sv/presence-lunch&pbx/sv/presence-until"
                                   "&pbx/sv/num-12&pbx/sv/and&pbx/sv/num-40&pbx/sv/num-5^")
    assert c.answered_by == "PJSIP/david"


def test_unknown_number_is_told_no_service(tmp_path: Path) -> None:
    async def body(controller: Controller, sim: Any) -> SimCall:
        return await call(sim, "+46899999999", [])

    c = run(tmp_path, body)
    assert actions(c) == ["hangup"]
    assert c.hangup_cause == 1


def test_other_tenant_calls_stay_in_their_tenant(tmp_path: Path) -> None:
    async def body(controller: Controller, sim: Any) -> tuple[SimCall, Controller]:
        return await call(sim, ANNAT_NUMBER, []), controller

    c, controller = run(tmp_path, body)
    assert "/voicemail/annat/info/" in (c.recording or "")
    record = next(r for r in controller.calls.finished if r.uniqueid == c.uniqueid)
    assert record.tenant == "annat"


def test_caller_hanging_up_in_the_menu_ends_cleanly(tmp_path: Path) -> None:
    async def body(controller: Controller, sim: Any) -> tuple[SimCall, dict[str, Any]]:
        c = await call(sim, MAIN_NUMBER, [""], hangup_after_s=3.0)
        for _ in range(100):  # the Hangup event reaches the controller over AMI
            if not controller.calls.live:
                break
            await asyncio.sleep(0.01)
        return c, {"live": len(controller.calls.live), "finished": controller.calls.total_finished}

    # Simulated time runs 10x here, not 200x: at 200x a busy machine's first FastAGI round trip alone could
    # outlast the caller's patience (5 ms of real time), so they hung up before reaching the menu at all.
    c, seen = run(tmp_path, body, speed=10.0)
    assert actions(c) == ["menu"]
    assert seen == {"live": 0, "finished": 1}


def test_controller_unreachable_caller_still_hears_a_message(tmp_path: Path) -> None:
    async def body(controller: Controller, sim: Any) -> SimCall:
        sim.set_agi_target("127.0.0.1", 9)  # nothing listens there
        return await call(sim, MAIN_NUMBER, [])

    c = run(tmp_path, body)
    assert c.hangup_cause == 41


def test_line_status_follows_ami_device_states(tmp_path: Path) -> None:
    async def body(controller: Controller, sim: Any) -> tuple[LineStatus, LineStatus, SimCall]:
        first = await sim.place_call("+46701234567", "+46812345601", CallScript())  # Anna's direct number
        for _ in range(300):
            if controller.state.line("exempel", "anna") is LineStatus.BUSY:
                break
            await asyncio.sleep(0.01)
        during = controller.state.line("exempel", "anna")
        # while Anna talks, a sales call skips her and rings Björn first
        second = await call(sim, MAIN_NUMBER, ["1"])
        await asyncio.wait_for(first.wait(), 30)
        for _ in range(300):
            if controller.state.line("exempel", "anna") is LineStatus.IDLE:
                break
            await asyncio.sleep(0.01)
        return during, controller.state.line("exempel", "anna"), second

    during, after, second = run(tmp_path, body, endpoints={"PJSIP/anna": Endpoint(answer_after_s=1.0, talk_s=60.0),
                                                           "trunk": Endpoint(answer_after_s=None)})
    assert during is LineStatus.BUSY
    assert after is LineStatus.IDLE
    ring = next(a for a in second.actions if a.startswith("ring^"))
    assert "PJSIP/anna" not in ring and ring.split("^")[2].startswith("PJSIP/bjorn")


def test_ami_cut_mid_call_reconnects_and_resynchronises(tmp_path: Path) -> None:
    async def body(controller: Controller, sim: Any) -> dict[str, Any]:
        placed = await sim.place_call("+46701234567", MAIN_NUMBER, CallScript(keys=["1"]))
        await asyncio.sleep(0.05)
        assert controller.ami is not None
        resyncs = controller.resyncs
        await sim.drop_ami_clients()
        await asyncio.wait_for(placed.wait(), 30)  # the call ends while we may be disconnected
        for _ in range(500):
            if controller.ami.connected and controller.resyncs > resyncs:
                break
            await asyncio.sleep(0.01)
        after = await call(sim, ANNAT_NUMBER, [])
        return {"connected": controller.ami.connected, "resynced": controller.resyncs > resyncs,
                "live": {r.uniqueid for r in controller.calls.live.values()}, "first": placed.uniqueid,
                "after_ok": after.recording is not None}

    seen = run(tmp_path, body, endpoints={"PJSIP/anna": Endpoint(answer_after_s=2.0, talk_s=2.0)})
    assert seen["connected"] and seen["resynced"]
    assert seen["first"] not in seen["live"]  # not left hanging as "in progress"
    assert seen["after_ok"]


def test_health_and_metrics_endpoints(tmp_path: Path) -> None:
    async def body(controller: Controller, sim: Any) -> tuple[dict[str, Any], str]:
        await call(sim, ANNAT_NUMBER, [])
        reader, writer = await asyncio.open_connection("127.0.0.1", controller.http_port)
        writer.write(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        health = (await reader.read()).split(b"\r\n\r\n", 1)[1]
        writer.close()
        await writer.wait_closed()
        reader, writer = await asyncio.open_connection("127.0.0.1", controller.http_port)
        writer.write(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        metrics = (await reader.read()).decode()
        writer.close()
        await writer.wait_closed()
        return json.loads(health), metrics

    health, metrics = run(tmp_path, body)
    assert health["status"] == "ok" and health["ami_connected"] and health["tenants"] == 2
    decisions = next(line for line in metrics.splitlines() if line.startswith("pbx_decisions_total "))
    assert int(decisions.split()[1]) >= 1
    assert "pbx_agi_connections" in metrics


@pytest.mark.parametrize("garbage", [b"\x16\x03\x01\x02\x00garbage", b"GET / HTTP/1.1\r\n\r\n", b"agi_network: yes\n"])
def test_misbehaving_fastagi_peers_do_not_disturb_calls(tmp_path: Path, garbage: bytes) -> None:
    async def body(controller: Controller, sim: Any) -> SimCall:
        writers = []
        for _ in range(20):
            _, w = await asyncio.open_connection("127.0.0.1", controller.agi.port)
            w.write(garbage)
            writers.append(w)
        c = await call(sim, ANNAT_NUMBER, [])
        for w in writers:
            w.close()
        return c

    c = run(tmp_path, body)
    assert "/voicemail/annat/info/" in (c.recording or "")


def test_controller_waits_for_an_asterisk_that_starts_later(tmp_path: Path) -> None:
    """PBX_AMI_URL given (a "real" Asterisk, here a separately started simulator): the first
    login is retried until Asterisk is up; then calls flow."""
    from pbx.asterisk.simulator import SimAsterisk, SimClock
    from pbx.settings import AMIAddress

    async def main() -> tuple[bool, bool, SimCall]:
        configs = demo_tenants()
        probe = SimAsterisk(agi_port=9, clock=SimClock(TUE_10, SPEED), username="pbx", secret="s3cret")
        await probe.start()
        port = probe.ami_port
        await probe.stop()  # Asterisk is down when the controller starts
        settings = replace(settings_for(tmp_path), ami=AMIAddress("127.0.0.1", port, "pbx", "s3cret"))
        sim = SimAsterisk(agi_port=9, clock=SimClock(TUE_10, SPEED), ami_port=port, username="pbx",
                          secret="s3cret")
        controller = Controller(settings, configs, clock=sim.clock.now)
        await controller.start()
        try:
            before = controller.ami is not None and controller.ami.connected
            await asyncio.sleep(0.3)
            await sim.start()
            sim.set_agi_target("127.0.0.1", controller.agi.port)
            for _ in range(400):
                if controller.ami is not None and controller.ami.connected:
                    break
                await asyncio.sleep(0.01)
            connected = controller.ami is not None and controller.ami.connected
            placed = await sim.place_call("+46701234567", ANNAT_NUMBER, CallScript())
            return before, connected, await asyncio.wait_for(placed.wait(), 30)
        finally:
            await controller.stop()
            await sim.stop()

    before, connected, c = asyncio.run(main())
    assert not before and connected
    assert "/voicemail/annat/info/" in (c.recording or "")


# --- the contact centre through Asterisk (issue 4) --------------------------------------------


@pytest.mark.parametrize("live_state", ["memory", "redis"])
def test_queue_caller_is_connected_to_an_agent_and_a_missed_agent_is_skipped(
        tmp_path: Path, live_state: str, request: pytest.FixtureRequest) -> None:
    url = request.getfixturevalue("redis_url") if live_state == "redis" else None

    async def body(controller: Controller, sim: Any) -> tuple[SimCall, int, int]:
        c = await call(sim, MAIN_NUMBER, ["2"])
        david = await controller.store.agent("exempel", "david")
        eva = await controller.store.agent("exempel", "eva")
        return c, david.missed_in_row, eva.calls_taken

    c, david_missed, eva_taken = run(tmp_path, body, redis_url=url, endpoints={
        "PJSIP/david": Endpoint(answer_after_s=None), "PJSIP/eva": Endpoint(answer_after_s=2.0, talk_s=20.0)})
    assert c.answered_by == "PJSIP/eva"
    assert "NOANSWER" in c.results  # David's phone rang out, the caller went back to waiting
    assert (david_missed, eva_taken) == (1, 1)


@pytest.mark.parametrize("live_state", ["memory", "redis"])
def test_agent_gets_no_call_during_wrapup(tmp_path: Path, live_state: str, request: pytest.FixtureRequest) -> None:
    url = request.getfixturevalue("redis_url") if live_state == "redis" else None

    async def body(controller: Controller, sim: Any) -> tuple[SimCall, SimCall, float]:
        await controller.store.logout("exempel", "eva", "queue", "support")
        first = await sim.place_call("+46701111111", MAIN_NUMBER, CallScript(keys=["2"]))
        await asyncio.sleep(0.02)
        second = await sim.place_call("+46702222222", MAIN_NUMBER, CallScript(keys=["2"]))
        await asyncio.wait_for(first.wait(), 30)
        ended = sim.clock.now()
        await asyncio.wait_for(second.wait(), 60)
        return first, second, (ended - TUE_10).total_seconds()

    first, second, first_end_s = run(tmp_path, body, redis_url=url, endpoints={
        "PJSIP/david": Endpoint(answer_after_s=2.0, talk_s=20.0)})
    assert first.answered_by == second.answered_by == "PJSIP/david"
    answered = next(s.at for s in second.steps if s.details.startswith("answered by"))
    # the support queue's wrap-up is 30 s: David's second call rings no earlier than that
    assert (answered - TUE_10).total_seconds() >= first_end_s + 30 - 1


def test_caller_hanging_up_while_waiting_leaves_the_queue(tmp_path: Path) -> None:
    async def body(controller: Controller, sim: Any) -> tuple[SimCall, int]:
        c = await call(sim, MAIN_NUMBER, ["2"], hangup_after_s=60.0)
        for _ in range(200):
            if not await controller.store.waiting("exempel", "support"):
                break
            await asyncio.sleep(0.01)
        return c, len(await controller.store.waiting("exempel", "support"))

    gone = Endpoint(unavailable=True)
    c, left = run(tmp_path, body, endpoints={"PJSIP/david": gone, "PJSIP/eva": gone})
    assert actions(c)[-1] == "queue" and c.answered_by is None
    assert left == 0


def test_waiting_callers_hear_position_and_wait_without_repeating_number_one(tmp_path: Path) -> None:
    async def body(controller: Controller, sim: Any) -> tuple[SimCall, SimCall]:
        first = await sim.place_call("+46701111111", MAIN_NUMBER, CallScript(keys=["2"], hangup_after_s=300))
        await asyncio.sleep(0.02)
        second = await sim.place_call("+46702222222", MAIN_NUMBER, CallScript(keys=["2"], hangup_after_s=300))
        return await asyncio.wait_for(first.wait(), 30), await asyncio.wait_for(second.wait(), 30)

    gone = Endpoint(unavailable=True)  # agents logged in, phones unreachable: both callers keep waiting
    first, second = run(tmp_path, body, speed=400.0, endpoints={"PJSIP/david": gone, "PJSIP/eva": gone})
    heard_first = [a.split("^")[1] for a in first.actions if a.startswith("queue^")][1:]  # the ticks
    heard_second = [a.split("^")[1] for a in second.actions if a.startswith("queue^")][1:]
    assert len(heard_first) >= 5
    assert sum("queue-you-are-next" in p for p in heard_first) == 1
    assert not any("queue-position&pbx/sv/num-1&" in p for p in heard_first)
    assert any("queue-still-waiting" in p for p in heard_first)
    assert "pbx/sv/queue-position&pbx/sv/num-2&" in heard_second[0]
    assert heard_second[0].endswith("pbx/sv/callback-offer&pbx/sv/num-1")


async def reloading_controller(tmp_path: Path, offers: list[Any]) -> tuple[Controller, Any]:
    """A started controller whose reload job hands out `offers` (stamp, configs, presences), one per call."""
    configs = demo_tenants()
    settings = settings_for(tmp_path)
    sim = simulator_for(settings, configs, TUE_10, SPEED)
    controller = Controller(settings, configs, clock=sim.clock.now, simulator=sim,
                            reload=lambda: offers.pop(0) if offers else None)
    await controller.start()
    return controller, sim


def test_published_configuration_is_swapped_in_and_a_broken_one_refused(tmp_path: Path) -> None:
    """The scheduler's reload job: a changed configuration becomes the table new calls use; one
    that does not validate is refused and the table in force stays."""
    from pbx.demo import annat, exempel
    from pbx.routing.model import NumberConfig

    newer = replace(annat(), numbers=(*annat().numbers, NumberConfig("+46851234599", flow="enkel")))
    broken = replace(annat(), flows=())  # its number now points at a flow that does not exist
    offers = [("v2", [exempel(), newer], {}), ("v3", [exempel(), broken], {})]

    async def main() -> tuple[int, bool, int, bool]:
        controller, sim = await reloading_controller(tmp_path, offers)
        try:
            await controller._reload()
            after_good = controller.tables.table.version, "+46851234599" in controller.tables.table.numbers
            c = await call(sim, "+46851234599", [])
            await controller._reload()
            return (*after_good, controller.tables.table.version, "/voicemail/annat/info/" in (c.recording or ""))
        finally:
            await controller.stop()

    version, routed, version_after_broken, reached = asyncio.run(main())
    assert (version, routed, reached) == (2, True, True)
    assert version_after_broken == 2


def test_a_presence_removed_in_the_database_is_cleared_on_reload(tmp_path: Path) -> None:
    """The reload brings presence entries; a user whose entries were all deleted (by the admin API on
    any instance) must not keep the last ones in the live state."""
    from pbx.routing.model import PresenceEntry, PresenceStatus

    away = PresenceEntry(PresenceStatus.AWAY, TUE_10, TUE_10 + timedelta(hours=2), "at the dentist")

    async def main() -> tuple[tuple[PresenceEntry, ...], tuple[PresenceEntry, ...]]:
        configs = demo_tenants()
        controller, _ = await reloading_controller(
            tmp_path, [("v2", configs, {("exempel", "anna"): (away,)}), ("v3", configs, {})])
        try:
            await controller._reload()
            set_ = await controller.store.presence_entries("exempel", "anna")
            await controller._reload()
            return set_, await controller.store.presence_entries("exempel", "anna")
        finally:
            await controller.stop()

    after_set, after_removed = asyncio.run(main())
    assert after_set == (away,) and after_removed == ()


def test_callback_keeps_the_place_and_the_agent_is_called_first(tmp_path: Path) -> None:
    async def body(controller: Controller, sim: Any) -> tuple[SimCall, SimCall, list[SimCall], int]:
        await controller.store.logout("exempel", "eva", "queue", "support")
        first = await sim.place_call("+46701111111", MAIN_NUMBER, CallScript(keys=["2"]))
        await asyncio.sleep(0.05)  # David is busy with the first caller now
        second = await sim.place_call("+46709876543", MAIN_NUMBER,
                                      CallScript(keys=["2", "0701234567#"], queue_keys=[(10.0, "1")]))
        await asyncio.wait_for(second.wait(), 30)  # asked for a callback and hung up
        await asyncio.wait_for(first.wait(), 30)
        for _ in range(600):
            backs = [c for c in sim.calls if any(s.value == "callback^0701234567" for s in c.steps)]
            if backs and backs[0].finished.done() and not controller.acd.callers:
                break
            await asyncio.sleep(0.01)
        david = await controller.store.agent("exempel", "david")
        return first, second, backs, david.calls_taken

    first, second, backs, taken = run(tmp_path, body, endpoints={
        "PJSIP/david": Endpoint(answer_after_s=1.0, talk_s=40.0), "trunk": Endpoint(answer_after_s=3.0, talk_s=20.0)})
    assert first.answered_by == "PJSIP/david"
    assert [a.split("^")[0] for a in second.actions][-2:] == ["collect", "hangup"]
    assert "pbx/sv/callback-confirm" in second.actions[-1]
    assert len(backs) == 1  # made once, not twice
    back = backs[0]
    assert back.steps[0].at >= first.steps[-1].at  # after David's first call (and its wrap-up)
    assert "ANSWER" in back.results
    assert any(s.details.startswith("callback-result('exempel/" + second.uniqueid) for s in back.steps)
    assert taken == 2


def test_callback_asked_for_in_a_menu_is_made_by_an_agent(tmp_path: Path) -> None:
    from pbx.demo import GOTEBORG_NUMBER

    async def body(controller: Controller, sim: Any) -> tuple[SimCall, list[SimCall]]:
        asked = await call(sim, GOTEBORG_NUMBER, ["2", "0705550123#"])
        for _ in range(600):
            backs = [c for c in sim.calls if any(s.value == "callback^0705550123" for s in c.steps)]
            if backs and backs[0].finished.done() and not controller.acd.callers:
                break
            await asyncio.sleep(0.01)
        return asked, backs

    asked, backs = run(tmp_path, body)
    assert [a.split("^")[0] for a in asked.actions] == ["menu", "collect", "hangup"]
    assert len(backs) == 1 and "ANSWER" in backs[0].results
    assert backs[0].channel.startswith("PJSIP/david")  # longest idle in Support, members' order on a tie


def test_a_booked_callback_is_offered_a_time_and_made_at_that_time(tmp_path: Path) -> None:
    """F-13: the queue books callbacks: the caller hears when to expect it; it is not made before."""
    from pbx.demo import exempel
    from pbx.ivr.say import expand
    cfg = exempel()
    scheduled = replace(cfg, queues=(replace(cfg.queues[0], callback_scheduled=True),))

    async def body(controller: Controller, sim: Any) -> tuple[SimCall, list[SimCall], float]:
        for agent in ("david", "eva"):
            await controller.acd.agent_pause("exempel", agent, "meeting")
        asked = await call(sim, MAIN_NUMBER, ["2", "0701234567#"], queue_keys=[(5.0, "1")])
        for _ in range(100):
            cb = await controller.store.callback("exempel", asked.uniqueid)
            if cb is not None:
                break
            await asyncio.sleep(0.01)
        assert cb is not None
        for agent in ("david", "eva"):  # free now, but the callback waits for its time
            await controller.acd.agent_unpause("exempel", agent)
        for _ in range(1500):
            backs = [c for c in sim.calls if any(s.value == "callback^0701234567" for s in c.steps)]
            if backs and backs[0].finished.done():
                break
            await asyncio.sleep(0.01)
        return asked, backs, cb.next_attempt_at

    # nobody free when the caller asks: David and Eva are in a meeting
    asked, backs, booked = run(tmp_path, body, configs=[scheduled, *demo_tenants()[1:]], speed=1000.0)
    confirm = asked.actions[-1]
    told = datetime.fromtimestamp(booked, STOCKHOLM)
    spoken = "&".join(f"pbx/sv/{w}" for w in expand(f"time:{told:%H:%M}", "sv"))
    assert confirm.startswith(f"hangup^pbx/sv/callback-confirm&pbx/sv/callback-at&{spoken}^")
    assert (told - TUE_10).total_seconds() >= 300  # at least five minutes ahead, on a five-minute mark
    assert told.minute % 5 == 0
    assert len(backs) == 1
    assert backs[0].steps[0].at.timestamp() >= booked


def test_callback_asked_for_in_a_menu_is_mailed_to_the_queue_and_listed(tmp_path: Path) -> None:
    """F-10: the request goes by e-mail (a real SMTP server on loopback) and into the callback list."""
    from pbx.demo import GOTEBORG_NUMBER
    from pbx.notifications import build_notifier
    try:
        from tests.smtp_server import smtp_server
    except ImportError:  # tests/ on sys.path (rootdir-less runs)
        from smtp_server import smtp_server  # type: ignore[no-redef]

    async def body(controller: Controller, sim: Any) -> tuple[Any, list[Any], list[str]]:
        async with smtp_server() as server:
            controller.notifier = build_notifier(replace(
                controller.settings, smtp_url=f"smtp://127.0.0.1:{server.port}?from=vaxel@exempel.se"))
            await controller.acd.agent_pause("exempel", "david", "meeting")
            await controller.acd.agent_pause("exempel", "eva", "meeting")
            asked = await call(sim, GOTEBORG_NUMBER, ["2", "0705550123#"])
            for _ in range(500):
                if server.received:
                    break
                await asyncio.sleep(0.01)
            listed = await controller.store.callbacks("exempel")
            return server.received, listed, [a.split("^")[0] for a in asked.actions]

    received, listed, kinds = run(tmp_path, body)
    assert kinds == ["menu", "collect", "hangup"]
    assert len(received) == 1
    mail = received[0].message
    assert received[0].rcpt_tos == ("support@exempel.se",)
    assert "0705550123" in mail["Subject"] and "Support" in mail["Subject"]
    assert "röstmenyn" in mail.get_content()
    assert [(cb.number, cb.queue, cb.status.value) for cb in listed] == [("0705550123", "support", "waiting")]


def test_an_answer_group_nobody_answers_repeats_its_message_and_rings_again_until_overflow(tmp_path: Path) -> None:
    """F-08's simple queue: a round of members, the waiting message, music, the members again…"""
    from pbx.demo import exempel
    from pbx.routing.model import GroupMember
    cfg = exempel()
    group = replace(cfg.groups[0], members=tuple(GroupMember(m.user, 10) for m in cfg.groups[0].members),
                    overflow_after_s=120, waiting_prompt="queue-still-waiting")
    configs = [replace(cfg, groups=(group,)), *demo_tenants()[1:]]

    async def body(controller: Controller, sim: Any) -> tuple[SimCall, list[str]]:
        dialled: list[str] = []
        assert controller.ami is not None
        controller.ami.on_event("DialBegin", lambda m: dialled.append(m.get("DialString", "")))
        return await call(sim, MAIN_NUMBER, ["1"], timeout=60), dialled

    never = Endpoint(answer_after_s=None)
    c, dialled = run(tmp_path, body, configs=configs, speed=400.0, endpoints={
        "PJSIP/anna": never, "PJSIP/bjorn": never, "PJSIP/cecilia": never, "trunk": never})
    assert actions(c)[:3] == ["menu", "ring", "voicemail"]  # overflowed to the box after the rounds
    assert dialled.count("anna") >= 2 and dialled.count("cecilia") >= 2  # the members rang again
    assert [d for d in dialled if "@" not in d][:3] == ["anna", "bjorn", "cecilia"]  # in order (+ Anna's mobile)
    ring = next(s for s in c.steps if s.kind == "action" and s.value.startswith("ring^"))
    overflow = next(s for s in c.steps if s.kind == "result" and s.value == "TIMEOUT")
    assert 119 <= (overflow.at - ring.at).total_seconds() <= 122  # on time: no ring runs past the overflow


def _wav_facts(path: Path) -> tuple[float, list[bool]]:
    """Duration, and per second whether it holds sound (not digital silence)."""
    with wave.open(str(path)) as w:
        rate, frames = w.getframerate(), w.readframes(w.getnframes())
    seconds = len(frames) / 2 / rate
    loud = [any(frames[i:i + 2 * rate]) for i in range(0, len(frames), 2 * rate)]
    return seconds, loud


def test_a_recording_started_paused_resumed_and_stopped_on_a_live_call(tmp_path: Path) -> None:
    """F-14 on demand, through AMI MixMonitor / MixMonitorMute / StopMixMonitor against the simulator."""
    from pbx.recording.control import RecordingError

    async def body(controller: Controller, sim: Any) -> tuple[Any, list[float], Any]:
        placed = await sim.place_call("+46701111111", MAIN_NUMBER, CallScript(keys=["2"]))
        for _ in range(500):  # connected to an agent in Support
            if placed.answered_by:
                break
            await asyncio.sleep(0.005)
        marks = []
        with pytest.raises(RecordingError) as other:
            await controller.start_recording("annat", placed.uniqueid)  # another tenant's call: not found
        marks.append(sim.clock.elapsed())  # each mark just before its AMI action (the actions take a few ms)
        rec = await controller.start_recording("exempel", placed.uniqueid)
        await asyncio.sleep(0.03)
        marks.append(sim.clock.elapsed())
        await controller.recordings.pause("exempel", rec.id)
        await asyncio.sleep(0.03)
        marks.append(sim.clock.elapsed())
        await controller.recordings.resume("exempel", rec.id)
        await asyncio.sleep(0.03)
        marks.append(sim.clock.elapsed())
        await controller.recordings.stop("exempel", rec.id)  # and then the index, which takes longer
        await asyncio.wait_for(placed.wait(), 30)
        index = controller.recording_index
        listed = await index.arecordings("exempel")
        audio = await index.aaudio_path("exempel", listed[0].id) if listed else None
        return other.value.code, marks, listed, audio, await index.arecordings("annat"), placed.uniqueid

    code, marks, listed, audio, others, call_id = run(
        tmp_path, body, media=True, endpoints={"PJSIP/david": Endpoint(answer_after_s=1.0, talk_s=60.0)})
    assert code == "not-found"
    assert [(r.kind, r.call_id, r.queue, r.user) for r in listed] == [("on-demand", call_id, "support", "david")]
    assert others == []
    seconds, loud = _wav_facts(audio)
    assert abs(seconds - (marks[3] - marks[0])) < 1.5  # the whole span, paused part included
    assert abs(listed[0].duration_s - seconds) < 0.01  # indexed with that duration
    paused = range(int(marks[1] - marks[0]) + 1, int(marks[2] - marks[0]) - 1)
    assert paused and not any(loud[s] for s in paused)  # silence while paused
    assert loud[0] and loud[-2]  # sound before the pause and after the resume


def test_a_queue_that_records_records_every_answered_call(tmp_path: Path) -> None:
    from pbx.demo import exempel
    cfg = exempel()
    recorded = replace(cfg, queues=(replace(cfg.queues[0], record=True),))

    async def body(controller: Controller, sim: Any) -> tuple[SimCall, list[Any]]:
        c = await call(sim, MAIN_NUMBER, ["2"])
        for _ in range(200):
            if controller.finished_recordings:
                break
            await asyncio.sleep(0.005)
        return c, controller.finished_recordings

    c, done = run(tmp_path, body, configs=[recorded, *demo_tenants()[1:]],
                  endpoints={"PJSIP/david": Endpoint(answer_after_s=1.0, talk_s=30.0)})
    assert c.answered_by == "PJSIP/david"
    assert len(done) == 1
    rec = done[0]
    assert (rec.kind, rec.queue, rec.user, rec.call_id, rec.dialled) == ("continuous", "support", "david", c.uniqueid,
                                                                          MAIN_NUMBER)
    seconds, _ = _wav_facts(rec.file)
    assert 29 <= seconds <= 32  # the conversation


def test_a_message_left_after_hours_reaches_both_listeners_and_heard_is_one_state(tmp_path: Path) -> None:
    """Issue 5's scenario: closed → the shared Växel box; Åsa and Anna get the e-mail with the audio; Åsa
    marks it heard and Anna sees it heard; the message-waiting lamp follows."""
    from pbx.notifications import build_notifier
    try:
        from tests.smtp_server import smtp_server
    except ImportError:  # tests/ on sys.path (rootdir-less runs)
        from smtp_server import smtp_server  # type: ignore[no-redef]

    async def body(controller: Controller, sim: Any) -> dict[str, Any]:
        async with smtp_server() as server:
            controller.notifier = build_notifier(replace(
                controller.settings, smtp_url=f"smtp://127.0.0.1:{server.port}?from=vaxel@exempel.se"))
            c = await call(sim, MAIN_NUMBER, [])
            for _ in range(500):
                if len(server.received) >= 2:
                    break
                await asyncio.sleep(0.01)
            vm = controller.voicemail
            [message] = await vm.amessages("exempel", "vaxel")
            lamp_before = sim.node.mwi.get("vaxel@exempel")
            await controller.mark_heard("exempel", message.id, True, by="asa")
            seen_by_anna = await vm.amessages("exempel", "vaxel")
            others = await vm.amessages("annat")
            stored = (vm.media_root / message.file).read_bytes()
            return {"call": c, "mail": server.received, "message": message, "lamps": (lamp_before,
                    sim.node.mwi.get("vaxel@exempel")), "anna": seen_by_anna, "others": others, "stored": stored}

    got = run(tmp_path, body, at=TUE_10.replace(hour=19), media=True)
    message = got["message"]
    assert (message.box, message.caller, message.call_id) == ("vaxel", "+46701234567", got["call"].uniqueid)
    assert message.duration_s > 1 and not message.heard
    assert sorted(r for m in got["mail"] for r in m.rcpt_tos) == ["anna@exempel.se", "asa@exempel.se"]
    for mail in got["mail"]:
        [attachment] = list(mail.message.iter_attachments())
        assert attachment.get_content_type() == "audio/wav"
        assert attachment.get_content() == got["stored"]  # the message itself, byte for byte
    assert got["lamps"] == ((1, 0), (0, 1))  # one new → heard: one old
    assert [(m.id, m.heard, m.heard_by) for m in got["anna"]] == [(message.id, True, "asa")]
    assert got["others"] == []  # another tenant sees nothing
    assert not list((tmp_path / "spool" / "voicemail").rglob("*.wav"))  # moved out of the spool, not copied
