"""A call to a user rings the phones the user's rule says, all at once or one after the other (issue 7): the pure
decision first, then a whole call through the controller and the simulated Asterisk."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from pbx.asterisk.contract import ContractSettings, encode_action
from pbx.asterisk.simulator import Endpoint, SimCall
from pbx.controller import Controller
from pbx.demo import annat, exempel
from pbx.routing.compile import compile_table
from pbx.routing.engine import Call, Decision, Dial, RingGroup, RingMember, Voicemail, decide
from pbx.routing.model import Forwarding, NumberConfig, PresenceEntry, PresenceStatus, Target, TenantConfig
from pbx.routing.phone import decide_phone
from pbx.routing.state import LineStatus, StateSnapshot
from pbx.routing.validate import validate_tenant
from tests.admin_world import World, problem, signed_in
from tests.admin_world import run as api_run
from tests.test_e2e_calls import TUE_10, run

BJORN_DIRECT = "+46812345602"
BJORN_MOBILE = "+46709876543"
CALLER = "+46701234567"
SETTINGS = ContractSettings()


def company(**bjorn: Any) -> TenantConfig:
    """Exempel AB where Björn has a direct number, a desk phone and a softphone, and the settings given."""
    cfg = exempel()
    settings: dict[str, Any] = {"fixed_number": BJORN_DIRECT, "devices": ("PJSIP/bjorn", "PJSIP/bjorn-soft"),
                                "forwarding": Forwarding(on_no_answer=Target("user", "cecilia"),
                                                         no_answer_after_s=30), **bjorn}
    users = tuple(replace(u, **settings) if u.key == "bjorn" else u for u in cfg.users)
    return replace(cfg, users=users, numbers=(*cfg.numbers, NumberConfig(BJORN_DIRECT, user="bjorn")))


def call_bjorn(cfg: TenantConfig, state: StateSnapshot | None = None, **position: Any) -> Decision:
    table = compile_table([cfg, annat()])
    return decide(table, state or StateSnapshot(), Call(BJORN_DIRECT, CALLER, **position), TUE_10)


def encoded(d: Decision, cfg: TenantConfig) -> str:
    return encode_action(d, compile_table([cfg, annat()]), "1.1", SETTINGS)


def test_in_parallel_one_dial_rings_every_phone_at_once() -> None:
    cfg = company()
    d = call_bjorn(cfg)
    assert d.action == Dial((), ("PJSIP/bjorn", "PJSIP/bjorn-soft"), 30, "bjorn")
    assert d.target == "user:bjorn"
    assert encoded(d, cfg) == "dial^^PJSIP/bjorn&PJSIP/bjorn-soft^30"


def test_in_sequence_the_phones_ring_in_order_and_the_last_until_the_no_answer_time() -> None:
    cfg = company(ring="sequential", ring_each_s=10)
    d = call_bjorn(cfg)
    assert isinstance(d.action, RingGroup), d.steps
    assert d.action.members == (RingMember("bjorn", ("PJSIP/bjorn",), 10),
                                RingMember("bjorn", ("PJSIP/bjorn-soft",), 20))
    assert d.action.overflow_after_s == 30 and d.target == "user:bjorn"
    assert "ring Björn Berg's phones in turn, 10 s each, for 30 s" in d.steps
    # the answer group's ring action of the dialplan contract: members dial~ring_s in order, overflow at 30 s
    assert encoded(d, cfg) == "ring^^PJSIP/bjorn~10;PJSIP/bjorn-soft~20^30^"


def test_a_mobile_number_rings_last_in_sequence_through_the_trunk() -> None:
    cfg = company(ring="sequential", ring_each_s=8, kind="both", mobile_number=BJORN_MOBILE)
    d = call_bjorn(cfg)
    assert isinstance(d.action, RingGroup)
    assert [(m.targets, m.ring_s) for m in d.action.members] == [
        (("PJSIP/bjorn",), 8), (("PJSIP/bjorn-soft",), 8), ((BJORN_MOBILE,), 14)]
    assert encoded(d, cfg).split("^")[2].split(";")[-1] == f"PJSIP/{BJORN_MOBILE}@trunk~14"


def test_phones_that_do_not_fit_in_the_no_answer_time_are_not_rung_and_the_trace_says_so() -> None:
    cfg = company(ring="sequential", ring_each_s=15, kind="both", mobile_number=BJORN_MOBILE,
                  forwarding=Forwarding(on_no_answer=Target("user", "cecilia"), no_answer_after_s=20))
    d = call_bjorn(cfg)
    assert isinstance(d.action, RingGroup)
    assert [(m.targets, m.ring_s) for m in d.action.members] == [(("PJSIP/bjorn",), 15), (("PJSIP/bjorn-soft",), 5)]
    assert f"20 s is not time enough for {BJORN_MOBILE}: not rung" in d.steps


def test_a_single_phone_in_sequence_is_an_ordinary_dial() -> None:
    d = call_bjorn(company(ring="sequential", devices=("PJSIP/bjorn",)))
    assert d.action == Dial((), ("PJSIP/bjorn",), 30, "bjorn")


@pytest.mark.parametrize("result", ["TIMEOUT", "NOANSWER"])
def test_forwarding_on_no_answer_follows_after_the_whole_sequence(result: str) -> None:
    cfg = company(ring="sequential", ring_each_s=10)
    first = call_bjorn(cfg)
    d = call_bjorn(cfg, tenant=first.tenant, flow=first.flow, node=first.node, target=first.target, result=result)
    assert d.action == Dial((), ("PJSIP/cecilia",), 20, "cecilia")
    assert "forward on no answer → user Cecilia Ek" in d.steps


def test_after_the_sequence_the_voicemail_takes_the_call_when_there_is_no_rule() -> None:
    cfg = company(ring="sequential", ring_each_s=10, forwarding=Forwarding(no_answer_after_s=30), voicemail="salj")
    d = call_bjorn(cfg, tenant="exempel", target="user:bjorn", result="TIMEOUT")
    assert isinstance(d.action, Voicemail) and d.action.box == "salj"


def test_presence_and_a_busy_line_are_decided_before_any_phone_rings() -> None:
    cfg = company(ring="sequential", ring_each_s=10, forwarding=Forwarding(on_busy=Target("voicemail", "salj")))
    busy = call_bjorn(cfg, StateSnapshot(lines={("exempel", "bjorn"): LineStatus.BUSY}))
    assert busy.target == "voicemail:salj"
    lunch = PresenceEntry(PresenceStatus.LUNCH, TUE_10.replace(hour=9), TUE_10.replace(hour=13))
    # at lunch with no rule and no voicemail: told so, then the phones ring anyway, still one after the other
    d = call_bjorn(company(ring="sequential", ring_each_s=10, forwarding=Forwarding(no_answer_after_s=30)),
                   StateSnapshot(presences={("exempel", "bjorn"): (lunch,)}))
    assert isinstance(d.action, RingGroup) and d.action.prompts[0] == "presence-lunch"
    assert [m.targets for m in d.action.members] == [("PJSIP/bjorn",), ("PJSIP/bjorn-soft",)]


def test_a_colleague_dialling_the_extension_gets_the_same_sequence() -> None:
    cfg = company(ring="sequential", ring_each_s=10)
    pd = decide_phone(compile_table([cfg, annat()]), StateSnapshot(), Call("202", "anna"), "anna", TUE_10)
    assert isinstance(pd.decision.action, RingGroup)
    assert [m.targets for m in pd.decision.action.members] == [("PJSIP/bjorn",), ("PJSIP/bjorn-soft",)]


def test_validation_refuses_an_unknown_ring_rule_and_a_ring_time_out_of_range() -> None:
    assert validate_tenant(company(ring="sequential", ring_each_s=10)) == []
    assert [(p.where, p.code) for p in validate_tenant(company(ring="round"))] == [("user bjorn", "bad-ring")]
    assert [p.code for p in validate_tenant(company(ring_each_s=2))] == ["bad-ring-time"]
    assert [p.code for p in validate_tenant(company(ring_each_s=301))] == ["bad-ring-time"]


# --- end to end --------------------------------------------------------------------------------------------


class DialWatch:
    """What the controller's AMI client hears of the dials: [DialString, DialStatus] per phone, in order (the
    dial string without its technology, as Asterisk reports it: `bjorn` for PJSIP/bjorn)."""

    def __init__(self, controller: Controller) -> None:
        self.dials: list[list[str]] = []
        self._by_channel: dict[str, list[str]] = {}
        assert controller.ami is not None
        controller.ami.on_event("DialBegin", self._begin)
        controller.ami.on_event("DialEnd", self._end)

    def _begin(self, message: Any) -> None:
        entry = [str(message.get("DialString")), ""]
        self._by_channel[str(message.get("DestChannel"))] = entry
        self.dials.append(entry)

    def _end(self, message: Any) -> None:
        entry = self._by_channel.get(str(message.get("DestChannel")))
        if entry is not None:
            entry[1] = str(message.get("DialStatus"))


async def anna_calls_bjorn(controller: Controller, sim: Any) -> tuple[SimCall, list[list[str]]]:
    watch = DialWatch(controller)
    placed = await sim.place_phone_call("anna", "202")
    c = await asyncio.wait_for(placed.wait(), 30.0)
    for _ in range(200):  # the last DialEnd may reach the controller just after the call ends
        if all(status for _, status in watch.dials):
            break
        await asyncio.sleep(0.01)
    return c, watch.dials


def test_bjorns_desk_phone_does_not_answer_and_his_softphone_does_in_sequence(tmp_path: Path) -> None:
    cfg = company(ring="sequential", ring_each_s=10)
    c, dials = run(tmp_path, anna_calls_bjorn, configs=[cfg, annat()],
                   endpoints={"PJSIP/bjorn": Endpoint(answer_after_s=None),
                              "PJSIP/bjorn-soft": Endpoint(answer_after_s=3.0, talk_s=5.0),
                              "PJSIP/cecilia": Endpoint(answer_after_s=1.0)})
    assert c.actions == ["ring^^PJSIP/bjorn~10;PJSIP/bjorn-soft~20^30^"]
    assert c.answered_by == "PJSIP/bjorn-soft"  # not Cecilia: forwarding waits for the whole sequence
    # the desk phone rang alone until its 10 s were over, then the softphone alone, which answered
    assert dials == [["bjorn", "NOANSWER"], ["bjorn-soft", "ANSWER"]]


def test_nobody_answering_the_sequence_is_forwarded_on_no_answer_end_to_end(tmp_path: Path) -> None:
    never = Endpoint(answer_after_s=None)
    c, dials = run(tmp_path, anna_calls_bjorn, configs=[company(ring="sequential", ring_each_s=10), annat()],
                   endpoints={"PJSIP/bjorn": never, "PJSIP/bjorn-soft": never,
                              "PJSIP/cecilia": Endpoint(answer_after_s=1.0)})
    assert [a.split("^")[0] for a in c.actions] == ["ring", "dial"]
    assert c.results[0] == "TIMEOUT" and c.answered_by == "PJSIP/cecilia"
    assert dials == [["bjorn", "NOANSWER"], ["bjorn-soft", "NOANSWER"], ["cecilia", "ANSWER"]]


# --- through the admin API -----------------------------------------------------------------------------------


def test_the_ring_rule_and_caller_id_are_set_through_the_api_and_a_number_not_owned_is_refused(
        tmp_path: Path) -> None:
    async def body(w: World) -> None:
        users = f"{w.base}/api/v1/users"
        async with await signed_in(w, "boss@exempel.se") as c:
            change = {"devices": ["PJSIP/bjorn", "PJSIP/bjorn-soft"], "ring": "sequential", "ring_each_s": 10,
                      "outbound_caller_id": "main"}
            async with c.patch(f"{users}/bjorn", json=change) as r:
                assert r.status == 200, await r.text()
            async with c.get(f"{users}/bjorn") as r:
                bjorn = await r.json()
            assert (bjorn["ring"], bjorn["ring_each_s"], bjorn["outbound_caller_id"]) == ("sequential", 10, "main")
            for wrong, code in (("+46851234500", "caller-id-not-owned"), ("fixed", "caller-id-not-owned")):
                async with c.patch(f"{users}/bjorn", json={"outbound_caller_id": wrong}) as r:
                    err = await problem(r, 422)  # Annat AB's number; Björn has no fixed number
                assert [(e["field"], e["code"]) for e in err["errors"]] == [("body.outbound_caller_id", code)], wrong
            for field, wrong in (("outbound_caller_id", "sometimes"), ("ring", "round"), ("ring_each_s", 1)):
                async with c.patch(f"{users}/bjorn", json={field: wrong}) as r:
                    assert (await problem(r, 422))["errors"][0]["field"] == f"body.{field}"
            async with c.post(users, json={"key": "frida", "name": "Frida", "ring": "sequential",
                                           "outbound_caller_id": "+46317654300"}) as r:
                made = await r.json()
            assert r.status == 201 and (made["ring"], made["ring_each_s"], made["outbound_caller_id"]) == (
                "sequential", 15, "+46317654300")
            async with c.delete(f"{w.base}/api/v1/numbers/%2B46317654300") as r:
                err = await problem(r, 409)  # Frida presents it: the number stays until she presents another
            assert [(e["field"], e["code"]) for e in err["errors"]] == [("user frida", "in-use")]
            async with c.get(f"{w.base}/api/v1/audit?resource=user&sort=at") as r:
                log = (await r.json())["items"]
            assert log[0]["before"]["ring"] == "parallel" and log[0]["after"]["ring"] == "sequential"
            async with c.get(f"{users}/bjorn") as r:
                assert (await r.json())["outbound_caller_id"] == "main"  # the refused changes changed nothing
        async with await signed_in(w, "admin@annat.se") as other:
            async with other.patch(f"{users}/bjorn", json={"ring": "parallel"}) as r:
                await problem(r, 404)
    api_run(tmp_path, body)
