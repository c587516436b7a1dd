"""Every call leaves a record (F-09): whole calls through the controller and the simulated Asterisk on real
sockets, records read back from the database; merging when several controllers write; a database hiccup."""

from __future__ import annotations

import asyncio
import io
import sqlite3
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
import redis.asyncio as aioredis
from openpyxl import load_workbook
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from pbx.asterisk.simulator import CallScript, Endpoint, SimCall
from pbx.controller import Controller
from pbx.db import make_engine, migrate, save_tenant, session_factory
from pbx.db.models import TenantRow
from pbx.demo import GOTEBORG_NUMBER, MAIN_NUMBER, STOCKHOLM, demo_presence, demo_tenants
from pbx.ivr.prompts import PromptStore
from pbx.live import simulator_for
from pbx.notifications import build_notifier
from pbx.recording.index import RecordingIndex
from pbx.settings import Settings
from pbx.state.redis_store import RedisStore
from pbx.stats.models import CallRecordRow, ReportScheduleRow
from pbx.stats.records import CallRecordStore, RecordWrite
from pbx.voicemail.messages import VoicemailStore

try:
    from tests.smtp_server import smtp_server
except ImportError:  # tests/ on sys.path (rootdir-less runs)
    from smtp_server import smtp_server  # type: ignore[no-redef]

T = TypeVar("T")
TUE_10 = datetime(2026, 11, 24, 10, 0, tzinfo=STOCKHOLM)
SPEED = 200.0
Body = Callable[[Controller, Any, sessionmaker[Session]], Awaitable[T]]


def run(tmp: Path, body: Body[T], *, at: datetime = TUE_10, endpoints: dict[str, Endpoint] | None = None,
        speed: float = SPEED, redis_url: str | None = None) -> T:
    """A controller in front of a simulated Asterisk, with a migrated SQLite database holding the demo
    tenants (records, messages, recordings); live state in memory or in Redis."""
    async def main() -> T:
        tenants = demo_tenants()
        settings = Settings(database_url="sqlite://", log_level="INFO", agi_port=0, http_port=0,
                            spool=str(tmp / "spool"))
        sim = simulator_for(settings, tenants, at, speed)
        for name, behaviour in (endpoints or {}).items():
            sim.endpoint(name, behaviour)
        url = f"sqlite:///{tmp / 'pbx.sqlite'}"
        await asyncio.to_thread(migrate, url)
        engine = make_engine(url)
        sessions = session_factory(engine)
        with sessions() as session:
            for cfg in tenants:
                save_tenant(session, cfg)
            session.commit()
        client = aioredis.from_url(redis_url) if redis_url else None
        prefix = f"pbx-records-{uuid.uuid4().hex[:8]}:"
        store = RedisStore(client, prefix=prefix, clock=lambda: sim.clock.now().timestamp()) if client else None
        controller = Controller(settings, tenants, demo_presence(at.date()), clock=sim.clock.now, simulator=sim,
                                store=store, sessions=sessions,
                                voicemail=VoicemailStore(sessions, tmp / "media", sim.clock.now),
                                recording_index=RecordingIndex(sessions, tmp / "media", sim.clock.now),
                                prompts=PromptStore(sessions, tmp / "prompts"))
        await controller.start()
        try:
            return await body(controller, sim, sessions)
        finally:
            await controller.stop()
            engine.dispose()
            if client is not None:
                async for key in client.scan_iter(f"{prefix}*"):
                    await client.delete(key)
                await client.aclose()
    return asyncio.run(main())


async def call(sim: Any, number: str, keys: list[str], timeout: float = 60.0, caller: str = "+46701234567",
               **script: Any) -> SimCall:
    placed = await sim.place_call(caller, number, CallScript(keys=keys, **script))
    return await asyncio.wait_for(placed.wait(), timeout)


def _row(sessions: sessionmaker[Session], call_id: str) -> dict[str, Any] | None:
    with sessions() as session:
        r = session.scalar(select(CallRecordRow).where(CallRecordRow.call_id == call_id))
        if r is None:
            return None
        tenant = session.scalar(select(TenantRow.key).where(TenantRow.id == r.tenant_id))
        return {c.name: getattr(r, c.name) for c in CallRecordRow.__table__.columns} | {"tenant": tenant}


async def record(controller: Controller, sessions: sessionmaker[Session], call_id: str,
                 until: Callable[[dict[str, Any]], bool] = lambda r: True) -> dict[str, Any]:
    """The call's row once it is in the database and says what `until` waits for."""
    last = None
    deadline = asyncio.get_running_loop().time() + 30.0  # generous: a busy machine is slow, not wrong
    while asyncio.get_running_loop().time() < deadline:
        assert controller.record_writer is not None
        await controller.record_writer.flush()
        last = await asyncio.to_thread(_row, sessions, call_id)
        if last is not None and until(last):
            return last
        await asyncio.sleep(0.01)
    assert controller.record_writer is not None
    raise AssertionError(f"no (complete) record of {call_id}: {last} ({controller.record_writer.metrics.last_error})")


