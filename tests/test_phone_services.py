"""Phone services end to end: listening to voicemail (U-02) and recording prompts (F-04) by phone,
through the simulator's AMI and FastAGI on real sockets, with messages and prompts in a real database."""

from __future__ import annotations

import asyncio
import time
import wave
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from pbx.asterisk.contract import ContractError, ContractSettings, encode_action
from pbx.asterisk.sim_core import write_wav
from pbx.asterisk.simulator import CallScript, SimCall
from pbx.controller import Controller
from pbx.db.models import PromptRow
from pbx.demo import MAIN_NUMBER, PROMPTS_NUMBER, STOCKHOLM, VOICEMAIL_NUMBER, exempel
from pbx.ivr.say import expand
from pbx.ivr.services import identify, listener_boxes
from pbx.routing.compile import compile_table
from pbx.routing.engine import Call, RecordPrompt, Service, decide
from pbx.routing.model import Flow, NumberConfig, ServiceNode
from pbx.routing.state import EMPTY_STATE
from pbx.routing.validate import validate_tenant
from pbx.voicemail.messages import Message

try:
    from tests.test_e2e_calls import TUE_10, run
except ImportError:  # run from inside tests/
    from test_e2e_calls import TUE_10, run  # type: ignore[no-redef]

OLLE = "401"  # Olle's extension: he listens to the shared box Ekonomi and his own box
ASA = "+46812345610"  # the reception's direct number: she may record prompts


async def leave(controller: Controller, tmp: Path, box: str, caller: str, minutes_ago: int, seconds: float = 3.0
                ) -> Message:
    """A message as a caller would have left it: a spool WAV deposited into the box."""
    assert controller.voicemail is not None
    spool = tmp / "spool" / "voicemail" / "exempel" / box / f"17000{minutes_ago}.1.wav"
    write_wav(str(spool), seconds)
    message = await controller.voicemail.adeposit("exempel", box, spool, call_id=f"17000{minutes_ago}.1",
                                                  caller=caller, dialled=MAIN_NUMBER,
                                                  at=controller.clock() - timedelta(minutes=minutes_ago))
    assert message is not None
    return message


async def dial(sim: Any, caller: str, number: str, keys: list[str], **script: Any) -> SimCall:
    placed = await sim.place_call(caller, number, CallScript(keys=keys, **script))
    return await asyncio.wait_for(placed.wait(), 60)


def said(key: str) -> list[str]:
    """The files a spoken number or time is made of, in Swedish."""
    return [f"pbx/sv/{word}" for word in expand(key, "sv")]


def played(action: str) -> list[str]:
    """The files a PBX_DO plays first."""
    return action.split("^")[1].split("&")


# --- listening to voicemail ----------------------------------------------------------------------


