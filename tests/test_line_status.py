"""Line status (U-06): Asterisk's device states folded into free, ringing, in a call or unavailable per user, kept
in the live store every instance reads, and seen through the admin API while a simulated call rings and is
answered (DeviceStateChange over real AMI from the simulator)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import pytest
import redis.asyncio as aioredis
from aiohttp import ClientSession

from pbx.asterisk.simulator import CallScript, Endpoint
from pbx.controller import Controller
from pbx.demo import STOCKHOLM
from pbx.devices.lines import aggregate, device_status, line_label, registered
from pbx.routing.state import LineStatus
from pbx.state.memory import DeviceLines
from pbx.state.redis_store import RedisStore
from pbx.state.store import MemoryStore
from tests.admin_world import World, signed_in, with_controller

T = TypeVar("T")
API = "/api/v1"
TUE_10 = datetime(2026, 11, 24, 10, 0, tzinfo=STOCKHOLM)
IDLE, RINGING, BUSY, GONE = LineStatus.IDLE, LineStatus.RINGING, LineStatus.BUSY, LineStatus.UNAVAILABLE


# --- Asterisk's states and one user's phones -----------------------------------------------------


@pytest.mark.parametrize(("state", "status", "label", "is_registered"), [
    ("NOT_INUSE", IDLE, "free", True), ("INUSE", BUSY, "in_call", True), ("BUSY", BUSY, "in_call", True),
    ("ONHOLD", BUSY, "in_call", True), ("RINGINUSE", BUSY, "in_call", True), ("RINGING", RINGING, "ringing", True),
    ("UNAVAILABLE", GONE, "unavailable", False), ("INVALID", GONE, "unavailable", False),
    ("UNKNOWN", IDLE, "free", None), ("not_inuse", IDLE, "free", True)])
def test_each_asterisk_device_state_reads_as_a_line(state: str, status: LineStatus, label: str,
                                                    is_registered: bool | None) -> None:
    assert device_status(state) is status
    assert line_label(device_status(state)) == label
    assert registered(state) is is_registered


@pytest.mark.parametrize(("phones", "line"), [
    ((), IDLE), ((IDLE,), IDLE), ((RINGING, IDLE), RINGING), ((RINGING, BUSY), BUSY), ((BUSY, GONE), BUSY),
    ((GONE, IDLE), IDLE), ((IDLE, GONE), IDLE), ((GONE, GONE), GONE), ((GONE, RINGING), RINGING)])
def test_a_users_line_over_their_phones(phones: tuple[LineStatus, ...], line: LineStatus) -> None:
    assert aggregate(phones) is line


def test_a_softphone_left_offline_does_not_make_a_user_with_a_free_desk_phone_unavailable() -> None:
    lines = DeviceLines()
    lines.bind_device("PJSIP/exempel-desk", "exempel", "anna")
    lines.bind_device("PJSIP/exempel-soft", "exempel", "anna")
    lines.device_state("PJSIP/exempel-soft", "UNAVAILABLE")
    lines.device_state("PJSIP/exempel-desk", "NOT_INUSE")
    assert lines.line("exempel", "anna") is IDLE
    lines.device_state("PJSIP/exempel-desk", "UNAVAILABLE")
    assert lines.line("exempel", "anna") is GONE
    lines.device_state("PJSIP/exempel-desk", "RINGING")
    assert lines.line("exempel", "anna") is RINGING
    # a phone given to another user no longer counts for the first
    lines.bind_device("PJSIP/exempel-desk", "exempel", "bjorn")
    assert lines.line("exempel", "anna") is GONE and lines.line("exempel", "bjorn") is RINGING
    assert lines.raw["PJSIP/exempel-desk"] == "RINGING"


@pytest.mark.parametrize("kind", ["memory", "redis"])
def test_phones_states_are_kept_where_every_instance_reads_them(kind: str, request: pytest.FixtureRequest) -> None:
    async def main() -> None:
        if kind == "memory":
            writer = reader = MemoryStore()
            clients: list[aioredis.Redis] = []
        else:
            url = request.getfixturevalue("redis_url")
            prefix = f"pbxtest:{uuid.uuid4().hex[:12]}:"
            clients = [aioredis.Redis.from_url(url), aioredis.Redis.from_url(url)]
            writer, reader = (RedisStore(c, prefix=prefix) for c in clients)
        try:
            assert await reader.device_states("exempel", "anna") == {}
            await writer.set_device_states("exempel", "anna", {"PJSIP/anna": "INUSE", "PJSIP/exempel-desk": "RINGING"})
            await writer.set_line("exempel", "anna", BUSY)
            assert await reader.device_states("exempel", "anna") == {"PJSIP/anna": "INUSE",
                                                                     "PJSIP/exempel-desk": "RINGING"}
            assert await reader.line("exempel", "anna") is BUSY
            assert await reader.device_states("annat", "anna") == {}  # per tenant
        finally:
            for client in clients:
                async for key in client.scan_iter(f"{prefix}*"):
                    await client.delete(key)
                await client.aclose()
    asyncio.run(main())


# --- end to end: a call rings Anna, she answers, it ends; the API shows each step ----------------


async def line_of(c: ClientSession, w: World, user: str) -> dict[str, Any]:
    async with c.get(f"{w.base}{API}/users/{user}/line") as r:
        body: dict[str, Any] = await r.json()
        assert r.status == 200, body
        return body


async def until_line(c: ClientSession, w: World, user: str, wanted: str, tries: int = 1000) -> dict[str, Any]:
    for _ in range(tries):
        body = await line_of(c, w, user)
        if body["line"] == wanted:
            return body
        await asyncio.sleep(0.01)
    raise AssertionError(f"{user}'s line never became {wanted}: {body}")


def test_a_call_to_anna_shows_her_ringing_then_in_a_call_then_free_through_the_api(tmp_path: Path) -> None:
    async def body(w: World, controller: Controller, sim: Any) -> None:
        sim.endpoint("PJSIP/anna", Endpoint(answer_after_s=10.0, talk_s=10.0))
        sim.endpoint("+46701111111", Endpoint(answer_after_s=None))  # her mobile rings too, and is not answered
        async with await signed_in(w, "boss@exempel.se") as c:
            # Anna gets a softphone as well, provisioned here; it is not registered (UNAVAILABLE)
            async with c.post(f"{w.base}{API}/users/anna/devices", json={"name": "soft"}) as r:
                assert r.status == 201, await r.text()
            for _ in range(500):  # the controller picks up the new configuration version
                if controller.state.device_owner.get("PJSIP/exempel-soft") == ("exempel", "anna"):
                    break
                await asyncio.sleep(0.01)
            sim.endpoint("PJSIP/exempel-soft", Endpoint(unavailable=True))
            before = await line_of(c, w, "anna")
            for _ in range(500):
                soft = next(d for d in before["devices"] if d["dial"] == "PJSIP/exempel-soft")
                if soft["state"] == "UNAVAILABLE":
                    break
                await asyncio.sleep(0.01)
                before = await line_of(c, w, "anna")
            assert before["line"] == "free"  # the desk phone is free: the offline softphone does not hide her
            assert (soft["name"], soft["line"], soft["registered"]) == ("soft", "unavailable", False)

            call = await sim.place_call("+46701234567", "+46812345601", CallScript())  # Anna's direct number
            ringing = await until_line(c, w, "anna", "ringing")
            desk = next(d for d in ringing["devices"] if d["dial"] == "PJSIP/anna")
            assert desk["state"] == "RINGING" and desk["line"] == "ringing"
            talking = await until_line(c, w, "anna", "in_call")
            assert next(d for d in talking["devices"] if d["dial"] == "PJSIP/anna")["state"] == "INUSE"
            # the device list shows the same live state
            async with c.get(f"{w.base}{API}/users/anna/devices") as r:
                listed = {d["dial"]: d for d in (await r.json())["items"]}
            assert listed["PJSIP/anna"]["line"] == "in_call" and listed["PJSIP/anna"]["registered"] is True
            assert listed["PJSIP/exempel-soft"]["line"] == "unavailable"
            await asyncio.wait_for(call.wait(), 30)
            after = await until_line(c, w, "anna", "free")
            assert next(d for d in after["devices"] if d["dial"] == "PJSIP/anna")["state"] == "NOT_INUSE"
            # Björn, never called, stayed free all along; another tenant cannot see Anna's line
            assert (await line_of(c, w, "bjorn"))["line"] == "free"
        async with await signed_in(w, "admin@annat.se") as other, \
                other.get(f"{w.base}{API}/users/anna/line") as r:
            assert r.status == 404
    with_controller(tmp_path, body, speed=5.0)