# --- calls through the contact centre ------------------------------------------------------------


@pytest.mark.parametrize("live_state", ["memory", "redis"])
def test_an_answered_queue_call_records_wait_agent_talk_and_wrapup(
        tmp_path: Path, live_state: str, request: pytest.FixtureRequest) -> None:
    url = request.getfixturevalue("redis_url") if live_state == "redis" else None

    async def body(controller: Controller, sim: Any, sessions: sessionmaker[Session]
                   ) -> tuple[SimCall, dict[str, Any], dict[str, Any]]:
        # Eva's team lead gives her ten minutes of wrap-up (plenty of room to end it early on a busy machine)
        await controller.acd.set_wrapup("exempel", "eva", 600)
        c = await call(sim, MAIN_NUMBER, ["2"])
        first = await record(controller, sessions, c.uniqueid, lambda r: r["wrapup_s"] is not None)
        assert await controller.acd.end_wrapup("exempel", "eva")  # she is ready before her time is up
        later = await record(controller, sessions, c.uniqueid, lambda r: r["wrapup_s"] < 600)
        return c, first, later

    c, first, later = run(tmp_path, body, redis_url=url, endpoints={
        "PJSIP/david": Endpoint(answer_after_s=None), "PJSIP/eva": Endpoint(answer_after_s=2.0, talk_s=20.0)})
    assert c.answered_by == "PJSIP/eva"
    assert first["tenant"] == "exempel" and first["dialled"] == MAIN_NUMBER and first["caller"] == "+46701234567"
    assert (first["queue"], first["answered"], first["answered_by"], first["outcome"]) == (
        "support", True, "eva", "answered")
    assert not first["abandoned"] and not first["overflowed"] and not first["voicemail"]
    # David's phone rang out (20 s) before Eva's answered after 2 s: the caller waited for both
    assert 22 <= first["wait_s"] < 40
    assert first["queued_at"] < first["answered_at"] < first["ended_at"]
    assert first["wait_s"] == pytest.approx((first["answered_at"] - first["queued_at"]).total_seconds(), abs=0.01)
    assert first["talk_s"] == pytest.approx(20.0, abs=1.5)
    assert first["wrapup_s"] == 600.0  # the wrap-up as it started
    assert 0 < later["wrapup_s"] < 600  # Eva ended it early: the time it really took
    assert any("queue" in step.lower() or "kö" in step.lower() for step in first["path"])
    assert len(first["path"]) >= 2  # the menu, then the queue (and the return after David missed)


def test_a_caller_hanging_up_while_waiting_is_recorded_as_abandoned(tmp_path: Path) -> None:
    async def body(controller: Controller, sim: Any, sessions: sessionmaker[Session]) -> tuple[SimCall, dict[str, Any]]:
        c = await call(sim, MAIN_NUMBER, ["2"], hangup_after_s=60.0)
        return c, await record(controller, sessions, c.uniqueid)

    gone = Endpoint(unavailable=True)
    c, rec = run(tmp_path, body, endpoints={"PJSIP/david": gone, "PJSIP/eva": gone})
    assert c.answered_by is None
    assert (rec["queue"], rec["abandoned"], rec["answered"], rec["overflowed"], rec["outcome"]) == (
        "support", True, False, False, "abandoned")
    assert rec["answered_by"] is None and rec["talk_s"] is None and rec["wrapup_s"] is None
    assert 30 < rec["wait_s"] <= 60  # the minute less the time in the menu


def test_a_queue_that_overflows_into_voicemail_records_both(tmp_path: Path) -> None:
    async def body(controller: Controller, sim: Any, sessions: sessionmaker[Session]) -> tuple[SimCall, dict[str, Any]]:
        c = await call(sim, MAIN_NUMBER, ["2"], timeout=120)
        return c, await record(controller, sessions, c.uniqueid, lambda r: r["voicemail"])

    gone = Endpoint(unavailable=True)
    c, rec = run(tmp_path, body, speed=400.0, endpoints={"PJSIP/david": gone, "PJSIP/eva": gone})
    assert "/voicemail/exempel/support/" in (c.recording or "")
    assert (rec["queue"], rec["overflowed"], rec["abandoned"], rec["answered"]) == ("support", True, False, False)
    assert (rec["voicemail"], rec["voicemail_box"], rec["outcome"]) == (True, "support", "voicemail")
    assert 600 <= rec["wait_s"] <= 600 + 45 + 5  # the queue's ten-minute limit, noticed at the next tick


