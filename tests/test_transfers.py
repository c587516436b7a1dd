"""Transfers (U-08, issue 7): blind and attended, from the phone (features.conf's DTMF codes) and from the API (AMI
BlindTransfer, Atxfer); a transferred call keeps its one call record.

Whole calls: a real controller in front of the simulated Asterisk over real AMI and FastAGI sockets, records read
back from the database; the API over real HTTP on loopback with its own controller."""

from __future__ import annotations

import asyncio
import configparser
import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from pbx.asterisk.ami import AMIActionError, AMIClient
from pbx.asterisk.sim_dialplan import ATXFER_NOANSWER_S, FEATURES
from pbx.asterisk.simulator import CallScript, Endpoint, SimAsterisk, SimCall, SimClock
from pbx.controller import Controller
from pbx.db import make_engine, migrate, save_tenant, session_factory
from pbx.demo import MAIN_NUMBER, annat, demo_presence, exempel
from pbx.live import simulator_for
from pbx.routing.model import Forwarding, Target, TenantConfig
from pbx.settings import Settings
from pbx.stats.models import CallRecordRow
from tests.admin_world import World, problem, signed_in
from tests.test_admin_operations import API, audit, call_api, until, with_controller
from tests.test_call_records import _row, record
from tests.test_e2e_calls import TUE_10

T = TypeVar("T")
ROOT = Path(__file__).resolve().parent.parent
CALLER = "+46705550100"
ASA_DIRECT = "+46812345610"  # the reception's direct number: rings Åsa
ANNA_MOBILE = "+46701111111"  # Anna rings on her desk phone and her mobile at once
Body = Callable[[Controller, SimAsterisk, sessionmaker[Session], list[Any]], Awaitable[T]]


def run(tmp: Path, body: Body[T], *, endpoints: dict[str, Endpoint], tenants: list[TenantConfig] | None = None,
        speed: float = 100.0) -> T:
    """A controller in front of the simulator, records in a migrated SQLite database; `body` also gets every
    transfer event the controller's AMI connection saw."""
    async def main() -> T:
        configs = tenants or [exempel(), annat()]
        settings = Settings(database_url="sqlite://", log_level="INFO", agi_port=0, http_port=0,
                            spool=str(tmp / "spool"))
        sim = simulator_for(settings, configs, TUE_10, speed)
        sim.endpoint(ANNA_MOBILE, Endpoint(answer_after_s=None))  # only her desk phone answers
        for name, behaviour in endpoints.items():
            sim.endpoint(name, behaviour)
        url = f"sqlite:///{tmp / f'pbx-{uuid.uuid4().hex[:6]}.sqlite'}"
        await asyncio.to_thread(migrate, url)
        engine = make_engine(url)
        sessions = session_factory(engine)
        with sessions() as session:
            for cfg in configs:
                save_tenant(session, cfg)
            session.commit()
        controller = Controller(settings, configs, demo_presence(TUE_10.date()), clock=sim.clock.now, simulator=sim,
                                sessions=sessions)
        await controller.start()
        seen: list[Any] = []
        assert controller.ami is not None
        for name in ("BlindTransfer", "AttendedTransfer"):
            controller.ami.on_event(name, seen.append)
        try:
            return await body(controller, sim, sessions, seen)
        finally:
            await controller.stop()
            engine.dispose()
    return asyncio.run(main())


def rows_of_caller(sessions: sessionmaker[Session], caller: str) -> list[str]:
    with sessions() as session:
        return list(session.scalars(select(CallRecordRow.call_id).where(CallRecordRow.caller == caller)))


async def finished(call: SimCall, timeout: float = 60.0) -> SimCall:
    return await asyncio.wait_for(call.wait(), timeout)


# --- from the phone ------------------------------------------------------------------------------------------


