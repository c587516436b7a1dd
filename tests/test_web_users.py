"""The telephony users' pages (issue 8; U-01…U-07, U-10) in a real browser, against the running controller and admin
API of tests/web_world.py: a user made, changed section by section (forwarding, barring, presence, phones) and
removed on the page, each change checked in the API afterwards and each refusal shown where it belongs; a phone's
password shown once; the line status following a call; and who sees what (an account administrator their own
users, a viewer nothing to change, another tenant nothing at all)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect

from pbx.asterisk.simulator import CallScript, Endpoint
from pbx.demo import STOCKHOLM
from pbx.devices.models import PsAuthRow
from pbx.devices.provision import md5_cred
from tests.web_world import WAIT_MS, Site, api_json, shot, sign_in

HEADERS = {"X-Requested-With": "pbx"}
ASA_DIRECT = "+46812345610"


def region(page: Page, name: str) -> Locator:
    return page.get_by_role("region", name=name, exact=True)


def api_status(page: Page, path: str) -> int:
    return page.request.get(f"/api/v1{path}").status


def confirm(page: Page, button: str) -> None:
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name=button).click()
    expect(dialog).to_have_count(0)


def field_error(control: Locator) -> Locator:
    """The message showProblem put beside `control` (in the .field that holds it)."""
    return control.locator("xpath=ancestor::div[contains(concat(' ', @class, ' '), ' field ')][1]").locator(
        ".field-error")


@pytest.fixture
def no_kalle(site: Site, page: Page) -> Iterator[None]:
    """The user the first test makes is gone afterwards, whatever happened (other tests share the site)."""
    yield
    if page.request.get("/api/v1/users/kalle").status == 200:
        for d in page.request.get("/api/v1/users/kalle/devices").json()["items"]:
            if d["name"]:
                page.request.delete(f"/api/v1/users/kalle/devices/{d['name']}", headers=HEADERS)
        assert page.request.delete("/api/v1/users/kalle", headers=HEADERS).status == 204


def stored_digest(site: Site, username: str) -> str | None:
    """What Asterisk checks a phone's password against (PJSIP realtime ps_auths): md5(username:realm:password)."""
    assert site.w is not None
    ctx = site.w.ctx

    def read() -> str | None:
        with ctx.sessions() as session:
            row = session.get(PsAuthRow, username)
            return None if row is None else row.md5_cred
    return site.run(lambda: ctx.db(read))


def shown_password(page: Page) -> dict[str, str]:
    box = page.get_by_role("region", name=re.compile("^Uppgifter till telefonen"))
    expect(box).to_be_visible()
    expect(box).to_contain_text("Lösenordet visas bara nu")
    codes = box.locator("code").all_inner_texts()
    return {"username": codes[0], "password": codes[1], "realm": codes[2]}


