"""The schedule pages (issue 8) in a real browser: the list with each schedule's state now, the year view against
the API's own answers day by day, the one-click override with its end, the weekly hours and exceptions edited with
the API's errors beside the fields, what an account administrator and a viewer are offered, and another tenant's
administrator meeting "not found". Every change to the demo's schedule is undone (try/finally): the tests share
the site. Screenshots in var/screenshots/ (PBX_SCREENSHOTS)."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from playwright.sync_api import Page, expect

from tests.web_world import Site, api_json, shot, sign_in

KEY = "kontorstid"
PATH = f"/api/v1/schedules/{KEY}"
ZONE = ZoneInfo("Europe/Stockholm")
HEADERS = {"X-Requested-With": "pbx"}
YEAR_MS = 30_000  # the year view reads its holidays in one request (GET /schedules/{key}/days)
STATE_WORDS = {"open": "Öppet", "closed": "Stängt", "holiday": "Helgdag"}


def at_noon(page: Page, day: date) -> Any:
    """The API's answer for the schedule at noon that day (its own time zone)."""
    at = datetime(day.year, day.month, day.day, 12, tzinfo=ZONE).isoformat()
    return api_json(page, f"{PATH}?at={quote(at)}")["now"]


def restore(page: Page, site: Site, original: dict[str, Any]) -> None:
    """The demo's schedule as it was: hours, exceptions, holidays, name and time zone, and no override."""
    body = {k: original[k] for k in ("name", "timezone", "weekly", "exceptions", "holidays")}
    r = page.request.patch(f"{site.base}{PATH}", headers=HEADERS, data=body)
    assert r.ok, r.text()
    page.request.delete(f"{site.base}{PATH}/override", headers=HEADERS)
    assert api_json(page, PATH)["override"] is None


def open_schedule(page: Page, site: Site) -> None:
    page.goto(f"{site.base}/app/#/schedules/{KEY}")
    expect(page.get_by_role("heading", level=1, name="Kontorstid")).to_be_visible()
    expect(page.locator(".year")).to_have_attribute("data-ready", "true", timeout=YEAR_MS)


def test_the_list_shows_each_schedule_with_its_state_now(site: Site, page: Page) -> None:
    sign_in(page, site, "boss@exempel.se")
    page.get_by_role("navigation", name="Huvudmeny").get_by_role("link", name="Öppettider").click()
    expect(page.get_by_role("heading", level=1, name="Öppettider")).to_be_visible()
    listed = api_json(page, "/api/v1/schedules")["items"]
    assert [s["key"] for s in listed] == [KEY]
    row = page.locator("table.list tbody tr", has_text="Kontorstid")
    expect(row).to_contain_text(STATE_WORDS[listed[0]["state"]])
    # the sentence about now: the next change the API names, in the schedule's time zone
    now = api_json(page, PATH)["now"]
    change = datetime.fromisoformat(now["next_change"]).astimezone(ZONE)
    expect(row.locator(".now-sentence")).to_contain_text(f"{change:%H:%M}")
    shot(page, "20-schedules")
    row.get_by_role("link", name="Kontorstid").click()
    expect(page.get_by_role("heading", level=1, name="Kontorstid")).to_be_visible()


