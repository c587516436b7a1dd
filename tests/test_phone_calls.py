"""Calls from users' phones (issue 7): colleagues, outside numbers, emergency, caller ID and feature codes.

The pure decision (pbx.routing.phone) first, then whole calls: a real controller in front of the simulator, over
real AMI and FastAGI sockets, the phone placing its call into extensions.conf's pbx-phones."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from pbx.asterisk.contract import ContractError, ContractSettings, encode_action, phone_position, split_phone_position
from pbx.asterisk.simulator import CallScript, Endpoint, SimCall
from pbx.controller import Controller
from pbx.demo import MAIN_NUMBER, STOCKHOLM, annat, exempel
from pbx.features import PhoneFeatures
from pbx.routing.compile import compile_table
from pbx.routing.engine import Call, Dial, Hangup, Service
from pbx.routing.model import BarringClass, Forwarding, PresenceEntry, PresenceStatus, Target, TenantConfig
from pbx.routing.phone import ANONYMOUS, PhoneDecision, caller_id_for, decide_phone, national_to_e164
from pbx.routing.state import LineStatus, StateSnapshot
from pbx.routing.validate import InvalidConfig, validate_tenant
from tests.test_e2e_calls import TUE_10, run

EVERYTHING = frozenset(BarringClass)
LUNCH_UNTIL_13 = PresenceEntry(PresenceStatus.LUNCH, TUE_10.replace(hour=9), TUE_10.replace(hour=13))


def tenant(**users: dict[str, Any]) -> TenantConfig:
    """Exempel AB with some users' settings changed."""
    cfg = exempel()
    return replace(cfg, users=tuple(replace(u, **users[u.key]) if u.key in users else u for u in cfg.users))


def phone(dialled: str, endpoint: str, cfg: TenantConfig | None = None, state: StateSnapshot | None = None,
          **position: Any) -> PhoneDecision:
    table = compile_table([cfg or exempel(), annat()])
    return decide_phone(table, state or StateSnapshot(), Call(dialled, endpoint, **position), endpoint, TUE_10)


def hangup(pd: PhoneDecision) -> Hangup:
    assert isinstance(pd.decision.action, Hangup), pd.decision.steps
    return pd.decision.action


def dial(pd: PhoneDecision) -> Dial:
    assert isinstance(pd.decision.action, Dial), pd.decision.steps
    return pd.decision.action


# --- the pure decision ---------------------------------------------------------------------------------------


def test_an_unknown_phone_hears_it_is_not_connected_and_nothing_is_dialled() -> None:
    pd = phone("202", "stranger")
    assert hangup(pd) == Hangup(("phone-unknown-device",), "rejected")
    assert pd.decision.tenant is None and pd.user is None


def test_a_phone_two_companies_claim_belongs_to_neither() -> None:
    other = replace(annat(), users=(replace(exempel().users[0], key="imposter", extension="9"),))
    table = compile_table([exempel(), other])
    pd = decide_phone(table, StateSnapshot(), Call("202", "anna"), "anna", TUE_10)
    assert hangup(pd).prompts == ("phone-unknown-device",)


def test_a_position_of_another_tenant_is_never_continued() -> None:
    pd = phone("", "anna", tenant="annat", target="user:bjorn", result="NOANSWER")
    assert hangup(pd) == Hangup(("ss-noservice",), "failure")


def test_dialling_a_colleagues_extension_rings_their_phone_with_the_phones_own_caller_id() -> None:
    pd = phone("202", "anna")
    assert dial(pd).targets == ("PJSIP/bjorn",) and pd.decision.target == "user:bjorn"
    assert pd.caller_id == "201"  # internal: the callee sees Anna's extension, whatever her phone sends


def test_a_colleague_at_lunch_is_announced_then_the_forwarding_applies() -> None:
    cfg = tenant(bjorn={"forwarding": Forwarding(on_no_answer=Target("user", "cecilia"))})
    state = StateSnapshot(presences={("exempel", "bjorn"): (LUNCH_UNTIL_13,)})
    action = dial(phone("202", "anna", cfg, state))
    assert action.prompts == ("presence-lunch", "presence-until", "time:13:00")
    assert action.targets == ("PJSIP/cecilia",)


def test_a_colleague_who_does_not_answer_ends_with_a_word_not_at_the_switchboard_box() -> None:
    pd = phone("202", "anna", tenant="exempel", target="user:bjorn", result="NOANSWER")
    assert hangup(pd) == Hangup(("unavailable",))  # Björn has no voicemail; the tenant's fallback is not used


