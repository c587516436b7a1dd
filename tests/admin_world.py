"""The admin API's test world, shared by the admin API tests: a migrated SQLite database with the demo
tenants (Exempel AB with its account tree, Annat AB), administrators of every role, a voicemail message
and a recording in each tenant, a local SMS gateway, and the API served over real HTTP on loopback."""

from __future__ import annotations

import asyncio
import io
import math
import struct
import wave
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import pyotp
from aiohttp import ClientSession, CookieJar, web
from aiohttp.test_utils import TestServer
from sqlalchemy import update

from admin_api.app import ApiContext, create_app
from admin_api.auth import AdminStore, LoginLimiter
from pbx.asterisk.sim_core import write_wav
from pbx.db import make_engine, migrate, save_tenant, session_factory
from pbx.db.models import AdminRow
from pbx.demo import annat, demo_accounts, exempel
from pbx.ivr.prompts import PromptStore
from pbx.notify import HttpSmsSender
from pbx.notify.senders import Message
from pbx.recording.index import RecordingIndex
from pbx.routing.model import PromptConfig
from pbx.voicemail.messages import VoicemailStore

T = TypeVar("T")

PASSWORD = "correct horse battery"
# The servers listen on 127.0.0.1, and aiohttp's client keeps cookies from IP addresses only when told to.


@dataclass
class World:
    base: str
    ctx: ApiContext
    totp: str  # Exempel's super administrator's authenticator secret
    sms: list[dict[str, Any]]  # what the SMS gateway received
    ids: dict[str, str]  # a voicemail message and a recording of each tenant


def wav_bytes(seconds: float = 1.0) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(b"".join(struct.pack("<h", int(6000 * math.sin(2 * math.pi * 330 * i / 16000)))
                               for i in range(int(16000 * seconds))))
    return out.getvalue()


@asynccontextmanager
async def world(tmp: Path, **extra: Any) -> AsyncIterator[World]:
    """`extra`: more ApiContext fields (a controller, a clock…)."""
    url = f"sqlite:///{tmp / 'pbx.sqlite'}"
    await asyncio.to_thread(migrate, url)
    sessions = session_factory(make_engine(url))
    with sessions() as session:
        save_tenant(session, exempel(), demo_accounts())
        # Annat AB has a prompt under one of Exempel's keys: keys are per tenant
        from dataclasses import replace
        save_tenant(session, replace(annat(), prompts=(PromptConfig("exempel-huvudmeny", "Meny"),)))
        session.commit()
    clock = lambda: datetime.now(UTC)  # noqa: E731
    admins = AdminStore(sessions, clock)
    _, totp = admins.create_admin("exempel", "boss@exempel.se", "Bo Ss", PASSWORD, "super_admin",
                                  second_factor="totp")
    admins.create_admin("exempel", "gbg@exempel.se", "Göta Berg", PASSWORD, "account_admin", account="goteborg")
    admins.create_admin("exempel", "sms@exempel.se", "Sam Ms", PASSWORD, "admin", second_factor="sms",
                        sms_number="+46701234567")
    admins.create_admin("exempel", "viewer@exempel.se", "Vera", PASSWORD, "custom", rights=["view"])
    admins.create_admin("annat", "admin@annat.se", "Ann At", PASSWORD, "super_admin")
    media = tmp / "media"
    vm, recordings = VoicemailStore(sessions, media, clock), RecordingIndex(sessions, media, clock)
    ids: dict[str, str] = {}
    for tenant, box in (("exempel", "vaxel"), ("annat", "info")):
        spool = tmp / "spool" / tenant / "1.1.wav"
        write_wav(str(spool), 2.0)
        message = vm.deposit(tenant, box, spool, call_id="1.1", caller="+46701234567", dialled="+4681",
                             at=clock())
        assert message is not None
        ids[f"{tenant}-message"] = message.id
        write_wav(str(spool), 3.0)
        rec = recordings.index(tenant, spool, call_id="2.2", kind="on-demand", caller="+46701234567",
                               dialled="+4681", user=None, queue=None, started_at=clock())
        assert rec is not None
        ids[f"{tenant}-recording"] = rec.id
    sms: list[dict[str, Any]] = []

    async def gateway(request: web.Request) -> web.Response:
        sms.append(await request.json())
        return web.json_response({"ok": True})

    sms_app = web.Application()
    sms_app.router.add_post("/sms", gateway)
    async with TestServer(sms_app, host="127.0.0.1") as sms_server:
        sender = HttpSmsSender(str(sms_server.make_url("/sms")), "PBX")

        async def send_sms(number: str, text: str) -> None:
            await sender.send(number, Message(tenant="", kind="login", ref="", subject="", text=text))

        ctx = ApiContext(sessions, admins, clock, voicemail=vm, prompts=PromptStore(sessions, tmp / "prompts"),
                         recordings=recordings, send_sms=send_sms, limiter=LoginLimiter(attempts=5), **extra)
        async with TestServer(create_app(ctx, validate_responses=True), host="127.0.0.1") as server:
            yield World(str(server.make_url("")).rstrip("/"), ctx, totp or "", sms, ids)


