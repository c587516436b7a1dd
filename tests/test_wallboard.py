"""The live wallboard (F-16) over real sockets: a controller in front of the simulated Asterisk, the admin API on
loopback with its WebSocket stream, alarm thresholds that mail a real SMTP server and post signed webhooks to a
real HTTP server; tenant isolation, the cross-origin guard, and the pure figures and alarm state machine."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import ClientSession, CookieJar, WSMsgType

from pbx.acd.model import AgentState
from pbx.asterisk.simulator import CallScript, Endpoint
from pbx.controller import Controller
from pbx.demo import MAIN_NUMBER, STOCKHOLM, demo_presence, demo_tenants
from pbx.live import simulator_for
from pbx.notify.webhook import SIGNATURE_HEADER, signature
from pbx.routing.state import LineStatus
from pbx.settings import Settings
from pbx.state.store import WaitingEntry
from pbx.stats.alarms import AlarmRule, AlarmState, rule_problems, step
from pbx.stats.wallboard import AgentLive, DayTally, QueueDay, QueueLive, TenantLive, board, classify
from tests.admin_world import PASSWORD, World, problem, signed_in, world
from tests.smtp_server import SmtpTestServer, smtp_server
from tests.test_notify import HttpReceiver, http_server

TUE_10 = datetime(2026, 11, 24, 10, 0, tzinfo=STOCKHOLM)
SPEED = 10.0  # simulated seconds per real second
SECRET = "alarm-webhook-secret"
STREAM = "/api/v1/wallboard/stream"


@dataclass
class Live:
    w: World
    controller: Controller
    sim: Any
    smtp: SmtpTestServer
    hooks: HttpReceiver
    hook_url: str


def run_live(tmp: Path, body: Callable[[Live], Awaitable[None]], endpoints: dict[str, Endpoint] | None = None) -> None:
    """A controller with the demo tenants in front of the simulator (mail and webhooks configured), and the admin
    API serving it."""
    async def main() -> None:
        hooks = HttpReceiver()
        async with smtp_server() as smtp, http_server(hooks) as hook_base:
            settings = Settings(database_url="sqlite://", log_level="INFO", agi_port=0, http_port=0,
                                spool=str(tmp / "spool"), webhook_secret=SECRET,
                                smtp_url=f"smtp://127.0.0.1:{smtp.port}?from=pbx@exempel.se")
            tenants = demo_tenants()
            sim = simulator_for(settings, tenants, TUE_10, SPEED)
            for name, behaviour in (endpoints or {}).items():
                sim.endpoint(name, behaviour)
            controller = Controller(settings, tenants, demo_presence(TUE_10.date()), clock=sim.clock.now,
                                    simulator=sim)
            await controller.start()
            try:
                async with world(tmp, controller=controller) as w:
                    await body(Live(w, controller, sim, smtp, hooks, f"{hook_base}/alarms"))
            finally:
                await controller.stop()
    asyncio.run(main())


class Socket:
    """A wallboard connection that keeps every message it received."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.messages: list[dict[str, Any]] = []

    async def until(self, wanted: Callable[[dict[str, Any]], bool], timeout: float = 30.0) -> dict[str, Any]:
        async def read() -> dict[str, Any]:
            while True:
                message = await self.ws.receive()
                if message.type != WSMsgType.TEXT:
                    raise AssertionError(f"the stream ended: {message.type} {self.ws.close_code}")
                data: dict[str, Any] = json.loads(message.data)
                self.messages.append(data)
                if wanted(data):
                    return data
        return await asyncio.wait_for(read(), timeout)

    async def first(self, wanted: Callable[[dict[str, Any]], bool], timeout: float = 30.0) -> dict[str, Any]:
        """The first message so far that is wanted, or the next one to come."""
        return next((m for m in self.messages if wanted(m)), None) or await self.until(wanted, timeout)

    async def closed(self, timeout: float = 30.0) -> int | None:
        async def read() -> None:
            while (message := await self.ws.receive()).type == WSMsgType.TEXT:
                self.messages.append(json.loads(message.data))
        await asyncio.wait_for(read(), timeout)
        return self.ws.close_code


def support(snapshot: dict[str, Any]) -> dict[str, Any]:
    return next(q for q in snapshot["queues"] if q["queue"] == "support")


def snapshot_where(check: Callable[[dict[str, Any]], bool]) -> Callable[[dict[str, Any]], bool]:
    return lambda m: m["type"] == "snapshot" and check(support(m))


async def eventually(check: Callable[[], bool], timeout: float = 30.0) -> None:
    async def wait() -> None:
        while not check():
            await asyncio.sleep(0.05)
    await asyncio.wait_for(wait(), timeout)