def test_an_attended_transfer_from_the_reception_to_anna_keeps_one_call_record(tmp_path: Path) -> None:
    """The issue's scenario: a caller reaches Åsa, she presses *2 201, talks with Anna, hangs up; the caller talks
    with Anna; the caller's call has one record, answered by Anna, the transfer in its path, talk time from Åsa's
    answer to the end; Åsa's consultation is an internal call of her own."""
    asa = Endpoint(answer_after_s=1.0, talk_s=600.0, transfer="*2201", transfer_after_s=3.0, consult_s=4.0)

    async def body(controller: Controller, sim: SimAsterisk, sessions: sessionmaker[Session], seen: list[Any]
                   ) -> None:
        placed = await finished(await sim.place_call(CALLER, ASA_DIRECT))
        assert placed.answered_by == "PJSIP/anna"
        rec = await record(controller, sessions, placed.uniqueid)
        assert rec["answered_by"] == "anna" and rec["answered"]
        assert "transferred by Åsa Öberg to Anna Andersson (attended)" in rec["path"]
        # Åsa answered after 1 s; 3 s with her, 2 s of Anna ringing, 4 s of consultation, 10 s with Anna
        assert rec["talk_s"] is not None and rec["talk_s"] >= 18.0
        assert rows_of_caller(sessions, CALLER) == [placed.uniqueid]
        consultations = [c for c in sim.calls if c.channel.startswith("Local/201@pbx-phones-")]
        assert len(consultations) == 1
        consult = await record(controller, sessions, consultations[0].uniqueid)
        assert (consult["caller"], consult["dialled"], consult["answered_by"]) == ("100", "201", "anna")
        assert any("consultation for a transfer" in step for step in consult["path"])
        assert consult["talk_s"] is not None and consult["talk_s"] < rec["talk_s"]
        (event,) = [e for e in seen if e.name == "AttendedTransfer"]
        assert (event.get("Result"), event.get("DestType"), event.get("TransfereeUniqueid")) == (
            "Success", "Bridge", placed.uniqueid)
        assert event.get("OrigTransfererChannel", "").startswith("PJSIP/asa-")
        assert event.get("TransferTargetChannel", "").startswith("Local/201@pbx-phones-")
    run(tmp_path, body, endpoints={"asa": asa, "anna": Endpoint(answer_after_s=2.0, talk_s=10.0)})


def test_a_blind_transfer_from_the_phone_sends_the_caller_on_with_the_same_record(tmp_path: Path) -> None:
    asa = Endpoint(answer_after_s=1.0, talk_s=600.0, transfer="##201", transfer_after_s=3.0)

    async def body(controller: Controller, sim: SimAsterisk, sessions: sessionmaker[Session], seen: list[Any]
                   ) -> None:
        placed = await finished(await sim.place_call(CALLER, ASA_DIRECT))
        assert placed.answered_by == "PJSIP/anna"
        # the caller's own channel went on into the phones' context, as a call from Åsa's phone
        phone_steps = [s for s in placed.steps if s.kind == "agi" and s.args[1:2] == ("phone:asa",)]
        assert phone_steps and phone_steps[0].args[0] == "201"
        rec = await record(controller, sessions, placed.uniqueid)
        assert rec["answered_by"] == "anna"
        assert "transferred by Åsa Öberg to Anna Andersson (blind)" in rec["path"]
        assert rec["talk_s"] >= 10.0
        assert rows_of_caller(sessions, CALLER) == [placed.uniqueid]
        (event,) = seen
        assert (event.name, event.get("Result"), event.get("Context"), event.get("Extension")) == (
            "BlindTransfer", "Success", "pbx-phones", "201")
        assert event.get("TransfereeUniqueid") == placed.uniqueid
        assert event.get("TransfererChannel", "").startswith("PJSIP/asa-")
    run(tmp_path, body, endpoints={"asa": asa, "anna": Endpoint(answer_after_s=2.0, talk_s=10.0)})


