"""The reports page (issue 8, F-09, F-16, A-05) in a real browser: after simulated calls (answered and missed), the
charts' bars and the tables under them are the API's figures (calls per hour, waits, the service level per queue
against its target); the queue report and the call specification download as workbooks whose rows are the API's;
"hide the dialled number" hides it; reports by e-mail are added (a refused one shows the API's message beside the
field) and removed; the viewer without the reports right has no Reports item and the page says they may not.

The site is tests.test_web_calls's: the controller writes its call records where the API reads them."""

from __future__ import annotations

import io
import re
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from openpyxl import load_workbook
from playwright.sync_api import Page, expect
from sqlalchemy import delete

from pbx.asterisk.simulator import CallScript, Endpoint
from pbx.demo import MAIN_NUMBER
from pbx.stats.models import CallRecordRow
from pbx.stats.records import CallRecordStore, RecordWrite
from tests.test_admin_stats import _call
from tests.test_web_calls import hang_up_in_sim, wait_for_record
from tests.web_world import Site, api_json, shot, sign_in


def answered_call(site: Site, caller: str) -> str:
    """A call to Support that David answers and ends; its id once its record is written."""
    call = site.run(lambda: site.sim.place_call(caller, MAIN_NUMBER, CallScript(keys=["2"])))
    row = wait_for_record(site, call.uniqueid)
    assert row.outcome == "answered", row.outcome
    return str(call.uniqueid)


def missed_call(site: Site, page: Page, caller: str) -> str:
    """A call to Support nobody answers: the caller gives up in the queue."""
    call = site.run(lambda: site.sim.place_call(caller, MAIN_NUMBER, CallScript(keys=["2"])))
    for _ in range(100):
        live = page.request.get(f"/api/v1/calls/{call.uniqueid}")
        if live.ok and live.json()["queue"] == "support":
            break
        page.wait_for_timeout(100)  # polling the API until the caller is in the queue
    hang_up_in_sim(site, call.uniqueid)
    row = wait_for_record(site, call.uniqueid)
    assert row.outcome == "abandoned", row.outcome
    return str(call.uniqueid)


OUTCOME_SV = {"answered": "Besvarat", "abandoned": "Missat", "voicemail": "Röstmeddelande",
              "callback": "Återuppringning", "overflowed": "Överflöde", "ended": "Avslutat i flödet"}


def bar(page: Page, chart: Any, category: str, series: str) -> Any:
    return chart.locator(f'rect.bar[data-category="{category}"][data-series="{series}"]')


def part(page: Page, heading: str) -> Any:
    return page.locator("section.report-part").filter(has=page.get_by_role("heading", level=2, name=heading,
                                                                            exact=True))


def number_text(n: int | float) -> str:
    """A figure as the page writes it in Swedish (and as JavaScript's String writes it, with a point)."""
    return f"{n:g}".replace(".", ",")


def choice(page: Page) -> Any:
    return page.locator("form.report-choice")


