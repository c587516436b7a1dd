"""Statistics and reports over the admin API (F-09, F-16, A-05), from call records with known figures: queue
figures and the service level, the call list and its exports, the call specification with masked dialled
numbers, XLSX read back, report schedules mailed to a real SMTP server on loopback, isolation and rights."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from aiohttp import ClientSession
from openpyxl import load_workbook
from sqlalchemy import select

from pbx.db.models import AuditRow
from pbx.demo import ANNAT_NUMBER, GOTEBORG_NUMBER, MAIN_NUMBER, STOCKHOLM
from pbx.notify import Notifier, SmtpSender
from pbx.stats.records import CallRecordStore, RecordWrite
from pbx.stats.schedule import ReportMailer
from tests.admin_world import PASSWORD, World, problem, run, signed_in

try:
    from tests.smtp_server import smtp_server
except ImportError:  # tests/ on sys.path (rootdir-less runs)
    from smtp_server import smtp_server  # type: ignore[no-redef]

API = "/api/v1"
TUESDAY = date(2026, 11, 24)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _period(day: date, days: int = 1) -> str:
    start = datetime.combine(day, time(0), STOCKHOLM)
    end = start + timedelta(days=days)
    return f"from={start.isoformat().replace('+', '%2B')}&to={end.isoformat().replace('+', '%2B')}"


def _call(day: date, hh: int, mm: int, caller: str, dialled: str, **fields: Any) -> dict[str, Any]:
    entered = datetime.combine(day, time(hh, mm), STOCKHOLM)
    out: dict[str, Any] = {"caller": caller, "dialled": dialled, "entered_at": entered,
                           "ended_at": entered + timedelta(minutes=15), "path": ["menu → 2", "queue support"],
                           "cause": "Normal Clearing", **fields}
    if out.get("queue"):
        out["queued_at"] = entered + timedelta(seconds=20)
    return out


def records_of(day: date) -> list[RecordWrite]:
    """Support on `day`: two answered (10 s and 40 s waits), one abandoned, one overflowing into voicemail, one
    callback asked for on the Göteborg number; an outgoing call from Anna's direct number; one answered
    call the day after; and a call of Annat AB."""
    nxt = day + timedelta(days=1)
    return [RecordWrite(t, cid, f) for t, cid, f in [
        ("exempel", "1.1", _call(day, 9, 0, "+46705550001", MAIN_NUMBER, queue="support", wait_s=10.0,
                                 answered=True, answered_by="eva", talk_s=100.0, wrapup_s=30.0)),
        ("exempel", "1.2", _call(day, 9, 30, "+46705550002", MAIN_NUMBER, queue="support", wait_s=40.0,
                                 answered=True, answered_by="david", talk_s=200.0, wrapup_s=20.0)),
        ("exempel", "1.3", _call(day, 10, 0, "+46705550003", MAIN_NUMBER, queue="support", wait_s=25.0,
                                 abandoned=True)),
        ("exempel", "1.4", _call(day, 11, 0, "+46705550004", MAIN_NUMBER, queue="support", wait_s=600.0,
                                 overflowed=True, voicemail=True, voicemail_box="support")),
        ("exempel", "1.5", _call(day, 13, 0, "+46705550005", GOTEBORG_NUMBER, queue="support",
                                 callback="requested")),
        ("exempel", "1.6", _call(day, 14, 0, "+46812345601", "+46701234999", answered=True,
                                 answered_by="PJSIP/trunk-00000001", talk_s=30.0, path=["anna calls out"])),
        ("exempel", "2.1", _call(nxt, 9, 0, "+46705550007", MAIN_NUMBER, queue="support", wait_s=5.0,
                                 answered=True, answered_by="eva", talk_s=60.0, wrapup_s=10.0)),
        ("annat", "1.1", _call(day, 9, 0, "+46705550008", ANNAT_NUMBER, queue="info", wait_s=3.0, answered=True,
                               answered_by="kalle", talk_s=10.0)),
    ]]


async def insert_records(w: World, day: date = TUESDAY) -> None:
    assert await asyncio.to_thread(CallRecordStore(w.ctx.sessions).write, records_of(day)) == []


async def get_json(c: ClientSession, url: str, status: int = 200) -> Any:
    async with c.get(url) as r:
        assert r.status == status, await r.text()
        return await r.json()


def by_queue(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {q["queue"]: q for q in body["queues"]}


# --- statistics ------------------------------------------------------------------------------------


def test_queue_statistics_count_every_outcome_and_the_service_level(tmp_path: Path) -> None:
    async def body(w: World) -> None:
        await insert_records(w)
        async with await signed_in(w, "boss@exempel.se") as c:
            tuesday = by_queue(await get_json(c, f"{w.base}{API}/statistics/queues?{_period(TUESDAY)}"))
            assert set(tuesday) == {"support"}  # Annat AB's calls are not Exempel's
            assert tuesday["support"] == {
                "queue": "support", "offered": 5, "answered": 2, "abandoned": 1, "overflowed": 1, "callbacks": 1,
                "voicemail": 1, "answered_within_sl": 1, "service_level_pct": 20.0, "avg_wait_s": 168.8,
                "longest_wait_s": 600.0, "avg_talk_s": 150.0, "avg_wrapup_s": 25.0}
            wider = await get_json(c, f"{w.base}{API}/statistics/queues?{_period(TUESDAY)}&service_level_s=45")
            assert wider["service_level_s"] == 45
            assert (by_queue(wider)["support"]["answered_within_sl"], by_queue(wider)["support"]["service_level_pct"]
                    ) == (2, 40.0)
            both = by_queue(await get_json(c, f"{w.base}{API}/statistics/queues?{_period(TUESDAY, 2)}"))
            assert (both["support"]["offered"], both["support"]["answered"], both["support"]["avg_wrapup_s"]) == (
                6, 3, 20.0)
            everything = by_queue(await get_json(c, f"{w.base}{API}/statistics/queues"))
            assert everything["support"]["offered"] == 6
            async with c.get(f"{w.base}{API}/statistics/queues?from=yesterday") as r:
                bad = await problem(r, 400)
                assert bad["errors"][0]["field"] == "query.from"
    run(tmp_path, body)


def test_the_call_list_filters_sorts_pages_and_exports(tmp_path: Path) -> None:
    async def body(w: World) -> None:
        await insert_records(w)
        async with await signed_in(w, "boss@exempel.se") as c:
            listed = await get_json(c, f"{w.base}{API}/statistics/calls?sort=wait_s&per_page=2&page=3")
            assert listed["total"] == 7 and listed["per_page"] == 2
            # waits 5, 10 | 25, 40 | 600, none | none
            assert [r["call_id"] for r in listed["items"]] == ["1.4", "1.5"]
            first = listed["items"][0]
            assert (first["outcome"], first["overflowed"], first["voicemail"], first["path"]) == (
                "voicemail", True, True, ["menu → 2", "queue support"])
            abandoned = await get_json(c, f"{w.base}{API}/statistics/calls?outcome=abandoned")
            assert [r["call_id"] for r in abandoned["items"]] == ["1.3"]
            eva = await get_json(c, f"{w.base}{API}/statistics/calls?answered_by=eva&{_period(TUESDAY)}")
            assert [r["call_id"] for r in eva["items"]] == ["1.1"]
            gbg = await get_json(c, f"{w.base}{API}/statistics/calls?number=%2B46317654300")
            assert [(r["call_id"], r["callback"]) for r in gbg["items"]] == [("1.5", "requested")]
            async with c.get(f"{w.base}{API}/statistics/calls?format=csv&queue=support&sort=entered_at") as r:
                assert r.status == 200 and r.content_type == "text/csv"
                rows = list(csv.DictReader(io.StringIO(await r.text())))
            assert [row["call_id"] for row in rows] == ["1.1", "1.2", "1.3", "1.4", "1.5", "2.1"]
            assert rows[0]["answered_by"] == "eva" and rows[0]["wait_s"] == "10.0"
            async with c.get(f"{w.base}{API}/statistics/calls?format=xlsx&outcome=answered&sort=talk_s") as r:
                assert r.status == 200 and r.content_type == XLSX
                sheet = load_workbook(io.BytesIO(await r.read())).active
            assert sheet is not None
            values = list(sheet.iter_rows(values_only=True))
            talk = values[0].index("talk_s")
            assert [row[talk] for row in values[1:]] == [30.0, 60.0, 100.0, 200.0]
            # a caller who overflowed from Support into Sälj is found under either queue, not only the last
            legs = [{"queue": "support", "wait_s": 60.0, "outcome": "overflowed"},
                    {"queue": "salj", "wait_s": 5.0, "outcome": "answered", "answered_by": "anna"}]
            assert await asyncio.to_thread(CallRecordStore(w.ctx.sessions).write, [RecordWrite(
                "exempel", "1.9", _call(TUESDAY, 15, 0, "+46705550009", MAIN_NUMBER, queue="salj", wait_s=65.0,
                                        answered=True, answered_by="anna", talk_s=50.0, queues=legs))]) == []
            for queue in ("support", "salj"):
                found = await get_json(c, f"{w.base}{API}/statistics/calls?queue={queue}&sort=entered_at")
                assert "1.9" in [r["call_id"] for r in found["items"]], queue
            salj = await get_json(c, f"{w.base}{API}/statistics/calls?queue=salj")
            assert [r["call_id"] for r in salj["items"]] == ["1.9"]
    run(tmp_path, body)


# --- reports ---------------------------------------------------------------------------------------


def test_a_call_specification_lists_a_numbers_calls_and_can_hide_the_dialled_number(tmp_path: Path) -> None:
    async def body(w: World) -> None:
        await insert_records(w)
        async with await signed_in(w, "boss@exempel.se") as c:
            url = f"{w.base}{API}/reports/calls?number=%2B46812345601&{_period(TUESDAY)}"
            plain = await get_json(c, url)
            assert plain["total"] == 1 and plain["hide_dialled"] is False
            call = plain["calls"][0]
            assert (call["direction"], call["caller"], call["dialled"], call["talk_s"], call["outcome"]) == (
                "out", "+46812345601", "+46701234999", 30.0, "answered")
            hidden = await get_json(c, url + "&hide_dialled=true")
            assert [x["dialled"] for x in hidden["calls"]] == ["+46701234xxx"]
            async with c.get(url + "&hide_dialled=true&format=xlsx") as r:
                assert r.status == 200 and r.content_type == XLSX
                assert "attachment" in r.headers["Content-Disposition"]
                book = load_workbook(io.BytesIO(await r.read()))
            rows = list(book.worksheets[0].iter_rows(values_only=True))
            assert rows[0][:5] == ("entered_at", "ended_at", "direction", "caller", "dialled")
            assert rows[1][2:5] == ("out", "+46812345601", "+46701234xxx")
            assert rows[1][0] == datetime(2026, 11, 24, 14, 0)  # the tenant's local time
            assert not any("+46701234999" in str(v) for row in rows for v in row)
            main = await get_json(c, f"{w.base}{API}/reports/calls?number=%2B46812345600&{_period(TUESDAY)}"
                                     "&hide_dialled=true")
            assert [x["call_id"] for x in main["calls"]] == ["1.1", "1.2", "1.3", "1.4"]
            assert {x["direction"] for x in main["calls"]} == {"in"}
            assert {x["dialled"] for x in main["calls"]} == {"+46812345xxx"}
            async with c.get(f"{w.base}{API}/reports/calls?number=%2B46812345601") as r:
                missing = await problem(r, 400)
                assert {e["field"] for e in missing["errors"]} == {"query.from", "query.to"}
    run(tmp_path, body)


def test_the_queue_report_per_queue_and_day_as_json_and_xlsx(tmp_path: Path) -> None:
    async def body(w: World) -> None:
        await insert_records(w)
        async with await signed_in(w, "boss@exempel.se") as c:
            url = f"{w.base}{API}/reports/queues?{_period(TUESDAY, 2)}"
            report = await get_json(c, url)
            assert by_queue(report)["support"]["offered"] == 6
            days = {(d["day"], d["queue"]): d for d in report["days"]}
            assert set(days) == {("2026-11-24", "support"), ("2026-11-25", "support")}
            assert days[("2026-11-25", "support")]["service_level_pct"] == 100.0
            assert days[("2026-11-24", "support")]["service_level_pct"] == 20.0
            async with c.get(url + "&format=xlsx") as r:
                assert r.status == 200 and r.content_type == XLSX
                book = load_workbook(io.BytesIO(await r.read()))
            assert book.sheetnames == ["Queues", "Per day"]
            queues = list(book["Queues"].iter_rows(values_only=True))
            support = dict(zip(queues[0], queues[1], strict=True))
            assert (support["offered"], support["answered"], support["abandoned"], support["overflowed"],
                    support["callbacks"], support["longest_wait_s"]) == (6, 3, 1, 1, 1, 600.0)
            per_day = list(book["Per day"].iter_rows(values_only=True))
            assert [(row[0], row[1], row[2]) for row in per_day[1:]] == [("2026-11-24", "support", 5),
                                                                         ("2026-11-25", "support", 1)]
    run(tmp_path, body)


# --- report schedules ------------------------------------------------------------------------------

SCHEDULE = {"name": "Support daily", "report": "queues", "every": "daily", "hour": 6,
            "recipients": ["chef@exempel.se", "ekonomi@exempel.se"], "service_level_s": 30}


def test_report_schedules_are_created_read_replaced_and_deleted_with_an_audit_trail(tmp_path: Path) -> None:
    async def body(w: World) -> None:
        async with await signed_in(w, "boss@exempel.se") as c:
            async with c.post(f"{w.base}{API}/reports/schedules", json=SCHEDULE) as r:
                assert r.status == 201, await r.text()
                made = await r.json()
            local = datetime.fromisoformat(made["next_run_at"]).astimezone(STOCKHOLM)
            assert (local.hour, local.minute) == (6, 0) and local > datetime.now(STOCKHOLM)
            assert local - datetime.now(STOCKHOLM) <= timedelta(days=1)
            assert (made["service_level_s"], made["created_by"], made["last_run_at"]) == (30, "boss@exempel.se",
                                                                                        None)
            ref = f"{w.base}{API}/reports/schedules/{made['id']}"
            assert (await get_json(c, ref))["recipients"] == SCHEDULE["recipients"]
            weekly = {**SCHEDULE, "report": "calls", "number": "+46812345601", "hide_dialled": True,
                      "every": "weekly", "hour": 7}
            async with c.put(ref, json=weekly) as r:
                assert r.status == 200, await r.text()
                changed = await r.json()
            local = datetime.fromisoformat(changed["next_run_at"]).astimezone(STOCKHOLM)
            assert (local.weekday(), local.hour) == (0, 7)  # Mondays at seven
            assert (changed["report"], changed["number"], changed["hide_dialled"]) == ("calls", "+46812345601", True)
            listed = await get_json(c, f"{w.base}{API}/reports/schedules?report=calls")
            assert [s["id"] for s in listed["items"]] == [made["id"]]
            async with c.post(f"{w.base}{API}/reports/schedules", json={**SCHEDULE, "report": "calls"}) as r:
                assert (await problem(r, 422))["errors"]
            async with c.post(f"{w.base}{API}/reports/schedules",
                              json={**SCHEDULE, "recipients": ["not an address"]}) as r:
                bad = await problem(r, 422)
                assert bad["errors"][0]["field"] == "body.recipients.0"
            async with c.delete(ref) as r:
                assert r.status == 204
            await get_json(c, ref, 404)
            async with c.delete(ref) as r:
                await problem(r, 404)
        with w.ctx.sessions() as session:
            trail = session.execute(select(AuditRow.action, AuditRow.before, AuditRow.after)
                                    .where(AuditRow.resource == "report_schedule").order_by(AuditRow.id)).all()
        assert [a for a, _, _ in trail] == ["create", "update", "delete"]
        assert trail[0][2]["report"] == "queues" and trail[1][1]["every"] == "daily"
        assert trail[1][2]["every"] == "weekly" and trail[2][1]["number"] == "+46812345601" and trail[2][2] is None
    run(tmp_path, body)


def test_a_due_report_is_mailed_once_with_the_xlsx_even_with_two_controllers(tmp_path: Path) -> None:
    async def body(w: World) -> None:
        async with await signed_in(w, "boss@exempel.se") as c:
            async with c.post(f"{w.base}{API}/reports/schedules", json=SCHEDULE) as r:
                assert r.status == 201, await r.text()
                made = await r.json()
            due = datetime.fromisoformat(made["next_run_at"])
            await insert_records(w, due.astimezone(STOCKHOLM).date() - timedelta(days=1))  # the day it reports on
            async with smtp_server() as server:
                def mailer() -> ReportMailer:  # one per controller, each with its own sender
                    notifier = Notifier({"email": SmtpSender("127.0.0.1", "rapporter@exempel.se", port=server.port)})
                    return ReportMailer(w.ctx.sessions, lambda: notifier, lambda: due + timedelta(minutes=1))
                sent = await asyncio.gather(mailer().run_due(), mailer().run_due())
                again = await mailer().run_due()
                received = list(server.received)
            after = await get_json(c, f"{w.base}{API}/reports/schedules/{made['id']}")
        assert sorted(sent) == [0, 1] and again == 0
        assert sorted(m.rcpt_tos[0] for m in received) == ["chef@exempel.se", "ekonomi@exempel.se"]
        mail = received[0].message
        assert mail["Subject"].startswith("Support daily: ")
        attachment = next(mail.iter_attachments())
        assert attachment.get_content_type() == XLSX
        book = load_workbook(io.BytesIO(attachment.get_content()))
        rows = list(book["Queues"].iter_rows(values_only=True))
        support = dict(zip(rows[0], rows[1], strict=True))
        assert (support["queue"], support["offered"], support["answered"], support["answered_within_sl"]) == (
            "support", 5, 2, 1)  # within 30 s: the 10 s wait, not the 40 s one
        assert after["last_status"] == "delivered to 2 of 2"
        assert datetime.fromisoformat(after["next_run_at"]) == due + timedelta(days=1)
    run(tmp_path, body)


# --- who may see what ------------------------------------------------------------------------------


def test_another_tenants_statistics_reports_and_schedules_are_out_of_reach(tmp_path: Path) -> None:
    async def body(w: World) -> None:
        await insert_records(w)
        async with await signed_in(w, "boss@exempel.se") as c:
            async with c.post(f"{w.base}{API}/reports/schedules", json=SCHEDULE) as r:
                ref = f"{w.base}{API}/reports/schedules/{(await r.json())['id']}"
        async with await signed_in(w, "admin@annat.se") as c:
            mine = by_queue(await get_json(c, f"{w.base}{API}/statistics/queues?{_period(TUESDAY)}"))
            assert set(mine) == {"info"} and mine["info"]["answered"] == 1
            calls = await get_json(c, f"{w.base}{API}/statistics/calls")
            assert [(r["call_id"], r["dialled"]) for r in calls["items"]] == [("1.1", ANNAT_NUMBER)]
            spec = await get_json(c, f"{w.base}{API}/reports/calls?number=%2B46812345600&{_period(TUESDAY)}")
            assert spec["total"] == 0
            report = await get_json(c, f"{w.base}{API}/reports/queues?{_period(TUESDAY)}")
            assert set(by_queue(report)) == {"info"}
            assert (await get_json(c, f"{w.base}{API}/reports/schedules"))["total"] == 0
            await get_json(c, ref, 404)
            async with c.put(ref, json=SCHEDULE) as r:
                await problem(r, 404)
            async with c.delete(ref) as r:
                await problem(r, 404)
        async with await signed_in(w, "boss@exempel.se") as c:
            await get_json(c, ref)  # still there
    run(tmp_path, body)


def test_an_account_scoped_reporter_sees_their_accounts_calls_only(tmp_path: Path) -> None:
    async def body(w: World) -> None:
        await insert_records(w)
        await asyncio.to_thread(w.ctx.admins.create_admin, "exempel", "rapport@exempel.se", "Rapport Göteborg",
                                PASSWORD, "custom", rights=["view", "reports"], account="goteborg")
        async with await signed_in(w, "boss@exempel.se") as c:
            async with c.post(f"{w.base}{API}/reports/schedules", json=SCHEDULE) as r:
                tenant_wide = f"{w.base}{API}/reports/schedules/{(await r.json())['id']}"
        async with await signed_in(w, "rapport@exempel.se") as c:
            calls = await get_json(c, f"{w.base}{API}/statistics/calls")
            assert [r["call_id"] for r in calls["items"]] == ["1.5"]
            stats = by_queue(await get_json(c, f"{w.base}{API}/statistics/queues"))
            assert (stats["support"]["offered"], stats["support"]["callbacks"]) == (1, 1)
            async with c.get(f"{w.base}{API}/reports/calls?number=%2B46812345600&{_period(TUESDAY)}") as r:
                await problem(r, 404)  # Stockholm's number
            ok = await get_json(c, f"{w.base}{API}/reports/calls?number=%2B46317654300&{_period(TUESDAY)}")
            assert [x["call_id"] for x in ok["calls"]] == ["1.5"]
            await get_json(c, tenant_wide, 404)
            async with c.post(f"{w.base}{API}/reports/schedules",
                              json={**SCHEDULE, "report": "calls", "number": MAIN_NUMBER}) as r:
                assert (await problem(r, 422))["errors"][0]["field"] == "body.number"
            async with c.post(f"{w.base}{API}/reports/schedules",
                              json={**SCHEDULE, "report": "calls", "number": GOTEBORG_NUMBER}) as r:
                own = await r.json()
                assert r.status == 201, own
            assert [s["id"] for s in (await get_json(c, f"{w.base}{API}/reports/schedules"))["items"]] == [own["id"]]
        async with await signed_in(w, "gbg@exempel.se") as c:  # an account administrator has no "reports"
            async with c.get(f"{w.base}{API}/statistics/calls") as r:
                await problem(r, 403)
    run(tmp_path, body)


def test_without_the_reports_right_every_statistics_and_report_operation_is_forbidden(tmp_path: Path) -> None:
    async def body(w: World) -> None:
        await insert_records(w)
        async with await signed_in(w, "boss@exempel.se") as c:
            async with c.post(f"{w.base}{API}/reports/schedules", json=SCHEDULE) as r:
                ref = f"{API}/reports/schedules/{(await r.json())['id']}"
        period = _period(TUESDAY)
        async with await signed_in(w, "viewer@exempel.se") as c:
            for method, path, payload in [
                    ("GET", f"{API}/statistics/queues", None), ("GET", f"{API}/statistics/calls", None),
                    ("GET", f"{API}/statistics/calls?format=xlsx", None),
                    ("GET", f"{API}/reports/calls?number=%2B46812345601&{period}", None),
                    ("GET", f"{API}/reports/queues?{period}&format=xlsx", None),
                    ("GET", f"{API}/reports/schedules", None), ("POST", f"{API}/reports/schedules", SCHEDULE),
                    ("GET", ref, None), ("PUT", ref, SCHEDULE), ("DELETE", ref, None)]:
                async with c.request(method, w.base + path, json=payload) as r:
                    body_ = await problem(r, 403)
                    assert "reports" in body_["detail"], (method, path)
        async with await signed_in(w, "boss@exempel.se") as c:
            await get_json(c, w.base + ref)  # the viewer changed nothing
    run(tmp_path, body)


def test_a_call_through_two_queues_counts_in_both_and_older_records_in_their_one_queue() -> None:
    """An overflow from Support into Sälj: offered and overflowed in Support, then answered in Sälj with its own
    wait; a record from before the list of queues existed counts in its one queue as it always did."""
    from pbx.stats.reports import queue_figures, queue_legs

    base = {"answered": True, "abandoned": False, "overflowed": True, "callback": None, "voicemail": False,
            "talk_s": 30.0, "wrapup_s": 5.0}
    through_two = {**base, "queue": "salj", "wait_s": 8.0, "queues": [
        {"queue": "support", "queued_at": None, "wait_s": 60.0, "outcome": "overflowed", "answered_by": None},
        {"queue": "salj", "queued_at": None, "wait_s": 8.0, "outcome": "answered", "answered_by": "erik"}]}
    older = {**base, "overflowed": False, "queue": "support", "wait_s": 12.0, "queues": []}
    abandoned_after = {**base, "answered": False, "abandoned": True, "queue": "salj", "wait_s": 40.0, "queues": [
        {"queue": "support", "queued_at": None, "wait_s": 60.0, "outcome": "overflowed", "answered_by": None},
        {"queue": "salj", "queued_at": None, "wait_s": 40.0, "outcome": "missed", "answered_by": None}]}
    assert [q for q, _ in queue_legs(through_two)] == ["support", "salj"]
    figures = {f["queue"]: f for f in queue_figures([through_two, older, abandoned_after], 20.0)}
    support, salj = figures["support"], figures["salj"]
    assert (support["offered"], support["answered"], support["overflowed"], support["abandoned"]) == (3, 1, 2, 0)
    assert support["answered_within_sl"] == 1 and support["longest_wait_s"] == 60.0
    assert (salj["offered"], salj["answered"], salj["overflowed"], salj["abandoned"]) == (2, 1, 0, 1)
    assert salj["answered_within_sl"] == 1 and salj["avg_wait_s"] == 24.0 and salj["avg_talk_s"] == 30.0
