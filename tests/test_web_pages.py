"""The web pages (issue 8) in a real browser: Playwright driving Debian's Chromium, headless, against a running
controller in front of the simulated Asterisk and the admin API serving the pages over real HTTP on loopback.

Sign-in with the second factor, the start page's figures against the API's own, a simulated call that appears
on the wallboard live and raises its alarm, the users and numbers lists (search, filter, sort, pages, export),
the language switch, and tenant isolation as a person sees it (another tenant's object is "not found").
Screenshots of every main page, at desktop and phone width, are kept in var/screenshots/ (PBX_SCREENSHOTS)."""

from __future__ import annotations

import asyncio
import csv
import gzip
import http.client
import io
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from playwright.sync_api import Page, expect

from admin_api.pages import CSP, WEB_DIR
from pbx.asterisk.simulator import CallScript, Endpoint
from pbx.demo import GOTEBORG_NUMBER, MAIN_NUMBER
from pbx.stats.alarms import METRICS
from pbx.stats.wallboard import AGENT_STATES
from tests.admin_world import PASSWORD, fresh_totp, signed_in
from tests.web_world import DESKTOP, PHONE, SHOTS, WAIT_MS, Site, api_json, shot, sign_in, texts

# --- serving ---------------------------------------------------------------------------------------------------


def test_pages_are_served_with_security_headers_and_are_no_part_of_the_api_document(site: Site) -> None:
    host = urlsplit(site.base)
    conn = http.client.HTTPConnection(host.hostname or "127.0.0.1", host.port, timeout=10)

    def get(path: str) -> tuple[int, dict[str, str], bytes]:
        conn.request("GET", path)
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()

    status, headers, _ = get("/")
    assert (status, headers["location"]) == (302, "/app/")
    status, headers, body = get("/app/")
    assert status == 200 and headers["content-type"].startswith("text/html")
    assert headers["content-security-policy"] == CSP and "'unsafe-inline'" not in CSP
    assert (headers["x-content-type-options"], headers["referrer-policy"]) == ("nosniff", "same-origin")
    assert b'<script type="module" src="js/main.js">' in body and b"<script>" not in body  # no inline script
    status, headers, _ = get("/app/js/main.js")
    assert status == 200 and headers["content-type"].startswith("text/javascript")
    for outside in ("/app/../pages.py", "/app/%2e%2e/pages.py", "/app/js/%2e%2e/%2e%2e/pages.py", "/app/.hidden",
                    "/app/nothing.js", "/app/js/"):
        status, headers, body = get(outside)
        assert status == 404, outside
        assert headers["content-type"].startswith("application/problem+json")
    status, _, body = get("/api/v1/openapi.json")
    assert status == 200 and not [p for p in json.loads(body)["paths"] if not p.startswith("/api/v1/")]

    # text files go gzipped to a browser that takes it, with an entity tag; unchanged, a 304 without a body
    original = (WEB_DIR / "js" / "main.js").read_bytes()
    status, headers, body = get("/app/js/main.js")  # http.client asks for no encoding
    assert status == 200 and "content-encoding" not in headers and body == original
    conn.request("GET", "/app/js/main.js", headers={"Accept-Encoding": "gzip, deflate, br"})
    r = conn.getresponse()
    zipped, tag = r.read(), r.getheader("ETag")
    assert (r.status, r.getheader("Content-Encoding"), r.getheader("Vary")) == (200, "gzip", "Accept-Encoding")
    assert gzip.decompress(zipped) == original and len(zipped) < len(original) / 2
    assert r.getheader("Content-Security-Policy") == CSP and tag
    conn.request("GET", "/app/js/main.js", headers={"If-None-Match": tag, "Accept-Encoding": "gzip"})
    r = conn.getresponse()
    assert (r.status, r.read()) == (304, b"") and r.getheader("ETag") == tag
    conn.request("GET", "/app/js/main.js", headers={"If-None-Match": '"not-this-one"'})
    r = conn.getresponse()
    assert r.status == 200 and r.read() == original
    status, headers, body = get("/app/icon.svg")
    assert status == 200 and headers["content-type"].startswith("image/svg+xml") and body.startswith(b"<svg")
    conn.close()