def test_a_listener_steps_through_new_messages_saves_skips_and_deletes(tmp_path: Path) -> None:
    async def body(controller: Controller, sim: Any) -> tuple[Any, ...]:
        vm = controller.voicemail
        assert vm is not None
        first = await leave(controller, tmp_path, "ekonomi", "+46701234567", 120)
        second = await leave(controller, tmp_path, "ekonomi", "+46855512345", 60)
        own = await leave(controller, tmp_path, "olle", "+46709876543", 30)
        elsewhere = await leave(controller, tmp_path, "salj", "+46700000001", 10)  # not Olle's box
        kept = await leave(controller, tmp_path, "ekonomi", "+46701112233", 3 * 24 * 60)  # saved last week
        await vm.asave("exempel", kept.id)
        await vm.amark_heard("exempel", kept.id, True, "olle")
        # save the first, next past the second, delete his own; then the one saved before; then end
        c = await dial(sim, OLLE, VOICEMAIL_NUMBER, ["2", "3", "7", "*"])
        after = {m.id: m for m in await vm.amessages("exempel")}
        deletions = await vm.adeletions("exempel")
        return c, first, second, own, elsewhere, kept, after, deletions, dict(sim.node.mwi)

    c, first, second, own, elsewhere, kept, after, deletions, mwi = run(tmp_path, body, media=True)
    assert [a.split("^", 1)[0] for a in c.actions] == ["menu", "menu", "menu", "menu", "hangup"]
    intro = played(c.actions[0])
    assert "pbx/sv/vm-new-count" in intro and "pbx/sv/vm-saved-count" in intro
    # three new (two in Ekonomi, one his own) and one saved
    assert intro[:5] == ["pbx/sv/vm-new-count", *said("number:3"), "pbx/sv/vm-saved-count", *said("number:1"),
                         "pbx/sv/vm-from"]
    # oldest new first: who called (in national form), when, then the message itself, then the options
    at = intro.index("pbx/sv/vm-from")
    assert intro[at + 1:at + 11] == said("digits:0701234567")
    received = first.received_at.astimezone(STOCKHOLM)
    assert intro[at + 11:-2] == ["pbx/sv/vm-received-today", *said(f"time:{received:%H:%M}")]
    assert intro[-2].endswith(f"{first.file.removesuffix('.wav')}") and intro[-2].startswith("/")
    assert intro[-1] == "pbx/sv/vm-options"
    second_play = played(c.actions[1])
    assert second_play[0] == "pbx/sv/vm-saved" and second_play[-2].endswith(second.file.removesuffix(".wav"))
    assert played(c.actions[2])[-2].endswith(own.file.removesuffix(".wav"))
    fourth = played(c.actions[3])  # the first, saved just now, is done: the one saved before comes next
    assert fourth[:2] == ["pbx/sv/vm-deleted", "pbx/sv/vm-saved-messages"]
    assert fourth[-2].endswith(kept.file.removesuffix(".wav"))
    assert [*said("number:3"), "pbx/sv/vm-days-ago"] == fourth[fourth.index("pbx/sv/vm-received") + 1:][:2]
    assert c.actions[4] == "hangup^pbx/sv/goodbye^16"
    assert all(elsewhere.file.removesuffix(".wav") not in a for a in c.actions)
    # one heard state: what Olle heard is heard for everyone, by him; saved is in the saved folder
    assert after[first.id].folder == "saved" and after[first.id].heard and after[first.id].heard_by == "olle"
    assert after[second.id].folder == "new" and after[second.id].heard
    assert own.id not in after and [(d.ref, d.by) for d in deletions] == [(own.id, "olle")]
    assert not after[elsewhere.id].heard
    # the lamps follow: Ekonomi has no new message left, Olle's box is empty
    assert mwi["ekonomi@exempel"] == (0, 3) and mwi["olle@exempel"] == (0, 0)


def test_keeping_a_message_as_new_lights_the_lamp_again(tmp_path: Path) -> None:
    async def body(controller: Controller, sim: Any) -> tuple[Any, ...]:
        message = await leave(controller, tmp_path, "vaxel", "+46701234567", 5)
        c = await dial(sim, ASA, VOICEMAIL_NUMBER, ["5"])
        assert controller.voicemail is not None
        return c, await controller.voicemail.amessage("exempel", message.id), dict(sim.node.mwi)

    c, message, mwi = run(tmp_path, body, media=True)
    assert played(c.actions[-1])[:2] == ["pbx/sv/vm-kept-new", "pbx/sv/vm-no-more"]
    assert not message.heard and message.folder == "new"
    assert mwi["vaxel@exempel"] == (1, 0)


def test_replay_and_silence_at_the_options(tmp_path: Path) -> None:
    async def body(controller: Controller, sim: Any) -> tuple[SimCall, Message]:
        message = await leave(controller, tmp_path, "vaxel", "+46701234567", 5)
        return await dial(sim, ASA, VOICEMAIL_NUMBER, ["1", "", "", ""]), message

    c, message = run(tmp_path, body, media=True)
    assert [a.split("^", 1)[0] for a in c.actions] == ["menu", "menu", "menu", "menu", "hangup"]
    replay = played(c.actions[1])
    assert replay[0].endswith(message.file.removesuffix(".wav")) and "pbx/sv/vm-from" not in replay  # no header
    assert played(c.actions[2])[0] == "pbx/sv/menu-timeout"  # the options again, twice, then goodbye
    assert "goodbye" in c.actions[4]