def test_the_year_view_shows_the_holidays_exceptions_and_closed_days_as_the_api_says(site: Site, page: Page) -> None:
    sign_in(page, site, "boss@exempel.se")
    open_schedule(page, site)
    schedule = api_json(page, PATH)
    assert schedule["override"] is None
    today = datetime.fromisoformat(schedule["now"]["at"]).astimezone(ZONE).date()
    cells = page.locator("button.day")
    expect(cells.first).to_have_attribute("data-date", f"{today:%Y-%m}-01")
    shown = dict(zip(cells.evaluate_all("els => els.map(e => e.dataset.date)"),
                     cells.evaluate_all("els => els.map(e => e.dataset.kind)"), strict=True))
    assert 365 <= len(shown) <= 366
    exceptions = {e["date"] for e in schedule["exceptions"]}
    holidays = []
    for day_text, kind in shown.items():
        day = date.fromisoformat(day_text)
        now = at_noon(page, day)
        if day_text in exceptions:
            expected = "exception"
            assert now["reason"].startswith(f"exception {day_text}")
        elif now["state"] == "holiday":
            expected = "holiday"
            holidays.append(day)
        elif "closed all day" in now["reason"]:
            expected = "closed"
        else:
            expected = "open"
        assert kind == expected, (day_text, kind, now)
    # the demo's calendar: Christmas and the new year are holidays, the 23rd is the exception, weekends are shut
    assert {date(today.year, 12, 24), date(today.year, 12, 25), date(today.year, 12, 31)} <= set(holidays)
    assert shown[f"{today.year}-12-23"] == "exception"
    assert sum(1 for d, k in shown.items() if k == "closed" and date.fromisoformat(d).weekday() >= 5) > 90
    # the legend says it in words, not by colour alone
    legend = page.get_by_role("list", name="Teckenförklaring")
    for words in ("Öppet", "Stängt hela dagen", "Helgdag", "Undantag", "Åsidosatt"):
        expect(legend).to_contain_text(words)
    expect(page.locator(f'button.day[data-date="{today:%Y-%m-%d}"]')).to_have_attribute("aria-current", "date")

    # by keyboard: from the exception day one step right is Christmas Eve, its hours and why
    exception_day = page.locator(f'button.day[data-date="{today.year}-12-23"]')
    exception_day.click()
    detail = page.locator(".day-detail")
    expect(detail).to_contain_text("Öppet 08:00–12:00.")
    expect(detail).to_contain_text("Dagen före julafton")
    exception_day.press("ArrowRight")
    eve = page.locator(f'button.day[data-date="{today.year}-12-24"]')
    expect(eve).to_be_focused()
    expect(eve).to_have_attribute("aria-pressed", "true")
    expect(detail.get_by_role("heading")).to_contain_text("24 december")
    expect(detail).to_contain_text("Helgdag")
    expect(detail).to_contain_text("Julafton")
    eve.press("ArrowDown")  # a week on: 31 December, New Year's Eve
    expect(detail).to_contain_text("Nyårsafton")
    page.keyboard.press("PageDown")
    expect(page.locator(".day-detail h3")).to_contain_text("31 januari")
    shot(page, "21-schedule-year")

    # the next twelve months: the holidays there are the API's as well (one checked, the view moved)
    page.get_by_role("button", name="Senare").click()
    expect(page.locator(".year")).to_have_attribute("data-ready", "true", timeout=YEAR_MS)
    eve = page.locator(f'button.day[data-date="{today.year + 1}-12-24"]')
    assert at_noon(page, date(today.year + 1, 12, 24))["state"] == "holiday"
    expect(eve).to_have_attribute("data-kind", "holiday")
    expect(page.locator(f'button.day[data-date="{today:%Y-%m-%d}"]')).to_have_count(0)