def test_every_text_the_pages_use_exists_in_swedish_and_english() -> None:
    every = texts()  # also: each file has the same keys in both languages, and no key is in two files
    used = {key for f in WEB_DIR.rglob("*.js") for key in re.findall(r"\bt\(\"([a-z0-9_.-]+)\"",
                                                                     f.read_text(encoding="utf-8"))}
    assert len(used) > 50 and used - set(every["sv"]) == set()
    # keys made at run time: every agent state, alarm metric and user kind the API may send
    made = {*(f"state.{s}" for s in AGENT_STATES), *(f"metric.{m}" for m in METRICS),
            *(f"kind.{k}" for k in ("fixed", "mobile", "both"))}
    assert made - set(every["sv"]) == set()
    assert all(every["sv"][k] != every["en"][k] for k in ("login.title", "start.title", "notfound.title"))


# --- in the browser ------------------------------------------------------------------------------------------


def test_sign_in_by_keyboard_with_totp_then_the_start_page_shows_the_demo_company(site: Site, page: Page) -> None:
    assert site.w is not None
    page.goto(f"{site.base}/")
    expect(page).to_have_url(re.compile(r"/app/#/login$"))
    expect(page.get_by_role("heading", level=1, name="Logga in")).to_be_visible()
    shot(page, "01-sign-in")
    # by keyboard alone: the login field has the focus; Tab to the password, Enter sends
    expect(page.get_by_label("E-post")).to_be_focused()
    page.keyboard.type("boss@exempel.se")
    page.keyboard.press("Tab")
    page.keyboard.type("not the password")
    page.keyboard.press("Enter")
    expect(page.get_by_role("alert")).to_have_text("Fel inloggning eller lösenord.")
    expect(page.get_by_label("Lösenord")).to_be_focused()
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")

    # the second step: a code of the wrong shape is the API's 422, shown beside the code field
    code = page.get_by_label("Kod (6 siffror)")
    expect(code).to_be_focused()
    page.keyboard.type("12345")
    page.keyboard.press("Enter")
    expect(code).to_have_attribute("aria-invalid", "true")
    expect(page.locator(".field", has=code).locator(".field-error")).to_have_text("Fel format.")
    expect(code).to_have_accessible_description(re.compile("Fel format"))
    shot(page, "02-second-factor-error")
    code.fill(fresh_totp(site.w, "boss@exempel.se"))
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", level=1, name="Översikt")).to_be_visible()
    expect(page.get_by_text("Välkommen, Bo Ss.")).to_be_visible()
    # the numbers that lead to a call flow: both offices' main numbers and the service numbers
    flows = [n["number"] for n in api_json(page, "/api/v1/numbers?per_page=500")["items"] if n["flow"]]
    assert MAIN_NUMBER in flows and GOTEBORG_NUMBER in flows
    expect(page.locator("ul.numbers a.number")).to_have_text(flows)
    # the figures are the API's: the wallboard's sums, and the voicemail boxes' unheard messages
    board = api_json(page, "/api/v1/wallboard")
    logged_in = {a["user"] for q in board["queues"] for a in q["agents"] if a["state"] != "logged_out"}
    boxes = api_json(page, "/api/v1/voicemail/boxes?per_page=500")["items"]
    expect(page.locator(".stat", has_text="Kunder i kö nu").locator(".value")).to_have_text(
        str(sum(q["callers_waiting"] for q in board["queues"])))
    expect(page.locator(".stat", has_text="Inloggade agenter").locator(".value")).to_have_text(str(len(logged_in)))
    expect(page.locator(".stat", has_text="Missade samtal idag").locator(".value")).to_have_text(
        str(sum(q["missed_today"] for q in board["queues"])))
    unheard = sum(b["new"] for b in boxes)
    assert unheard >= 1  # the test world leaves a message in Exempel's switchboard box
    expect(page.locator(".stat", has_text="Olyssnade röstmeddelanden").locator(".value")).to_have_text(str(unheard))
    assert len(logged_in) >= 1
    shot(page, "03-start")

    # the menu on a phone is a real button that opens and closes the navigation
    page.set_viewport_size(PHONE)
    menu = page.get_by_role("button", name="Meny")
    expect(menu).to_have_attribute("aria-expanded", "false")
    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    expect(page.get_by_role("navigation", name="Huvudmeny").get_by_role("link", name="Användare")).to_be_visible()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "03-start-menu-phone.png"))
    page.set_viewport_size(DESKTOP)

    # signing out ends the session: a page that needs it goes back to sign-in, and remembers where it was going
    page.get_by_role("button", name="Logga ut").click()
    expect(page.get_by_role("heading", level=1, name="Logga in")).to_be_visible()
    page.goto(f"{site.base}/app/#/users")
    expect(page).to_have_url(re.compile(r"#/login\?next=%2Fusers$"))
    assert page.request.get(f"{site.base}/api/v1/me").status == 401