def test_an_attended_transfer_nobody_answers_brings_the_caller_back_to_the_transferer(tmp_path: Path) -> None:
    asa = Endpoint(answer_after_s=1.0, talk_s=40.0, transfer="*2202", transfer_after_s=3.0)

    async def body(controller: Controller, sim: SimAsterisk, sessions: sessionmaker[Session], seen: list[Any]
                   ) -> None:
        placed = await finished(await sim.place_call(CALLER, ASA_DIRECT))
        assert placed.answered_by == "PJSIP/asa"
        rec = await record(controller, sessions, placed.uniqueid)
        assert rec["answered_by"] == "asa" and not any("transferred" in step for step in rec["path"])
        assert rec["talk_s"] >= 40.0  # back with Åsa after Björn rang 15 s: she talked her 40 s
        assert not seen  # a consultation nobody answered is no transfer
        consult = next(c for c in sim.calls if c.channel.startswith("Local/202@pbx-phones-"))
        assert consult.hangup_cause is not None
        assert ATXFER_NOANSWER_S == 15.0
    run(tmp_path, body, endpoints={"asa": asa, "bjorn": Endpoint(answer_after_s=None)})


def test_a_blind_transfer_to_a_colleague_who_does_not_answer_follows_her_forwarding(tmp_path: Path) -> None:
    cfg = exempel()
    cfg = replace(cfg, users=tuple(
        replace(u, forwarding=Forwarding(on_no_answer=Target("user", "cecilia"), no_answer_after_s=10))
        if u.key == "anna" else u for u in cfg.users))
    asa = Endpoint(answer_after_s=1.0, talk_s=600.0, transfer="##201", transfer_after_s=2.0)

    async def body(controller: Controller, sim: SimAsterisk, sessions: sessionmaker[Session], seen: list[Any]
                   ) -> None:
        placed = await finished(await sim.place_call(CALLER, ASA_DIRECT))
        assert placed.answered_by == "PJSIP/cecilia"
        rec = await record(controller, sessions, placed.uniqueid)
        assert rec["answered_by"] == "cecilia"
        assert "transferred by Åsa Öberg to Anna Andersson (blind)" in rec["path"]
        assert rows_of_caller(sessions, CALLER) == [placed.uniqueid]
    run(tmp_path, body, tenants=[cfg, annat()],
        endpoints={"asa": asa, "anna": Endpoint(answer_after_s=None), "cecilia": Endpoint(answer_after_s=1.0)})


def test_a_transfer_code_without_an_extension_behind_it_leaves_the_call_as_it_was(tmp_path: Path) -> None:
    asa = Endpoint(answer_after_s=1.0, talk_s=8.0, transfer="##5", transfer_after_s=2.0)  # one digit: no extension

    async def body(controller: Controller, sim: SimAsterisk, sessions: sessionmaker[Session], seen: list[Any]
                   ) -> None:
        placed = await finished(await sim.place_call(CALLER, ASA_DIRECT))
        assert placed.answered_by == "PJSIP/asa" and not seen
        rec = await record(controller, sessions, placed.uniqueid)
        assert rec["answered_by"] == "asa" and rec["talk_s"] >= 8.0
    run(tmp_path, body, endpoints={"asa": asa})


# --- the simulator speaks Asterisk's AMI for transfers -------------------------------------------------------


