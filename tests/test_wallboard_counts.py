"""Today's answered and missed callers on the wallboard come from the call records plus this controller's calls
not written yet: the same after a restart and on another instance, never a call twice. And the records have
no gaps: a caller who hangs up before the first routing answer, and one who goes through two queues."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp import ClientSession
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from admin_api.wallboard import WallboardWatcher
from pbx.acd.service import AcdEvent
from pbx.asterisk.simulator import CallScript, Endpoint, SimCall
from pbx.calls import CallLog
from pbx.controller import Controller
from pbx.db import make_engine, migrate, save_tenant, session_factory
from pbx.demo import MAIN_NUMBER, STOCKHOLM, annat, demo_presence, demo_tenants, exempel
from pbx.live import simulator_for
from pbx.routing.engine import Call, Decision, EnterQueue, Hangup
from pbx.routing.model import Menu, QueueConfig, QueueNode, TenantConfig
from pbx.settings import Settings
from pbx.stats.collector import CallRecorder
from pbx.stats.models import CallRecordRow
from pbx.stats.records import CallRecordStore, CallRecordWriter, RecordWrite
from pbx.stats.wallboard import QueueDay, TodayCounts, count_calls, day_bounds, read_day_counts
from pbx.tables import compile_from
from tests.admin_world import signed_in, world
from tests.test_wallboard import bearer

TUE_10 = datetime(2026, 11, 24, 10, 0, tzinfo=STOCKHOLM)
SPEED = 50.0
GONE = Endpoint(unavailable=True)


def seeded(engine: Engine, tenants: list[TenantConfig]) -> sessionmaker[Session]:
    sessions = session_factory(engine)
    with sessions() as session:
        for cfg in tenants:
            save_tenant(session, cfg)
        session.commit()
    return sessions


@asynccontextmanager
async def controller_on(tmp: Path, sessions: sessionmaker[Session], tenants: list[TenantConfig],
                        endpoints: dict[str, Endpoint] | None = None, speed: float = SPEED
                        ) -> AsyncIterator[tuple[Controller, Any]]:
    """A controller writing call records to `sessions`, in front of a simulated Asterisk of its own."""
    settings = Settings(database_url="sqlite://", log_level="INFO", agi_port=0, http_port=0,
                        spool=str(tmp / f"spool-{uuid.uuid4().hex[:6]}"))
    sim = simulator_for(settings, tenants, TUE_10, speed)
    for name, behaviour in (endpoints or {}).items():
        sim.endpoint(name, behaviour)
    controller = Controller(settings, tenants, demo_presence(TUE_10.date()), clock=sim.clock.now, simulator=sim,
                            sessions=sessions)
    await controller.start()
    try:
        yield controller, sim
    finally:
        await controller.stop()


async def call(sim: Any, keys: list[str], caller: str = "+46701234567", timeout: float = 60.0,
               **script: Any) -> SimCall:
    placed = await sim.place_call(caller, MAIN_NUMBER, CallScript(keys=keys, **script))
    return await asyncio.wait_for(placed.wait(), timeout)


async def figures(watcher: WallboardWatcher, queue: str = "support") -> tuple[int, int, float | None]:
    got = await watcher.boards("exempel")
    assert got is not None
    board = next(b for b in got[1] if b.queue == queue)
    return board.answered_today, board.missed_today, board.service_level


async def written(controller: Controller, sessions: sessionmaker[Session], call_ids: list[str]) -> list[CallRecordRow]:
    """The calls' rows once all are in the database."""
    assert controller.record_writer is not None
    for _ in range(3000):
        await controller.record_writer.flush()
        with sessions() as session:
            rows = list(session.scalars(select(CallRecordRow).where(CallRecordRow.call_id.in_(call_ids))))
        if len(rows) == len(call_ids):
            return rows
        await asyncio.sleep(0.01)
    raise AssertionError(f"records of {call_ids} not written ({controller.record_writer.metrics.last_error})")


# --- today's counts: a restart and another instance -------------------------------------------------------------


