"""What the report pages' charts read from the admin API (F-09, F-16): the named periods by the tenant's clock and
time zone, calls per hour of the day with the distribution of waits, and a named period on the call list and the
queue figures. From call records with known figures (tests.test_admin_stats.records_of), on Tuesday
24 November 2026 at 10:00 in Stockholm; isolation between tenants and accounts, and the reports right."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
from typing import Any

from pbx.demo import ANNAT_NUMBER, GOTEBORG_NUMBER, MAIN_NUMBER, STOCKHOLM
from tests.admin_world import PASSWORD, World, problem, run, signed_in
from tests.test_admin_stats import API, TUESDAY, _period, get_json, insert_records

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=STOCKHOLM)
EMPTY_HOUR = {"calls": 0, "answered": 0, "missed": 0, "other": 0, "answered_within_sl": 0, "avg_wait_s": None,
              "longest_wait_s": None}


async def ready(w: World) -> None:
    """The records, and the API's clock on Tuesday at 10:00."""
    await insert_records(w)
    w.ctx.clock = lambda: NOW


def hours(body: dict[str, Any]) -> dict[int, dict[str, Any]]:
    """The hours with calls, without the hour itself."""
    assert [h["hour"] for h in body["hours"]] == list(range(24))
    return {h["hour"]: {k: v for k, v in h.items() if k != "hour"} for h in body["hours"] if h["calls"]}


def test_the_named_periods_follow_the_tenants_calendar_and_summer_time(tmp_path: Path) -> None:
    async def body(w: World) -> None:
        await ready(w)
        async with await signed_in(w, "viewer@exempel.se") as c:  # the right "view" is enough to know the date
            got = await get_json(c, f"{w.base}{API}/statistics/periods")
        assert datetime.fromisoformat(got["now"]) == NOW and got["timezone"] == "Europe/Stockholm"
        spans = {name: (datetime.fromisoformat(p["from"]), datetime.fromisoformat(p["to"]))
                 for name, p in got["periods"].items()}

        def utc(text: str) -> datetime:
            return datetime.fromisoformat(text + "+00:00")
        assert spans == {
            "today": (utc("2026-11-23T23:00"), utc("2026-11-24T23:00")),
            "yesterday": (utc("2026-11-22T23:00"), utc("2026-11-23T23:00")),
            "this_week": (utc("2026-11-22T23:00"), utc("2026-11-29T23:00")),  # Monday to Monday
            "last_week": (utc("2026-11-15T23:00"), utc("2026-11-22T23:00")),
            "this_month": (utc("2026-10-31T23:00"), utc("2026-11-30T23:00")),
            "last_month": (utc("2026-09-30T22:00"), utc("2026-10-31T23:00")),  # October began in summer time
        }
    run(tmp_path, body)


def test_calls_per_hour_count_answered_missed_and_other_with_their_waits(tmp_path: Path) -> None:
    async def body(w: World) -> None:
        await ready(w)
        async with await signed_in(w, "boss@exempel.se") as c:
            today = await get_json(c, f"{w.base}{API}/statistics/hours?period=today")
        assert (today["timezone"], today["service_level_s"]) == ("Europe/Stockholm", 20)
        assert datetime.fromisoformat(today["from"]) == datetime(2026, 11, 24, tzinfo=STOCKHOLM)
        # 09:00 answered after 10 s, 09:30 answered after 40 s, 10:00 gave up after 25 s, 11:00 a message after
        # 600 s, 13:00 a callback asked for, 14:00 Anna's call out, answered; Annat AB's call is not Exempel's
        assert hours(today) == {
            9: {**EMPTY_HOUR, "calls": 2, "answered": 2, "answered_within_sl": 1, "avg_wait_s": 25.0,
                "longest_wait_s": 40.0},
            10: {**EMPTY_HOUR, "calls": 1, "missed": 1, "avg_wait_s": 25.0, "longest_wait_s": 25.0},
            11: {**EMPTY_HOUR, "calls": 1, "other": 1, "avg_wait_s": 600.0, "longest_wait_s": 600.0},
            13: {**EMPTY_HOUR, "calls": 1, "other": 1},
            14: {**EMPTY_HOUR, "calls": 1, "answered": 1},
        }
        assert today["total"] == {"calls": 6, "answered": 3, "missed": 1, "other": 2, "answered_within_sl": 1,
                                  "avg_wait_s": 168.8, "longest_wait_s": 600.0}
        assert [(b["from_s"], b["to_s"], b["calls"], b["answered"], b["missed"]) for b in today["waits"]] == [
            (0, 10, 0, 0, 0), (10, 20, 1, 1, 0), (20, 30, 1, 0, 1), (30, 60, 1, 1, 0), (60, 120, 0, 0, 0),
            (120, 300, 0, 0, 0), (300, None, 1, 0, 0)]
    run(tmp_path, body)