def test_the_charts_and_the_tables_under_them_are_the_apis_figures(site: Site, page: Page) -> None:
    controller, sim = site.controller, site.sim
    assert controller is not None
    before = sim.node.endpoints["david"]
    sim.endpoint("PJSIP/david", Endpoint(answer_after_s=1.0, talk_s=20.0))
    site.run(lambda: controller.acd.agent_pause("exempel", "eva", "lunch"))
    try:
        sign_in(page, site, "boss@exempel.se")
        answered_call(site, "+46705550031")
        answered_call(site, "+46705550032")
        site.run(lambda: controller.acd.agent_logout("exempel", "david"))
        missed_call(site, page, "+46705550033")

        page.get_by_role("navigation", name="Huvudmeny").get_by_role("link", name="Rapporter").click()
        expect(page.get_by_role("heading", level=1, name="Rapporter och statistik")).to_be_visible()
        expect(choice(page).get_by_label("Period")).to_have_value("today")
        hours = api_json(page, "/api/v1/statistics/hours?period=today")
        hour = next(h for h in hours["hours"] if h["missed"])
        assert hour["answered"] >= 2 and hour["missed"] >= 1
        key = str(hour["hour"])

        # calls per hour: each bar of that hour, and the table's row, are the API's
        per_hour = part(page, "Samtal per timme")
        for series in ("answered", "missed", "other"):
            if hour[series]:
                expect(bar(page, per_hour, key, series)).to_have_attribute("data-value", str(hour[series]))
            else:
                expect(bar(page, per_hour, key, series)).to_have_count(0)  # nothing to draw
        expect(per_hour.get_by_role("img", name="Samtal per timme")).to_be_visible()
        row = per_hour.locator(f'table.chart-table tbody tr[data-category="{key}"] td')
        expect(row).to_have_text([f"{int(key):02d}–{int(key) + 1:02d}", str(hour["answered"]), str(hour["missed"]),
                                  str(hour["other"]), str(hour["calls"]), re.compile(r"^\d+:\d\d$"),
                                  re.compile(r"^\d+:\d\d$")])
        total = per_hour.locator("table.chart-table tfoot td")
        expect(total.nth(4)).to_have_text(str(hours["total"]["calls"]))
        expect(page.locator(".report-stats .stat", has_text="Missade").locator(".value")).to_have_text(
            str(hours["total"]["missed"]))

        # waits: each bucket's bars and row
        waits = part(page, "Väntetider i kö")
        for bucket in hours["waits"]:  # the table has the buckets with calls, the chart every bucket
            cells = waits.locator(f'table.chart-table tbody tr[data-category="{bucket["from_s"]}"] td')
            if bucket["calls"]:
                expect(cells).to_have_text([re.compile("."), str(bucket["answered"]), str(bucket["missed"]),
                                            str(bucket["calls"] - bucket["answered"] - bucket["missed"]),
                                            str(bucket["calls"])])
            else:
                expect(cells).to_have_count(0)
            expect(bar(page, waits, str(bucket["from_s"]), "answered")).to_have_count(1 if bucket["answered"] else 0)
            expect(bar(page, waits, str(bucket["from_s"]), "missed")).to_have_count(1 if bucket["missed"] else 0)

        # the service level per queue, against the queue's target (no alarm: the usual 80 %)
        report = api_json(page, f"/api/v1/reports/queues?{urlencode({'from': hours['from'], 'to': hours['to']})}")
        support = next(q for q in report["queues"] if q["queue"] == "support")
        assert support["offered"] >= 3
        sl = part(page, "Servicenivå per kö")
        expect(bar(page, sl, "support", "sl")).to_have_attribute("data-value", f"{support['service_level_pct']:g}")
        expect(sl.locator("line.target")).to_have_attribute("data-value", "80")
        expect(sl.locator('table.chart-table tbody tr[data-category="support"] td').nth(1)).to_have_text(
            f"{number_text(support['service_level_pct'])} %")
        shot(page, "50-reports-charts")

        # the queue report's workbook: the API's figures
        queues = part(page, "Köer och servicenivå")
        expect(queues.locator('tr[data-category="support"] td').nth(1)).to_have_text(str(support["offered"]))
        with page.expect_download() as download:
            queues.get_by_role("link", name="Excel (XLSX)").click()
        data = Path(download.value.path()).read_bytes()
        assert data[:2] == b"PK"
        sheet = load_workbook(io.BytesIO(data))["Queues"]
        rows = list(sheet.iter_rows(values_only=True))
        got = dict(zip(rows[0], next(r for r in rows[1:] if r[0] == "support"), strict=True))
        assert (got["offered"], got["answered"], got["abandoned"]) == (
            support["offered"], support["answered"], support["abandoned"])

        # another period: yesterday had no calls; a custom range of today is today
        choice(page).get_by_label("Period").select_option("yesterday")
        expect(per_hour.get_by_text("Inga samtal under perioden.")).to_be_visible()
        assert api_json(page, "/api/v1/statistics/hours?period=yesterday")["total"]["calls"] == 0
        choice(page).get_by_label("Period").select_option("custom")
        choice(page).get_by_label("Från och med").fill("2026-11-24")
        choice(page).get_by_label("Till och med").fill("2026-11-24")
        page.get_by_role("button", name="Visa").click()
        expect(bar(page, per_hour, key, "missed")).to_have_attribute("data-value", str(hour["missed"]))
        expect(page).to_have_url(re.compile(r"period=custom&from=2026-11-24&to=2026-11-24"))
    finally:
        sim.endpoint("PJSIP/david", before)
        site.run(lambda: controller.acd.agent_unpause("exempel", "eva"))
        site.run(lambda: controller.acd.agent_login("exempel", "david"))