def test_a_one_click_override_is_set_shown_with_its_end_seen_in_the_api_and_removed(site: Site, page: Page) -> None:
    sign_in(page, site, "boss@exempel.se")
    original = api_json(page, PATH)
    assert original["override"] is None
    try:
        open_schedule(page, site)
        state = page.locator(".state-now")
        today = datetime.fromisoformat(original["now"]["at"]).astimezone(ZONE).date()
        quick = page.get_by_role("group", name="Åsidosätt med ett klick").get_by_role(
            "button", name=re.compile(r"^Stängt till \d\d:00$"))
        if quick.count():  # the next whole hours of today (none left late in the evening: then the rest of the day)
            button = quick.last
            hour = int(button.inner_text()[len("Stängt till "):][:2])
            end = datetime(today.year, today.month, today.day, hour, tzinfo=ZONE)
            said = f"Stängt till {hour:02d}:00 idag, sedan gäller öppettiderna."
        else:
            button = page.get_by_role("button", name="Stängt resten av dagen")
            end = datetime(today.year, today.month, today.day, tzinfo=ZONE) + timedelta(days=1)
            said = "Stängt till midnatt, sedan gäller öppettiderna."
        button.click()
        expect(state.locator(".state-sentence")).to_have_text(said)
        expect(state.locator(".state-word")).to_have_text("Stängt (åsidosatt)")
        now = api_json(page, PATH)
        assert now["override"]["state"] == "closed" and now["now"]["overridden"] is True
        assert datetime.fromisoformat(now["override"]["until"]) == end
        today_cell = page.locator(f'button.day[data-date="{today}"]')
        expect(today_cell).to_have_attribute("data-kind", "override")
        expect(page.locator(".year")).to_have_attribute("data-ready", "true", timeout=YEAR_MS)
        today_cell.click()
        expect(page.locator(".day-detail")).to_contain_text(said)
        shot(page, "22-schedule-override")
        # the list says the same, with the end
        page.get_by_role("link", name="← Alla öppettider").click()
        listed = page.locator("table.list tbody tr", has_text="Kontorstid")
        expect(listed).to_contain_text("Stängt (åsidosatt)")
        expect(listed.locator(".now-sentence")).to_have_text(said)
        listed.get_by_role("link", name="Kontorstid").click()
        expect(page.locator(".year")).to_have_attribute("data-ready", "true", timeout=YEAR_MS)

        # removed: the hours apply again, on the page and in the API
        page.get_by_role("button", name="Ta bort åsidosättningen").click()
        expect(state.locator(".state-word")).to_have_text(STATE_WORDS[original["now"]["state"]])
        expect(page.get_by_role("button", name="Ta bort åsidosättningen")).to_be_hidden()
        expect(today_cell).not_to_have_attribute("data-kind", "override")
        assert api_json(page, PATH)["override"] is None

        # "open until …": the own form, with a time left out: the API's objection beside the time
        page.get_by_role("button", name="Öppet till …").click()
        time_input = page.get_by_label("Klockan")
        expect(time_input).to_be_focused()
        expect(page.get_by_label("Läge", exact=True)).to_have_value("open")
        time_input.fill("")
        page.get_by_role("button", name="Åsidosätt", exact=True).click()
        expect(time_input).to_have_attribute("aria-invalid", "true")
        expect(page.locator(".override-form .field-error")).to_be_visible()
        assert api_json(page, PATH)["override"] is None
        # … and without an end: open until further notice, said so, then removed
        page.get_by_label("Tills vidare (ingen sluttid)").check()
        page.get_by_label("Meddelande").fill("Öppet hus")
        page.get_by_role("button", name="Åsidosätt", exact=True).click()
        expect(state.locator(".state-sentence")).to_have_text(
            "Öppet tills vidare – tills åsidosättningen tas bort.")
        expect(state).to_contain_text("Meddelande: Öppet hus")
        forever = api_json(page, PATH)
        assert (forever["override"]["state"], forever["override"]["until"]) == ("open", None)
        assert forever["now"]["state"] == "open"
        page.get_by_role("button", name="Ta bort åsidosättningen").click()
        expect(page.get_by_role("button", name="Ta bort åsidosättningen")).to_be_hidden()
        assert api_json(page, PATH)["override"] is None
    finally:
        restore(page, site, original)