def test_sign_in_with_a_code_by_sms(site: Site, page: Page) -> None:
    assert site.w is not None
    sent = len(site.w.sms)
    page.goto(f"{site.base}/app/")
    page.get_by_label("E-post").fill("sms@exempel.se")
    page.get_by_label("Lösenord").fill(PASSWORD)
    page.get_by_role("button", name="Logga in").click()
    code = page.get_by_label("Kod (6 siffror)")
    expect(code).to_have_accessible_description("Koden i SMS:et vi just skickade till din mobil.")
    assert len(site.w.sms) == sent + 1 and site.w.sms[-1]["to"] == "+46701234567"
    code.fill(site.w.sms[-1]["text"].rsplit(" ", 1)[1])
    page.get_by_role("button", name="Fortsätt").click()
    expect(page.get_by_role("heading", level=1, name="Översikt")).to_be_visible()
    expect(page.locator("#me")).to_have_text("Sam Ms")


def test_a_call_into_support_appears_on_the_wallboard_live_and_raises_its_alarm(site: Site, page: Page) -> None:
    controller, sim = site.controller, site.sim
    assert controller is not None
    # David is logged out and Eva at lunch: a caller for support waits in the queue
    site.run(lambda: controller.acd.agent_logout("exempel", "david"))
    site.run(lambda: controller.acd.agent_pause("exempel", "eva", "lunch"))
    sign_in(page, site, "boss@exempel.se")
    alarm = page.request.post(f"{site.base}/api/v1/queues/support/alarms", headers={"X-Requested-With": "pbx"},
                              data={"name": "Kön växer", "metric": "callers_waiting", "threshold": 1,
                                    "clear_after_s": 0, "event": True})
    assert alarm.status == 201, alarm.text()
    try:
        page.get_by_role("navigation", name="Huvudmeny").get_by_role("link", name="Wallboard").click()
        expect(page.get_by_role("status").filter(has_text="Live")).to_be_visible()
        tile = page.locator('.tile[data-queue="support"]')
        waiting = tile.locator('[data-figure="callers_waiting"]')
        expect(tile.get_by_role("heading", name="Support")).to_be_visible()
        expect(waiting).to_have_text("0")
        expect(tile).not_to_have_class(re.compile(r"\balarm\b"))
        expect(tile.locator(".agent.paused")).to_contain_text("Pausad – lunch")
        shot(page, "04-wallboard")

        # the queue chooser: a wallboard of chosen queues, kept in the address
        chooser = page.locator("details.choose")
        chooser.locator("summary").click()
        chooser.get_by_label("Support").uncheck()
        expect(tile).to_have_count(0)
        expect(page.get_by_text("Inga köer att visa.")).to_be_visible()
        expect(page).to_have_url(re.compile(r"#/wallboard\?queues=-$"))
        chooser.get_by_label("Support").check()
        expect(tile).to_have_count(1)
        chooser.locator("summary").click()

        call = site.run(lambda: sim.place_call("+46705550001", MAIN_NUMBER, CallScript(keys=["2"])))
        expect(waiting).to_have_text("1", timeout=WAIT_MS)  # pushed over the WebSocket: no reload
        expect(tile).to_have_class(re.compile(r"\balarm\b"), timeout=WAIT_MS)
        expect(tile.locator(".badge")).to_have_text("LARM")
        expect(tile.locator("ul.alarms")).to_contain_text("Kön växer: 1 (gräns 1)")
        expect(page.locator(".alarm-summary")).to_contain_text("Support")
        expect(tile.locator('[data-figure="longest_wait_s"]')).not_to_have_text("0:00", timeout=WAIT_MS)
        shot(page, "05-wallboard-alarm")

        async def hang_up() -> None:
            sim.node.request_hangup(sim.node.find(call.uniqueid), remote=True)
        site.run(hang_up)
        expect(waiting).to_have_text("0", timeout=WAIT_MS)
        expect(tile.locator('[data-figure="missed_today"]')).to_have_text("1", timeout=WAIT_MS)
        expect(tile).not_to_have_class(re.compile(r"\balarm\b"), timeout=WAIT_MS)
        # the start page follows the same stream
        page.get_by_role("link", name="Översikt").click()
        expect(page.locator(".stat", has_text="Missade samtal idag").locator(".value")).to_have_text("1")
    finally:
        page.request.delete(f"{site.base}/api/v1/queues/support/alarms/{alarm.json()['id']}",
                            headers={"X-Requested-With": "pbx"})
        site.run(lambda: controller.acd.agent_unpause("exempel", "eva"))
        site.run(lambda: controller.acd.agent_login("exempel", "david"))