def test_the_call_specification_hides_the_dialled_number_and_exports_what_it_shows(site: Site, page: Page) -> None:
    # a caller leaves a message for Ekonomi: a call to the main number, no agent needed
    call = site.run(lambda: site.sim.place_call("+46705550041", MAIN_NUMBER, CallScript(keys=["3"])))
    wait_for_record(site, call.uniqueid)
    sign_in(page, site, "boss@exempel.se")
    page.goto(f"{site.base}/app/#/reports")
    spec = part(page, "Samtalsspecifikation")
    expect(spec.get_by_text("Välj ett nummer ovan för att se dess samtalsspecifikation.")).to_be_visible()
    choice(page).get_by_label("Nummer").select_option(MAIN_NUMBER)
    periods = api_json(page, "/api/v1/statistics/periods")["periods"]["today"]
    query = urlencode({"number": MAIN_NUMBER, "from": periods["from"], "to": periods["to"]})
    plain = api_json(page, f"/api/v1/reports/calls?{query}")
    assert call.uniqueid in [c["call_id"] for c in plain["calls"]]
    rows = spec.locator("table.chart-table tbody tr")
    expect(rows).to_have_count(plain["total"])
    dialled = spec.locator("table.chart-table tbody td span.dialled")
    expect(dialled.first).to_have_text(MAIN_NUMBER)
    expect(spec.locator(f'tr[data-category="{call.uniqueid}"]')).to_contain_text("+46705550041")
    mine = next(c for c in plain["calls"] if c["call_id"] == call.uniqueid)
    expect(spec.locator(f'tr[data-category="{call.uniqueid}"] td').last).to_have_text(OUTCOME_SV[mine["outcome"]])

    spec.get_by_label("Dölj uppringt nummer (GDPR)").check()
    expect(dialled.first).to_have_text("+46812345xxx")
    expect(spec.locator("table.chart-table")).not_to_contain_text(MAIN_NUMBER)
    hidden = api_json(page, f"/api/v1/reports/calls?{query}&hide_dialled=true")
    expect(dialled).to_have_text([c["dialled"] for c in hidden["calls"]])
    shot(page, "51-reports-specification")
    with page.expect_download() as download:
        spec.get_by_role("link", name="Excel (XLSX)").click()
    data = Path(download.value.path()).read_bytes()
    assert data[:2] == b"PK"
    sheet = load_workbook(io.BytesIO(data)).worksheets[0]
    values = list(sheet.iter_rows(values_only=True))
    assert values[0][:5] == ("entered_at", "ended_at", "direction", "caller", "dialled")
    assert [r[3] for r in values[1:]] == [c["caller"] for c in hidden["calls"]]
    assert {r[4] for r in values[1:]} == {"+46812345xxx"}


def test_reports_by_e_mail_are_added_with_the_apis_complaints_beside_the_fields_and_removed(
        site: Site, page: Page) -> None:
    sign_in(page, site, "boss@exempel.se")
    page.goto(f"{site.base}/app/#/reports")
    mailed = page.locator("section.schedules-part")
    expect(mailed.get_by_text("Inga rapporter skickas med e-post.")).to_be_visible()
    form = mailed.locator("form")
    form.get_by_label("Namn").fill("Veckorapport support")
    form.get_by_label("Hur ofta").select_option("weekly")
    form.get_by_label("Mottagare").fill("chefen@exempel.se, inte-en-adress")
    form.get_by_role("button", name="Lägg till").click()
    recipients = form.get_by_label("Mottagare")
    expect(recipients).to_have_attribute("aria-invalid", "true")
    expect(form.locator(".field", has=page.get_by_label("Mottagare")).locator(".field-error")).to_be_visible()
    expect(recipients).to_have_accessible_description(re.compile("Fel format"))
    expect(form.get_by_label("Namn")).to_have_value("Veckorapport support")  # nothing lost
    assert api_json(page, "/api/v1/reports/schedules")["total"] == 0

    recipients.fill("chefen@exempel.se\nsupport@exempel.se")
    form.get_by_role("button", name="Lägg till").click()
    row = mailed.locator("table.schedules tbody tr").filter(has_text="Veckorapport support")
    expect(row).to_contain_text("Varje vecka kl. 06")
    expect(row).to_contain_text("chefen@exempel.se, support@exempel.se")
    made = api_json(page, "/api/v1/reports/schedules")["items"]
    try:
        assert [(s["name"], s["report"], s["every"], s["hour"], s["recipients"]) for s in made] == [
            ("Veckorapport support", "queues", "weekly", 6, ["chefen@exempel.se", "support@exempel.se"])]
        shot(page, "52-reports-schedules")
        row.get_by_role("button", name="Ta bort Veckorapport support").click()
        dialog = page.get_by_role("dialog", name="Sluta skicka rapporten?")
        dialog.get_by_role("button", name="Ta bort").click()
        expect(mailed.get_by_text("Inga rapporter skickas med e-post.")).to_be_visible()
        assert api_json(page, "/api/v1/reports/schedules")["total"] == 0
    finally:
        for s in made:
            page.request.delete(f"/api/v1/reports/schedules/{s['id']}", headers={"X-Requested-With": "pbx"})