def test_calls_per_hour_by_queue_number_and_period(tmp_path: Path) -> None:
    async def body(w: World) -> None:
        await ready(w)
        url = f"{w.base}{API}/statistics/hours"
        async with await signed_in(w, "boss@exempel.se") as c:
            support = await get_json(c, f"{url}?period=today&queue=support")
            assert support["total"]["calls"] == 5 and 14 not in hours(support)  # Anna's call out is in no queue
            gbg = await get_json(c, f"{url}?period=today&number=%2B46317654300")
            assert set(hours(gbg)) == {13} and gbg["total"]["other"] == 1
            wider = await get_json(c, f"{url}?period=today&service_level_s=45")
            assert (wider["service_level_s"], hours(wider)[9]["answered_within_sl"]) == (45, 2)
            assert (await get_json(c, f"{url}?period=yesterday"))["total"]["calls"] == 0
            week = await get_json(c, f"{url}?period=this_week")
            assert (week["total"]["calls"], hours(week)[9]["calls"]) == (7, 3)  # Wednesday's 09:00 call too
            assert (await get_json(c, f"{url}?{_period(TUESDAY, 2)}"))["total"]["calls"] == 7
            # from and to narrow a named period
            wednesday = await get_json(c, f"{url}?period=this_week&from=2026-11-25T00:00")
            assert wednesday["total"]["calls"] == 1
            assert datetime.fromisoformat(wednesday["from"]) == datetime(2026, 11, 25, tzinfo=STOCKHOLM)
            every = await get_json(c, url)  # no period: every call
            assert (every["from"], every["to"], every["total"]["calls"]) == (None, None, 7)
            async with c.get(f"{url}?period=fortnight") as r:
                assert (await problem(r, 400))["errors"][0]["field"] == "query.period"
    run(tmp_path, body)


def test_a_named_period_on_the_call_list_and_the_queue_figures(tmp_path: Path) -> None:
    async def body(w: World) -> None:
        await ready(w)
        async with await signed_in(w, "boss@exempel.se") as c:
            today = await get_json(c, f"{w.base}{API}/statistics/calls?period=today&per_page=100")
            assert [r["call_id"] for r in today["items"]] == ["1.1", "1.2", "1.3", "1.4", "1.5", "1.6"]
            assert (await get_json(c, f"{w.base}{API}/statistics/calls?period=yesterday"))["total"] == 0
            answered = await get_json(c, f"{w.base}{API}/statistics/calls?period=this_week&outcome=answered")
            assert [r["call_id"] for r in answered["items"]] == ["1.1", "1.2", "1.6", "2.1"]
            queues = await get_json(c, f"{w.base}{API}/statistics/queues?period=today")
            assert [(q["queue"], q["offered"]) for q in queues["queues"]] == [("support", 5)]
    run(tmp_path, body)


def test_another_tenant_and_an_account_see_only_their_own_calls_per_hour(tmp_path: Path) -> None:
    async def body(w: World) -> None:
        await ready(w)
        async with await signed_in(w, "admin@annat.se") as c:
            annat = await get_json(c, f"{w.base}{API}/statistics/hours?period=today")
            assert hours(annat) == {9: {**EMPTY_HOUR, "calls": 1, "answered": 1, "answered_within_sl": 1,
                                        "avg_wait_s": 3.0, "longest_wait_s": 3.0}}
            main = await get_json(c, f"{w.base}{API}/statistics/hours?period=today&number=%2B46812345600")
            assert main["total"]["calls"] == 0
            own = await get_json(c, f"{w.base}{API}/statistics/hours?period=today&number=%2B{ANNAT_NUMBER[1:]}")
            assert own["total"]["calls"] == 1
        await asyncio.to_thread(w.ctx.admins.create_admin, "exempel", "rapport@exempel.se", "Rapport Göteborg",
                                PASSWORD, "custom", rights=["view", "reports"], account="goteborg")
        async with await signed_in(w, "rapport@exempel.se") as c:
            gbg = await get_json(c, f"{w.base}{API}/statistics/hours?period=today")
            assert set(hours(gbg)) == {13} and gbg["total"]["calls"] == 1
            stockholm = await get_json(c, f"{w.base}{API}/statistics/hours?period=today&number=%2B{MAIN_NUMBER[1:]}")
            assert stockholm["total"]["calls"] == 0
            mine = await get_json(c, f"{w.base}{API}/statistics/hours?period=today&number=%2B{GOTEBORG_NUMBER[1:]}")
            assert mine["total"]["calls"] == 1
        async with await signed_in(w, "viewer@exempel.se") as c:
            async with c.get(f"{w.base}{API}/statistics/hours?period=today") as r:
                assert "reports" in (await problem(r, 403))["detail"]
    run(tmp_path, body)