def test_a_user_is_made_forwarded_barred_given_presence_and_a_phone_then_removed(site: Site, page: Page,
                                                                               no_kalle: None) -> None:
    sign_in(page, site, "boss@exempel.se")
    page.get_by_role("link", name="Användare").click()
    expect(page.get_by_role("heading", level=1, name="Användare")).to_be_visible()

    # a new user: an extension of the wrong shape is the API's 422, beside the extension; nothing typed is lost
    page.get_by_role("button", name="Ny användare").click()
    form = page.locator("form.user-new")
    form.get_by_label("Id (kortnamn)").fill("kalle")
    form.get_by_label("Namn", exact=True).fill("Kalle Karlsson")
    extension = form.get_by_label("Anknytning")
    extension.fill("45a")
    form.get_by_label("Fast nummer").fill("")
    form.get_by_label("Konto").select_option("stockholm")
    form.get_by_label("E-post").fill("kalle@exempel.se")
    form.get_by_role("button", name="Skapa användare").click()
    expect(extension).to_have_attribute("aria-invalid", "true")
    expect(field_error(extension)).to_have_text("Fel format.")
    expect(form.get_by_role("alert")).to_have_text("Rätta de markerade fälten.")
    assert api_status(page, "/users/kalle") == 404
    expect(form.get_by_label("E-post")).to_have_value("kalle@exempel.se")
    shot(page, "63-users-new-user-refused")
    extension.fill("450")
    form.get_by_role("button", name="Skapa användare").click()
    expect(page.get_by_role("heading", level=1, name="Kalle Karlsson")).to_be_visible()
    expect(page).to_have_url(re.compile(r"#/users/kalle$"))
    made = api_json(page, "/api/v1/users/kalle")
    assert (made["extension"], made["kind"], made["account"], made["email"]) == ("450", "fixed", "stockholm",
                                                                                 "kalle@exempel.se")
    facts = page.locator("dl.facts")
    expect(facts).to_contain_text("450")
    expect(facts).to_contain_text("Stockholm")

    # details: a mobile user needs a mobile number (the routing core's 422, put beside that field), and presents
    # the main number on outgoing calls
    details = region(page, "Uppgifter")
    details.get_by_role("button", name="Ändra").click()
    details.get_by_label("Typ").select_option("mobile")
    details.get_by_role("button", name="Spara").click()
    mobile = details.get_by_label("Mobilnummer")
    expect(mobile).to_have_attribute("aria-invalid", "true")
    expect(field_error(mobile)).to_have_text("Mobilnummer behövs för en mobil användare.")
    assert api_json(page, "/api/v1/users/kalle")["kind"] == "fixed"
    mobile.fill("070-999 88 77")
    details.get_by_label("Nummerpresentation (utgående samtal)").select_option("main")
    details.get_by_role("button", name="Spara").click()
    expect(facts).to_contain_text("+46709998877")
    expect(facts).to_contain_text("Huvudnumret")
    expect(details.get_by_role("button", name="Ändra")).to_be_focused()
    changed = api_json(page, "/api/v1/users/kalle")
    assert (changed["kind"], changed["mobile_number"], changed["outbound_caller_id"]) == ("mobile", "+46709998877",
                                                                                         "main")

    # forwarding: on busy to the switchboard's voicemail box, on no answer to a mobile after 30 s; a number
    # that is no number is the API's 422 beside that number
    forwarding = region(page, "Vidarekoppling")
    forwarding.get_by_role("button", name="Ändra").click()
    busy = forwarding.get_by_role("group", name="Vid upptaget")
    busy.get_by_label("Till").select_option("voicemail")
    busy.get_by_label("Röstbrevlåda").select_option("vaxel")
    no_answer = forwarding.get_by_role("group", name="Vid ej svar")
    no_answer.get_by_label("Till").select_option("external")
    number = no_answer.get_by_label("Nummer")
    number.fill("12ab")
    forwarding.get_by_label("Ringtid innan vidarekoppling vid ej svar").fill("30")
    forwarding.get_by_role("button", name="Spara").click()
    expect(number).to_have_attribute("aria-invalid", "true")
    expect(field_error(number)).to_have_text("Fel format.")
    assert api_json(page, "/api/v1/users/kalle")["forwarding"]["on_busy"] is None
    shot(page, "64-users-forwarding-refused")
    number.fill("070-123 45 67")  # as people write it: the page sends +46701234567
    forwarding.get_by_role("button", name="Spara").click()
    expect(forwarding.locator("dl.user-summary")).to_contain_text("Röstbrevlåda: Växel")
    expect(forwarding.locator("dl.user-summary")).to_contain_text("Externt nummer +46701234567")
    expect(forwarding.locator("dl.user-summary")).to_contain_text("30 sekunder")
    assert api_json(page, "/api/v1/users/kalle")["forwarding"] == {
        "always": None, "on_busy": "voicemail:vaxel", "on_no_answer": "external:+46701234567",
        "no_answer_after_s": 30}

    # activity-based forwarding: in a meeting, calls to the fixed number go to Sälj's answer group, unannounced
    rules = region(page, "Aktivitetsstyrd vidarekoppling")
    rules.get_by_role("button", name="Ändra").click()
    rules.get_by_role("button", name="Lägg till regel").click()
    rule = rules.get_by_role("group", name="Regel 1")
    rule.get_by_label("När hänvisad till").select_option(label="Möte")
    rule.get_by_label("Till", exact=True).select_option("group")
    rule.get_by_label("Svarsgrupp").select_option("salj")
    rule.get_by_label("Gäller samtal till").select_option("fixed")
    rule.get_by_label("Den som ringer hör hänvisningen först").uncheck()
    rules.get_by_role("button", name="Spara").click()
    expect(rules.locator("ul.user-rules li")).to_have_text("Möte → Svarsgrupp: Sälj (samtal till bara fast nummer)")
    assert api_json(page, "/api/v1/users/kalle")["presence_rules"] == [
        {"status": "meeting", "target": "group:salj", "applies_to": "fixed", "announce": False}]

    # barring: international calls
    settings = region(page, "Spärrar och inställningar")
    settings.get_by_role("button", name="Ändra").click()
    settings.get_by_label("Utlandssamtal").check()
    settings.get_by_role("button", name="Spara").click()
    expect(settings.locator("dl.user-summary")).to_contain_text("Utlandssamtal")
    after = api_json(page, "/api/v1/users/kalle")
    assert after["barred"] == ["international"]
    assert after["forwarding"]["on_busy"] == "voicemail:vaxel"  # one section's save leaves the others alone

    # presence: lunch until two hours from the API's now, with a message; then removed
    presence = region(page, "Närvaro (hänvisning)")
    expect(presence).to_contain_text("Ingen hänvisning just nu")
    assert site.w is not None
    until = (site.w.ctx.clock().astimezone(STOCKHOLM) + timedelta(hours=2)).replace(second=0, microsecond=0)
    presence.get_by_label("Status").select_option(label="Lunch")
    presence.get_by_label("Till och med").fill(until.strftime("%Y-%m-%dT%H:%M"))
    presence.get_by_label("Meddelande").fill("Tillbaka efter lunch")
    presence.get_by_role("button", name="Sätt hänvisning").click()
    entry = presence.locator("ul.user-presence li.active")
    expect(entry).to_contain_text("Lunch")
    expect(entry).to_contain_text("Tillbaka efter lunch")
    expect(entry).to_contain_text(until.strftime("%H:%M"))
    expect(page.locator(".user-status")).to_contain_text("Hänvisad: Lunch till")
    current = api_json(page, "/api/v1/users/kalle/presence")["current"]
    assert (current["status"], current["message"]) == ("lunch", "Tillbaka efter lunch")
    assert datetime.fromisoformat(current["until"]) == until
    # one planned ahead: a meeting tomorrow, from and until
    meeting = (until + timedelta(days=1)).replace(hour=9, minute=0)
    presence.get_by_label("Status").select_option(label="Möte")
    presence.get_by_label("Från").fill(meeting.strftime("%Y-%m-%dT%H:%M"))
    presence.get_by_label("Till och med").fill((meeting + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"))
    presence.get_by_role("button", name="Sätt hänvisning").click()
    planned = presence.locator("ul.user-presence li.planned")
    expect(planned).to_contain_text("Möte")
    expect(planned).to_contain_text("09:00–10:00")
    entries = api_json(page, "/api/v1/users/kalle/presence")["entries"]
    assert [(e["status"], e["active"], datetime.fromisoformat(e["from"])) for e in entries] == [
        ("lunch", True, datetime.fromisoformat(current["from"])), ("meeting", False, meeting)]
    expect(presence.locator("ul.user-presence li")).to_have_count(2)
    for shown in (entry, planned):
        shown.get_by_role("button", name=re.compile("^Ta bort")).click()
    expect(presence).to_contain_text("Ingen hänvisning just nu")
    expect(page.locator(".user-status")).not_to_contain_text("Hänvisad")
    assert api_json(page, "/api/v1/users/kalle/presence") == {"user": "kalle", "current": None, "entries": []}

    # a phone: its SIP username, realm and password shown once, the password the one Asterisk will check
    phones = region(page, "Telefoner")
    expect(phones).to_contain_text("Användaren har inga telefoner.")
    phones.get_by_label("Namn på telefonen").fill("kalle_bord")
    phones.get_by_label("Beskrivning").fill("Bordstelefon")
    phones.get_by_role("button", name="Lägg till telefon").click()
    first = shown_password(page)
    assert (first["username"], first["realm"]) == ("exempel-kalle_bord", "exempel")
    assert len(first["password"]) >= 12
    assert stored_digest(site, "exempel-kalle_bord") == md5_cred("exempel-kalle_bord", "exempel", first["password"])
    row = phones.locator("tbody tr", has_text="kalle_bord")
    expect(row).to_contain_text("Bordstelefon")
    [device] = api_json(page, "/api/v1/users/kalle/devices")["items"]
    assert (device["name"], device["username"], device["provisioned"]) == ("kalle_bord", "exempel-kalle_bord", True)
    assert "password" not in device
    shot(page, "60-users-user-phone-password")

    # shown once: after a reload the phone is there, its password is not
    page.reload()
    expect(page.get_by_role("heading", level=1, name="Kalle Karlsson")).to_be_visible()
    expect(phones.locator("tbody tr", has_text="kalle_bord")).to_be_visible()
    expect(page.get_by_role("region", name=re.compile("^Uppgifter till telefonen"))).to_have_count(0)
    expect(page.get_by_text(first["password"])).to_have_count(0)

    # a new password (asked first), shown once; the old one no longer matches
    phones.locator("tbody tr", has_text="kalle_bord").get_by_role("button", name=re.compile("^Nytt lösenord")).click()
    confirm(page, "Nytt lösenord")
    second = shown_password(page)
    assert second["password"] != first["password"]
    assert stored_digest(site, "exempel-kalle_bord") == md5_cred("exempel-kalle_bord", "exempel", second["password"])
    page.get_by_role("button", name="Klart, dölj lösenordet").click()
    expect(page.get_by_text(second["password"])).to_have_count(0)

    # removed, asked first
    phones.locator("tbody tr", has_text="kalle_bord").get_by_role("button", name=re.compile("^Ta bort")).click()
    confirm(page, "Ta bort")
    expect(phones).to_contain_text("Användaren har inga telefoner.")
    assert api_json(page, "/api/v1/users/kalle/devices")["items"] == []
    assert stored_digest(site, "exempel-kalle_bord") is None

    # the user removed (asked first; cancelling keeps them)
    page.get_by_role("button", name="Ta bort användaren").click()
    page.get_by_role("dialog").get_by_role("button", name="Avbryt").click()
    assert api_status(page, "/users/kalle") == 200
    page.get_by_role("button", name="Ta bort användaren").click()
    confirm(page, "Ta bort användaren")
    expect(page.get_by_role("heading", level=1, name="Användare")).to_be_visible()
    assert api_status(page, "/users/kalle") == 404
    expect(page.locator("table.list")).not_to_contain_text("Kalle Karlsson")


def test_removing_a_user_still_in_use_says_what_uses_them(site: Site, page: Page) -> None:
    sign_in(page, site, "boss@exempel.se")
    page.goto(f"{site.base}/app/#/users/anna")
    expect(page.get_by_role("heading", level=1, name="Anna Andersson")).to_be_visible()
    page.get_by_role("button", name="Ta bort användaren").click()
    confirm(page, "Ta bort användaren")
    danger = page.locator("form.user-danger")
    expect(danger.get_by_role("alert")).to_have_text(
        "Anna Andersson kan inte tas bort eftersom användaren fortfarande används. Ändra först:")
    # what uses her, each a link to it: her numbers, Sälj's answer group, the voicemail boxes she listens to
    expect(danger.get_by_role("link", name="numret +46812345601")).to_have_attribute("href", "#/numbers/%2B46812345601")
    expect(danger.get_by_role("link", name="svarsgruppen salj")).to_have_attribute("href", "#/groups/salj")
    expect(danger.get_by_text("röstbrevlådan vaxel")).to_be_visible()
    anna = api_json(page, "/api/v1/users/anna")
    assert anna["name"] == "Anna Andersson"  # still there


def test_the_line_status_follows_a_call(site: Site, page: Page) -> None:
    sim = site.sim
    sign_in(page, site, "boss@exempel.se")
    page.goto(f"{site.base}/app/#/users/asa")
    line = page.locator(".user-status .user-line")
    expect(line).to_have_text("Ledig")
    assert api_json(page, "/api/v1/users/asa/line")["line"] == "free"
    # Åsa's phone answers at once and she talks a long while: her line is "in a call" until it is hung up
    sim.endpoint("PJSIP/asa", Endpoint(answer_after_s=1.0, talk_s=6000.0))
    try:
        site.run(lambda: sim.place_call("+46705550077", ASA_DIRECT, CallScript()))
        expect(line).to_have_text("I samtal", timeout=WAIT_MS)
        assert api_json(page, "/api/v1/users/asa/line")["line"] == "in_call"
        expect(region(page, "Telefoner").locator("tbody tr", has_text="PJSIP/asa")).to_contain_text("I samtal")
        shot(page, "61-users-user-in-call")
    finally:
        sim.endpoint("PJSIP/asa", Endpoint(answer_after_s=4.0, talk_s=30.0))
        for call in api_json(page, "/api/v1/calls?per_page=500")["items"]:
            if call["dialled"] == ASA_DIRECT:
                page.request.delete(f"/api/v1/calls/{call['id']}", headers=HEADERS)
    expect(line).to_have_text("Ledig", timeout=WAIT_MS)


def test_an_account_administrator_sees_and_changes_only_their_accounts_users(site: Site, page: Page) -> None:
    sign_in(page, site, "gbg@exempel.se")
    page.get_by_role("link", name="Användare").click()
    theirs = [u["name"] for u in api_json(page, "/api/v1/users?per_page=500")["items"]]
    assert sorted(theirs) == ["David Dahl", "Eva Ström"]
    expect(page.locator("table.list tbody tr td:first-child")).to_have_text(theirs)
    expect(page.get_by_role("button", name="Ny användare")).to_be_visible()  # they have the right "users"

    # a Stockholm user is not found, as the API says
    page.goto(f"{site.base}/app/#/users/anna")
    expect(page.get_by_role("heading", level=1, name="Hittades inte")).to_be_visible()
    assert api_status(page, "/users/anna") == 404
    expect(page.locator("#main")).not_to_contain_text("Anna Andersson")

    # their own user: call waiting on, then back off (the demo as it was)
    page.goto(f"{site.base}/app/#/users/eva")
    expect(page.get_by_role("heading", level=1, name="Eva Ström")).to_be_visible()
    settings = region(page, "Spärrar och inställningar")
    before = api_json(page, "/api/v1/users/eva")["call_waiting"]
    try:
        settings.get_by_role("button", name="Ändra").click()
        settings.get_by_label("Samtal väntar").set_checked(not before)
        settings.get_by_role("button", name="Spara").click()
        expect(settings.locator("dl.user-summary")).to_contain_text("Ja" if not before else "Nej")
        assert api_json(page, "/api/v1/users/eva")["call_waiting"] is (not before)
        # only their accounts to move a user to: Göteborg, and no "no account"
        details = region(page, "Uppgifter")
        details.get_by_role("button", name="Ändra").click()
        assert details.get_by_label("Konto").locator("option").evaluate_all("os => os.map(o => o.value)") == [
            "goteborg"]
        details.get_by_role("button", name="Avbryt").click()
        expect(details.get_by_role("button", name="Ändra")).to_be_focused()
    finally:
        page.request.patch("/api/v1/users/eva", data={"call_waiting": before}, headers=HEADERS)
    assert api_json(page, "/api/v1/users/eva")["call_waiting"] is before


def test_a_viewer_sees_a_users_settings_and_nothing_to_change(site: Site, page: Page) -> None:
    sign_in(page, site, "viewer@exempel.se")
    page.get_by_role("link", name="Användare").click()
    expect(page.locator("table.list tbody tr").first).to_be_visible()
    expect(page.get_by_role("button", name="Ny användare")).to_have_count(0)
    page.goto(f"{site.base}/app/#/users/asa")
    expect(page.get_by_role("heading", level=1, name="Åsa Öberg")).to_be_visible()
    asa: dict[str, Any] = api_json(page, "/api/v1/users/asa")
    # everything is shown as the API has it
    expect(page.locator("dl.facts")).to_contain_text(asa["fixed_number"])
    expect(page.locator("dl.facts")).to_contain_text("Huvudnumret")  # her outgoing caller ID: "main"
    forwarding = region(page, "Vidarekoppling").locator("dl.user-summary")
    assert asa["forwarding"]["on_no_answer"] == "voicemail:vaxel"
    # the voicemail boxes' names are for those with the right "voicemail": a viewer reads the box's key
    expect(forwarding).to_contain_text("Röstbrevlåda: vaxel")
    expect(forwarding).to_contain_text(f"{asa['forwarding']['no_answer_after_s']} sekunder")
    assert asa["presence_rules"][0]["status"] == "lunch" and asa["presence_rules"][0]["target"] == "user:david"
    expect(region(page, "Aktivitetsstyrd vidarekoppling").locator("ul.user-rules li")).to_have_text(
        "Lunch → Kollega: David Dahl (301) (samtal till fast nummer och mobil; hänvisningen läses upp)")
    assert api_json(page, "/api/v1/users/asa/presence") == {"user": "asa", "current": None, "entries": []}
    expect(region(page, "Närvaro (hänvisning)")).to_contain_text("Ingen hänvisning just nu")
    expect(region(page, "Telefoner").locator("tbody tr", has_text="PJSIP/asa")).to_contain_text("Inlagd manuellt")
    line = api_json(page, "/api/v1/users/asa/line")["line"]
    expect(page.locator(".user-status .user-line")).to_have_text(
        {"free": "Ledig", "ringing": "Ringer", "in_call": "I samtal", "unavailable": "Ej ansluten"}[line])
    # and nothing to change: no button, no field
    expect(page.locator("#main button")).to_have_count(0)
    expect(page.locator("#main input, #main select")).to_have_count(0)
    shot(page, "62-users-user-read-only")


def test_another_tenants_administrator_finds_no_exempel_user(site: Site, page: Page) -> None:
    sign_in(page, site, "admin@annat.se")
    page.goto(f"{site.base}/app/#/users/anna")
    expect(page.get_by_role("heading", level=1, name="Hittades inte")).to_be_visible()
    assert api_status(page, "/users/anna") == 404
    assert api_status(page, "/users/anna/devices") == 404
    expect(page.locator("#main")).not_to_contain_text("Anna")
    page.goto(f"{site.base}/app/#/users")
    expect(page.get_by_role("status").filter(has_text="av")).to_be_visible()
    expect(page.locator("table.list")).not_to_contain_text("Anna Andersson")