def run(tmp: Path, body: Callable[[World], Awaitable[None]], **extra: Any) -> None:
    async def main() -> None:
        async with world(tmp, **extra) as w:
            await body(w)
    asyncio.run(main())


async def signed_in(w: World, login: str) -> ClientSession:
    """A browser session, second factor given where there is one."""
    client = ClientSession(headers={"X-Requested-With": "pbx"}, cookie_jar=CookieJar(unsafe=True))
    async with client.post(f"{w.base}/api/v1/login", json={"login": login, "password": PASSWORD}) as r:
        assert r.status == 200, await r.text()
        factor = (await r.json())["second_factor"]
    if factor != "none":
        code = fresh_totp(w, login) if factor == "totp" else w.sms[-1]["text"].rsplit(" ", 1)[1]
        async with client.post(f"{w.base}/api/v1/login/verify", json={"code": code}) as r:
            assert r.status == 200, await r.text()
    return client


def fresh_totp(w: World, login: str) -> str:
    """The current TOTP code, as an authenticator shows it in a period of its own: a code signs in once (RFC 6238
    §5.2), and the tests sign in far more often than once every 30 s, so the last step used is forgotten first."""
    with w.ctx.sessions() as session, session.begin():
        session.execute(update(AdminRow).where(AdminRow.login == login.lower()).values(totp_last_step=None))
    return pyotp.TOTP(w.totp).now()


async def problem(r: Any, status: int) -> dict[str, Any]:
    assert r.status == status, await r.text()
    assert r.headers["Content-Type"].startswith("application/problem+json")
    body: dict[str, Any] = await r.json()
    assert body["status"] == status and body["type"].startswith("https://")
    return body


# --- the API with a live controller --------------------------------------------------------------------


def config_follower(holder: list[World]) -> Callable[[], Any]:
    """A controller's `reload` as deployed (RELOAD_EVERY_S): the configuration and presence the API saved, once per
    change, read from the world in `holder` (empty until the world is up). The first call takes note of where the
    database is and hands nothing over."""
    from pbx.db import config_stamp, load_all, load_presence
    last: list[str] = []

    def reload() -> Any:
        if not holder:
            return None
        with holder[0].ctx.sessions() as session:
            stamp = config_stamp(session)
            if last and stamp == last[0]:
                return None
            first = not last
            last[:] = [stamp]
            return None if first else (stamp, load_all(session), load_presence(session))
    return reload


def with_controller(tmp: Path, body: Callable[[World, Any, Any], Awaitable[T]], speed: float = 20.0, *,
                    endpoints: dict[str, Any] | None = None) -> T:
    """The admin API and a real controller in front of the simulator (AMI and FastAGI on real sockets), on
    Tuesday 24 November 2026 at 10:00 in Stockholm; the controller follows the API's database as a deployed one
    does (a change through the API reaches its routing table within a second), and finished recordings are
    listed by the API. `endpoints`: phones that behave otherwise than answering at once (pbx.asterisk.simulator
    Endpoint, by device). `body(world, controller, simulator)`."""
    from pbx.controller import Controller
    from pbx.demo import STOCKHOLM
    from pbx.live import simulator_for
    from pbx.settings import Settings

    async def main() -> T:
        settings = Settings(database_url="sqlite://", log_level="INFO", agi_port=0, http_port=0,
                            spool=str(tmp / "spool"))
        tenants = [exempel(), annat()]
        sim = simulator_for(settings, tenants, datetime(2026, 11, 24, 10, 0, tzinfo=STOCKHOLM), speed)
        for device, endpoint in (endpoints or {}).items():
            sim.endpoint(device, endpoint)
        holder: list[World] = []
        reload = config_follower(holder)
        controller = Controller(settings, tenants, clock=sim.clock.now, simulator=sim, reload=reload)
        async with world(tmp, controller=controller) as w:
            holder.append(w)
            reload()
            w.ctx.clock = sim.clock.now  # the API's "now" is the simulated Asterisk's
            controller.recording_index = w.ctx.recordings
            await controller.start()
            try:
                return await body(w, controller, sim)
            finally:
                await controller.stop()
    return asyncio.run(main())
