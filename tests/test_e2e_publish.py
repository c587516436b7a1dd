"""Publishing a flow end to end (issue 6): two controller instances on one database (SQLite and PostgreSQL),
each in front of its own simulated Asterisk (real AMI and FastAGI sockets), configured and reloaded the way
`pbx up` does it, and the admin API over real HTTP on loopback.

New calls see a published version within a second on every instance; a call in progress finishes on the
version it started on; publishing an earlier version again (a rollback) behaves the same way. What is
asserted is what the simulated Asterisk saw: the position each route request carried (tenant^flow@version^…),
the action the controller answered, the phones AMI reported dialled, and the controller's trace of the call."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp import ClientSession, CookieJar
from aiohttp.test_utils import TestServer

from admin_api.app import ApiContext, create_app
from admin_api.auth import AdminStore
from pbx.asterisk.simulator import CallScript, SimCall
from pbx.calls import CallRecord
from pbx.controller import RELOAD_EVERY_S, Controller
from pbx.db import load_all, load_presence, make_engine, save_tenant, session_factory
from pbx.demo import MAIN_NUMBER, STOCKHOLM, annat, demo_accounts, exempel
from pbx.live import db_reloader, simulator_for
from pbx.settings import Settings

API = "/api/v1"
PASSWORD = "correct horse battery"
TUE_10 = datetime(2026, 11, 24, 10, 0, tzinfo=STOCKHOLM)  # office hours: the main number answers with its menu
SPEED = 1.0  # simulated time runs with the wall clock, so a caller can sit in the menu across a publish
# The caller already in the menu presses 1 this long into it: after the publish, the 1 s wait and the new calls'
# first decisions, and within the menu's limits (welcome and menu prompts, 2 s each, then 5 s for a key).
KEY_IN_MENU_S = 4.0
NEW_CALLS_AFTER_S = 1.0  # new calls are placed this long after the publish's 200
SALES_PHONES = {"anna", "+46701111111@trunk", "bjorn", "cecilia"}  # the Sälj group (Anna's mobile via the trunk)


@dataclass
class Instance:
    controller: Controller
    sim: Any  # its own SimAsterisk
    dialled: list[tuple[str, str]] = field(default_factory=list)  # AMI DialBegin: (caller's Uniqueid, DialString)

    def on_dial_begin(self, message: Any) -> None:
        self.dialled.append((message.get("Uniqueid", ""), message.get("DialString", "")))

    def phones_rung(self, c: SimCall) -> set[str]:
        return {dialstring for uid, dialstring in self.dialled if uid == c.uniqueid}

    def trace(self, c: SimCall) -> list[str]:
        record: CallRecord | None = self.controller.calls.get(c.uniqueid)
        assert record is not None, f"instance has no record of call {c.uniqueid}"
        return record.path


@dataclass
class Site:
    api: ClientSession  # signed in as an administrator of Exempel AB who may manage flows
    base: str
    instances: list[Instance]

    async def request(self, method: str, path: str, payload: Any = None) -> Any:
        async with self.api.request(method, f"{self.base}{API}{path}", json=payload) as r:
            assert r.status == 200, f"{method} {path}: {r.status} {await r.text()}"
            return await r.json()


@asynccontextmanager
async def site(db_url: str, tmp: Path, instances: int = 2) -> AsyncIterator[Site]:
    """The demo tenants in the database; `instances` controllers started from it as `pbx up` starts one (the
    configuration loaded, the database reloader polling the configuration stamp); the admin API on the same
    database, and a signed-in administrator."""
    engine = make_engine(db_url)
    sessions = session_factory(engine)
    with sessions() as session:
        save_tenant(session, exempel(), demo_accounts())
        save_tenant(session, annat())
        session.commit()
        configs, presences = load_all(session), load_presence(session)
    clock = lambda: datetime.now(UTC)  # noqa: E731
    admins = AdminStore(sessions, clock)
    await asyncio.to_thread(admins.create_admin, "exempel", "flows@exempel.se", "Flo Wes", PASSWORD, "custom",
                            rights=["view", "flows"])
    async with AsyncExitStack() as stack:
        stack.callback(engine.dispose)
        made: list[Instance] = []
        for n in range(instances):
            settings = Settings(database_url=db_url, log_level="INFO", agi_port=0, http_port=0,
                                spool=str(tmp / f"spool-{n + 1}"))
            # each Asterisk's clock ten minutes apart, so their call ids ("epoch.sequence") never coincide
            sim = simulator_for(settings, configs, TUE_10 + timedelta(minutes=10 * n), SPEED)
            reloader = db_reloader(settings)
            stack.callback(reloader.close)
            controller = Controller(settings, configs, presences, clock=sim.clock.now, simulator=sim,
                                    reload=reloader)
            await controller.start()
            stack.push_async_callback(controller.stop)
            instance = Instance(controller, sim)
            assert controller.ami is not None
            controller.ami.on_event("DialBegin", instance.on_dial_begin)
            made.append(instance)
        assert len({i.controller.agi.port for i in made}) == instances  # separate FastAGI servers
        app = create_app(ApiContext(sessions, admins, clock), validate_responses=True)
        server = await stack.enter_async_context(TestServer(app, host="127.0.0.1"))
        base = str(server.make_url("")).rstrip("/")
        client = await stack.enter_async_context(
            ClientSession(headers={"X-Requested-With": "pbx"}, cookie_jar=CookieJar(unsafe=True)))
        async with client.post(f"{base}{API}/login", json={"login": "flows@exempel.se", "password": PASSWORD}) as r:
            assert r.status == 200, await r.text()
            assert (await r.json())["second_factor"] == "none"
        yield Site(client, base, made)


# --- what the simulated Asterisk saw ---------------------------------------------------------------


def requests(c: SimCall) -> list[tuple[str, str, str]]:
    """Each FastAGI route request of the call: (position the dialplan sent, result it sent, PBX_DO received)."""
    return [(s.args[1], s.args[2], s.value) for s in c.steps if s.kind == "agi"]


def flow_of(position: str) -> str:
    """The flow version a position carries: "exempel^huvud@2^meny^^0^0" → "huvud@2"."""
    return position.split("^")[1]


def menu_of(c: SimCall) -> tuple[datetime, str]:
    """When the controller put the caller in the menu, and the flow version in the position Asterisk sent back."""
    at = next(s.at for s in c.steps if s.kind == "action" and s.value.startswith("menu^"))
    return at, flow_of(requests(c)[1][0])


def pressing_1(c: SimCall) -> tuple[datetime, str, str]:
    """When the caller pressed 1, the flow version the call was on then, and what the controller answered."""
    at = next(s.at for s in c.steps if s.kind == "result" and s.value == "1")
    [(position, _, action)] = [r for r in requests(c) if r[1] == "1"]
    return at, flow_of(position), action


async def in_the_menu(c: SimCall, timeout_s: float = 10.0) -> None:
    """Until the controller has sent the caller to the menu; the caller has pressed nothing yet."""
    deadline = time.monotonic() + timeout_s
    while not any(a.startswith("menu^") for a in c.actions):
        assert time.monotonic() < deadline, f"the caller never reached the menu: {c.steps}"
        await asyncio.sleep(0.005)
    assert not [s for s in c.steps if s.kind == "result"], "pressed a key too soon"


async def place(instance: Instance, **script: Any) -> SimCall:
    placed: SimCall = await instance.sim.place_call("+46701234567", MAIN_NUMBER, CallScript(keys=["1"], **script))
    return placed


@dataclass
class Seen:
    waiting: SimCall  # in the menu during the change
    new: list[SimCall]  # placed NEW_CALLS_AFTER_S after the change's 200: on instance 2, then on instance 1
    changed_at: dict[int, tuple[datetime, datetime]]  # per instance: its clock when the change was sent and done


async def across_a_change(s: Site, waiting_on: int, change: Callable[[], Awaitable[None]]) -> Seen:
    """A caller on instance `waiting_on` reaches the menu; `change` is made through the API; a second later a
    new call is placed on each instance; each caller presses 1."""
    # the waiting caller hangs up a little after pressing 1 (where the call went is known by then), new ones too
    waiting = await place(s.instances[waiting_on], key_delay_s=KEY_IN_MENU_S, hangup_after_s=KEY_IN_MENU_S + 1.5)
    await in_the_menu(waiting)
    before = {n: i.sim.clock.now() for n, i in enumerate(s.instances)}
    await change()
    changed_at = {n: (before[n], i.sim.clock.now()) for n, i in enumerate(s.instances)}
    await asyncio.sleep(NEW_CALLS_AFTER_S)
    new = [await place(s.instances[1], hangup_after_s=2.5), await place(s.instances[0], hangup_after_s=2.5)]
    for c in [waiting, *new]:
        await asyncio.wait_for(c.wait(), 30)
    return Seen(waiting, new, changed_at)


async def draft_pressing_1_for_ekonomi(s: Site) -> None:
    """Through the API: a draft of the main flow where 1 leads to Ekonomi's voicemail (and 3 to Sälj), validated."""
    huvud = await s.request("GET", "/flows/huvud")
    menu = next(n for n in huvud["published"]["nodes"] if n["key"] == "meny")
    choices = [[digit, {"1": "ekonomi", "3": "salj"}.get(digit, to)] for digit, to in menu["params"]["choices"]]
    draft = await s.request("PATCH", "/flows/huvud/draft",
                            {"upsert": [{**menu, "params": {**menu["params"], "choices": choices}}]})
    assert draft["state"] == "draft" and draft["based_on"] == huvud["published"]["version"]
    assert await s.request("POST", "/flows/huvud/draft/validate") == {"valid": True, "problems": []}