@asynccontextmanager
async def stream(client: ClientSession, base: str, **kw: Any) -> AsyncIterator[Socket]:
    async with client.ws_connect(f"{base}{STREAM}", **kw) as ws:
        yield Socket(ws)


async def bearer(w: World, login: str) -> dict[str, str]:
    async with await signed_in(w, login) as c, c.post(f"{w.base}/api/v1/tokens", json={"name": "wallboard"}) as r:
        return {"Authorization": f"Bearer {(await r.json())['token']}"}


# --- the stream against a live controller ---------------------------------------------------------------------


def test_waiting_callers_agents_and_a_threshold_crossing_reach_the_wallboard_mail_and_webhook_once(
        tmp_path: Path) -> None:
    async def body(live: Live) -> None:
        w, controller, sim = live.w, live.controller, live.sim
        # David is not logged in; Eva is, but at lunch (a queue with nobody logged in takes no callers)
        await controller.acd.agent_logout("exempel", "david")
        await controller.acd.agent_pause("exempel", "eva", "lunch")
        c = await signed_in(w, "boss@exempel.se")
        annat = ClientSession(headers=await bearer(w, "admin@annat.se"))
        async with c, annat:
            async with c.post(f"{w.base}/api/v1/queues/support/alarms", json={
                    "name": "Kön växer", "metric": "callers_waiting", "threshold": 2, "clear_after_s": 0,
                    "emails": ["chef@exempel.se"], "webhooks": [live.hook_url]}) as r:
                assert r.status == 201, await r.text()
                alarm = await r.json()
            async with stream(c, w.base, origin=w.base) as board, stream(annat, w.base) as other:
                first = await board.until(lambda m: m["type"] == "snapshot")
                assert first["tenant"] == "exempel" and first["alarms"] == []
                assert (support(first)["callers_waiting"], support(first)["agents_logged_in"]) == (0, 1)
                assert [(a["user"], a["state"], a["pause_reason"]) for a in support(first)["agents"]] == [
                    ("david", "logged_out", ""), ("eva", "paused", "lunch")]

                # two callers press 2 for support and wait: the wallboard shows them, and their waits grow
                calls = [await sim.place_call(f"+4670555000{n}", MAIN_NUMBER, CallScript(keys=["2"]))
                         for n in (1, 2)]
                both = await board.until(snapshot_where(lambda q: q["callers_waiting"] == 2))
                waits = await board.until(snapshot_where(
                    lambda q: q["callers_waiting"] == 2 and q["average_wait_s"] > support(both)["average_wait_s"]))
                assert support(waits)["longest_wait_s"] >= support(waits)["average_wait_s"] > 0
                raised = await board.first(lambda m: m["type"] == "alarm")
                assert (raised["alarm"], raised["queue"], raised["metric"], raised["value"]) == (
                    alarm["id"], "support", "callers_waiting", 2)
                listed = await board.first(lambda m: m["type"] == "snapshot" and m["alarms"] != [])
                assert [a["alarm"] for a in listed["alarms"]] == [alarm["id"]]

                await eventually(lambda: len(live.smtp.received) == 1 and len(live.hooks.requests) == 1)
                mail = live.smtp.received[0]
                assert mail.rcpt_tos == ("chef@exempel.se",) and "Support" in mail.message["Subject"]
                hook = live.hooks.requests[0]
                assert hook.headers[SIGNATURE_HEADER] == signature(SECRET, hook.body)
                assert (hook.json()["tenant"], hook.json()["kind"]) == ("exempel", "queue_alarm")

                # David logs in: counted at once, then he takes the first caller; one waits, so the alarm clears
                await controller.acd.set_wrapup("exempel", "david", 3600)  # he stays in wrap-up afterwards
                await controller.acd.agent_login("exempel", "david")
                await board.until(snapshot_where(lambda q: q["agents_logged_in"] == 2))
                busy = await board.until(snapshot_where(lambda q: q["agents_busy"] == 1 and q["callers_waiting"] == 1))
                assert {a["user"]: a["state"] for a in support(busy)["agents"]}["david"] == "busy"
                cleared = await board.first(lambda m: m["type"] == "alarm_cleared")
                assert (cleared["alarm"], cleared["value"]) == (alarm["id"], 1)
                await board.until(snapshot_where(lambda q: q["agents_wrapup"] == 1 and q["answered_today"] == 1))

                # the second caller gives up: a missed call, nobody waits
                sim.node.request_hangup(sim.node.find(calls[1].uniqueid), remote=True)
                gone = await board.until(snapshot_where(lambda q: q["missed_today"] == 1))
                assert support(gone)["callers_waiting"] == 0 and support(gone)["service_level"] is not None
                await eventually(lambda: len(live.smtp.received) == 2 and len(live.hooks.requests) == 2)
                async with c.get(f"{w.base}/api/v1/wallboard") as r:
                    once = await r.json()
                assert (support(once)["missed_today"], once["alarms"]) == (1, [])
                async with c.get(f"{w.base}/api/v1/queues/support/alarms/{alarm['id']}") as r:
                    assert (await r.json())["raised"] is False

                # Annat's administrator watched all along: their own (queue-less) tenant, nothing of Exempel's
                await other.until(lambda m: m["type"] == "snapshot")
                async with annat.get(f"{w.base}/api/v1/wallboard") as r:
                    theirs = await r.json()
                # signing out ends the stream
                async with c.post(f"{w.base}/api/v1/logout") as r:
                    assert r.status == 204
                assert await board.closed() == 4401
                assert board.messages[-1] == {"type": "closing", "reason": "signed-out"}
            # once: one alarm and one clear, on the socket, by mail and by webhook
            kinds = [m["type"] for m in board.messages]
            assert (kinds.count("alarm"), kinds.count("alarm_cleared")) == (1, 1)
            subjects = [m.message["Subject"] for m in live.smtp.received]
            assert subjects[0].startswith("Larm:") and subjects[1].startswith("Larmet upphört:")
            assert [h.json()["kind"] for h in live.hooks.requests] == ["queue_alarm", "queue_alarm_cleared"]
            assert all(h.headers[SIGNATURE_HEADER] == signature(SECRET, h.body) for h in live.hooks.requests)
            assert other.messages and all(m["type"] in ("snapshot", "heartbeat") for m in other.messages)
            assert all(m["tenant"] == "annat" and m["queues"] == [] and m["alarms"] == []
                       for m in other.messages if m["type"] == "snapshot")
            assert theirs["tenant"] == "annat" and theirs["queues"] == []
        await asyncio.wait_for(calls[0].wait(), 30)

    run_live(tmp_path, body, endpoints={"PJSIP/david": Endpoint(answer_after_s=2.0, talk_s=20.0),
                                        "PJSIP/eva": Endpoint(answer_after_s=None)})