def test_users_and_numbers_lists_search_filter_sort_page_and_export(site: Site, page: Page) -> None:
    sign_in(page, site, "viewer@exempel.se")  # the right "view" only: no voicemail figure for them
    expect(page.locator(".stat", has_text="Olyssnade röstmeddelanden")).to_contain_text("Du har inte behörighet")
    page.get_by_role("link", name="Användare").click()
    expect(page.get_by_role("heading", level=1, name="Användare")).to_be_visible()
    everyone = api_json(page, "/api/v1/users?per_page=500")
    expect(page.locator("table.list tbody tr")).to_have_count(everyone["total"])
    expect(page.get_by_role("status").filter(has_text="av")).to_have_text(
        f"1–{everyone['total']} av {everyone['total']} (sida 1 av 1)")
    shot(page, "06-users")

    # search: the rows are the API's rows for the same words
    page.get_by_role("searchbox", name="Sök", exact=True).fill("berg")
    page.get_by_role("searchbox", name="Sök", exact=True).press("Enter")
    found = [u["name"] for u in api_json(page, "/api/v1/users?q=berg")["items"]]
    assert 1 <= len(found) < everyone["total"]
    expect(page.locator("table.list tbody tr td:first-child")).to_have_text(found)
    expect(page.get_by_text("Observera att listan har ett aktivt filter.")).to_be_visible()
    expect(page).to_have_url(re.compile(r"#/users\?q=berg$"))

    # export: the whole filtered list, as the API writes it
    with page.expect_download() as download:
        page.get_by_role("link", name="CSV").click()
    rows = list(csv.reader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8"))))
    assert rows[0][0] == "name" and [r[0] for r in rows[1:]] == found
    with page.expect_download() as download:
        page.get_by_role("link", name="Excel (XLSX)").click()
    assert Path(download.value.path()).read_bytes()[:2] == b"PK"  # a zip: the workbook

    # clearing the filter, then sorting by name: the first click turns the default order round
    page.get_by_role("button", name="Nollställ filtrering").click()
    expect(page.locator("table.list tbody tr")).to_have_count(everyone["total"])
    name_header = page.get_by_role("columnheader", name="Namn")
    expect(name_header).to_have_attribute("aria-sort", "ascending")
    name_header.get_by_role("button").click()
    expect(name_header).to_have_attribute("aria-sort", "descending")
    backwards = [u["name"] for u in api_json(page, "/api/v1/users?sort=-name&per_page=500")["items"]]
    expect(page.locator("table.list tbody tr td:first-child")).to_have_text(backwards)

    # pages: three a page, the next page is the API's second page
    page.goto(f"{site.base}/app/#/users?sort=name&per_page=3")
    second = [u["name"] for u in api_json(page, "/api/v1/users?sort=name&per_page=3&page=2")["items"]]
    expect(page.get_by_role("button", name="Föregående")).to_be_disabled()
    page.get_by_role("button", name="Nästa").click()
    expect(page.locator("table.list tbody tr td:first-child")).to_have_text(second)
    expect(page).to_have_url(re.compile(r"page=2"))

    # one user's page (the control for the isolation test: this is what Annat's administrator must not see)
    page.goto(f"{site.base}/app/#/users/anna")
    expect(page.get_by_role("heading", level=1, name="Anna Andersson")).to_be_visible()
    expect(page.locator("dl.facts")).to_contain_text("+46701111111")
    shot(page, "07-user")

    # numbers, filtered by account through the select
    page.get_by_role("link", name="Nummer", exact=True).click()
    expect(page.get_by_role("heading", level=1, name="Nummer")).to_be_visible()
    expect(page.locator("table.list tbody tr").first).to_be_visible()
    page.get_by_label("Konto").select_option("goteborg")
    gbg = [n["number"] for n in api_json(page, "/api/v1/numbers?account=goteborg")["items"]]
    assert GOTEBORG_NUMBER in gbg and MAIN_NUMBER not in gbg
    expect(page.locator("table.list tbody tr td:first-child")).to_have_text(gbg)
    shot(page, "08-numbers")

    # English, and it is remembered
    page.get_by_label("Språk").select_option("en")
    expect(page.get_by_role("heading", level=1, name="Numbers")).to_be_visible()
    page.reload()
    expect(page.get_by_role("heading", level=1, name="Numbers")).to_be_visible()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    shot(page, "09-numbers-english")


def test_an_administrator_of_another_tenant_sees_none_of_exempels_pages(site: Site, page: Page) -> None:
    sign_in(page, site, "admin@annat.se")
    expect(page.locator("#tenant")).to_have_text("annat")
    expect(page.locator("ul.numbers")).not_to_contain_text(MAIN_NUMBER)
    for path in ("/users/anna", f"/numbers/{MAIN_NUMBER.replace('+', '%2B')}", "/numbers/%2B46317654300"):
        page.goto(f"{site.base}/app/#{path}")
        expect(page.get_by_role("heading", level=1, name="Hittades inte")).to_be_visible()
        assert page.request.get(f"{site.base}/api/v1{path}").status == 404  # what the page showed: the API's 404
    shot(page, "10-not-found")
    page.goto(f"{site.base}/app/#/users")
    expect(page.get_by_role("heading", level=1, name="Användare")).to_be_visible()
    expect(page.get_by_role("status").filter(has_text="av")).to_be_visible()
    expect(page.locator("table.list")).not_to_contain_text("Anna Andersson")
    page.goto(f"{site.base}/app/#/wallboard")
    expect(page.get_by_text("Inga köer att visa.")).to_be_visible()
    expect(page.locator(".tile")).to_have_count(0)


# --- the agent panel -------------------------------------------------------------------------------------------


def agent_admin(site: Site) -> str:
    """David Dahl, support agent, as an administrator linked to his telephony user: the rights "view" and
    "agents" (his own agent actions and presence), made by the super administrator through the API."""
    assert site.w is not None
    w = site.w

    async def make() -> None:
        boss = await signed_in(w, "boss@exempel.se")
        async with boss:
            async with boss.post(f"{w.base}/api/v1/admins", json={
                    "login": "david@exempel.se", "name": "David Dahl", "password": PASSWORD, "role": "custom",
                    "rights": ["view", "agents"], "user": "david"}) as r:
                assert r.status in (201, 409), await r.text()
    site.run(make)
    return "david@exempel.se"


async def boss_get(site: Site, path: str) -> Any:
    """What the API answers the super administrator (for what the page's own person may not read)."""
    assert site.w is not None
    w = site.w
    async with await signed_in(w, "boss@exempel.se") as boss, boss.get(f"{w.base}/api/v1{path}") as r:
        assert r.status == 200, await r.text()
        return await r.json()


def test_every_callback_status_and_presence_has_a_text() -> None:
    from pbx.acd.model import CallbackStatus
    from pbx.routing.model import PresenceStatus
    every = texts()
    made = {*(f"cb.{s.value}" for s in CallbackStatus), *(f"presence.{s.value}" for s in PresenceStatus),
            *(f"agent.done-{v}" for v in ("login", "logout", "pause", "unpause", "end-wrapup"))}
    assert made - set(every["sv"]) == set() and made - set(every["en"]) == set()


def test_an_agent_logs_in_takes_a_call_and_ends_wrap_up_early_on_the_panel(site: Site, page: Page) -> None:
    controller, sim = site.controller, site.sim
    assert controller is not None
    login = agent_admin(site)
    # David's phone answers at once and the call is short; his wrap-up is long enough to watch (the team lead's
    # override), and Eva at lunch so that Support's call is David's
    sim.endpoint("PJSIP/david", Endpoint(answer_after_s=1.0, talk_s=4.0))
    site.run(lambda: controller.acd.set_wrapup("exempel", "david", 3000))
    site.run(lambda: controller.acd.agent_logout("exempel", "david"))
    site.run(lambda: controller.acd.agent_pause("exempel", "eva", "lunch"))

    def david() -> Any:
        support = api_json(page, "/api/v1/queues/support")
        return next(a for a in support["live"]["agents"] if a["user"] == "david")
    try:
        page.goto(f"{site.base}/app/#/login")
        page.get_by_label("E-post").fill(login)
        page.get_by_label("Lösenord").fill(PASSWORD)
        page.get_by_role("button", name="Logga in").click()
        expect(page.get_by_role("heading", level=1, name="Översikt")).to_be_visible()
        page.get_by_role("navigation", name="Huvudmeny").get_by_role("link", name="Agentpanel").click()
        expect(page.get_by_role("heading", level=1, name="Agentpanel")).to_be_visible()
        expect(page.get_by_role("status").filter(has_text="Live")).to_be_visible()
        state = page.locator(".agent-state .state-value")
        support = page.locator('.agent-queue[data-queue="support"]')
        expect(state).to_have_text("Utloggad")
        expect(support).to_contain_text("Utloggad")
        assert david()["logged_in"] is False

        # log in to Support, by keyboard: the button has the focus and Enter presses it
        page.get_by_role("button", name="Logga in i Support").focus()
        page.keyboard.press("Enter")
        expect(state).to_have_text("Ledig")
        expect(support.get_by_role("button", name="Logga ut ur Support")).to_be_visible()
        assert david()["logged_in"] is True and david()["status"] == "free"

        # pause with a reason, then end the pause
        page.get_by_label("Orsak").fill("Möte med chefen")
        page.get_by_role("button", name="Pausa", exact=True).click()
        expect(state).to_have_text("Pausad")
        expect(page.locator(".agent-state")).to_contain_text("Pausad: Möte med chefen")
        assert (david()["status"], david()["pause_reason"]) == ("paused", "Möte med chefen")
        page.get_by_role("button", name="Avsluta paus").click()
        expect(state).to_have_text("Ledig")
        assert david()["paused"] is False

        # presence with an end time and a message (an end before now is the API's 422, beside the field)
        until = page.get_by_label("Till och med")
        until.fill("2020-01-01T10:00")
        page.get_by_role("button", name="Sätt närvaro").click()
        expect(until).to_have_attribute("aria-invalid", "true")
        until.fill("2099-06-01T12:45")
        page.get_by_label("Status", exact=True).select_option("meeting")
        page.get_by_label("Meddelande").fill("Tillbaka efter lunch")
        page.get_by_role("button", name="Sätt närvaro").click()
        presence = page.locator("ul.presence-list li.active")
        expect(presence).to_contain_text("Möte")
        expect(presence).to_contain_text("Tillbaka efter lunch")
        current = api_json(page, "/api/v1/users/david/presence")["current"]
        assert (current["status"], current["message"]) == ("meeting", "Tillbaka efter lunch")
        assert current["until"].startswith("2099-06-01")
        presence.get_by_role("button", name="Rensa").click()
        expect(page.get_by_text("Ingen närvaro satt: du är tillgänglig.")).to_be_visible()
        assert api_json(page, "/api/v1/users/david/presence")["current"] is None
        expect(page.get_by_text("Inga återuppringningar väntar.")).to_be_visible()

        # a call to Support: David's phone answers; after it, the wrap-up counts down on the panel
        call = site.run(lambda: sim.place_call("+46705550003", MAIN_NUMBER, CallScript(keys=["2"])))
        expect(state).to_have_text("Efterarbete", timeout=WAIT_MS)
        countdown = page.locator(".agent-state .countdown")
        expect(countdown).to_have_text(re.compile(r"^\d+:\d\d kvar$"))
        first = countdown.inner_text()
        expect(countdown).not_to_have_text(first)  # it counts
        now = david()
        assert now["status"] == "wrapup" and now["wrapup_until"] is not None and now["calls_taken"] >= 1
        assert call.answered_by == "PJSIP/david"
        shot(page, "11-agent-wrapup")

        page.get_by_role("button", name="Avsluta efterarbete").click()
        expect(state).to_have_text("Ledig")
        expect(countdown).to_be_hidden()
        now = david()
        assert (now["status"], now["wrapup_until"]) == ("free", None)
        shot(page, "12-agent-free")

        # English; then out of every queue at once
        page.get_by_label("Språk").select_option("en")
        expect(page.get_by_role("heading", level=1, name="Agent panel")).to_be_visible()
        expect(page.locator(".agent-state .state-value")).to_have_text("Free")
        page.get_by_role("button", name="Log out of all").click()
        expect(page.locator(".agent-state .state-value")).to_have_text("Logged out")
        assert david()["logged_in"] is False
        page.get_by_label("Language").select_option("sv")
    finally:
        site.run(lambda: controller.acd.set_wrapup("exempel", "david", None))
        site.run(lambda: controller.acd.agent_unpause("exempel", "eva"))
        site.run(lambda: controller.acd.agent_login("exempel", "david"))


def test_a_paused_agent_calls_a_customer_back_by_hand_from_the_panel(site: Site, page: Page) -> None:
    controller, sim = site.controller, site.sim
    assert controller is not None
    login = agent_admin(site)
    # David is paused for callback work (the queue hands him nothing) and Eva at lunch: the request waits.
    # His phone answers at once and stays on until the customer (the trunk, 30 s of talk) hangs up
    sim.endpoint("PJSIP/david", Endpoint(answer_after_s=1.0, talk_s=600.0))
    site.run(lambda: controller.acd.agent_login("exempel", "david"))
    site.run(lambda: controller.acd.agent_pause("exempel", "david", "Återuppringningar"))
    site.run(lambda: controller.acd.agent_pause("exempel", "eva", "lunch"))
    asked = site.run(lambda: sim.place_call("+46701234999", GOTEBORG_NUMBER, CallScript(keys=["2", "0705550999#"])))
    try:
        site.run(lambda: asyncio.wait_for(asked.wait(), 20))
        sign_in(page, site, login)
        page.goto(f"{site.base}/app/#/agent")
        expect(page.get_by_role("heading", level=1, name="Agentpanel")).to_be_visible()
        row = page.locator("table.callbacks tbody tr", has_text="0705550999")
        expect(row).to_contain_text("Väntar", timeout=WAIT_MS)
        assert api_json(page, f"/api/v1/callbacks/{asked.uniqueid}")["status"] == "waiting"

        row.get_by_role("button", name="Ring upp 0705550999 nu").click()
        expect(page.locator(".callbacks-card").get_by_role("status")).to_have_text(
            "Din telefon ringer: svara för att ringa upp 0705550999.")
        expect(row).to_contain_text("david")
        taken = api_json(page, f"/api/v1/callbacks/{asked.uniqueid}")
        assert taken["agent"] == "david" and taken["status"] != "waiting"
        [entry] = [e for e in site.run(lambda: boss_get(site, "/audit?resource=callback&per_page=500"))["items"]
                   if e["ref"] == asked.uniqueid]
        assert (entry["action"], entry["actor"]) == ("take", "david@exempel.se")
        # his phone rang first, then the customer's number was dialled; the call ends and the request is done
        expect(row).to_be_hidden(timeout=WAIT_MS)
        assert api_json(page, f"/api/v1/callbacks/{asked.uniqueid}")["status"] == "done"
        shot(page, "13-agent-callback-taken")
    finally:
        site.run(lambda: controller.acd.agent_unpause("exempel", "eva"))
        site.run(lambda: controller.acd.agent_unpause("exempel", "david"))
        site.run(lambda: controller.acd.end_wrapup("exempel", "david"))