def test_a_busy_colleague_follows_call_waiting_or_the_busy_rule() -> None:
    busy = StateSnapshot(lines={("exempel", "bjorn"): LineStatus.BUSY})
    assert hangup(phone("202", "anna", state=busy)).prompts == ("unavailable",)
    to_box = tenant(bjorn={"forwarding": Forwarding(on_busy=Target("voicemail", "salj"))})
    assert phone("202", "anna", to_box, busy).decision.target == "voicemail:salj"
    waiting = tenant(bjorn={"call_waiting": True})
    assert dial(phone("202", "anna", waiting, busy)).targets == ("PJSIP/bjorn",)


def test_a_colleagues_direct_number_stays_inside_and_the_main_number_runs_the_flow() -> None:
    assert dial(phone("0812345601", "bjorn")).targets == ("PJSIP/anna", "+46701111111")
    assert phone("0812345600", "bjorn").decision.flow == "huvud"


@pytest.mark.parametrize(("digits", "e164"), [("0701234567", "+46701234567"), ("004420794960000", "+4420794960000"),
                                              ("+4420794960000", "+4420794960000"), ("123", None), ("0", None)])
def test_dialled_digits_become_e164_the_swedish_way(digits: str, e164: str | None) -> None:
    assert national_to_e164(digits, "46") == e164


def test_an_outside_number_leaves_through_the_trunk_with_the_users_caller_id() -> None:
    pd = phone("0701234567", "anna")
    assert dial(pd).targets == ("+46701234567",)
    assert pd.caller_id == "+46812345601"  # Anna's direct number by default


def test_a_barred_call_says_why_and_dials_nothing() -> None:
    pd = phone("004420794960000", "olle")
    assert hangup(pd) == Hangup(("barred-international",), "rejected")
    assert "Olle Östlund is barred from international calls" in " ".join(pd.decision.steps)
    assert hangup(phone("0900123456", "olle")).prompts == ("barred-premium",)


@pytest.mark.parametrize("digits", ["112", "0046112", "+46112", "11414"])
def test_emergency_numbers_go_out_whatever_the_barring(digits: str) -> None:
    cfg = tenant(bjorn={"barred": EVERYTHING})
    pd = phone(digits, "bjorn", cfg)
    assert dial(pd).targets == (digits.removeprefix("0046").removeprefix("+46"),)
    assert pd.caller_id == "+46812345600"  # Björn has no direct number: the main number


def test_the_chosen_caller_id_is_presented_only_while_the_tenant_owns_it() -> None:
    table = compile_table([tenant(anna={"outbound_caller_id": "mobile"}), annat()])
    t = table.tenants["exempel"]
    assert caller_id_for(table, t, t.users["anna"]) == "+46701111111"
    assert caller_id_for(table, t, replace(t.users["anna"], outbound_caller_id="main")) == "+46812345600"
    # a number that has gone to another tenant since: back to what the tenant owns
    assert caller_id_for(table, t, replace(t.users["anna"], outbound_caller_id="+46851234500")) == "+46812345601"
    nothing = replace(annat(), users=(replace(exempel().users[1], extension="1"),), numbers=())
    lone = compile_table([nothing]).tenants["annat"]
    assert caller_id_for(compile_table([nothing]), lone, lone.users["bjorn"]) == ANONYMOUS


def test_validation_refuses_a_caller_id_the_tenant_does_not_own() -> None:
    problems = validate_tenant(tenant(anna={"outbound_caller_id": "+46851234500"}))  # Annat AB's number
    assert [(p.where, p.code) for p in problems] == [("user anna", "caller-id-not-owned")]
    assert [p.code for p in validate_tenant(tenant(bjorn={"outbound_caller_id": "fixed"}))] == ["caller-id-not-owned"]
    assert [p.code for p in validate_tenant(tenant(bjorn={"outbound_caller_id": "sometimes"}))] == ["bad-caller-id"]
    assert validate_tenant(tenant(anna={"outbound_caller_id": "+46317654300"})) == []  # Göteborg's main number
    with pytest.raises(InvalidConfig):
        compile_table([tenant(anna={"outbound_caller_id": "+46851234500"})])