def test_another_tenant_gets_404_for_every_verb_of_a_queues_alarms(tmp_path: Path) -> None:
    async def body(live: Live) -> None:
        w = live.w
        async with await signed_in(w, "boss@exempel.se") as c:
            async with c.post(f"{w.base}/api/v1/queues/support/alarms",
                              json={"metric": "longest_wait_s", "threshold": 120}) as r:
                mine = await r.json()
            async with ClientSession(headers=await bearer(w, "admin@annat.se")) as annat:
                theirs = f"{w.base}/api/v1/queues/support/alarms"
                matrix: list[tuple[str, str, Any]] = [
                    ("GET", theirs, None), ("POST", theirs, {"metric": "callers_waiting", "threshold": 1}),
                    ("GET", f"{theirs}/{mine['id']}", None), ("PATCH", f"{theirs}/{mine['id']}", {"threshold": 1}),
                    ("DELETE", f"{theirs}/{mine['id']}", None)]
                for method, url, payload in matrix:
                    async with annat.request(method, url, json=payload) as r:
                        await problem(r, 404)
                async with annat.get(f"{w.base}/api/v1/wallboard") as r:
                    snapshot = await r.json()
                assert snapshot["tenant"] == "annat" and snapshot["queues"] == []
            # the Göteborg account administrator watches the wallboard (the support agents are theirs) but does
            # not set thresholds: that needs the right "reports"
            async with await signed_in(w, "gbg@exempel.se") as gbg:
                async with gbg.get(f"{w.base}/api/v1/wallboard") as r:
                    assert [q["queue"] for q in (await r.json())["queues"]] == ["support"]
                for method, url, payload in matrix:
                    async with gbg.request(method, url, json=payload) as r:
                        assert "reports" in (await problem(r, 403))["detail"]
            async with c.get(f"{w.base}/api/v1/queues/support/alarms/{mine['id']}") as r:
                kept = await r.json()
            assert (kept["threshold"], kept["metric"]) == (120, "longest_wait_s")  # nothing of theirs changed it
    run_live(tmp_path, body)


# --- the handshake --------------------------------------------------------------------------------------------