def test_without_the_reports_right_there_is_no_reports_menu_item_and_the_page_says_so(site: Site, page: Page) -> None:
    sign_in(page, site, "viewer@exempel.se")
    nav = page.get_by_role("navigation", name="Huvudmeny")
    expect(nav.get_by_role("link", name="Samtal", exact=True)).to_be_visible()
    expect(nav.get_by_role("link", name="Rapporter")).to_have_count(0)
    page.goto(f"{site.base}/app/#/reports")
    expect(page.get_by_role("heading", level=1, name="Rapporter och statistik")).to_be_visible()
    expect(page.get_by_text("Du har inte behörighet att se rapporter och statistik.")).to_be_visible()
    expect(page.locator("svg")).to_have_count(0)
    assert page.request.get("/api/v1/statistics/hours?period=today").status == 403


def test_the_service_level_per_day_is_drawn_against_the_queues_own_target(site: Site, page: Page) -> None:
    # call records of a weekend before (Saturday: answered in 10 s; Sunday: answered in 40 s, one gave up), and a
    # service-level alarm at 90 % on Support: its target
    assert site.w is not None
    saturday, sunday = date(2026, 11, 21), date(2026, 11, 22)
    records = [RecordWrite("exempel", "w.1", _call(saturday, 9, 0, "+46705550051", MAIN_NUMBER, queue="support",
                                                   wait_s=10.0, answered=True, answered_by="eva", talk_s=60.0)),
               RecordWrite("exempel", "w.2", _call(sunday, 11, 0, "+46705550052", MAIN_NUMBER, queue="support",
                                                   wait_s=40.0, answered=True, answered_by="david", talk_s=60.0)),
               RecordWrite("exempel", "w.3", _call(sunday, 11, 30, "+46705550053", MAIN_NUMBER, queue="support",
                                                   wait_s=25.0, abandoned=True))]
    sessions = site.w.ctx.sessions
    assert CallRecordStore(sessions).write(records) == []
    sign_in(page, site, "boss@exempel.se")
    alarm = page.request.post("/api/v1/queues/support/alarms", headers={"X-Requested-With": "pbx"},
                              data={"name": "Servicenivå", "metric": "service_level_below", "threshold": 90,
                                    "clear_after_s": 0, "event": False})
    assert alarm.status == 201, alarm.text()
    try:
        page.goto(f"{site.base}/app/#/reports?period=custom&from=2026-11-21&to=2026-11-22")
        report = api_json(page, "/api/v1/reports/queues?from=2026-11-21T00:00&to=2026-11-23T00:00")
        days = {d["day"]: d for d in report["days"] if d["queue"] == "support"}
        assert (days["2026-11-21"]["service_level_pct"], days["2026-11-22"]["service_level_pct"]) == (100.0, 0.0)
        daily = part(page, "Servicenivå per dag")
        expect(bar(page, daily, "2026-11-21", "q0")).to_have_attribute("data-value", "100")
        expect(bar(page, daily, "2026-11-22", "q0")).to_have_count(0)  # 0 %: no bar
        expect(daily.locator("line.target")).to_have_attribute("data-value", "90")
        expect(daily.locator('tbody tr[data-category="2026-11-22"] td')).to_have_text(["2026-11-22", "0 %"])
        per_queue = part(page, "Servicenivå per kö")
        support = next(q for q in report["queues"] if q["queue"] == "support")
        expect(per_queue.locator('tbody tr[data-category="support"] td')).to_have_text([
            "Support", f"{number_text(support['service_level_pct'])} %", "90 %", "1", "3"])
        expect(page.locator(".showing")).to_have_text("Visar 21 nov. 2026 – 22 nov. 2026: alla samtal")
        shot(page, "53-reports-per-day")
    finally:
        page.request.delete(f"/api/v1/queues/support/alarms/{alarm.json()['id']}",
                            headers={"X-Requested-With": "pbx"})
        with sessions() as session, session.begin():
            session.execute(delete(CallRecordRow).where(CallRecordRow.call_id.in_(["w.1", "w.2", "w.3"])))