def test_an_evening_message_is_recorded_with_its_box_and_why(tmp_path: Path) -> None:
    async def body(controller: Controller, sim: Any, sessions: sessionmaker[Session]) -> tuple[SimCall, dict[str, Any]]:
        c = await call(sim, MAIN_NUMBER, [])
        return c, await record(controller, sessions, c.uniqueid, lambda r: r["voicemail"])

    c, rec = run(tmp_path, body, at=TUE_10.replace(hour=19))
    assert "/voicemail/exempel/vaxel/" in (c.recording or "")
    assert (rec["voicemail"], rec["voicemail_box"], rec["outcome"], rec["queue"]) == (True, "vaxel", "voicemail", None)
    assert any("closed" in step.lower() or "stängt" in step.lower() for step in rec["path"])
    assert rec["ended_at"] > rec["entered_at"]


def test_a_caller_who_hangs_up_in_the_menu_leaves_a_short_record(tmp_path: Path) -> None:
    async def body(controller: Controller, sim: Any, sessions: sessionmaker[Session]) -> tuple[SimCall, dict[str, Any]]:
        c = await call(sim, MAIN_NUMBER, [""], hangup_after_s=2.0)
        return c, await record(controller, sessions, c.uniqueid)

    c, rec = run(tmp_path, body, speed=40.0)  # slow enough that the menu is heard on a busy machine
    assert [a.split("^")[0] for a in c.actions] == ["menu"]
    assert len(rec["path"]) == 1 and "menu" in rec["path"][0].lower()
    assert (rec["outcome"], rec["queue"], rec["answered"], rec["voicemail"]) == ("ended", None, False, False)
    assert rec["cause"]  # as Asterisk said it
    assert 0 < (rec["ended_at"] - rec["entered_at"]).total_seconds() < 5


def test_a_callback_asked_for_in_a_menu_is_recorded_then_marked_made(tmp_path: Path) -> None:
    async def body(controller: Controller, sim: Any, sessions: sessionmaker[Session]
                   ) -> tuple[SimCall, dict[str, Any], list[SimCall]]:
        asked = await call(sim, GOTEBORG_NUMBER, ["2", "0705550123#"])
        rec = await record(controller, sessions, asked.uniqueid, lambda r: r["callback"] == "made")
        backs = [c for c in sim.calls if any(s.value == "callback^0705550123" for s in c.steps)]
        return asked, rec, backs

    asked, rec, backs = run(tmp_path, body)
    assert [a.split("^")[0] for a in asked.actions] == ["menu", "collect", "hangup"]
    assert len(backs) == 1 and "ANSWER" in backs[0].results
    agent = backs[0].channel.removeprefix("PJSIP/").partition("-")[0]
    assert (rec["queue"], rec["callback"], rec["outcome"], rec["answered_by"]) == ("support", "made", "callback",
                                                                                   agent)
    assert rec["dialled"] == GOTEBORG_NUMBER and not rec["answered"]


def test_records_wait_in_memory_while_the_database_fails_and_land_afterwards(tmp_path: Path) -> None:
    async def body(controller: Controller, sim: Any, sessions: sessionmaker[Session]
                   ) -> tuple[int, int, dict[str, Any]]:
        assert controller.record_writer is not None
        admin = sqlite3.connect(tmp_path / "pbx.sqlite", isolation_level=None)
        # an operator's botched maintenance: the table is away for a while, every write fails
        admin.execute("ALTER TABLE call_records RENAME TO call_records_away")
        try:
            c = await call(sim, MAIN_NUMBER, [""], hangup_after_s=2.0)
            for _ in range(500):
                if controller.record_writer.metrics.failures:
                    break
                await asyncio.sleep(0.01)
            failures, pending = controller.record_writer.metrics.failures, controller.record_writer.pending
        finally:
            admin.execute("ALTER TABLE call_records_away RENAME TO call_records")
            admin.close()
        return failures, pending, await record(controller, sessions, c.uniqueid)

    failures, pending, rec = run(tmp_path, body, speed=40.0)
    assert failures >= 1 and pending == 1  # refused, kept
    assert rec["outcome"] == "ended" and len(rec["path"]) == 1


# --- several controllers: one row per call -------------------------------------------------------


def _seed(engine: Engine) -> sessionmaker[Session]:
    sessions = session_factory(engine)
    with sessions() as session:
        for cfg in demo_tenants():
            save_tenant(session, cfg)
        session.commit()
    return sessions