def test_a_cross_origin_cookie_websocket_is_refused_and_a_plain_get_is_told_to_upgrade(tmp_path: Path) -> None:
    async def body(w: World) -> None:
        async with await signed_in(w, "boss@exempel.se") as c:
            for origin in ("http://evil.example", None):
                with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                    async with c.ws_connect(f"{w.base}{STREAM}", **({"origin": origin} if origin else {})):
                        pass
                assert refused.value.status == 403
            async with c.get(f"{w.base}{STREAM}") as r:
                assert (await problem(r, 426))["type"].endswith("/upgrade-required")
            # from our own origin the handshake succeeds; this process has no controller, and the stream says so
            async with stream(c, w.base, origin=w.base) as same:
                said = await same.until(lambda m: True)
                assert said["type"] == "unavailable"
                assert await same.closed() == 1013
            async with c.get(f"{w.base}/api/v1/wallboard") as r:
                await problem(r, 503)
        async with ClientSession() as anonymous:
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                async with anonymous.ws_connect(f"{w.base}{STREAM}", origin=w.base):
                    pass
            assert refused.value.status == 401
        # an integration with a bearer token sends no cookie, so no Origin is needed
        async with ClientSession(headers=await bearer(w, "viewer@exempel.se")) as api, \
                stream(api, w.base) as viewer:
            assert (await viewer.until(lambda m: True))["type"] == "unavailable"

    async def main() -> None:
        async with world(tmp_path) as w:
            await body(w)
    asyncio.run(main())


# --- thresholds: validation and the audit log ----------------------------------------------------------------


def test_thresholds_are_validated_field_by_field_and_every_change_is_audited(tmp_path: Path) -> None:
    async def body(w: World) -> None:
        url = f"{w.base}/api/v1/queues/support/alarms"
        async with await signed_in(w, "boss@exempel.se") as c:
            async with c.post(url, json={"metric": "callers_waiting", "threshold": 5, "clear_at": 7}) as r:
                assert [e["field"] for e in (await problem(r, 422))["errors"]] == ["body.clear_at"]
            async with c.post(url, json={"metric": "service_level_below", "threshold": 180}) as r:
                assert [e["field"] for e in (await problem(r, 422))["errors"]] == ["body.threshold"]
            async with c.post(url, json={"metric": "colour", "threshold": 1, "emails": ["not an address"]}) as r:
                assert {e["field"] for e in (await problem(r, 422))["errors"]} == {"body.metric", "body.emails.0"}
            async with c.post(f"{w.base}/api/v1/queues/nosuch/alarms", json={"metric": "callers_waiting",
                                                                              "threshold": 1}) as r:
                await problem(r, 404)
            async with c.post(url, json={"metric": "agents_free_below", "threshold": 1, "clear_at": 2,
                                         "emails": ["chef@exempel.se"]}) as r:
                assert r.status == 201
                made = await r.json()
            assert (made["clear_at"], made["clear_after_s"], made["event"], made["raised"]) == (2, 10, True, False)
            async with c.patch(f"{url}/{made['id']}", json={"clear_at": 0}) as r:
                assert [e["field"] for e in (await problem(r, 422))["errors"]] == ["body.clear_at"]
            async with c.patch(f"{url}/{made['id']}", json={"threshold": 2, "clear_at": None}) as r:
                assert (await r.json())["threshold"] == 2
            async with c.get(f"{url}?format=csv") as r:
                assert r.headers["Content-Type"].startswith("text/csv") and "agents_free_below" in await r.text()
            async with c.delete(f"{url}/{made['id']}") as r:
                assert r.status == 204
            async with c.get(f"{url}/{made['id']}") as r:
                await problem(r, 404)
            async with c.get(f"{w.base}/api/v1/audit?resource=queue_alarm") as r:
                log = (await r.json())["items"]
        assert [e["action"] for e in log] == ["create", "update", "delete"]
        assert log[1]["before"]["threshold"] == 1 and log[1]["after"]["threshold"] == 2
        assert log[2]["before"]["id"] == made["id"] and log[2]["after"] is None

    async def main() -> None:
        async with world(tmp_path) as w:
            await body(w)
    asyncio.run(main())


# --- the pure parts ----------------------------------------------------------------------------------------------