def test_hours_and_exceptions_are_changed_with_the_apis_errors_beside_the_fields(site: Site, page: Page) -> None:
    sign_in(page, site, "boss@exempel.se")
    original = api_json(page, PATH)
    try:
        open_schedule(page, site)
        weekly = page.locator("section", has=page.get_by_role("heading", name="Öppettider per vecka"))
        monday = weekly.get_by_label("måndag")
        monday.fill("08:00-25:00")
        weekly.get_by_role("button", name="Spara").click()
        expect(monday).to_have_attribute("aria-invalid", "true")
        error = weekly.locator(".field", has=page.get_by_label("måndag")).locator(".field-error")
        expect(error).to_have_text("Ett klockslag måste vara mellan 00:00 och 24:00.")
        expect(monday).to_have_value("08:00-25:00")  # nothing lost
        # the API's own answer to the same change: refused, about Monday's hours, and nothing changed
        r = page.request.patch(f"{site.base}{PATH}", headers=HEADERS, data={"weekly": {"mon": "08:00-25:00"}})
        assert r.status == 422 and [e["field"] for e in r.json()["errors"]] == ["body.weekly.mon"]
        assert "between 00:00 and 24:00" in r.json()["errors"][0]["message"]
        assert api_json(page, PATH)["weekly"]["mon"] == original["weekly"]["mon"]

        # corrected, and Saturday mornings open: saved, seen in the API and in the year view
        monday.fill(original["weekly"]["mon"])
        weekly.get_by_label("lördag").fill("10:00-14:00")
        weekly.get_by_role("button", name="Spara").click()
        expect(weekly.locator(".saved-note")).to_have_text(re.compile(r"^Sparat \d\d:\d\d\.$"))
        expect(monday).not_to_have_attribute("aria-invalid", "true")
        saved = api_json(page, PATH)["weekly"]
        assert (saved["mon"], saved["sat"]) == (original["weekly"]["mon"], "10:00-14:00")
        today = datetime.fromisoformat(original["now"]["at"]).astimezone(ZONE).date()
        saturday = next(today + timedelta(days=n) for n in range(14, 21) if (today + timedelta(days=n)).weekday() == 5)
        if at_noon(page, saturday)["state"] != "holiday":
            expect(page.locator(f'button.day[data-date="{saturday}"]')).to_have_attribute("data-kind", "open")

        # an exception: a stocktaking day closed, added on the page, then taken away again
        exceptions = page.locator("section", has=page.get_by_role("heading", name="Undantag", exact=True))
        exceptions.get_by_role("button", name="Lägg till undantag").click()
        new = exceptions.locator("fieldset.exception-row").last
        expect(new.get_by_label("Datum")).to_be_focused()
        day = next(today + timedelta(days=n) for n in range(40, 47) if (today + timedelta(days=n)).weekday() == 2)
        new.get_by_label("Datum").fill(f"{day}")
        new.get_by_label("Öppet").fill("8-12")
        new.get_by_label("Namn").fill("Inventering")
        exceptions.get_by_role("button", name="Spara").click()
        expect(new.get_by_label("Öppet")).to_have_attribute("aria-invalid", "true")
        expect(new.locator(".field-error")).to_have_text(
            "Skriv öppettiderna som 08:00-12:00, 12:45-17:00 (tomt = stängt).")
        new.get_by_label("Öppet").fill("")
        exceptions.get_by_role("button", name="Spara").click()
        ours = exceptions.locator("fieldset.exception-row", has=page.locator('input[value="Inventering"]'))
        expect(ours).to_have_count(1)
        expect(page.locator(f'button.day[data-date="{day}"]')).to_have_attribute("data-kind", "exception")
        added = [e for e in api_json(page, PATH)["exceptions"] if e["date"] == f"{day}"]
        assert added == [{"date": f"{day}", "hours": "", "name": "Inventering", "recurs_yearly": False,
                          "holiday": False}]
        assert at_noon(page, day)["state"] == "closed"
        page.evaluate("window.scrollTo(0, 0)")  # the chosen day's box sticks beside the months as the page scrolls
        shot(page, "23-schedule-settings")
        ours.get_by_role("button", name=re.compile("^Ta bort")).click()
        exceptions.get_by_role("button", name="Spara").click()
        expect(page.locator(f'button.day[data-date="{day}"]')).not_to_have_attribute("data-kind", "exception")
        assert [e["date"] for e in api_json(page, PATH)["exceptions"]] == [e["date"] for e in original["exceptions"]]
    finally:
        restore(page, site, original)