def test_two_controllers_writing_the_same_call_leave_one_merged_row(engine: Engine) -> None:
    sessions = _seed(engine)
    t0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    whole = {"caller": "+46701234567", "dialled": MAIN_NUMBER, "entered_at": t0, "ended_at": t0 + timedelta(minutes=2),
             "path": ["menu", "queue support"], "queue": "support", "queued_at": t0 + timedelta(seconds=10),
             "wait_s": 15.0, "answered": True, "answered_by": "eva", "answered_at": t0 + timedelta(seconds=25),
             "talk_s": 95.0, "wrapup_s": 30.0, "abandoned": False, "overflowed": False, "callback": None,
             "voicemail": False, "voicemail_box": None, "cause": "Normal Clearing"}
    a, b = CallRecordStore(sessions), CallRecordStore(sessions)
    # the second controller saw less of the call (one decision) and heard of it first
    assert b.write([RecordWrite("exempel", "1700000000.1", {**whole, "path": ["menu"], "answered": False,
                                                            "answered_by": None, "talk_s": None})]) == []
    assert a.write([RecordWrite("exempel", "1700000000.1", whole)]) == []
    assert a.write([RecordWrite("exempel", "1700000000.1", whole)]) == []  # a retry: the same row, unchanged
    patch = RecordWrite("exempel", "1700000000.1", {"wrapup_s": 12.5}, full=False)
    early = RecordWrite("exempel", "1700000000.2", {"callback": "made"}, full=False)  # its record is not there yet
    assert a.write([patch, early]) == [early]
    # the same uniqueid in another tenant is another call
    assert a.write([RecordWrite("annat", "1700000000.1", {**whole, "queue": None, "dialled": "+46851234500"})]) == []
    with sessions() as session:
        rows = session.scalars(select(CallRecordRow).order_by(CallRecordRow.id)).all()
        assert len(rows) == 2
        row = rows[0]
        assert (row.path, row.answered, row.answered_by, row.talk_s, row.wrapup_s, row.outcome) == (
            ["menu", "queue support"], True, "eva", 95.0, 12.5, "answered")
        assert rows[1].queue is None and rows[1].dialled == "+46851234500"


# --- scheduled reports through the controller's scheduler ----------------------------------------


def test_the_controller_scheduler_mails_a_due_report_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import pbx.controller
    monkeypatch.setattr(pbx.controller, "REPORTS_EVERY_S", 0.05)

    async def body(controller: Controller, sim: Any, sessions: sessionmaker[Session]) -> tuple[list[Any], Any]:
        async with smtp_server() as server:
            controller.notifier = build_notifier(Settings(
                database_url="sqlite://", log_level="INFO",
                smtp_url=f"smtp://127.0.0.1:{server.port}?from=rapporter@exempel.se"))
            c = await call(sim, MAIN_NUMBER, ["2"], hangup_after_s=60.0)
            await record(controller, sessions, c.uniqueid)
            now = sim.clock.now()
            with sessions() as session, session.begin():
                tenant_id = session.scalar(select(TenantRow.id).where(TenantRow.key == "exempel"))
                # due the next morning at six: it reports on the day of the call
                session.add(ReportScheduleRow(
                    tenant_id=tenant_id, account_id=None, name="Köer", report="queues",
                    params={"service_level_s": 20}, every="daily", hour=6, recipients=["chef@exempel.se"],
                    next_run_at=datetime(2026, 11, 25, 6, 0, tzinfo=STOCKHOLM), last_run_at=None,
                    last_status=None, created_by="test", created_at=now))
            assert controller.reports is not None
            controller.reports.clock = lambda: sim.clock.now() + timedelta(days=1)  # the next morning
            for _ in range(500):
                if server.received:
                    break
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.3)  # several more scheduler rounds: the run is not sent again
            with sessions() as session:
                schedule = session.scalars(select(ReportScheduleRow)).one()
            return list(server.received), schedule

    gone = Endpoint(unavailable=True)
    received, schedule = run(tmp_path, body, endpoints={"PJSIP/david": gone, "PJSIP/eva": gone})
    assert len(received) == 1
    mail = received[0].message
    assert received[0].rcpt_tos == ("chef@exempel.se",) and mail["Subject"].startswith("Köer: 2026-11-24")
    attachment = next(part for part in mail.iter_attachments())
    book = load_workbook(io.BytesIO(attachment.get_content()))
    rows = list(book["Queues"].iter_rows(values_only=True))
    header = rows[0]
    support = dict(zip(header, rows[1], strict=True))
    assert (support["queue"], support["offered"], support["abandoned"], support["answered"]) == ("support", 1, 1, 0)
    assert schedule.last_status == "delivered to 1 of 1"
    assert schedule.next_run_at > schedule.last_run_at