def test_the_transfer_actions_answer_like_asterisk_22(tmp_path: Path) -> None:
    async def main() -> None:
        sim = SimAsterisk(agi_port=1, clock=SimClock(TUE_10, 50.0))
        async with sim:
            client = AMIClient("127.0.0.1", sim.ami_port, sim.username, sim.secret)
            events: list[Any] = []
            client.on_event("BlindTransfer", events.append)
            await client.start()
            try:
                for fields, reason in (([("Exten", "201")], "No channel specified"),
                                       ([("Channel", "PJSIP/x-00000001")], "No extension specified"),
                                       ([("Channel", "PJSIP/x-00000001"), ("Exten", "201")],
                                        "Channel specified does not exist")):
                    for action in ("BlindTransfer", "Atxfer"):
                        with pytest.raises(AMIActionError) as raised:
                            await client.send_action(action, fields)
                        assert raised.value.reason == reason, action
                # a channel in no bridge: a blind transfer is invalid (and says so), Atxfer's DTMF is just queued
                call = await sim.place_call(CALLER, "+46812345678", CallScript(hangup_after_s=30.0))
                await until_channel(sim, call)
                with pytest.raises(AMIActionError) as raised:
                    await client.blind_transfer(call.channel, "201", "pbx-phones")
                assert raised.value.reason == "Transfer invalid"
                await client.atxfer(call.channel, "201", "pbx-phones")
                for _ in range(200):
                    if events:
                        break
                    await asyncio.sleep(0.01)
                (event,) = events
                assert (event.get("Result"), event.get("TransfererChannel"), event.get("Extension")) == (
                    "Invalid", call.channel, "201")
                assert event.get("TransfereeChannel") is None and event.get("BridgeUniqueid") is None
            finally:
                await client.stop()
    asyncio.run(main())


async def until_channel(sim: SimAsterisk, call: SimCall) -> None:
    for _ in range(200):
        if any(c.name == call.channel for c in sim.channels):
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{call.channel} never appeared")


def test_features_conf_the_dialplan_and_the_simulator_agree_on_transfers() -> None:
    features = configparser.ConfigParser(delimiters=("=>", "="), inline_comment_prefixes=(";",), strict=False)
    features.read(ROOT / "asterisk-config" / "features.conf")
    assert {k: features["featuremap"][k] for k in ("blindxfer", "atxfer")} == FEATURES
    assert float(features["general"]["atxfernoanswertimeout"]) == ATXFER_NOANSWER_S
    dialplan = (ROOT / "asterisk-config" / "extensions.conf").read_text()
    dials = re.findall(r"^\s*same => n,Dial\((.*)\)$", dialplan, flags=re.M)
    # the called user may transfer on every Dial that reaches a user; the caller (maybe an outsider) may not
    assert len(dials) == 4
    for dial in dials:
        options = dial.rsplit(",", 1)[1] if not dial.startswith("PJSIP/${PBX_CALLBACK}") else "callback"
        assert options == "callback" or ("t" in options and "T" not in options), dial
    phones = dialplan.split("[pbx-phones]", 1)[1].split("\n\n", 1)[0]
    assert "${ATTENDEDTRANSFER}" in phones and "${BLINDTRANSFER}" in phones


# --- from the API ----------------------------------------------------------------------------------------------