def went_to_sales(i: Instance, c: SimCall, routed_by: Instance | None = None) -> None:
    """Version 1's 1: the Sälj answer group rings (`i`: the instance in front of the call's Asterisk;
    `routed_by`: the one that answered the key's route request, if another)."""
    _, flow, action = pressing_1(c)
    kind, _play, members, *_ = action.split("^")
    assert (flow, kind) == ("huvud@1", "ring") and members.startswith("PJSIP/anna&"), action
    assert i.phones_rung(c) and i.phones_rung(c) <= SALES_PHONES  # Asterisk dialled the group's phones
    assert (routed_by or i).trace(c)[-1].startswith("pressed 1 at menu Huvudmeny → answer group Sälj")


def went_to_ekonomi(i: Instance, c: SimCall) -> None:
    """Version 2's 1: Ekonomi's voicemail box; no phone rings."""
    _, flow, action = pressing_1(c)
    assert flow == "huvud@2" and action.startswith("voicemail^") and "/voicemail/exempel/ekonomi/" in action, action
    assert i.phones_rung(c) == set()
    assert i.trace(c)[-1] == "pressed 1 at menu Huvudmeny → voicemail Ekonomi"


# --- the tests -------------------------------------------------------------------------------------


def test_new_calls_on_every_instance_get_the_published_version_and_a_caller_in_the_menu_keeps_theirs(
        db_url: str, tmp_path: Path) -> None:
    assert RELOAD_EVERY_S < NEW_CALLS_AFTER_S  # each instance polls the stamp at least once in the wait

    async def main() -> tuple[Seen, list[Instance], Any]:
        async with site(db_url, tmp_path) as s:
            before = await s.request("GET", "/flows/huvud")
            assert before["published"]["version"] == 1 and before["numbers"] == [MAIN_NUMBER]

            async def publish() -> None:
                await draft_pressing_1_for_ekonomi(s)
                done = await s.request("POST", "/flows/huvud/publish", {})
                assert (done["before"], done["after"]) == (1, 2)

            seen = await across_a_change(s, 0, publish)
            return seen, s.instances, await s.request("GET", "/flows/huvud/versions?sort=version")

    seen, (first, second), versions = asyncio.run(main())
    assert [(v["version"], v["state"]) for v in versions["items"]] == [(1, "earlier"), (2, "published")]

    # the caller who was in version 1's menu during the publish pressed 1 after it, and went where 1 said
    entered, on = menu_of(seen.waiting)
    assert on == "huvud@1" and entered < seen.changed_at[0][0]
    pressed, _, _ = pressing_1(seen.waiting)
    assert pressed > seen.changed_at[0][1]
    went_to_sales(first, seen.waiting)
    assert "(version 1)" in first.trace(seen.waiting)[0]

    # new calls placed a second after the publish's 200, on either instance, got version 2
    for instance, c in zip((second, first), seen.new, strict=True):
        assert menu_of(c)[1] == "huvud@2"
        assert "(version 2)" in instance.trace(c)[0]
        went_to_ekonomi(instance, c)
    # instance 1 routed the waiting caller's key with version 2 already in force: not a stale table
    assert menu_of(seen.new[1])[0] < pressed