def test_validation_refuses_one_phone_for_two_users() -> None:
    problems = validate_tenant(tenant(bjorn={"devices": ("PJSIP/bjorn", "PJSIP/anna")}))
    assert [p.code for p in problems] == ["device-taken"]


@pytest.mark.parametrize(("digits", "kind", "member", "said"), [
    ("*45", "login", None, ("agent-logged-in",)),
    ("*451", "login", "queue:support", ("agent-logged-in",)),
    ("*462", "logout", "group:salj", ("agent-logged-out",)),
    ("*47", "pause", None, ("agent-paused",)),
    ("*48", "unpause", None, ("agent-unpaused",)),
    ("#21", "forward-off", None, ("forward-off",)),
    ("#22", "presence-clear", None, ("presence-cleared",)),
])
def test_feature_codes_for_agents_forwarding_and_presence(digits: str, kind: str, member: str | None,
                                                          said: tuple[str, ...]) -> None:
    pd = phone(digits, "david")
    assert pd.feature is not None and (pd.feature.kind, pd.feature.member, pd.feature.done) == (kind, member, said)
    assert (pd.feature.tenant, pd.feature.user) == ("exempel", "david")
    assert hangup(pd).prompts == said


def test_presence_by_code_until_a_time_or_for_minutes() -> None:
    lunch = phone("*2211300", "bjorn").feature
    assert lunch is not None and lunch.presence is not None
    assert lunch.presence.status is PresenceStatus.LUNCH and lunch.presence.end == TUE_10.replace(hour=13)
    assert lunch.done == ("presence-set", "presence-lunch", "presence-until", "time:13:00")
    meeting = phone("*22245", "bjorn").feature
    assert meeting is not None and meeting.presence is not None
    assert meeting.presence.end == TUE_10.replace(minute=45)
    assert phone("*220800", "bjorn").feature is None  # status 0 does not exist
    vacation = phone("*2250800", "bjorn").feature  # 08:00 has passed today: until tomorrow's
    assert vacation is not None and vacation.presence is not None
    assert vacation.presence.end == datetime(2026, 11, 25, 8, 0, tzinfo=STOCKHOLM)
    assert hangup(phone("*2212599", "bjorn")).prompts == ("feature-invalid",)


def test_forwarding_by_code_to_a_colleague_or_a_number_the_barring_allows() -> None:
    to_colleague = phone("*21203", "bjorn").feature
    assert to_colleague is not None and to_colleague.target == Target("user", "cecilia")
    to_mobile = phone("*210701234567", "bjorn").feature
    assert to_mobile is not None and to_mobile.target == Target("external", "+46701234567")
    assert to_mobile.done == ("forward-on", "digits:0701234567")
    assert hangup(phone("*21004420794960000", "olle")).prompts == ("barred-international",)
    assert hangup(phone("*21112", "bjorn")).prompts == ("feature-invalid",)


def test_unknown_codes_and_queues_are_said_so() -> None:
    assert hangup(phone("*459", "david")).prompts == ("agent-not-member",)
    assert hangup(phone("*77", "david")).prompts == ("feature-invalid",)


def test_star_98_and_the_own_extension_reach_the_voicemail_service() -> None:
    for digits in ("*98", "401"):
        pd = phone(digits, "olle")
        assert isinstance(pd.decision.action, Service)
        assert (pd.decision.flow, pd.decision.node, pd.user) == ("rostbrevlada", "lyssna", "olle")


def test_an_outbound_call_that_ends_busy_says_so() -> None:
    pd = phone("0701234567", "anna", tenant="exempel", target="outbound:+46701234567", result="BUSY")
    assert hangup(pd) == Hangup(("phone-busy",), "busy")
    assert hangup(phone("0701234567", "anna", tenant="exempel", target="outbound:+46701234567",
                        result="ANSWER")) == Hangup(())


def test_the_phone_mark_travels_as_the_positions_last_field() -> None:
    assert split_phone_position("phone:anna") == ("", "anna")
    pos = phone_position("exempel^^^user:bjorn^0^0", "anna")
    assert split_phone_position(pos) == ("exempel^^^user:bjorn^0^0", "anna")
    assert split_phone_position("exempel^^^user:bjorn^0^0") == ("exempel^^^user:bjorn^0^0", None)


# --- whole calls through the simulator -----------------------------------------------------------------------