def test_the_api_transfers_blind_and_attended_and_another_tenant_gets_404(tmp_path: Path) -> None:
    async def body(w: World, controller: Controller, sim: Any) -> None:
        sim.endpoint("PJSIP/asa", Endpoint(answer_after_s=1.0, talk_s=3600.0, consult_s=3.0))
        sim.endpoint("PJSIP/anna", Endpoint(answer_after_s=1.0, talk_s=5.0))
        sim.endpoint(ANNA_MOBILE, Endpoint(answer_after_s=None))

        async def with_asa(call: SimCall) -> None:
            def bridged() -> bool:
                return any(c.name.startswith("PJSIP/asa-") and c.bridge for c in sim.channels)

            async def check() -> bool:
                return bridged() and call.uniqueid in controller.calls.live
            await until(check, "Åsa has the caller")

        async with await signed_in(w, "boss@exempel.se") as c:
            # in the menu nobody has the caller yet: nothing to transfer
            menu = await sim.place_call(CALLER, MAIN_NUMBER, CallScript(hangup_after_s=30.0))

            async def routed() -> bool:
                return menu.uniqueid in controller.calls.live
            await until(routed, "the caller is in the menu")
            menu_url = f"{w.base}{API}/calls/{menu.uniqueid}/transfer"
            async with c.post(menu_url, json={"to": "201", "mode": "blind"}) as r:
                assert (await problem(r, 409))["type"].endswith("not-answered")
            for wrong in ({"to": "2", "mode": "blind"}, {"to": "201", "mode": "x"}, {"to": "2,01", "mode": "blind"},
                          {"mode": "blind"}):
                async with c.post(menu_url, json=wrong) as r:
                    await problem(r, 422)

            blind = await sim.place_call(CALLER, ASA_DIRECT)
            await with_asa(blind)
            async with await signed_in(w, "admin@annat.se") as other:
                async with other.post(f"{w.base}{API}/calls/{blind.uniqueid}/transfer",
                                      json={"to": "201", "mode": "blind"}) as r:
                    await problem(r, 404)
            async with await signed_in(w, "gbg@exempel.se") as gbg:  # a Stockholm call with no Göteborg agent
                async with gbg.post(f"{w.base}{API}/calls/{blind.uniqueid}/transfer",
                                    json={"to": "201", "mode": "blind"}) as r:
                    await problem(r, 404)
            status, done = await call_api(c, w, "POST", f"/calls/{blind.uniqueid}/transfer",
                                          json={"to": "201", "mode": "blind"})
            assert status == 202 and done == {"call_id": blind.uniqueid, "mode": "blind", "to": "201",
                                              "transferer": "asa"}, done
            await asyncio.wait_for(blind.wait(), 30)
            assert blind.answered_by == "PJSIP/anna"
            rec = controller.calls.get(blind.uniqueid)
            assert rec is not None and rec.answered_by == "anna"
            assert "transferred by Åsa Öberg to Anna Andersson (blind)" in rec.path
            async with c.post(f"{w.base}{API}/calls/{blind.uniqueid}/transfer",
                              json={"to": "201", "mode": "blind"}) as r:
                await problem(r, 404)  # over

            attended = await sim.place_call(CALLER, ASA_DIRECT)
            await with_asa(attended)
            status, done = await call_api(c, w, "POST", f"/calls/{attended.uniqueid}/transfer",
                                          json={"to": "201", "mode": "attended"})
            assert status == 202 and done["mode"] == "attended", done
            await asyncio.wait_for(attended.wait(), 30)
            assert attended.answered_by == "PJSIP/anna"
            rec = controller.calls.get(attended.uniqueid)
            assert rec is not None and rec.answered_by == "anna"
            assert "transferred by Åsa Öberg to Anna Andersson (attended)" in rec.path

            transfers = await audit(c, w, "call")
            assert [(e["action"], e["ref"], e["after"]["mode"]) for e in transfers] == [
                ("transfer", blind.uniqueid, "blind"), ("transfer", attended.uniqueid, "attended")]
        menu_rec = controller.calls.get(menu.uniqueid)
        assert menu_rec is not None and not any("transferred" in step for step in menu_rec.path)
    with_controller(tmp_path, body)


def test_the_api_needs_a_controller_for_a_transfer(tmp_path: Path) -> None:
    from tests.admin_world import run as api_run

    async def body(w: World) -> None:
        async with await signed_in(w, "boss@exempel.se") as c:
            async with c.post(f"{w.base}{API}/calls/1700000000.100001/transfer",
                              json={"to": "201", "mode": "blind"}) as r:
                await problem(r, 503)
    api_run(tmp_path, body)


def test_records_of_calls_without_transfers_are_untouched(tmp_path: Path) -> None:
    """The record of an ordinary answered call names its answerer once; nothing says transferred."""
    async def body(controller: Controller, sim: SimAsterisk, sessions: sessionmaker[Session], seen: list[Any]
                   ) -> None:
        placed = await finished(await sim.place_call(CALLER, ASA_DIRECT))
        rec = await record(controller, sessions, placed.uniqueid)
        assert rec["answered_by"] == "asa" and not any("transferred" in s for s in rec["path"])
        assert _row(sessions, placed.uniqueid) is not None and not seen
    run(tmp_path, body, endpoints={"asa": Endpoint(answer_after_s=1.0, talk_s=5.0)})