def test_publishing_an_earlier_version_again_reaches_new_calls_while_a_call_on_the_later_one_finishes_on_it(
        db_url: str, tmp_path: Path) -> None:
    async def main() -> tuple[Seen, list[Instance], Any]:
        async with site(db_url, tmp_path) as s:
            await draft_pressing_1_for_ekonomi(s)
            assert (await s.request("POST", "/flows/huvud/publish", {}))["after"] == 2
            await asyncio.sleep(NEW_CALLS_AFTER_S)  # every instance has version 2 in force

            async def roll_back() -> None:
                done = await s.request("POST", "/flows/huvud/publish", {"version": 1})
                assert (done["before"], done["after"]) == (2, 1)

            seen = await across_a_change(s, 1, roll_back)
            return seen, s.instances, await s.request("GET", "/flows/huvud/versions?sort=version")

    seen, (first, second), versions = asyncio.run(main())
    assert [(v["version"], v["state"], v["published_times"]) for v in versions["items"]] == [
        (1, "published", 2), (2, "earlier", 1)]

    # the caller who entered version 2's menu on instance 2 before the rollback finished on version 2
    entered, on = menu_of(seen.waiting)
    assert on == "huvud@2" and entered < seen.changed_at[1][0]
    pressed, _, _ = pressing_1(seen.waiting)
    assert pressed > seen.changed_at[1][1]
    went_to_ekonomi(second, seen.waiting)
    assert "(version 2)" in second.trace(seen.waiting)[0]

    # new calls after the rollback go the old way again, on both instances
    for instance, c in zip((second, first), seen.new, strict=True):
        assert menu_of(c)[1] == "huvud@1"
        assert "(version 1)" in instance.trace(c)[0]
        went_to_sales(instance, c)
    assert menu_of(seen.new[0])[0] < pressed  # instance 2 had version 1 back in force before the key


