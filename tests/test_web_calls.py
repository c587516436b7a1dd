"""The calls pages (issue 8) in a real browser: a simulated call appears in the list of calls in progress while it
lasts, its page shows its path and who has it, it is hung up from the page after a confirmation, and it then
leaves the live list and is among today's ended calls with its outcome (the call record the controller wrote);
a caller who gives up is "missed" there, filtered and exported as the API does. The viewer without the reports
right sees live calls only; Annat AB's administrator sees none of Exempel's calls.

The site here is the browser tests' site with one difference a deployment has too: the controller writes its call
records into the admin API's database, and the API tells the time by the simulated Asterisk's clock."""

from __future__ import annotations

import io
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from openpyxl import load_workbook
from playwright.sync_api import Page, expect
from sqlalchemy import select

from pbx.asterisk.simulator import CallScript, Endpoint
from pbx.demo import MAIN_NUMBER
from pbx.stats.models import CallRecordRow
from tests.web_world import WAIT_MS, Site, api_json, shot, sign_in, texts


def live_row(page: Page, call_id: str) -> Any:
    return page.locator(f'table.live-calls tr[data-call="{call_id}"]')


def ended_rows(page: Page) -> Any:
    return page.locator(".ended-list table.list tbody tr")


@contextmanager
def nobody_free_in_support(site: Site) -> Iterator[None]:
    """Nobody free in Support (David logged out, Eva at lunch), so a call to it waits; both are back afterwards."""
    controller = site.controller
    assert controller is not None
    site.run(lambda: controller.acd.agent_logout("exempel", "david"))
    site.run(lambda: controller.acd.agent_pause("exempel", "eva", "lunch"))
    try:
        yield
    finally:
        site.run(lambda: controller.acd.agent_unpause("exempel", "eva"))
        site.run(lambda: controller.acd.agent_login("exempel", "david"))


@contextmanager
def waiting_in_support(site: Site, caller: str) -> Iterator[Any]:
    """A call from `caller` waiting in Support (nobody free); the caller hangs up afterwards."""
    with nobody_free_in_support(site):
        call = site.run(lambda: site.sim.place_call(caller, MAIN_NUMBER, CallScript(keys=["2"])))
        try:
            yield call
        finally:
            hang_up_in_sim(site, call.uniqueid)


def hang_up_in_sim(site: Site, call_id: str) -> None:
    """The caller hangs up (nothing happens when the call has ended already)."""
    sim = site.sim

    async def hang_up() -> None:
        channel = sim.node.find(call_id)
        if channel is not None:
            sim.node.request_hangup(channel, remote=True)
    site.run(hang_up)


def wait_for_record(site: Site, call_id: str) -> CallRecordRow:
    """The call's record, once the controller has written it (it writes in the background after the hang-up)."""
    assert site.w is not None
    sessions = site.w.ctx.sessions
    for _ in range(300):
        with sessions() as session:
            row = session.scalar(select(CallRecordRow).where(CallRecordRow.call_id == call_id))
        if row is not None:
            return row
        time.sleep(0.1)  # polling the database: the writer has no event a test can wait on
    raise AssertionError(f"no call record for {call_id}")


def test_every_outcome_period_and_leg_has_a_text() -> None:
    every = texts()
    made = {*(f"calls.outcome-{o}" for o in ("answered", "callback", "voicemail", "overflowed", "abandoned", "ended")),
            *(f"calls.period-{p}" for p in ("today", "yesterday", "this_week", "last_week", "this_month",
                                            "last_month")),
            *(f"calls.leg-{o}" for o in ("answered", "missed", "overflowed", "callback")),
            *(f"calls.callback-{c}" for c in ("requested", "made", "failed")),
            *(f"calls.rec-{s}" for s in ("recording", "paused"))}
    assert made - set(every["sv"]) == set() and made - set(every["en"]) == set()