def test_nobody_without_a_known_number_reaches_any_box(tmp_path: Path) -> None:
    async def body(controller: Controller, sim: Any) -> list[SimCall]:
        await leave(controller, tmp_path, "vaxel", "+46701234567", 5)
        return [await dial(sim, caller, VOICEMAIL_NUMBER, ["3"]) for caller in ("+46709999999", "", "10")]

    calls = run(tmp_path, body, media=True)
    for c in calls:  # a stranger, no caller ID, and Annat AB's Anna (extension 10, another tenant)
        assert [a.split("^", 1)[0] for a in c.actions] == ["hangup"]
        assert "pbx/sv/service-refused" in c.actions[0]
        assert not any("/media/" in a for a in c.actions)


def test_a_listener_with_no_messages_hears_so(tmp_path: Path) -> None:
    async def body(controller: Controller, sim: Any) -> SimCall:
        return await dial(sim, OLLE, VOICEMAIL_NUMBER, [])

    c = run(tmp_path, body, media=True)
    assert [a.split("^", 1)[0] for a in c.actions] == ["hangup"]
    files = played(c.actions[0])
    assert files == ["pbx/sv/vm-new-count", *said("number:0"), "pbx/sv/vm-saved-count", *said("number:0"),
                     "pbx/sv/goodbye"]


# --- recording prompts by phone ------------------------------------------------------------------


def test_the_reception_records_the_main_menu_by_phone_and_callers_hear_it(tmp_path: Path) -> None:
    async def body(controller: Controller, sim: Any) -> tuple[Any, ...]:
        # prompt 1, speak for 4 s, hear it back and keep it (1), then no more
        c = await dial(sim, ASA, PROMPTS_NUMBER, ["1", "1", ""], message_s=4.0)
        assert controller.prompts is not None
        listed = {p.key: p for p in await controller.prompts.aprompts("exempel")}
        caller = await dial(sim, "+46701234567", MAIN_NUMBER, ["9", "9"])
        return c, listed, caller

    c, listed, caller = run(tmp_path, body, media=True)
    assert [a.split("^", 1)[0] for a in c.actions] == ["collect", "record", "menu", "collect", "hangup"]
    assert c.actions[1].split("^")[2] == str(tmp_path / "spool" / "prompts" / "exempel" / c.uniqueid)
    review = played(c.actions[2])
    assert review == [str(tmp_path / "spool" / "prompts" / "exempel" / c.uniqueid), "pbx/sv/prompt-review"]
    assert played(c.actions[3])[0] == "pbx/sv/prompt-stored"
    stored = tmp_path / "prompts" / "t" / "exempel" / "exempel-huvudmeny.wav"
    with wave.open(str(stored)) as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (8000, 1, 2)
        assert abs(w.getnframes() / 8000 - 4.0) < 0.3
    menu = listed["exempel-huvudmeny"]
    assert menu.file == "t/exempel/exempel-huvudmeny.wav" and menu.seconds is not None
    assert listed["exempel-goteborg"].file is None
    assert not list((tmp_path / "spool" / "prompts").rglob("*.wav"))  # the spool file went once kept
    assert "pbx/t/exempel/exempel-huvudmeny" in caller.actions[0]  # what callers hear at the menu now


def test_recording_again_then_cancelling_keeps_nothing(tmp_path: Path) -> None:
    async def body(controller: Controller, sim: Any) -> SimCall:
        return await dial(sim, ASA, PROMPTS_NUMBER, ["2", "2", "3", "*", ""], message_s=2.0)

    c = run(tmp_path, body, media=True)
    assert [a.split("^", 1)[0] for a in c.actions] == ["collect", "record", "menu", "record", "menu", "menu",
                                                        "collect", "hangup"]
    assert played(c.actions[6])[0] == "pbx/sv/prompt-cancelled"
    assert not (tmp_path / "prompts" / "t" / "exempel").exists()
    assert not list((tmp_path / "spool" / "prompts").rglob("*.wav"))