async def from_phone(sim: Any, endpoint: str, dialled: str, timeout: float = 30.0) -> SimCall:
    placed = await sim.place_phone_call(endpoint, dialled, CallScript())
    return await asyncio.wait_for(placed.wait(), timeout)


class TrunkWatch:
    """Every channel the simulated Asterisk opens towards the trunk, as the controller's AMI client hears it
    (Newchannel), and the hang-ups it has heard: events come in order, so once a call's Hangup is heard every
    trunk channel that call opened has been heard too."""

    def __init__(self, controller: Controller) -> None:
        self.legs: list[dict[str, str]] = []
        self.gone: set[str] = set()
        assert controller.ami is not None
        controller.ami.on_event("Newchannel", self._new)
        controller.ami.on_event("Hangup", lambda m: self.gone.add(str(m.get("Uniqueid"))))

    def _new(self, message: Any) -> None:
        if str(message.get("Channel", "")).startswith("PJSIP/trunk-"):
            self.legs.append({"channel": message.get("Channel"), "caller": message.get("CallerIDNum")})

    async def after(self, call: SimCall) -> list[dict[str, str]]:
        for _ in range(500):
            if call.uniqueid in self.gone:
                break
            await asyncio.sleep(0.01)
        assert call.uniqueid in self.gone, "the call's Hangup never reached the controller"
        return self.legs


def plays(c: SimCall, prompt: str) -> bool:
    return any(f"pbx/sv/{prompt}" in action.split("^")[1].split("&") for action in c.actions)


def test_anna_calls_bjorn_at_lunch_hears_it_and_reaches_his_forwarding_target(tmp_path: Path) -> None:
    cfg = tenant(bjorn={"forwarding": Forwarding(on_no_answer=Target("user", "cecilia"))})

    async def body(controller: Controller, sim: Any) -> tuple[SimCall, SimCall]:
        lunch = await from_phone(sim, "bjorn", "*2211300")
        return lunch, await from_phone(sim, "anna", "202")

    lunch, c = run(tmp_path, body, configs=[cfg, annat()],
                   endpoints={"PJSIP/cecilia": Endpoint(answer_after_s=2.0), "PJSIP/bjorn": Endpoint(None)})
    assert lunch.actions == ["hangup^pbx/sv/presence-set&pbx/sv/presence-lunch&pbx/sv/presence-until&pbx/sv/num-13"
                             "^16"]
    assert plays(c, "presence-lunch") and plays(c, "presence-until") and plays(c, "num-13")
    assert c.answered_by == "PJSIP/cecilia"
    assert c.steps[0].args[1] == "phone:anna"  # who calls is the phone Asterisk names


def test_bjorn_barred_from_international_hears_why_and_nothing_leaves_on_the_trunk(tmp_path: Path) -> None:
    cfg = tenant(bjorn={"barred": frozenset({BarringClass.INTERNATIONAL})})

    async def body(controller: Controller, sim: Any) -> tuple[SimCall, list[dict[str, str]]]:
        watch = TrunkWatch(controller)
        c = await from_phone(sim, "bjorn", "004420794960000")
        return c, await watch.after(c)

    c, legs = run(tmp_path, body, configs=[cfg, annat()])
    assert c.actions == ["hangup^pbx/sv/barred-international^21"]
    assert legs == [] and c.answered_by is None


def test_112_goes_out_even_when_every_call_is_barred(tmp_path: Path) -> None:
    cfg = tenant(bjorn={"barred": EVERYTHING})

    async def body(controller: Controller, sim: Any) -> tuple[SimCall, list[dict[str, str]]]:
        watch = TrunkWatch(controller)
        c = await from_phone(sim, "bjorn", "112")
        return c, await watch.after(c)

    c, legs = run(tmp_path, body, configs=[cfg, annat()])
    assert c.actions[0] == "dial^^PJSIP/112@trunk^600^+46812345600"
    assert c.answered_by == "PJSIP/112@trunk"
    assert [leg["caller"] for leg in legs] == ["+46812345600"]


def test_an_outbound_call_presents_the_caller_id_the_user_chose(tmp_path: Path) -> None:
    cfg = tenant(anna={"outbound_caller_id": "mobile"})

    async def body(controller: Controller, sim: Any) -> tuple[SimCall, list[dict[str, str]]]:
        watch = TrunkWatch(controller)
        c = await from_phone(sim, "anna", "0317001122")
        return c, await watch.after(c)

    c, legs = run(tmp_path, body, configs=[cfg, annat()])
    assert c.actions[0] == "dial^^PJSIP/+46317001122@trunk^120^+46701111111"
    assert c.answered_by == "PJSIP/+46317001122@trunk"
    assert [leg["caller"] for leg in legs] == ["+46701111111"]  # not the phone's own "anna"