def test_a_call_in_progress_is_listed_live_shown_step_by_step_and_hung_up_from_its_page(site: Site, page: Page) -> None:
    controller, sim = site.controller, site.sim
    assert controller is not None
    # Eva at lunch: David's phone answers the support call at once, and he would talk for ten minutes
    before = sim.node.endpoints["david"]
    sim.endpoint("PJSIP/david", Endpoint(answer_after_s=1.0, talk_s=600.0))
    site.run(lambda: controller.acd.agent_pause("exempel", "eva", "lunch"))
    try:
        sign_in(page, site, "boss@exempel.se")
        page.get_by_role("navigation", name="Huvudmeny").get_by_role("link", name="Samtal", exact=True).click()
        expect(page.get_by_role("heading", level=1, name="Samtal")).to_be_visible()
        expect(page.get_by_text("Inga pågående samtal just nu.")).to_be_visible()

        call = site.run(lambda: sim.place_call("+46705550011", MAIN_NUMBER, CallScript(keys=["2"])))
        row = live_row(page, call.uniqueid)
        expect(row).to_be_visible(timeout=WAIT_MS)  # read again every 2 s: no reload
        expect(row.locator("td").nth(5)).to_have_text("David Dahl", timeout=WAIT_MS)
        live = api_json(page, f"/api/v1/calls/{call.uniqueid}")
        assert (live["caller"], live["dialled"], live["queue"], live["agent"], live["answered"]) == (
            "+46705550011", MAIN_NUMBER, "support", "david", True)
        expect(row.locator("td").nth(2)).to_have_text("+46705550011")
        expect(row.locator("td").nth(3)).to_have_text(MAIN_NUMBER)
        expect(row.locator("td").nth(4)).to_have_text("Support")
        expect(row.locator("td").nth(6)).to_contain_text("queue Support")
        first = row.locator("td").nth(1).inner_text()
        expect(row.locator("td").nth(1)).not_to_have_text(first, timeout=WAIT_MS)  # its duration goes on
        shot(page, "40-calls-live")

        # its page: the path step by step, and who has it
        row.get_by_role("link").click()
        expect(page.get_by_role("heading", level=1, name="Samtal från +46705550011")).to_be_visible()
        expect(page.locator(".call-state")).to_have_text("Pågår")
        steps = page.locator("ol.call-path li")
        expect(steps.filter(has_text="pressed 2 at menu Huvudmeny")).to_have_count(1)
        expect(steps.last).to_contain_text("queue Support")
        assert steps.count() == sum(len(d.split(" → ")) for d in live["path"])
        facts = page.locator("dl.facts")
        expect(facts).to_contain_text("David Dahl")
        expect(facts).to_contain_text("Spelas inte in")
        shot(page, "41-call-live-detail")

        # hanging up asks first; "Avbryt" leaves the call as it was
        page.get_by_role("button", name="Lägg på").click()
        dialog = page.get_by_role("dialog", name="Lägga på samtalet?")
        expect(dialog).to_be_visible()
        expect(dialog).to_contain_text("+46705550011")
        dialog.get_by_role("button", name="Avbryt").click()
        expect(dialog).to_be_hidden()
        assert page.request.get(f"/api/v1/calls/{call.uniqueid}").status == 200
        page.get_by_role("button", name="Lägg på").click()
        dialog.get_by_role("button", name="Lägg på").click()

        # the call ended: its record takes the page's place
        expect(page.locator(".call-state")).to_have_text("Avslutat", timeout=WAIT_MS)
        assert page.request.get(f"/api/v1/calls/{call.uniqueid}").status == 404
        record = next(r for r in api_json(page, f"/api/v1/statistics/calls?q={call.uniqueid}")["items"]
                      if r["call_id"] == call.uniqueid)
        assert (record["outcome"], record["answered_by"], record["queue"]) == ("answered", "david", "support")
        facts = page.locator("dl.facts")
        expect(facts).to_contain_text("Besvarat")
        expect(facts).to_contain_text("David Dahl")
        expect(facts).to_contain_text("Support")
        expect(page.locator("ol.call-path li").filter(has_text="pressed 2 at menu Huvudmeny")).to_have_count(1)
        expect(page.get_by_text("Samtalet spelades inte in.")).to_be_visible()
        shot(page, "42-call-ended-detail")

        # back in the list: gone from the calls in progress, among today's ended calls, answered by David
        page.get_by_role("link", name="Till samtalen").click()
        expect(page.get_by_role("heading", level=2, name="Avslutade samtal")).to_be_visible()
        expect(live_row(page, call.uniqueid)).to_have_count(0)
        ended = ended_rows(page).filter(has_text="+46705550011")
        expect(ended).to_have_count(1)
        expect(ended.locator("td").nth(5)).to_have_text("David Dahl")
        expect(ended.locator("td").nth(7)).to_have_text("Besvarat")
        expect(page).to_have_url(re.compile(r"#/calls\?sort=-entered_at&period=today$"))
    finally:
        sim.endpoint("PJSIP/david", before)
        site.run(lambda: controller.acd.agent_unpause("exempel", "eva"))