def test_an_alarm_is_raised_once_and_clears_only_after_staying_back_past_its_clear_level() -> None:
    rule = AlarmRule(1, "exempel", "support", "", "callers_waiting", threshold=5, clear_at=3, clear_after_s=10)
    state, said = AlarmState(), []
    for t, value in enumerate([1, 5, 6, 4, 5, 3, 2, 6, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 9]):
        state, transition = step(rule, state, value, float(t * 2))
        said.append((t, transition) if transition else None)
    # raised at 5; 4 is not back (clear level 3); 2 at t=6 was interrupted by 6; back from t=8 for 10 s → t=13
    assert [s for s in said if s] == [(1, "raised"), (13, "cleared"), (20, "raised")]
    low = AlarmRule(2, "exempel", "support", "", "agents_free_below", threshold=1, clear_after_s=0)
    assert step(low, AlarmState(), 0, 0.0)[1] == "raised" and step(low, AlarmState(True), 1, 0.0)[1] == "cleared"
    assert step(low, AlarmState(), None, 0.0) == (AlarmState(), None)  # an unknown figure changes nothing
    assert rule_problems("agents_free_below", 2, 1)[0]["field"] == "body.clear_at"


def test_the_figures_count_agents_by_state_and_waits_of_callers_not_callbacks() -> None:
    now = 1000.0

    def agent(user: str, line: LineStatus = LineStatus.IDLE, **kw: Any) -> AgentLive:
        return AgentLive(AgentState("exempel", user, logged_in=frozenset({"queue:support"}), **kw), line)
    agents = {"a": agent("a"), "b": agent("b", LineStatus.BUSY), "c": agent("c", paused=True, pause_reason="lunch"),
              "d": agent("d", wrapup_until=now + 5), "e": agent("e", LineStatus.UNAVAILABLE),
              "f": AgentLive(AgentState("exempel", "f"), LineStatus.IDLE)}
    waiting = (WaitingEntry("1", "+46701", "ch1", now - 30), WaitingEntry("2", "+46702", "ch2", now - 10),
               WaitingEntry("3", "+46703", "", now - 500, callback="+46703"))
    live = TenantLive("exempel", STOCKHOLM, (QueueLive("support", "Support", ("a", "b", "c", "d", "e", "f"), waiting),),
                      agents, {"support": QueueDay(answered=3, answered_in_time=2, missed=1)})
    [q] = board(live, now)
    assert (q.agents_logged_in, q.agents_free, q.agents_busy, q.agents_paused, q.agents_wrapup, q.agents_away) == (
        5, 1, 1, 1, 1, 1)
    assert (q.callers_waiting, q.callbacks_waiting, q.longest_wait_s, q.average_wait_s) == (2, 1, 30.0, 20.0)
    assert (q.missed_today, q.service_level) == (1, 50.0)
    assert [a.pause_reason for a in q.agents if a.state == "paused"] == ["lunch"]


def test_a_caller_who_hangs_up_waiting_is_missed_one_who_overflows_or_asks_for_a_callback_is_not() -> None:
    t0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC).timestamp()
    tally = DayTally()

    def feed(kind: str, call: str, at: float, up: bool = False, callback: bool = False, **kw: Any) -> None:
        nonlocal tally
        outcome = classify({"kind": kind, "tenant": "exempel", "call": call, "at": at, **kw}, call_up=up,
                           callback=callback)
        if outcome is not None:
            tally = tally.fold(outcome, STOCKHOLM)
    for call in "abcde":
        feed("enqueued", call, t0, queue="support")
    feed("dequeued", "a", t0 + 40, queue="support")  # hung up waiting
    feed("dequeued", "b", t0 + 600, up=True, queue="support")  # overflowed to voicemail, still talking
    feed("dequeued", "c", t0 + 50, up=True, callback=True, queue="support")  # keeps the place as a callback
    feed("released", "d", t0 + 15, reason="answered", user="david")  # answered within 20 s
    feed("released", "e", t0 + 25, reason="cancelled", user="eva")  # hung up while Eva's phone rang
    feed("released", "d", t0 + 99, reason="answered", user="david")  # not followed any more: not counted twice
    assert tally.today("exempel", t0, STOCKHOLM) == {"support": QueueDay(answered=1, answered_in_time=1, missed=2)}
    assert tally.today("exempel", t0 + 86400, STOCKHOLM) == {} and tally.following == {}
    assert tally.today("annat", t0, STOCKHOLM) == {}


def test_a_session_still_waiting_for_its_second_factor_cannot_open_the_stream(tmp_path: Path) -> None:
    async def main() -> None:
        async with world(tmp_path) as w, ClientSession(cookie_jar=CookieJar(unsafe=True)) as c:
            async with c.post(f"{w.base}/api/v1/login", json={"login": "boss@exempel.se", "password": PASSWORD}) as r:
                assert (await r.json())["verified"] is False  # the TOTP code is still to come
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                async with c.ws_connect(f"{w.base}{STREAM}", origin=w.base):
                    pass
            assert refused.value.status == 401
    asyncio.run(main())