def test_an_agent_logs_in_to_support_by_code_and_gets_the_waiting_caller(tmp_path: Path) -> None:
    async def body(controller: Controller, sim: Any) -> tuple[list[SimCall], SimCall]:
        codes = [await from_phone(sim, "eva", "*47"), await from_phone(sim, "david", "*46")]
        caller = await sim.place_call("+46701234567", MAIN_NUMBER, CallScript(keys=["2"]))
        for _ in range(400):  # until the caller waits in the queue (Eva is logged in, but on a break)
            if caller.uniqueid in controller.acd.callers:
                break
            await asyncio.sleep(0.01)
        assert not controller.acd.callers[caller.uniqueid].agent
        codes.append(await from_phone(sim, "david", "*451"))
        await asyncio.wait_for(caller.wait(), 30)
        return codes, caller

    codes, caller = run(tmp_path, body, endpoints={"PJSIP/david": Endpoint(answer_after_s=1.0, talk_s=5.0)})
    assert [c.actions for c in codes] == [["hangup^pbx/sv/agent-paused^16"], ["hangup^pbx/sv/agent-logged-out^16"],
                                          ["hangup^pbx/sv/agent-logged-in^16"]]
    assert caller.answered_by == "PJSIP/david"


def test_presence_set_and_cleared_by_code_is_what_callers_hear(tmp_path: Path) -> None:
    async def body(controller: Controller, sim: Any) -> tuple[Any, ...]:
        view = controller.store.view()
        set_call = await from_phone(sim, "cecilia", "*22230")  # in a meeting for 30 minutes
        during = view.presence("exempel", "cecilia", sim.clock.now())
        heard = await from_phone(sim, "anna", "203")
        cleared = await from_phone(sim, "cecilia", "#22")
        after = view.presence("exempel", "cecilia", sim.clock.now())
        return set_call, during, heard, cleared, after

    set_call, during, heard, cleared, after = run(tmp_path, body, endpoints={"PJSIP/cecilia": Endpoint(None)})
    assert set_call.actions[0].startswith("hangup^pbx/sv/presence-set&pbx/sv/presence-meeting&pbx/sv/presence-until")
    assert during is not None and during.status is PresenceStatus.MEETING
    assert plays(heard, "presence-meeting")
    assert cleared.actions == ["hangup^pbx/sv/presence-cleared^16"]
    assert after is None


def test_forwarding_by_code_is_a_new_audited_configuration_version_calls_follow(tmp_path: Path) -> None:
    from pbx.db import load_presence, load_tenant
    from pbx.db.models import AuditRow

    async def body(controller: Controller, sim: Any) -> tuple[Any, ...]:
        on = await from_phone(sim, "bjorn", "*210701234567")
        forwarded = await from_phone(sim, "anna", "202")
        off = await from_phone(sim, "bjorn", "#21")
        rung = await from_phone(sim, "anna", "202")
        assert isinstance(controller.router.features, PhoneFeatures)
        sessions = controller.router.features.sessions
        assert sessions is not None
        await from_phone(sim, "bjorn", "*2211300")
        with sessions() as session:
            stored = load_presence(session, "exempel").get(("exempel", "bjorn"))
        await from_phone(sim, "bjorn", "#22")
        return on, forwarded, off, rung, sessions, stored

    on, forwarded, off, rung, sessions, stored = run(tmp_path, body, media=True,
                                             endpoints={"PJSIP/bjorn": Endpoint(answer_after_s=1.0)})
    assert on.actions == ["hangup^pbx/sv/forward-on&" + "&".join(
        f"pbx/sv/num-{d}" for d in "0701234567") + "^16"]
    assert forwarded.answered_by == "PJSIP/+46701234567@trunk"
    assert forwarded.actions[0].endswith("^+46812345601")  # Anna's caller ID on the forwarded leg
    assert off.actions == ["hangup^pbx/sv/forward-off^16"]
    assert rung.answered_by == "PJSIP/bjorn"
    with sessions() as session:
        cfg = load_tenant(session, "exempel")
        assert next(u for u in cfg.users if u.key == "bjorn").forwarding.always is None
        audit = session.scalars(select(AuditRow).where(AuditRow.actor == "phone:bjorn").order_by(AuditRow.id)).all()
        left = load_presence(session, "exempel").get(("exempel", "bjorn"))
    assert [(a.action, a.resource, a.after) for a in audit][:2] == [
        ("update", "user", {"forwarding": {"always": "external:+46701234567"}}),
        ("update", "user", {"forwarding": {"always": None}})]
    assert [(a.action, a.resource) for a in audit][2:] == [("create", "presence"), ("delete", "presence")]
    assert cfg.version == exempel().version + 2
    assert stored is not None and [(e.status, e.end) for e in stored] == [
        (PresenceStatus.LUNCH, TUE_10.replace(hour=13))]
    assert left is None  # cleared by #22 in the database too