def test_todays_answered_and_missed_survive_a_restart_and_agree_across_instances(tmp_path: Path,
                                                                                 engine: Engine) -> None:
    tenants = demo_tenants()
    sessions = seeded(engine, tenants)
    endpoints = {"PJSIP/david": GONE, "PJSIP/eva": Endpoint(answer_after_s=2.0, talk_s=20.0)}

    async def main() -> tuple[list[tuple[int, int, float | None]], ...]:
        async with controller_on(tmp_path, sessions, tenants, endpoints) as (a, sim), \
                controller_on(tmp_path, sessions, tenants) as (other, _):
            # the figures as they are at each look: no board cache, the records read every time
            watcher = WallboardWatcher(a, sessions, board_cache_s=0.0)
            elsewhere = WallboardWatcher(other, sessions, board_cache_s=0.0)
            watcher.counts.refresh_s = elsewhere.counts.refresh_s = 0.0
            await a.acd.agent_logout("exempel", "david")
            # the first caller is answered by Eva within seconds; the second waits behind them and gives up
            first = asyncio.create_task(call(sim, ["2"]))
            for _ in range(3000):
                if any(c.agent == "eva" and c.answered for c in a.acd.callers.values()):
                    break
                await asyncio.sleep(0.01)
            talking = await figures(watcher)  # answered, still talking: no record yet, counted live
            second = await call(sim, ["2"], caller="+46701234568", hangup_after_s=15.0)
            done = await first
            seen = [await figures(watcher)]  # perhaps before the records land
            await written(a, sessions, [done.uniqueid, second.uniqueid])
            seen.append(await figures(watcher))  # the records are in: counted there, not twice
            seen.append(await figures(watcher))
            other_instance = await figures(elsewhere)
        async with controller_on(tmp_path, sessions, tenants) as (restarted, _):
            after_restart = await figures(WallboardWatcher(restarted, sessions, board_cache_s=0.0))
            assert not restarted.records.queued  # nothing of its own: everything from the records
        return [talking], seen, [other_instance], [after_restart]

    talking, seen, other_instance, after_restart = asyncio.run(main())
    assert talking == [(1, 0, 100.0)]
    assert seen == [(1, 1, 50.0)] * 3
    assert other_instance == [(1, 1, 50.0)]
    assert after_restart == [(1, 1, 50.0)]


def test_a_call_is_counted_once_while_its_record_goes_to_the_database(engine: Engine) -> None:
    """The hand-over, step by step: live while the call lasts, live while the record waits in the writer,
    left out of the query while it may be landing, then from the database only."""
    sessions = seeded(engine, demo_tenants())
    t0 = TUE_10.astimezone(UTC)

    async def main() -> list[dict[str, QueueDay]]:
        calls = CallLog()
        writer = CallRecordWriter(CallRecordStore(sessions))
        recorder = CallRecorder(calls, writer, lambda device: None)
        counts = TodayCounts(recorder, sessions, refresh_s=0.0)
        now = (t0 + timedelta(minutes=5)).timestamp()
        table = compile_from(demo_tenants())
        seen = []
        for n, (outcome, wait) in enumerate([("answered", 12.0), ("abandoned", 50.0), ("answered", 35.0)]):
            uid = f"1795510800.{n}"
            decision = Decision(EnterQueue((), "support", "longest_idle", 600, 45, None), "exempel", "huvud",
                                "support", "queue:support", 0, table.version, t0, (), int(t0.timestamp()))
            calls.decision(decision, uid, Call(MAIN_NUMBER, "+46701234567"))
            recorder.decision(decision, uid, Call(MAIN_NUMBER, "+46701234567"))
            recorder.acd(AcdEvent("joined", "exempel", uid, "support", t0.timestamp()))
            recorder.acd(AcdEvent(outcome, "exempel", uid, "support", t0.timestamp() + wait, agent="eva"))
            rec = calls.hangup(uid, "Normal Clearing", t0 + timedelta(seconds=wait + 30))
            assert rec is not None
            recorder.ended(rec)
        seen.append(await counts.today("exempel", now, STOCKHOLM))  # all three in the writer: live
        await writer.flush()
        seen.append(await counts.today("exempel", now, STOCKHOLM))  # in the database now
        seen.append(await counts.today("exempel", now, STOCKHOLM))
        seen.append({"forgotten": QueueDay(len(recorder.queued))})
        with sessions() as session:
            start, end = day_bounds(TUE_10.date(), STOCKHOLM)
            seen.append(read_day_counts(session, "exempel", start, end))
            seen.append(read_day_counts(session, "exempel", start, end, leave_out=["1795510800.0"]))
            seen.append(read_day_counts(session, "exempel", start + timedelta(days=1), end + timedelta(days=1)))
        return seen

    live, stored, again, forgotten, db, left_out, tomorrow = asyncio.run(main())
    three = {"support": QueueDay(answered=2, answered_in_time=1, missed=1)}
    assert live == stored == again == db == three
    assert forgotten == {"forgotten": QueueDay(0)}  # read from the database: the recorder let them go
    assert left_out == {"support": QueueDay(answered=1, answered_in_time=0, missed=1)}
    assert tomorrow == {}