def test_the_account_administrator_and_the_viewer_see_the_schedule_without_changing_it(site: Site,
                                                                                       page: Page) -> None:
    for login in ("gbg@exempel.se", "viewer@exempel.se"):
        sign_in(page, site, login)
        open_schedule(page, site)
        expect(page.get_by_text("Du kan se schemat men inte ändra det")).to_be_visible()
        expect(page.locator(".state-now .state-sentence")).not_to_be_empty()
        expect(page.locator("section", has=page.get_by_role("heading", name="Öppettider per vecka"))).to_contain_text(
            "08:00–12:00, 12:45–17:00")
        for name in ("Spara", "Stängt resten av dagen", "Öppet till …", "Åsidosätt", "Lägg till undantag",
                     "Ta bort åsidosättningen"):
            expect(page.get_by_role("button", name=name, exact=True)).to_have_count(0)
        expect(page.locator("main input:not([type=search])")).to_have_count(0)
        page.locator(".day-detail").scroll_into_view_if_needed()
        if login == "viewer@exempel.se":
            shot(page, "24-schedule-viewer")
        page.get_by_role("button", name="Logga ut").click()
        expect(page.get_by_role("heading", level=1, name="Logga in")).to_be_visible()


def test_another_tenants_administrator_finds_no_schedule_of_exempels(site: Site, page: Page) -> None:
    sign_in(page, site, "admin@annat.se")
    page.goto(f"{site.base}/app/#/schedules/{KEY}")
    expect(page.get_by_role("heading", level=1, name="Hittades inte")).to_be_visible()
    expect(page.locator("main")).not_to_contain_text("Kontorstid")
    assert page.request.get(f"{site.base}{PATH}").status == 404
    page.goto(f"{site.base}/app/#/schedules")
    expect(page.get_by_role("heading", level=1, name="Öppettider")).to_be_visible()
    expect(page.locator("table.list td.empty")).to_have_text("Inga träffar.")


def test_opening_hours_are_created_and_deleted_but_not_while_a_flow_uses_them(site: Site, page: Page) -> None:
    sign_in(page, site, "boss@exempel.se")
    try:
        page.goto(f"{site.base}/app/#/schedules")
        page.get_by_role("button", name="Nya öppettider").click()
        form = page.locator("form.new-keyed")
        form.get_by_label("Namn", exact=True).fill("Sommartid")
        form.get_by_label("Kortnamn").fill("sommar")
        form.get_by_role("button", name="Skapa").click()
        expect(page.get_by_role("heading", level=1, name="Sommartid")).to_be_visible()
        made = api_json(page, "/api/v1/schedules/sommar")
        assert (made["timezone"], made["holidays"]["country"]) == ("Europe/Stockholm", "SE")
        page.get_by_role("button", name="Ta bort öppettiderna").click()
        page.get_by_role("dialog").get_by_role("button", name="Ta bort öppettiderna").click()
        expect(page.get_by_role("heading", level=1, name="Öppettider")).to_be_visible()
        assert page.request.get(f"{site.base}/api/v1/schedules/sommar").status == 404
        open_schedule(page, site)
        page.get_by_role("button", name="Ta bort öppettiderna").click()
        page.get_by_role("dialog").get_by_role("button", name="Ta bort öppettiderna").click()
        expect(page.locator(".danger-zone").get_by_role("alert")).to_contain_text("den används av flödet")
        assert page.request.get(f"{site.base}{PATH}").ok
    finally:
        if page.request.get(f"{site.base}/api/v1/schedules/sommar").ok:
            page.request.delete(f"{site.base}/api/v1/schedules/sommar", headers=HEADERS)