def test_the_key_of_a_call_in_progress_may_be_routed_by_another_instance_and_keeps_the_callers_version(
        db_url: str, tmp_path: Path) -> None:
    """Decisions are stateless: the caller's position carries the version, so an instance that never saw the call
    start (here: Asterisk 1's route requests go to instance 2 after the publish) still finishes it on it."""
    async def main() -> tuple[Seen, list[Instance]]:
        async with site(db_url, tmp_path) as s:
            first, second = s.instances

            async def publish_and_move_asterisk_1_to_instance_2() -> None:
                await draft_pressing_1_for_ekonomi(s)
                assert (await s.request("POST", "/flows/huvud/publish", {}))["after"] == 2
                first.sim.set_agi_target(second.controller.settings.agi_host, second.controller.agi.port)

            return await across_a_change(s, 0, publish_and_move_asterisk_1_to_instance_2), s.instances

    seen, (first, second) = asyncio.run(main())
    assert menu_of(seen.waiting)[1] == "huvud@1"
    assert first.trace(seen.waiting) and "(version 1)" in first.trace(seen.waiting)[0]  # instance 1 began it
    assert len(second.trace(seen.waiting)) == 1  # instance 2 answered only the key
    went_to_sales(first, seen.waiting, routed_by=second)
    on_instance_2, on_asterisk_1 = seen.new
    went_to_ekonomi(second, on_instance_2)
    assert not first.controller.calls.get(on_asterisk_1.uniqueid)  # its requests went to instance 2 only
    _, flow, action = pressing_1(on_asterisk_1)
    assert flow == "huvud@2" and "/voicemail/exempel/ekonomi/" in action and first.phones_rung(on_asterisk_1) == set()