def test_the_counts_are_pure_arithmetic_of_queue_outcomes() -> None:
    got = count_calls([("support", "answered", 20.0), ("support", "answered", 20.5), ("support", "missed", 3.0),
                       ("support", "overflowed", 600.0), ("support", "callback", 40.0), (None, "answered", 1.0),
                       ("andra", "answered", None)])
    assert got == {"support": QueueDay(answered=2, answered_in_time=1, missed=1),
                   "andra": QueueDay(answered=1, answered_in_time=0, missed=0)}


def test_records_written_by_another_instance_reach_this_wallboard_and_no_other_tenant(tmp_path: Path) -> None:
    async def main() -> tuple[dict[str, Any], dict[str, Any]]:
        tenants = demo_tenants()
        settings = Settings(database_url="sqlite://", log_level="INFO", agi_port=0, http_port=0,
                            spool=str(tmp_path / "spool"))
        sim = simulator_for(settings, tenants, TUE_10, SPEED)
        engine = make_engine(f"sqlite:///{tmp_path / 'pbx.sqlite'}")
        controller = Controller(settings, tenants, demo_presence(TUE_10.date()), clock=sim.clock.now, simulator=sim,
                                sessions=session_factory(engine))
        await controller.start()
        try:
            async with world(tmp_path, controller=controller) as w:
                # another controller instance wrote these (its own calls; this one never saw them)
                t0 = TUE_10.astimezone(UTC)
                store = CallRecordStore(w.ctx.sessions)
                base = {"caller": "+46701234567", "dialled": MAIN_NUMBER, "path": ["queue support"], "queue": "support",
                        "queued_at": t0, "cause": "Normal Clearing"}
                store.write([
                    RecordWrite("exempel", "1795510000.1", {**base, "entered_at": t0, "ended_at": t0 + timedelta(
                        minutes=3), "answered": True, "wait_s": 8.0, "queue_outcome": "answered"}),
                    RecordWrite("exempel", "1795510000.2", {**base, "entered_at": t0, "ended_at": t0 + timedelta(
                        minutes=1), "abandoned": True, "wait_s": 60.0, "queue_outcome": "missed"}),
                    RecordWrite("exempel", "1795510000.3", {**base, "entered_at": t0 - timedelta(days=1),
                                                            "ended_at": t0 - timedelta(days=1), "answered": True,
                                                            "wait_s": 5.0, "queue_outcome": "answered"}),
                    RecordWrite("annat", "1795510000.4", {**base, "entered_at": t0, "ended_at": t0, "answered": True,
                                                          "wait_s": 5.0, "queue_outcome": "answered"})])
                async with await signed_in(w, "boss@exempel.se") as c, c.get(f"{w.base}/api/v1/wallboard") as r:
                    ours = await r.json()
                async with ClientSession(headers=await bearer(w, "admin@annat.se")) as other, \
                        other.get(f"{w.base}/api/v1/wallboard") as r:
                    theirs = await r.json()
                return ours, theirs
        finally:
            await controller.stop()
            engine.dispose()

    ours, theirs = asyncio.run(main())
    support = next(q for q in ours["queues"] if q["queue"] == "support")
    assert (support["answered_today"], support["missed_today"], support["service_level"]) == (1, 1, 50.0)
    assert theirs["tenant"] == "annat" and theirs["queues"] == []


