"""Running the controller for real: `pbx up` (serve until stopped) and `pbx call` (one simulated call)."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, TextIO

from pbx.controller import Controller, Presences, new_secret
from pbx.routing.model import TenantConfig
from pbx.settings import Settings


def simulator_for(settings: Settings, configs: list[TenantConfig], start: datetime, speed: float,
                  answer_after_s: float | None = 4.0) -> Any:
    """A simulated Asterisk whose phones (every user's devices) and trunk answer after a while."""
    from pbx.asterisk.simulator import Endpoint, SimAsterisk, SimClock

    sim = SimAsterisk(agi_host=settings.agi_host, agi_port=settings.agi_port, clock=SimClock(start, speed),
                      username="pbx", secret=new_secret())
    for cfg in configs:
        for user in cfg.users:
            for device in user.devices:
                sim.endpoint(device, Endpoint(answer_after_s=answer_after_s, talk_s=30.0))
    sim.endpoint("trunk", Endpoint(answer_after_s=answer_after_s and answer_after_s + 2, talk_s=30.0))
    return sim


class DbReloader:
    """The scheduler's job: reload configuration when the database changed since last time (see db_reloader)."""

    def __init__(self, settings: Settings, clock: Callable[[], datetime] | None = None) -> None:
        from pbx.db import EARLIER_FLOWS_KEPT, config_stamp, load_earlier_flows, make_engine, session_factory

        self.engine = make_engine(settings.database_url)
        self.sessions = session_factory(self.engine)
        self.now = clock or (lambda: datetime.now(UTC))
        self.kept = EARLIER_FLOWS_KEPT
        self.last: str | None = None
        with self.sessions() as session:
            if not load_earlier_flows(session, self.now() - self.kept):
                self.last = config_stamp(session)  # the controller started with this configuration

    def __call__(self) -> tuple[str, list[TenantConfig], Presences] | None:
        from pbx.db import config_stamp, load_all, load_earlier_flows, load_presence

        with self.sessions() as session:
            stamp = config_stamp(session)
            if stamp == self.last:
                return None
            self.last = stamp
            earlier = load_earlier_flows(session, self.now() - self.kept)
            configs = [replace(cfg, earlier_flows=earlier.get(cfg.key, ())) for cfg in load_all(session)]
            return stamp, configs, load_presence(session)

    def close(self) -> None:
        self.engine.dispose()


def db_reloader(settings: Settings, clock: Callable[[], datetime] | None = None) -> DbReloader:
    """The scheduler's job: reload configuration when the database changed since last time.

    Each configuration comes with the flow versions that were in force during the last
    EARLIER_FLOWS_KEPT (TenantConfig.earlier_flows), so a call that started on one finishes on it
    after a publish. The controller starts with configurations that lack them; if the database
    holds any, the first poll reloads rather than waiting for the next change."""
    return DbReloader(settings, clock)


def media_stores(settings: Settings, clock: Any = None) -> dict[str, Any]:
    """Voicemail messages and call recordings: rows in the configuration database, files under PBX_MEDIA;
    tenants' own prompts under PBX_PROMPTS."""
    from pathlib import Path

    from pbx.db import make_engine, session_factory
    from pbx.ivr.prompts import PromptStore
    from pbx.recording.index import RecordingIndex
    from pbx.voicemail.messages import VoicemailStore

    sessions = session_factory(make_engine(settings.database_url))
    media = Path(settings.media)
    now = clock or (lambda: datetime.now(UTC))
    return {"voicemail": VoicemailStore(sessions, media, now), "recording_index": RecordingIndex(sessions, media, now),
            "prompts": PromptStore(sessions, Path(settings.prompts)), "sessions": sessions}


def print_call(sim_call: Any, controller: Controller, out: TextIO) -> None:
    """Each step of a simulated call and, for each request, the decision and why."""
    record = controller.calls.finished[-1] if controller.calls.finished else None
    for rec in [*controller.calls.finished, *controller.calls.live.values()]:
        if rec.uniqueid == getattr(sim_call, "uniqueid", None):
            record = rec
    paths = list(record.path) if record is not None else []
    for step in sim_call.steps:
        out.write(f"  [{step.at:%H:%M:%S}] {step.kind:<7} {step.details}\n")
        if step.kind == "agi" and paths:
            out.write(f"            why: {paths.pop(0)}\n")
    cause = f"cause {sim_call.hangup_cause} ({sim_call.hangup_cause_txt})" if sim_call.hangup_cause else "normal"
    answered = f", answered by {sim_call.answered_by}" if sim_call.answered_by else ""
    recorded = f", message recorded in {sim_call.recording}" if sim_call.recording else ""
    out.write(f"  call ended: {cause}{answered}{recorded}\n")


async def place_calls(controller: Controller, calls: Sequence[tuple[str, str, list[str]]], out: TextIO,
                      timeout_s: float = 120.0) -> list[Any]:
    from pbx.asterisk.simulator import CallScript

    sim = controller.sim
    placed = []
    for caller, number, keys in calls:
        sim_call = await sim.place_call(caller, number, CallScript(keys=keys))
        await asyncio.wait_for(sim_call.wait(), timeout_s)
        out.write(f"\nCall from {caller} to {number}, keys {','.join(keys) or 'none'}:\n")
        print_call(sim_call, controller, out)
        placed.append(sim_call)
    return placed


async def start_admin_api(settings: Settings, controller: Controller, redis: Any | None = None) -> tuple[Any, int]:
    """The admin API beside the controller, on the controller's stores; returns (runner, port). With `redis`
    (a redis.asyncio client: settings.redis_url is set), failed sign-ins are counted there, across instances."""
    from aiohttp import web

    from admin_api.app import ApiContext, create_app
    from admin_api.auth import AdminStore
    from admin_api.limits import LoginLimiter, LoginLimits, RedisLoginLimiter
    from pbx.db import make_engine, session_factory
    from pbx.notify.senders import Message

    sessions = session_factory(make_engine(settings.database_url))
    sms = controller.notifier.senders.get("sms")

    async def send_sms(number: str, text: str) -> None:
        assert sms is not None
        await sms.send(number, Message(tenant="", kind="login", ref="", subject="", text=text))

    limiter: LoginLimits = RedisLoginLimiter(redis) if redis is not None else LoginLimiter()
    context = ApiContext(sessions, AdminStore(sessions, controller.clock), controller.clock,
                         voicemail=controller.voicemail, prompts=controller.prompts,
                         recordings=controller.recording_index, send_sms=send_sms if sms is not None else None,
                         box_changed=controller.update_mwi, controller=controller, limiter=limiter)
    runner = web.AppRunner(create_app(context), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, settings.api_host, settings.api_port)
    await site.start()
    ports = [addr[1] for addr in runner.addresses if isinstance(addr, tuple)]
    return runner, ports[0] if ports else settings.api_port


async def run_up(settings: Settings, configs: list[TenantConfig], presences: Presences, demo_calls: bool,
                 out: TextIO | None = None, stop_after_s: float | None = None) -> None:
    out = out or sys.stdout
    sim = None
    clock = None
    if settings.ami is None:
        sim = simulator_for(settings, configs, datetime.now(UTC), settings.sim_speed)
        clock = sim.clock.now
    client = None
    store = None
    if settings.redis_url:
        import redis.asyncio as aioredis

        from pbx.state.redis_store import RedisStore

        client = aioredis.from_url(settings.redis_url)
        store = RedisStore(client)
    controller = Controller(settings, configs, presences, clock=clock, simulator=sim, reload=db_reloader(settings),
                            store=store, **media_stores(settings, clock))
    await controller.start()
    api_runner, api_port = await start_admin_api(settings, controller, redis=client)
    if sim is not None:
        asterisk = f"simulated Asterisk (AMI on port {sim.ami_port})"
    else:
        asterisk = f"Asterisk at {settings.ami.host}:{settings.ami.port}" if settings.ami else ""
    out.write(f"pbx up: FastAGI on {settings.agi_host}:{controller.agi.port}, "
              f"health on http://{settings.http_host}:{controller.http_port}/health, "
              f"admin API on http://{settings.api_host}:{api_port}/api/v1/docs, {asterisk}\n")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    try:
        if sim is not None and demo_calls:
            from pbx.demo import MAIN_NUMBER

            await place_calls(controller, [("+46701234567", MAIN_NUMBER, ["2"]), ("+46709876543", MAIN_NUMBER, ["1"])],
                              out)
            out.write("\nServing; Ctrl-C stops. Place more calls with: .venv/bin/pbx call +46812345600 --digits 2\n")
        out.flush()
        if stop_after_s is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), stop_after_s)
        else:
            await stop.wait()
    finally:
        await api_runner.cleanup()
        await controller.stop()
        if client is not None:
            await client.aclose()


async def run_call(settings: Settings, configs: list[TenantConfig], presences: Presences, number: str,
                   keys: list[str], at: datetime, caller: str, speed: float, answer: bool,
                   out: TextIO | None = None) -> Any:
    out = out or sys.stdout
    settings = replace(settings, agi_port=0, http_port=0, ami=None)
    sim = simulator_for(settings, configs, at, speed, answer_after_s=4.0 if answer else None)
    controller = Controller(settings, configs, presences, clock=sim.clock.now, simulator=sim)
    await controller.start()
    try:
        placed = await place_calls(controller, [(caller, number, keys)], out)
    finally:
        await controller.stop()
    return placed[0]
