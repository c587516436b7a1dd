"""Schedules with overrides, answer groups and queues, agents, callbacks, live calls and recording on a live call,
through the admin API over real HTTP; the live parts against a real controller in front of the simulator
(AMI and FastAGI on real sockets)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from aiohttp import ClientSession

from pbx.asterisk.simulator import CallScript, Endpoint
from pbx.controller import Controller
from pbx.db import load_tenant
from pbx.demo import GOTEBORG_NUMBER, MAIN_NUMBER, STOCKHOLM, exempel
from pbx.routing import EMPTY_STATE, PlayMenu, Voicemail, compile_table, what_if
from pbx.routing.schedule import compile_schedule
from tests.admin_world import World, problem, run, signed_in
from tests.admin_world import with_controller as live_world

T = TypeVar("T")
API = "/api/v1"
TUE_10 = datetime(2026, 11, 24, 10, 0, tzinfo=STOCKHOLM)


async def call_api(c: ClientSession, w: World, method: str, path: str, **kw: Any) -> tuple[int, Any]:
    async with c.request(method, f"{w.base}{API}{path}", **kw) as r:
        body = await r.json() if r.content_type.endswith("json") else None
        return r.status, body


async def audit(c: ClientSession, w: World, resource: str) -> list[dict[str, Any]]:
    status, body = await call_api(c, w, "GET", "/audit", params={"resource": resource, "per_page": "500"})
    assert status == 200, body
    return list(body["items"])


def decision_path(w: World, at: datetime) -> list[Any]:
    """What the routing core decides for a call to the main number at `at`, from the stored configuration."""
    with w.ctx.sessions() as session:
        cfg = load_tenant(session, "exempel")
    return what_if(compile_table([cfg]), EMPTY_STATE, MAIN_NUMBER, at)


def open_tuesday_after(now: datetime) -> datetime:
    """A Tuesday after `now` on which Kontorstid is open 12:50–13:10 (no holiday, no exception)."""
    plain = compile_schedule(exempel().schedules[0])
    day = (now.astimezone(STOCKHOLM) + timedelta(days=1)).date()
    while True:
        at = datetime(day.year, day.month, day.day, 13, 0, tzinfo=STOCKHOLM)
        if (at.weekday() == 1 and plain.state_at(at - timedelta(minutes=10)).state == "open"
                and plain.state_at(at + timedelta(minutes=10)).state == "open"):
            return at
        day += timedelta(days=1)


# --- schedules -----------------------------------------------------------------------------------


def test_a_schedule_override_closes_until_a_time_and_the_routing_decision_follows(tmp_path: Path) -> None:
    async def body(w: World) -> None:
        async with await signed_in(w, "boss@exempel.se") as c:
            status, listed = await call_api(c, w, "GET", "/schedules")
            assert status == 200 and [s["key"] for s in listed["items"]] == ["kontorstid"]
            status, s = await call_api(c, w, "GET", "/schedules/kontorstid", params={"at": "2026-11-24T09:00:00Z"})
            assert status == 200
            assert s["weekly"]["mon"] == "08:00-12:00,12:45-17:00" and s["weekly"]["sat"] == ""
            assert s["exceptions"][0]["date"] == "2026-12-23" and s["override"] is None
            assert s["now"]["state"] == "open" and not s["now"]["overridden"]

            one = open_tuesday_after(datetime.now(UTC))  # "closed until 13:00" on an ordinary open Tuesday
            before = [d.node for d in decision_path(w, one - timedelta(minutes=10))]
            status, s = await call_api(c, w, "PUT", "/schedules/kontorstid/override", json={
                "state": "closed", "until": one.isoformat(), "message": "personalmöte"})
            assert status == 200, s
            assert s["override"]["state"] == "closed" and s["override"]["message"] == "personalmöte"
            assert s["now"]["state"] == "closed" and s["now"]["overridden"]  # it holds from now until then
            status, s = await call_api(c, w, "GET", "/schedules/kontorstid",
                                       params={"at": (one - timedelta(minutes=10)).astimezone(UTC).isoformat()
                                               .replace("+00:00", "Z")})
            assert s["now"]["reason"] == "manual override: closed until 13:00 (personalmöte)"
            assert s["now"]["next_change"] is not None

            closed = decision_path(w, one - timedelta(minutes=10))
            reopened = decision_path(w, one + timedelta(minutes=10))
            assert "meny" in before and isinstance(closed[-1].action, Voicemail)
            assert (closed[-1].action.box, closed[-1].node) == ("vaxel", "vm-vaxel")
            assert any("manual override: closed until 13:00" in step for d in closed for step in d.steps)
            assert any(isinstance(d.action, PlayMenu) for d in reopened)  # after 13:00 the hours apply again

            status, _ = await call_api(c, w, "DELETE", "/schedules/kontorstid/override")
            assert status == 204
            status, s = await call_api(c, w, "GET", "/schedules/kontorstid")
            assert s["override"] is None and not s["now"]["overridden"]
            assert [d.node for d in decision_path(w, one - timedelta(minutes=10))] == before

            entries = await audit(c, w, "schedule_override")
            assert [(e["action"], e["actor"]) for e in entries] == [("update", "boss@exempel.se"),
                                                                    ("delete", "boss@exempel.se")]
            assert entries[0]["before"] is None and entries[0]["after"]["state"] == "closed"
            assert entries[1]["before"]["message"] == "personalmöte" and entries[1]["after"] is None

            # bad overrides say which field and why, and change nothing
            for bad, why in (({"state": "closed", "until": "2020-01-01T13:00:00+01:00"}, "not in the future"),
                             ({"state": "closed", "until": "2099-01-01T13:00:00"}, "UTC offset"),
                             ({"state": "closed", "until": "tomorrow"}, "not a date-time")):
                async with c.put(f"{w.base}{API}/schedules/kontorstid/override", json=bad) as r:
                    err = await problem(r, 422)
                assert err["errors"][0]["field"] == "body.until" and why in err["errors"][0]["message"]
            async with c.put(f"{w.base}{API}/schedules/kontorstid/override", json={"state": "shut"}) as r:
                assert (await problem(r, 422))["errors"][0]["field"] == "body.state"
            assert len(await audit(c, w, "schedule_override")) == 2
    run(tmp_path, body)


def test_a_schedules_days_say_hours_holidays_and_exceptions_for_a_year_view(tmp_path: Path) -> None:
    async def body(w: World) -> None:
        async with await signed_in(w, "boss@exempel.se") as c:
            status, got = await call_api(c, w, "GET", "/schedules/kontorstid/days",
                                         params={"from": "2026-12-21", "to": "2027-01-06"})
            assert status == 200 and got["timezone"] == "Europe/Stockholm"
            days = {d["date"]: d for d in got["days"]}
            assert len(days) == 17
            assert (days["2026-12-21"]["kind"], days["2026-12-21"]["open"]) == ("open", ["08:00-12:00", "12:45-17:00"])
            assert (days["2026-12-23"]["kind"], days["2026-12-23"]["open"]) == ("exception", ["08:00-12:00"])
            assert days["2026-12-23"]["exception"] == "Dagen före julafton"
            assert days["2026-12-24"]["kind"] == "holiday" and days["2026-12-24"]["open"] == []
            assert days["2026-12-24"]["holidays"] == [{"name": "Christmas Eve", "native": "Julafton"}]
            assert days["2026-12-26"]["kind"] == "holiday"  # Annandag jul, a Saturday: a holiday all the same
            assert days["2026-12-27"]["kind"] == "closed"  # a Sunday
            assert days["2027-01-06"]["holidays"][0]["native"] == "Trettondedag jul"
            # every day agrees with the state the schedule gives at 10:00 (routing's own answer)
            compiled = compile_schedule(next(s for s in exempel().schedules if s.key == "kontorstid"))
            for day, d in days.items():
                ten = datetime.fromisoformat(f"{day}T10:00:00").replace(tzinfo=STOCKHOLM)
                state = compiled.state_at(ten).state.value
                assert state == ("holiday" if d["kind"] == "holiday" else "open" if d["open"] else "closed"), day
            # the default: a year from today (the API's clock), and no more than 400 days
            status, year = await call_api(c, w, "GET", "/schedules/kontorstid/days")
            assert status == 200 and len(year["days"]) == 365
            for params in ({"from": "2026-12-21", "to": "2026-12-20"}, {"from": "2026-01-01", "to": "2027-12-31"},
                           {"from": "2026-13-01"}):
                async with c.get(f"{w.base}{API}/schedules/kontorstid/days", params=params) as r:
                    assert (await problem(r, 400))["errors"][0]["field"] in ("query.to", "query.from")
        async with await signed_in(w, "admin@annat.se") as other:
            async with other.get(f"{w.base}{API}/schedules/kontorstid/days") as r:
                await problem(r, 404)
    run(tmp_path, body)


def test_schedules_are_created_changed_and_deleted_but_not_while_a_flow_uses_them(tmp_path: Path) -> None:
    async def body(w: World) -> None:
        async with await signed_in(w, "boss@exempel.se") as c:
            status, s = await call_api(c, w, "POST", "/schedules", json={
                "key": "jul", "name": "Julöppet", "weekly": {"mon": "09:00-12:00"},
                "exceptions": [{"date": "2026-12-24", "hours": "", "name": "Julafton", "holiday": True}],
                "holidays": {"country": "SE", "categories": ["public"]}})
            assert status == 201, s
            assert s["weekly"]["mon"] == "09:00-12:00" and s["timezone"] == "Europe/Stockholm"
            status, s = await call_api(c, w, "GET", "/schedules/jul", params={"at": "2026-12-24T10:00:00+01:00"})
            assert s["now"]["state"] == "holiday" and "Julafton" in s["now"]["reason"]
            async with c.post(f"{w.base}{API}/schedules", json={"key": "jul", "name": "Igen"}) as r:
                await problem(r, 409)
            async with c.patch(f"{w.base}{API}/schedules/jul", json={"weekly": {"tue": "17:00-08:00"}}) as r:
                err = await problem(r, 422)
            assert err["errors"] == [{"field": "body.weekly.tue",
                                      "message": "bad interval '17:00-08:00': it must end after it starts"}]
            async with c.patch(f"{w.base}{API}/schedules/jul", json={"timezone": "Mars/Olympus"}) as r:
                err = await problem(r, 422)
            assert err["type"].endswith("invalid-config") and "Mars/Olympus" in err["errors"][0]["message"]
            status, s = await call_api(c, w, "PATCH", "/schedules/jul", json={"weekly": {"tue": "08:00-10:00"}})
            assert status == 200 and s["weekly"]["mon"] == "" and s["weekly"]["tue"] == "08:00-10:00"
            async with c.delete(f"{w.base}{API}/schedules/kontorstid") as r:
                err = await problem(r, 409)
            assert {e["message"] for e in err["errors"]} == {"used by flow huvud node oppet",
                                                             "used by flow goteborg node oppet"}
            status, _ = await call_api(c, w, "DELETE", "/schedules/jul")
            assert status == 204
            async with c.get(f"{w.base}{API}/schedules/jul") as r:
                await problem(r, 404)
            entries = await audit(c, w, "schedule")
            assert [e["action"] for e in entries] == ["create", "update", "delete"]
            assert entries[1]["before"]["weekly"]["mon"] == "09:00-12:00" and entries[1]["after"]["weekly"]["mon"] == ""
            assert entries[2]["after"] is None
        async with await signed_in(w, "gbg@exempel.se") as c:  # an account administrator: no "flows"
            async with c.put(f"{w.base}{API}/schedules/kontorstid/override", json={"state": "closed"}) as r:
                await problem(r, 403)
            status, _ = await call_api(c, w, "GET", "/schedules/kontorstid")
            assert status == 200
    run(tmp_path, body)


# --- answer groups and queues --------------------------------------------------------------------


def test_queues_and_groups_are_configured_with_members_and_kept_while_flows_use_them(tmp_path: Path) -> None:
    async def body(w: World) -> None:
        async with await signed_in(w, "boss@exempel.se") as c:
            status, q = await call_api(c, w, "GET", "/queues/support")
            assert status == 200 and q["members"] == ["david", "eva"] and q["live"] is None  # no controller here
            async with c.post(f"{w.base}{API}/queues", json={"key": "kassa", "name": "Kassa",
                                                             "members": ["olle", "nobody"]}) as r:
                err = await problem(r, 422)
            assert err["errors"] == [{"field": "queue kassa", "message": "user 'nobody' does not exist",
                                      "code": "dangling-reference"}]
            status, q = await call_api(c, w, "POST", "/queues", json={
                "key": "kassa", "name": "Kassa", "members": ["olle"], "strategy": "round_robin", "wrapup_s": 10})
            assert status == 201 and q["strategy"] == "round_robin" and q["wrapup_s"] == 10
            status, q = await call_api(c, w, "POST", "/queues/kassa/members", json={"user": "anna"})
            assert status == 201 and q["members"] == ["olle", "anna"]
            async with c.post(f"{w.base}{API}/queues/kassa/members", json={"user": "anna"}) as r:
                await problem(r, 409)
            status, _ = await call_api(c, w, "DELETE", "/queues/kassa/members/anna")
            assert status == 204
            async with c.delete(f"{w.base}{API}/queues/kassa/members/anna") as r:
                await problem(r, 404)
            status, q = await call_api(c, w, "PATCH", "/queues/kassa", json={"max_wait_s": 120, "record": True})
            assert status == 200 and (q["max_wait_s"], q["record"], q["members"]) == (120, True, ["olle"])
            async with c.delete(f"{w.base}{API}/queues/support") as r:
                err = await problem(r, 409)
            assert {e["message"] for e in err["errors"]} == {
                "used by flow huvud node support", "used by flow goteborg node support",
                "used by flow goteborg node callback"}
            status, _ = await call_api(c, w, "DELETE", "/queues/kassa")
            assert status == 204
            entries = await audit(c, w, "queue")
            assert [e["action"] for e in entries] == ["create", "update", "delete"]
            assert entries[1]["before"]["max_wait_s"] == 600 and entries[1]["after"]["max_wait_s"] == 120
            members = await audit(c, w, "queue_member")
            assert [(e["action"], e["ref"]) for e in members] == [("update", "kassa/anna"), ("delete", "kassa/anna")]

            status, g = await call_api(c, w, "POST", "/groups/salj/members", json={"user": "david", "ring_s": 15})
            assert status == 201 and g["members"][-1] == {"user": "david", "ring_s": 15}
            status, g = await call_api(c, w, "PATCH", "/groups/salj", json={"strategy": "parallel"})
            assert status == 200 and g["strategy"] == "parallel" and len(g["members"]) == 4
            async with c.delete(f"{w.base}{API}/groups/salj") as r:
                await problem(r, 409)
            status, g = await call_api(c, w, "POST", "/groups", json={"key": "lager", "name": "Lager",
                                                                      "members": [{"user": "bjorn"}]})
            assert status == 201 and g["members"] == [{"user": "bjorn", "ring_s": 20}]
            async with c.post(f"{w.base}{API}/groups", json={"key": "dubbel", "name": "D", "members": [
                    {"user": "bjorn"}, {"user": "bjorn"}]}) as r:
                assert (await problem(r, 422))["errors"][0]["field"] == "body.members"
            status, listed = await call_api(c, w, "GET", "/groups", params={"sort": "-key"})
            assert [g["key"] for g in listed["items"]] == ["salj", "lager"]

            # the live operations need a controller: this API instance has none
            for method, path in (("GET", "/calls"), ("GET", "/callbacks"),
                                 ("POST", "/queues/support/agents/david/login")):
                async with c.request(method, f"{w.base}{API}{path}") as r:
                    assert (await problem(r, 503))["title"] == "Not available here"
        async with await signed_in(w, "viewer@exempel.se") as c:  # "view" only, and no user of their own
            for method, path in (("POST", "/queues/support/agents/david/login"), ("DELETE", "/queues/support"),
                                 ("POST", "/queues/support/members")):
                async with c.request(method, f"{w.base}{API}{path}", json={"user": "anna"}) as r:
                    await problem(r, 403)
    run(tmp_path, body)


# --- the live controller -------------------------------------------------------------------------


def with_controller(tmp: Path, body: Callable[[World, Controller, Any], Awaitable[T]], speed: float = 20.0) -> T:
    """The API with a real controller in front of the simulator (tests.admin_world.with_controller); the agents'
    phones answer after a second and talk for an hour."""
    agents = {f"PJSIP/{agent}": Endpoint(answer_after_s=1.0, talk_s=3600.0) for agent in ("david", "eva")}
    return live_world(tmp, body, speed, endpoints=agents)


async def until(check: Callable[[], Awaitable[Any]], what: str, tries: int = 400) -> Any:
    for _ in range(tries):
        got = await check()
        if got:
            return got
        await asyncio.sleep(0.02)
    raise AssertionError(f"never happened: {what}")


def test_a_waiting_caller_is_seen_live_an_agent_logged_in_takes_it_and_it_is_recorded_and_hung_up(
        tmp_path: Path) -> None:
    async def body(w: World, controller: Controller, sim: Any) -> None:
        async with await signed_in(w, "boss@exempel.se") as c:
            # nobody free, but someone logged in (a queue nobody is logged in to overflows at once)
            status, a = await call_api(c, w, "POST", "/queues/support/agents/eva/logout")
            assert status == 200 and a["status"] == "logged_out", a
            status, a = await call_api(c, w, "POST", "/queues/support/agents/david/pause", json={"reason": "möte"})
            assert status == 200 and (a["status"], a["pause_reason"]) == ("paused", "möte"), a
            placed = await sim.place_call("+46701111111", MAIN_NUMBER, CallScript(keys=["2"]))
            uid = placed.uniqueid

            async def waiting() -> Any:
                _, calls = await call_api(c, w, "GET", "/calls")
                return next((x for x in calls["items"] if x["id"] == uid and x["queue"] == "support"), None)
            seen = await until(waiting, "the caller waits in Support")
            assert (seen["caller"], seen["dialled"], seen["agent"], seen["answered"]) == (
                "+46701111111", MAIN_NUMBER, None, False)
            assert any("queue" in step for step in seen["path"])
            status, q = await call_api(c, w, "GET", "/queues/support")
            live = q["live"]
            assert (live["callers_waiting"], live["logged_in"], live["waiting"][0]["call_id"]) == (1, 1, uid)
            assert {a["user"]: a["status"] for a in live["agents"]} == {"david": "paused", "eva": "logged_out"}

            status, a = await call_api(c, w, "POST", "/queues/support/agents/eva/login")
            assert status == 200 and a["logged_in"]

            async def answered() -> Any:
                status, x = await call_api(c, w, "GET", f"/calls/{uid}")
                return x if status == 200 and x["answered"] else None
            on = await until(answered, "Eva answers the caller")
            assert (on["agent"], on["queue"]) == ("eva", "support")
            status, q = await call_api(c, w, "GET", "/queues/support")
            assert q["live"]["callers_waiting"] == 0
            assert {a["user"]: a["status"] for a in q["live"]["agents"]} == {"david": "paused", "eva": "busy"}

            status, rec = await call_api(c, w, "POST", f"/calls/{uid}/recording")
            assert status == 201 and rec["state"] == "recording" and rec["kind"] == "on-demand", rec
            async with c.post(f"{w.base}{API}/calls/{uid}/recording") as r:
                await problem(r, 409)
            status, paused = await call_api(c, w, "PATCH", f"/calls/{uid}/recording", json={"state": "paused"})
            assert status == 200 and paused["state"] == "paused"
            status, x = await call_api(c, w, "GET", f"/calls/{uid}")
            assert x["recording"]["state"] == "paused"
            status, resumed = await call_api(c, w, "PATCH", f"/calls/{uid}/recording", json={"state": "recording"})
            assert resumed["state"] == "recording"
            status, _ = await call_api(c, w, "DELETE", f"/calls/{uid}/recording")
            assert status == 204
            async with c.delete(f"{w.base}{API}/calls/{uid}/recording") as r:
                await problem(r, 404)
            status, listed = await call_api(c, w, "GET", "/recordings", params={"q": uid})
            assert [(r["call_id"], r["kind"], r["queue"], r["user"]) for r in listed["items"]] == [
                (uid, "on-demand", "support", "eva")]

            async with await signed_in(w, "gbg@exempel.se") as gbg:  # Eva is in Göteborg: the call is theirs too
                status, x = await call_api(gbg, w, "GET", f"/calls/{uid}")
                assert status == 200 and x["agent"] == "eva"

            status, _ = await call_api(c, w, "DELETE", f"/calls/{uid}")
            assert status == 204
            await asyncio.wait_for(placed.wait(), 10)

            async def gone() -> bool:
                status, _ = await call_api(c, w, "GET", f"/calls/{uid}")
                return status == 404
            await until(gone, "the call is over")
            async with c.delete(f"{w.base}{API}/calls/{uid}") as r:
                await problem(r, 404)

            agents = await audit(c, w, "agent")
            assert [(e["action"], e["ref"]) for e in agents] == [
                ("logout", "queue:support/eva"), ("pause", "queue:support/david"), ("login", "queue:support/eva")]
            assert agents[2]["before"]["status"] == "logged_out" and agents[2]["after"]["logged_in"]
            assert [e["action"] for e in await audit(c, w, "call_recording")] == ["create", "update", "update",
                                                                                  "delete"]
            hangups = await audit(c, w, "call")
            assert [(e["action"], e["ref"], e["before"]["agent"], e["after"]) for e in hangups] == [
                ("hangup", uid, "eva", None)]
    with_controller(tmp_path, body)


def test_agents_pause_end_wrapup_and_act_for_themselves_within_reach(tmp_path: Path) -> None:
    async def body(w: World, controller: Controller, sim: Any) -> None:
        await asyncio.to_thread(w.ctx.admins.create_admin, "exempel", "eva@exempel.se", "Eva", "correct horse battery",
                                "custom", rights=["view"], user_key="eva")
        async with await signed_in(w, "eva@exempel.se") as eva:  # an agent, as themself: "view" is enough
            status, a = await call_api(eva, w, "POST", "/queues/support/agents/eva/pause", json={"reason": "lunch"})
            assert status == 200 and (a["status"], a["pause_reason"]) == ("paused", "lunch")
            assert (await controller.store.agent("exempel", "eva")).paused
            status, a = await call_api(eva, w, "POST", "/queues/support/agents/eva/unpause")
            assert status == 200 and a["status"] == "free"
            async with eva.post(f"{w.base}{API}/queues/support/agents/david/logout") as r:
                await problem(r, 403)  # but not for a colleague
            async with eva.post(f"{w.base}{API}/queues/support/agents/eva/end-wrapup") as r:
                await problem(r, 409)
        async with await signed_in(w, "gbg@exempel.se") as gbg:  # Göteborg's administrator: David and Eva only
            status, a = await call_api(gbg, w, "POST", "/groups/salj/members/anna/logout")
            assert status == 404  # Anna is in Stockholm
            assert "group:salj" in (await controller.store.agent("exempel", "anna")).logged_in
            async with gbg.post(f"{w.base}{API}/queues/support/agents/david/pause", json={"reason": " "}) as r:
                err = await problem(r, 422)
            assert err["errors"][0]["field"] == "body.reason"
            status, a = await call_api(gbg, w, "POST", "/queues/support/agents/david/logout")
            assert status == 200 and a["status"] == "logged_out"
            async with gbg.post(f"{w.base}{API}/queues/support/agents/anna/login") as r:
                await problem(r, 404)  # not a member of Support
        async with await signed_in(w, "boss@exempel.se") as c:
            status, a = await call_api(c, w, "POST", "/groups/salj/members/anna/logout")
            assert status == 200 and a["status"] == "logged_out"
            status, g = await call_api(c, w, "GET", "/groups/salj")
            assert {a["user"]: a["status"] for a in g["live"]["agents"]} == {
                "anna": "logged_out", "bjorn": "free", "cecilia": "free"}
            # wrap-up ends by hand: Eva takes a call, it ends, she is in wrap-up (30 s) and ends it
            sim.endpoint("PJSIP/eva", Endpoint(answer_after_s=1.0, talk_s=5.0))
            placed = await sim.place_call("+46701111111", MAIN_NUMBER, CallScript(keys=["2"]))
            await asyncio.wait_for(placed.wait(), 20)

            async def in_wrapup() -> Any:
                _, q = await call_api(c, w, "GET", "/queues/support")
                return next((a for a in q["live"]["agents"] if a["user"] == "eva" and a["status"] == "wrapup"), None)
            eva_state = await until(in_wrapup, "Eva is in wrap-up")
            assert eva_state["wrapup_until"] is not None
            status, a = await call_api(c, w, "POST", "/queues/support/agents/eva/end-wrapup")
            assert status == 200 and a["status"] == "free"
            # a member taken out of the queue is logged out of it too: no more of its calls
            assert "queue:support" in (await controller.store.agent("exempel", "eva")).logged_in
            status, _ = await call_api(c, w, "DELETE", "/queues/support/members/eva")
            assert status == 204
            assert "queue:support" not in (await controller.store.agent("exempel", "eva")).logged_in
            actions = [(e["action"], e["actor"]) for e in await audit(c, w, "agent")]
            assert actions == [("pause", "eva@exempel.se"), ("unpause", "eva@exempel.se"),
                               ("logout", "gbg@exempel.se"), ("logout", "boss@exempel.se"),
                               ("end-wrapup", "boss@exempel.se")]
    with_controller(tmp_path, body, speed=5.0)


def test_callbacks_are_listed_and_one_is_cancelled_keeping_no_place(tmp_path: Path) -> None:
    async def body(w: World, controller: Controller, sim: Any) -> None:
        async with await signed_in(w, "boss@exempel.se") as c:
            for agent in ("david", "eva"):
                await call_api(c, w, "POST", f"/queues/support/agents/{agent}/pause", json={"reason": "möte"})
            asked = await sim.place_call("+46701234567", GOTEBORG_NUMBER, CallScript(keys=["2", "0705550123#"]))
            await asyncio.wait_for(asked.wait(), 20)

            async def filed() -> Any:
                _, listed = await call_api(c, w, "GET", "/callbacks", params={"status": "waiting"})
                return listed["items"]
            [cb] = await until(filed, "the callback is filed")
            assert (cb["id"], cb["number"], cb["queue"]) == (asked.uniqueid, "0705550123", "support")
            status, q = await call_api(c, w, "GET", "/queues/support")
            assert [x["callback"] for x in q["live"]["waiting"]] == ["0705550123"]

            status, done = await call_api(c, w, "POST", f"/callbacks/{cb['id']}/cancel",
                                          json={"reason": "kunden ringde själv"})
            assert status == 200 and (done["status"], done["reason"]) == ("cancelled", "kunden ringde själv")
            async with c.post(f"{w.base}{API}/callbacks/{cb['id']}/cancel", json={}) as r:
                assert (await problem(r, 409))["title"] == "The callback is settled"
            status, q = await call_api(c, w, "GET", "/queues/support")
            assert q["live"]["callers_waiting"] == 0
            status, a = await call_api(c, w, "POST", "/queues/support/agents/david/unpause")
            assert a["status"] == "free"
            await asyncio.sleep(0.3)  # David is free, and nobody is called back
            assert not [x for x in sim.calls if any(s.value == "callback^0705550123" for s in x.steps)]
            status, listed = await call_api(c, w, "GET", "/callbacks")
            assert [x["status"] for x in listed["items"]] == ["cancelled"]
            [entry] = await audit(c, w, "callback")
            assert (entry["before"]["status"], entry["after"]["status"]) == ("waiting", "cancelled")
    with_controller(tmp_path, body)


def test_a_published_override_reaches_the_controller_and_the_next_call_hears_closed(tmp_path: Path) -> None:
    async def body(w: World, controller: Controller, sim: Any) -> None:
        async with await signed_in(w, "boss@exempel.se") as c:
            version = controller.tables.table.tenants["exempel"].version
            until_at = (sim.clock.now() + timedelta(hours=3)).astimezone(STOCKHOLM)
            status, s = await call_api(c, w, "PUT", "/schedules/kontorstid/override",
                                       json={"state": "closed", "until": until_at.isoformat()})
            assert status == 200 and s["now"]["state"] == "closed", s

            async def swapped() -> bool:
                return controller.tables.table.tenants["exempel"].version > version
            await until(swapped, "the controller loads the new version")
            closed = await sim.place_call("+46701234567", MAIN_NUMBER, CallScript(keys=["1"]))
            await asyncio.wait_for(closed.wait(), 20)
            assert "/voicemail/exempel/vaxel/" in (closed.recording or "")
            assert not any(a.startswith("menu") for a in closed.actions)
    with_controller(tmp_path, body, speed=100.0)


# --- tenant isolation ----------------------------------------------------------------------------


def test_a_paused_agent_takes_a_callback_by_hand_out_of_turn_and_nobody_takes_it_twice(tmp_path: Path) -> None:
    async def body(w: World, controller: Controller, sim: Any) -> None:
        await asyncio.to_thread(w.ctx.admins.create_admin, "exempel", "eva@exempel.se", "Eva", "correct horse battery",
                                "custom", rights=["view"], user_key="eva")
        async with await signed_in(w, "boss@exempel.se") as c:
            for agent in ("david", "eva"):  # paused for callback work: the queue hands them nothing
                await call_api(c, w, "POST", f"/queues/support/agents/{agent}/pause", json={"reason": "ringer upp"})
            first = await sim.place_call("+46701234567", GOTEBORG_NUMBER, CallScript(keys=["2", "0705550123#"]))
            await asyncio.wait_for(first.wait(), 20)
            second = await sim.place_call("+46701234568", GOTEBORG_NUMBER, CallScript(keys=["2", "0705550456#"]))
            await asyncio.wait_for(second.wait(), 20)

            async def filed() -> Any:
                _, listed = await call_api(c, w, "GET", "/callbacks", params={"status": "waiting"})
                return listed["items"] if listed["total"] == 2 else None
            await until(filed, "both callbacks are filed")

            async with await signed_in(w, "eva@exempel.se") as eva:  # as herself, with "view" only
                status, taken = await call_api(eva, w, "POST", f"/callbacks/{second.uniqueid}/take", json={})
                assert status == 200, taken
                assert (taken["agent"], taken["number"]) == ("eva", "0705550456")
                assert taken["status"] in ("agent_reserved", "agent_called", "customer_dialled", "connected")
                async with eva.post(f"{w.base}{API}/callbacks/{second.uniqueid}/take", json={}) as r:
                    assert (await problem(r, 409))["type"].endswith("/not-waiting")  # nobody takes it twice
                async with eva.post(f"{w.base}{API}/callbacks/{first.uniqueid}/take", json={"agent": "david"}) as r:
                    await problem(r, 403)  # not for a colleague, without the right agents

            async def rung() -> Any:  # Eva's phone rings first, then the customer's number is dialled
                _, cb = await call_api(c, w, "GET", f"/callbacks/{second.uniqueid}")
                dialled = [x for x in sim.calls if any(s.value == "callback^0705550456" for s in x.steps)]
                return cb if cb["status"] in ("customer_dialled", "connected") and dialled else None
            await until(rung, "Eva is called, then the customer")
            assert not [x for x in sim.calls if any(s.value == "callback^0705550123" for s in x.steps)]
            # the other request kept its place, alone in line
            status, q = await call_api(c, w, "GET", "/queues/support")
            assert [x["callback"] for x in q["live"]["waiting"]] == ["0705550123"]
            status, x = await call_api(c, w, "GET", f"/callbacks/{first.uniqueid}")
            assert (x["status"], x["agent"]) == ("waiting", None)
            # Eva is busy with hers now; Anna is no member of Support
            async with c.post(f"{w.base}{API}/callbacks/{first.uniqueid}/take", json={"agent": "eva"}) as r:
                assert (await problem(r, 409))["type"].endswith("/agent-busy")
            async with c.post(f"{w.base}{API}/callbacks/{first.uniqueid}/take", json={"agent": "anna"}) as r:
                assert (await problem(r, 409))["type"].endswith("/not-a-member")
            async with c.post(f"{w.base}{API}/callbacks/{first.uniqueid}/take", json={"agent": "nobody"}) as r:
                await problem(r, 404)
            async with c.post(f"{w.base}{API}/callbacks/{first.uniqueid}/take", json={}) as r:
                assert (await problem(r, 422))["errors"][0]["field"] == "body.agent"  # Bo is no user
            # an administrator with the right agents takes one for David
            status, taken = await call_api(c, w, "POST", f"/callbacks/{first.uniqueid}/take", json={"agent": "david"})
            assert status == 200 and taken["agent"] == "david", taken
            status, q = await call_api(c, w, "GET", "/queues/support")
            assert q["live"]["callers_waiting"] == 0
            assert [(e["action"], e["actor"], e["before"]["status"], e["after"]["agent"])
                    for e in await audit(c, w, "callback")] == [
                ("take", "eva@exempel.se", "waiting", "eva"), ("take", "boss@exempel.se", "waiting", "david")]
    with_controller(tmp_path, body)


def test_another_tenant_gets_404_for_every_verb_and_an_account_admin_stays_in_their_account(
        tmp_path: Path) -> None:
    async def body(w: World, controller: Controller, sim: Any) -> None:
        async with await signed_in(w, "boss@exempel.se") as c:
            for agent in ("david", "eva"):
                await call_api(c, w, "POST", f"/queues/support/agents/{agent}/pause", json={"reason": "möte"})
            waiting = await sim.place_call("+46701111111", MAIN_NUMBER, CallScript(keys=["2"]))
            asked = await sim.place_call("+46701234567", GOTEBORG_NUMBER, CallScript(keys=["2", "0705550123#"]))
            await asyncio.wait_for(asked.wait(), 20)

            async def both() -> bool:
                _, calls = await call_api(c, w, "GET", "/calls")
                _, cbs = await call_api(c, w, "GET", "/callbacks")
                return any(x["id"] == waiting.uniqueid for x in calls["items"]) and cbs["total"] == 1
            await until(both, "a caller waits and a callback is filed")
            uid, cb = waiting.uniqueid, asked.uniqueid
            before_audit = await call_api(c, w, "GET", "/audit", params={"per_page": "500"})

        ops: list[tuple[str, str, Any]] = [
            ("GET", "/schedules/kontorstid", None), ("PATCH", "/schedules/kontorstid", {"name": "x"}),
            ("DELETE", "/schedules/kontorstid", None), ("PUT", "/schedules/kontorstid/override", {"state": "closed"}),
            ("DELETE", "/schedules/kontorstid/override", None),
            ("GET", "/groups/salj", None), ("PATCH", "/groups/salj", {"name": "x"}), ("DELETE", "/groups/salj", None),
            ("POST", "/groups/salj/members", {"user": "anna"}), ("DELETE", "/groups/salj/members/anna", None),
            ("POST", "/groups/salj/members/anna/login", None), ("POST", "/groups/salj/members/anna/logout", None),
            ("GET", "/queues/support", None), ("PATCH", "/queues/support", {"name": "x"}),
            ("DELETE", "/queues/support", None), ("POST", "/queues/support/members", {"user": "david"}),
            ("DELETE", "/queues/support/members/david", None),
            *((("POST", f"/queues/support/agents/david/{verb}", {"reason": "x"} if verb == "pause" else None))
              for verb in ("login", "logout", "pause", "unpause", "end-wrapup")),
            ("GET", f"/callbacks/{cb}", None), ("POST", f"/callbacks/{cb}/cancel", {}),
            ("POST", f"/callbacks/{cb}/take", {"agent": "david"}),
            ("GET", f"/calls/{uid}", None), ("DELETE", f"/calls/{uid}", None),
            ("POST", f"/calls/{uid}/recording", None), ("PATCH", f"/calls/{uid}/recording", {"state": "paused"}),
            ("DELETE", f"/calls/{uid}/recording", None),
        ]
        async with await signed_in(w, "admin@annat.se") as other:
            for method, path, payload in ops:
                async with other.request(method, f"{w.base}{API}{path}", json=payload) as r:
                    assert r.status == 404, (method, path, r.status, await r.text())
            for path in ("/calls", "/callbacks", "/schedules", "/queues", "/groups"):
                status, listed = await call_api(other, w, "GET", path)
                assert status == 200 and listed["total"] == 0, (path, listed)
        # Göteborg's administrator: a call to the Stockholm number with no Göteborg agent on it is not theirs
        async with await signed_in(w, "gbg@exempel.se") as gbg:
            for method, path, payload in (("GET", f"/calls/{uid}", None), ("DELETE", f"/calls/{uid}", None),
                                          ("POST", "/groups/salj/members/anna/login", None)):
                async with gbg.request(method, f"{w.base}{API}{path}", json=payload) as r:
                    assert r.status == 404, (method, path, r.status)
            status, calls = await call_api(gbg, w, "GET", "/calls")
            assert calls["total"] == 0
        async with await signed_in(w, "boss@exempel.se") as c:
            assert await call_api(c, w, "GET", "/audit", params={"per_page": "500"}) == before_audit
            status, x = await call_api(c, w, "GET", f"/calls/{uid}")  # nothing happened to it
            assert status == 200 and x["recording"] is None
            status, q = await call_api(c, w, "GET", "/queues/support")
            assert q["members"] == ["david", "eva"] and q["live"]["callers_waiting"] == 2
            status, s = await call_api(c, w, "GET", "/schedules/kontorstid")
            assert s["override"] is None and s["name"] == "Kontorstid"
            status, cbs = await call_api(c, w, "GET", "/callbacks")
            assert cbs["items"][0]["status"] == "waiting"
    with_controller(tmp_path, body)