# --- no gaps in the records ----------------------------------------------------------------------------------


def test_a_caller_hanging_up_before_the_first_routing_answer_leaves_a_record(tmp_path: Path, engine: Engine) -> None:
    tenants = demo_tenants()
    sessions = seeded(engine, tenants)

    async def main() -> tuple[SimCall, CallRecordRow, int]:
        async with controller_on(tmp_path, sessions, tenants, speed=1.0) as (controller, sim):
            c = await call(sim, [], hangup_after_s=0.0)  # gone before the dialplan asked the controller anything
            [row] = await written(controller, sessions, [c.uniqueid])
            return c, row, len(controller.calls.live)

    c, row, live = asyncio.run(main())
    assert [s.kind for s in c.steps] == ["hangup"]  # no routing request was made
    assert (row.dialled, row.caller, row.abandoned, row.outcome, row.queue, row.path) == (
        MAIN_NUMBER, "+46701234567", True, "abandoned", None, [])
    assert row.ended_at is not None and row.entered_at <= row.ended_at
    assert (row.ended_at - row.entered_at).total_seconds() < 2  # the uniqueid says when the channel was made
    assert live == 0


def test_a_routing_answer_arriving_after_the_hangup_completes_the_record_and_leaves_no_call_open() -> None:
    calls = CallLog()
    recorder = CallRecorder(calls, None, lambda device: None)
    table = compile_from(demo_tenants())
    t0 = TUE_10.astimezone(UTC)
    # the caller hung up while the first AGI request was on its way (the channel was at the step, extension s)
    assert recorder.unrouted({"Uniqueid": "1795510800.7", "Context": "pbx-step", "Exten": "s", "Cause-txt": "Normal"},
                             table, t0) is None
    # a leg the controller dialled (the trunk's context, no number) and an agent's phone leave no record
    for leg in ({"Uniqueid": "1795510800.8", "Context": "pbx-inbound", "Exten": "s"},
                {"Uniqueid": "1795510800.9", "Context": "default", "Exten": MAIN_NUMBER}):
        assert recorder.unrouted(leg, table, t0) is None
    decision = Decision(Hangup(()), "exempel", "huvud", "valkommen", None, 0, table.version,
                        t0 + timedelta(seconds=1), (("flow huvud",),))
    calls.decision(decision, "1795510800.7", Call(MAIN_NUMBER, "+46701234567"))
    recorder.decision(decision, "1795510800.7", Call(MAIN_NUMBER, "+46701234567"))
    rec = calls.get("1795510800.7")
    assert rec is not None and rec.written and rec.abandoned and rec.path == ["flow huvud"]
    assert rec.ended is not None and rec.ended >= rec.started and rec.cause == "Normal"
    assert calls.live == {}  # not a call in progress for ever


def two_queues(overflow_via_flow: bool) -> list[TenantConfig]:
    """Exempel with a second queue, Andra linjen (Björn): Support overflows into it after 30 s, directly or
    through a menu of the flow."""
    ex = exempel()
    nodes: list[Any] = []
    huvud = next(f for f in ex.flows if f.key == "huvud")
    for node in huvud.nodes:
        nodes.append(dataclasses.replace(node, overflow="vidare" if overflow_via_flow else "andra")
                     if isinstance(node, QueueNode) and node.key == "support" else node)
    nodes.append(QueueNode("andra", "andra", overflow="vm-support", name="Andra linjen"))
    if overflow_via_flow:  # a menu of its own: a routing step between the two queues
        nodes.append(Menu("vidare", "welcome", {"1": "andra"}, timeout_next="andra", invalid_next="andra",
                          attempts=1, name="Vidare"))
    flows = tuple(dataclasses.replace(f, nodes=tuple(nodes)) if f.key == "huvud" else f for f in ex.flows)
    queues = (dataclasses.replace(ex.queues[0], max_wait_s=30),
              QueueConfig("andra", "Andra linjen", ("bjorn",), max_wait_s=300))
    return [dataclasses.replace(ex, flows=flows, queues=queues), annat()]