def test_a_caller_who_gives_up_leaves_the_live_list_and_is_missed_among_the_ended_calls(
        site: Site, page: Page) -> None:
    sim = site.sim
    # nobody free in Support: the caller waits, then hangs up
    with nobody_free_in_support(site):
        sign_in(page, site, "boss@exempel.se")
        page.goto(f"{site.base}/app/#/calls")
        expect(page.get_by_role("heading", level=2, name="Avslutade samtal")).to_be_visible()
        call = site.run(lambda: sim.place_call("+46705550012", MAIN_NUMBER, CallScript(keys=["2"])))
        row = live_row(page, call.uniqueid)
        expect(row.locator("td").nth(5)).to_have_text("Väntar i kö", timeout=WAIT_MS)
        hang_up_in_sim(site, call.uniqueid)
        expect(row).to_have_count(0, timeout=WAIT_MS)
        missed = ended_rows(page).filter(has_text="+46705550012")
        expect(missed.locator("td").nth(7)).to_have_text("Missat", timeout=WAIT_MS)  # no reload
        expect(missed.locator("td").nth(3)).to_have_text("Support")

        # the outcome filter: the rows are the API's rows
        page.get_by_label("Utfall").select_option("abandoned")
        api_missed = api_json(page, "/api/v1/statistics/calls?period=today&outcome=abandoned&per_page=100")
        assert call.uniqueid in [r["call_id"] for r in api_missed["items"]]
        expect(ended_rows(page).locator("td:nth-child(2)")).to_have_text([r["caller"] for r in api_missed["items"]])
        expect(page).to_have_url(re.compile(r"outcome=abandoned"))

        # export: a workbook (a zip) with the same calls
        with page.expect_download() as download:
            page.get_by_role("link", name="Excel (XLSX)").click()
        data = Path(download.value.path()).read_bytes()
        assert data[:2] == b"PK"
        sheet = load_workbook(io.BytesIO(data)).active
        assert sheet is not None
        values = list(sheet.iter_rows(values_only=True))
        ids = values[0].index("call_id")
        assert [r[ids] for r in values[1:]] == [r["call_id"] for r in api_missed["items"]]
        shot(page, "43-calls-ended-filtered")


def test_the_viewer_sees_calls_in_progress_but_not_the_ended_ones_nor_the_actions(site: Site, page: Page) -> None:
    with waiting_in_support(site, "+46705550013") as call:
        sign_in(page, site, "viewer@exempel.se")
        page.goto(f"{site.base}/app/#/calls")
        expect(live_row(page, call.uniqueid).locator("td").nth(5)).to_have_text("Väntar i kö", timeout=WAIT_MS)
        expect(page.get_by_text("Du har inte behörighet att se avslutade samtal.")).to_be_visible()
        assert page.request.get("/api/v1/statistics/calls").status == 403
        live_row(page, call.uniqueid).get_by_role("link").click()
        expect(page.get_by_role("heading", level=1, name="Samtal från +46705550013")).to_be_visible()
        expect(page.locator("dl.facts")).to_contain_text("Väntar i kö")
        expect(page.get_by_role("button", name="Lägg på")).to_have_count(0)  # the rights "agents", "recordings"
        expect(page.get_by_role("button", name="Starta inspelning")).to_have_count(0)


def test_annats_administrator_sees_none_of_exempels_calls(site: Site, page: Page) -> None:
    with waiting_in_support(site, "+46705550014") as call:
        sign_in(page, site, "admin@annat.se")
        page.goto(f"{site.base}/app/#/calls")
        expect(page.get_by_text("Inga pågående samtal just nu.")).to_be_visible()
        assert api_json(page, "/api/v1/calls")["total"] == 0
        expect(page.locator(".ended-list")).not_to_contain_text("+4670555001")
        assert not [r for r in api_json(page, "/api/v1/statistics/calls?per_page=500")["items"]
                    if r["dialled"] == MAIN_NUMBER]
        # Exempel's call in progress, by its address: "not found", as the API says
        page.goto(f"{site.base}/app/#/calls/{call.uniqueid}")
        expect(page.get_by_role("heading", level=1, name="Hittades inte")).to_be_visible()
        assert page.request.get(f"/api/v1/calls/{call.uniqueid}").status == 404
        hang_up_in_sim(site, call.uniqueid)
        # and once it has ended, its record is Exempel's, not Annat's
        assert wait_for_record(site, call.uniqueid).dialled == MAIN_NUMBER
        page.reload()
        expect(page.get_by_role("heading", level=1, name="Hittades inte")).to_be_visible()
        assert not api_json(page, f"/api/v1/statistics/calls?q={call.uniqueid}")["items"]