def test_an_unknown_phone_is_refused_end_to_end(tmp_path: Path) -> None:
    async def body(controller: Controller, sim: Any) -> tuple[SimCall, list[dict[str, str]]]:
        watch = TrunkWatch(controller)
        c = await from_phone(sim, "lobby", "0701234567")
        return c, await watch.after(c)

    c, legs = run(tmp_path, body)
    assert c.actions == ["hangup^pbx/sv/phone-unknown-device^21"]
    assert c.hangup_cause == 21 and legs == []


def test_a_message_left_for_a_colleague_is_kept_and_star_98_plays_it_to_them(tmp_path: Path) -> None:
    async def body(controller: Controller, sim: Any) -> tuple[SimCall, list[Any], SimCall]:
        left = await from_phone(sim, "anna", "401")  # Olle does not answer: his voicemail
        assert controller.voicemail is not None
        for _ in range(300):
            messages = await controller.voicemail.amessages("exempel", "olle")
            if messages:
                break
            await asyncio.sleep(0.01)
        placed = await sim.place_phone_call("olle", "*98", CallScript(keys=["*"]))
        return left, messages, await asyncio.wait_for(placed.wait(), 30)

    left, messages, listened = run(tmp_path, body, media=True, endpoints={"PJSIP/olle": Endpoint(None)})
    assert [a.split("^")[0] for a in left.actions] == ["dial", "voicemail", "hangup"]
    assert [m.caller for m in messages] == ["201"] and messages[0].dialled == "401"  # Anna's extension
    first = listened.actions[0].split("^")[1].split("&")
    assert first[:4] == ["pbx/sv/vm-new-count", "pbx/sv/num-1", "pbx/sv/vm-saved-count", "pbx/sv/num-0"]
    assert first[4:8] == ["pbx/sv/vm-from", "pbx/sv/num-2", "pbx/sv/num-0", "pbx/sv/num-1"]  # from 201
    assert any(f"/media/exempel/voicemail/olle/{messages[0].id}" in f for f in first)  # the message itself


def test_the_dial_action_carries_the_caller_id_as_an_optional_fifth_field() -> None:
    table = compile_table([exempel(), annat()])
    pd = decide_phone(table, StateSnapshot(), Call("0701234567", "anna"), "anna", TUE_10)
    settings = ContractSettings(trunk="operator")
    assert encode_action(pd.decision, table, "1.1", settings) == "dial^^PJSIP/+46701234567@operator^120"
    assert encode_action(pd.decision, table, "1.1", settings, "+46812345601") == \
        "dial^^PJSIP/+46701234567@operator^120^+46812345601"
    with pytest.raises(ContractError):
        encode_action(pd.decision, table, "1.1", settings, "Anna <201>")


def test_forwarding_by_code_without_a_database_changes_the_table_in_force(tmp_path: Path) -> None:
    async def body(controller: Controller, sim: Any) -> tuple[SimCall, SimCall, int]:
        before = controller.tables.table.version
        on = await from_phone(sim, "bjorn", "*21203")
        return on, await from_phone(sim, "anna", "202"), controller.tables.table.version - before

    on, c, versions = run(tmp_path, body, endpoints={"PJSIP/bjorn": Endpoint(None),
                                                     "PJSIP/cecilia": Endpoint(answer_after_s=1.0)})
    assert on.actions == ["hangup^pbx/sv/forward-on&pbx/sv/num-2&pbx/sv/num-0&pbx/sv/num-3^16"]
    assert c.answered_by == "PJSIP/cecilia" and versions == 1