def through_two_queues(tmp: Path, engine: Engine, overflow_via_flow: bool, bjorn: Endpoint, **script: Any
                       ) -> tuple[SimCall, CallRecordRow, dict[str, tuple[int, int, float | None]]]:
    tenants = two_queues(overflow_via_flow)
    sessions = seeded(engine, tenants)

    async def main() -> tuple[SimCall, CallRecordRow, dict[str, tuple[int, int, float | None]]]:
        async with controller_on(tmp, sessions, tenants, {"PJSIP/david": GONE, "PJSIP/eva": GONE,
                                                          "PJSIP/bjorn": bjorn}, speed=100.0) as (controller, sim):
            c = await call(sim, script.pop("keys", ["2"]), **script)
            [row] = await written(controller, sessions, [c.uniqueid])
            watcher = WallboardWatcher(controller, sessions, board_cache_s=0.0)
            return c, row, {q: await figures(watcher, q) for q in ("support", "andra")}
    return asyncio.run(main())


def test_a_caller_sent_on_by_the_flow_to_a_second_queue_is_answered_there(tmp_path: Path, engine: Engine) -> None:
    c, row, counts = through_two_queues(tmp_path, engine, True, Endpoint(answer_after_s=2.0, talk_s=10.0),
                                        keys=["2", ""])
    assert c.answered_by == "PJSIP/bjorn"
    assert any("Support" in step for step in row.path) and any("Andra linjen" in step for step in row.path)
    assert (row.queue, row.answered, row.answered_by, row.queue_outcome, row.outcome) == (
        "andra", True, "bjorn", "answered", "answered")
    legs = row.queues or []
    assert [(leg["queue"], leg["outcome"]) for leg in legs] == [("support", "overflowed"), ("andra", "answered")]
    assert legs[0]["wait_s"] >= 30  # Support's limit, noticed at a tick
    assert row.wait_s is not None and row.wait_s < 20 and row.wait_s == legs[1]["wait_s"]  # the wait in Andra linjen
    assert row.overflowed
    assert counts == {"support": (0, 0, None), "andra": (1, 0, 100.0)}


def test_a_caller_overflowing_queue_to_queue_who_gives_up_is_missed_in_the_second(tmp_path: Path,
                                                                                  engine: Engine) -> None:
    c, row, counts = through_two_queues(tmp_path, engine, False, GONE, hangup_after_s=70.0)
    assert c.answered_by is None
    assert (row.queue, row.abandoned, row.answered, row.queue_outcome, row.outcome) == (
        "andra", True, False, "missed", "abandoned")
    legs = row.queues or []
    assert [(leg["queue"], leg["outcome"]) for leg in legs] == [("support", "overflowed"), ("andra", "missed")]
    assert row.wait_s is not None and row.wait_s < 70 - 30 and row.wait_s == legs[1]["wait_s"]
    assert counts == {"support": (0, 0, None), "andra": (0, 1, 0.0)}


def test_a_caller_overflowing_queue_to_queue_is_answered_in_the_second(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'pbx.sqlite'}")
    migrate(engine)
    try:
        c, row, _ = through_two_queues(tmp_path, engine, False, Endpoint(answer_after_s=2.0, talk_s=10.0),
                                       timeout=120.0)
    finally:
        engine.dispose()
    assert c.answered_by == "PJSIP/bjorn"
    assert (row.queue, row.answered_by, row.queue_outcome) == ("andra", "bjorn", "answered")