def test_an_unknown_prompt_code_is_asked_again_and_a_stranger_is_refused(tmp_path: Path) -> None:
    async def body(controller: Controller, sim: Any) -> list[SimCall]:
        return [await dial(sim, ASA, PROMPTS_NUMBER, ["42", "", ""]),
                await dial(sim, "202", PROMPTS_NUMBER, ["1"])]  # Björn is a user but not allowed

    wrong, bjorn = run(tmp_path, body, media=True)
    assert [a.split("^", 1)[0] for a in wrong.actions] == ["collect", "collect", "hangup"]
    assert played(wrong.actions[1])[0] == "pbx/sv/menu-invalid"
    assert [a.split("^", 1)[0] for a in bjorn.actions] == ["hangup"] and "service-refused" in bjorn.actions[0]


def test_hanging_up_while_recording_leaves_nothing_behind(tmp_path: Path) -> None:
    async def body(controller: Controller, sim: Any) -> tuple[SimCall, int]:
        c = await dial(sim, ASA, PROMPTS_NUMBER, ["1"], message_s=30.0, hangup_after_s=40.0)
        swept = controller.services.sweep_spool(now_s=time.time() + 7200)
        return c, swept

    c, swept = run(tmp_path, body, media=True)
    assert [a.split("^", 1)[0] for a in c.actions] == ["collect", "record"]
    assert not list((tmp_path / "spool" / "prompts").rglob("*.wav")) and swept == 0
    assert not (tmp_path / "prompts" / "t").exists()


def test_a_review_abandoned_by_hanging_up_is_swept_from_the_spool(tmp_path: Path) -> None:
    async def body(controller: Controller, sim: Any) -> tuple[int, int, list[Path]]:
        await dial(sim, ASA, PROMPTS_NUMBER, ["1#"], message_s=3.0, hangup_after_s=12.0)  # during the review
        left = list((tmp_path / "spool" / "prompts").rglob("*.wav"))
        fresh = controller.services.sweep_spool()  # nothing is an hour old yet
        return fresh, controller.services.sweep_spool(now_s=time.time() + 86400), left

    fresh, swept, left = run(tmp_path, body, media=True)
    assert len(left) == 1 and fresh == 0 and swept == 1 and not left[0].exists()


# --- the pieces ----------------------------------------------------------------------------------


def test_a_service_node_is_a_decision_the_router_must_resolve() -> None:
    table = compile_table([exempel()])
    d = decide(table, EMPTY_STATE, Call(VOICEMAIL_NUMBER, OLLE), TUE_10)
    assert isinstance(d.action, Service) and d.action.service == "voicemail" and d.node == "lyssna"
    again = decide(table, EMPTY_STATE, Call(VOICEMAIL_NUMBER, OLLE, "exempel", "rostbrevlada", "lyssna",
                                            "vm:0:1:x", 0, "3"), TUE_10)
    assert isinstance(again.action, Service) and again.target == "vm:0:1:x"  # its place comes back to it
    try:
        encode_action(d, table, "1.1", ContractSettings())
    except ContractError as exc:
        assert "not resolved" in str(exc)
    else:
        raise AssertionError("an unresolved service must not reach Asterisk")
    record = d._replace(action=RecordPrompt(("prompt-record",), 120))
    assert encode_action(record, table, "17.3", ContractSettings(spool="/s")) == (
        "record^pbx/sv/prompt-record^/s/prompts/exempel/17.3^120")
    for bad in ("file:relative/path", "file:/a&b", "file:/a,b"):
        try:
            encode_action(d._replace(action=RecordPrompt((bad,), 1)), table, "1", ContractSettings())
        except ContractError:
            continue
        raise AssertionError(f"{bad} was let through")


def test_callers_are_known_by_number_extension_or_device() -> None:
    tenant = compile_table([exempel()]).tenants["exempel"]
    assert identify(tenant, "+46701111111").key == "anna"  # type: ignore[union-attr]
    assert identify(tenant, "0701111111").key == "anna"  # type: ignore[union-attr]  # national form
    assert identify(tenant, "401").key == "olle"  # type: ignore[union-attr]
    assert identify(tenant, "bjorn").key == "bjorn"  # type: ignore[union-attr]  # the device PJSIP/bjorn
    assert identify(tenant, "+46709999999") is None and identify(tenant, "") is None
    anna = tenant.users["anna"]
    assert set(listener_boxes(tenant, anna)) == {"salj", "vaxel"}
    assert listener_boxes(tenant, anna, "salj") == ("salj",) and listener_boxes(tenant, anna, "ekonomi") == ()


def test_service_nodes_are_validated() -> None:
    cfg = exempel()
    bad = Flow("fel", "Fel", "a", (
        ServiceNode("a", "voicemail", box="nope", users=("ghost",), prompts={"1": "exempel-huvudmeny"}),
    ))
    bad_prompts = Flow("fel2", "Fel", "b", (
        ServiceNode("b", "prompts", prompts={"x1": "welcome", "12345": "exempel-goteborg"}),
    ))
    empty = Flow("fel3", "Fel", "c", (ServiceNode("c", "prompts"),))
    weird = Flow("fel4", "Fel", "d", (ServiceNode("d", "fax"),))  # type: ignore[arg-type]
    from dataclasses import replace
    cfg = replace(cfg, flows=(*cfg.flows, bad, bad_prompts, empty, weird), numbers=(
        *cfg.numbers, *(NumberConfig(f"+4681234500{i}", flow=f.key) for i, f in
                        enumerate((bad, bad_prompts, empty, weird)))))
    codes = sorted((p.where, p.code) for p in validate_tenant(cfg))
    assert codes == sorted([
        ("flow fel node a", "dangling-reference"), ("flow fel node a", "dangling-reference"),
        ("flow fel node a", "bad-service"),
        ("flow fel2 node b", "bad-code"), ("flow fel2 node b", "bad-code"),
        ("flow fel2 node b", "unknown-prompt"),  # a system prompt is not the tenant's to record
        ("flow fel3 node c", "service-no-prompts"),
        ("flow fel4 node d", "bad-service"),
    ])


def test_the_prompt_row_remembers_the_file(tmp_path: Path) -> None:
    async def body(controller: Controller, sim: Any) -> str | None:
        await dial(sim, ASA, PROMPTS_NUMBER, ["3", "1", ""], message_s=2.0)
        assert controller.prompts is not None
        with controller.prompts._sessions() as session:
            return session.scalar(select(PromptRow.file_path).where(PromptRow.key == "exempel-goteborg-meny"))

    assert run(tmp_path, body, media=True) == "t/exempel/exempel-goteborg-meny.wav"


def test_a_message_from_a_caller_without_a_number_is_announced_without_it() -> None:
    """A caller ID of "anonymous" or a name cannot be read out as digits: the listener hears when it came."""
    from datetime import UTC, datetime

    from pbx.ivr.services import _header
    from pbx.voicemail.messages import Message

    tenant = compile_table([exempel()]).tenants["exempel"]
    at = datetime(2026, 11, 24, 9, 5, tzinfo=UTC)

    def header(caller: str) -> list[str]:
        return _header(Message("m1", "exempel", "vaxel", "c1", caller, MAIN_NUMBER, at, 3.0, "f.wav", 10, "x"),
                       tenant, at)
    assert header("+46701234567")[:2] == ["vm-from", "digits:0701234567"]
    for caller in ("anonymous", "Anna <1001>", ""):
        prompts = header(caller)
        assert "vm-from" not in prompts and prompts[0] == "vm-received-today", (caller, prompts)
        for key in prompts:
            assert expand(key, "sv")  # every prompt can be said
