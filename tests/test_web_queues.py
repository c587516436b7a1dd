"""The queue and answer-group pages (issue 8) in a real browser: the lists with their live figures, members added
and removed, agents logged in, paused and out from the page, a simulated caller waiting in Support seen in the
figures, the settings with the API's errors beside the fields, what an account administrator and a viewer are
offered, and another tenant's administrator meeting "not found". Every change to the demo tenant is undone
(try/finally): the tests share the site. Screenshots in var/screenshots/ (PBX_SCREENSHOTS)."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import Page, expect

from pbx.asterisk.simulator import CallScript
from pbx.demo import MAIN_NUMBER
from tests.web_world import WAIT_MS, Site, api_json, shot, sign_in

HEADERS = {"X-Requested-With": "pbx"}
SUPPORT = "/api/v1/queues/support"
SALJ = "/api/v1/groups/salj"


def agent(page: Page, path: str, user: str) -> Any:
    return next(a for a in api_json(page, path)["live"]["agents"] if a["user"] == user)


def row(page: Page, name: str) -> Any:
    return page.locator("li.member-state", has_text=name)


def restore_agents(site: Site, before: dict[str, Any], ref: str) -> None:
    """Each agent logged in to `ref` (or not) and paused (or not) as they were."""
    controller = site.controller
    assert controller is not None

    async def put_back() -> None:
        for user, was in before.items():
            if was["logged_in"]:
                await controller.acd.agent_login("exempel", user, ref)
            else:
                await controller.acd.agent_logout("exempel", user, ref)
            if not was["paused"]:
                await controller.acd.agent_unpause("exempel", user)
    site.run(put_back)


def test_the_lists_show_queues_and_answer_groups_with_their_live_figures(site: Site, page: Page) -> None:
    sign_in(page, site, "boss@exempel.se")
    page.get_by_role("navigation", name="Huvudmeny").get_by_role("link", name="Köer och svarsgrupper").click()
    expect(page.get_by_role("heading", level=1, name="Köer och svarsgrupper")).to_be_visible()
    queues = page.locator("section.kind-list", has=page.get_by_role("heading", name="Köer", exact=True))
    groups = page.locator("section.kind-list", has=page.get_by_role("heading", name="Svarsgrupper", exact=True))
    support, salj = api_json(page, SUPPORT), api_json(page, SALJ)
    support_row = queues.locator("tbody tr", has_text="Support")
    expect(support_row).to_contain_text("Längst ledig först")
    expect(support_row.locator('[data-figure="callers_waiting"]')).to_have_text(str(support["live"]["callers_waiting"]))
    expect(support_row.locator('[data-figure="logged_in"]')).to_have_text(str(support["live"]["logged_in"]))
    salj_row = groups.locator("tbody tr", has_text="Sälj")
    expect(salj_row).to_contain_text("En i taget, i ordning")
    expect(salj_row.locator("td").nth(3)).to_have_text(str(len(salj["members"])))
    expect(salj_row.locator('[data-figure="logged_in"]')).to_have_text(str(salj["live"]["logged_in"]))
    assert page.get_by_role("search", name="Sök bland köerna").count() == 1
    assert page.get_by_role("search", name="Sök bland svarsgrupperna").count() == 1
    shot(page, "30-queues")
    salj_row.get_by_role("link", name="Sälj").click()
    expect(page.get_by_role("heading", level=1, name="Sälj")).to_be_visible()
    expect(page.locator(".kind-tag")).to_have_text("Svarsgrupp")


def test_a_member_is_added_and_removed_on_the_queue_page(site: Site, page: Page) -> None:
    sign_in(page, site, "boss@exempel.se")
    original = api_json(page, SUPPORT)["members"]
    try:
        page.goto(f"{site.base}/app/#/queues/support")
        expect(page.get_by_role("heading", level=1, name="Support")).to_be_visible()
        members = page.locator("section", has=page.get_by_role("heading", name="Medlemmar"))
        expect(members.locator("ol.members li")).to_have_count(len(original))
        members.get_by_label("Användare").select_option("cecilia")
        members.get_by_role("button", name="Lägg till").click()
        expect(members.locator('li[data-user="cecilia"]')).to_contain_text("Cecilia Ek")
        assert api_json(page, SUPPORT)["members"] == [*original, "cecilia"]
        # the new member is among the agents now, logged out until someone logs her in
        expect(row(page, "Cecilia Ek")).to_contain_text("Utloggad")
        expect(members.get_by_label("Användare").locator('option[value="cecilia"]')).to_have_count(0)

        members.get_by_role("button", name="Ta bort Cecilia Ek").click()
        expect(members.locator('li[data-user="cecilia"]')).to_have_count(0)
        expect(row(page, "Cecilia Ek")).to_have_count(0)
        assert api_json(page, SUPPORT)["members"] == original
    finally:
        page.request.patch(f"{site.base}{SUPPORT}", headers=HEADERS, data={"members": original})


def test_an_agent_is_logged_in_paused_and_logged_out_from_the_queue_page(site: Site, page: Page) -> None:
    controller = site.controller
    assert controller is not None
    sign_in(page, site, "boss@exempel.se")
    before = {a["user"]: a for a in api_json(page, SUPPORT)["live"]["agents"]}
    site.run(lambda: controller.acd.agent_logout("exempel", "david", "queue:support"))
    try:
        page.goto(f"{site.base}/app/#/queues/support")
        david = row(page, "David Dahl")
        expect(david.locator(".state")).to_have_text("Utloggad")
        expect(david).to_contain_text("Inte inloggad här")
        assert agent(page, SUPPORT, "david")["logged_in"] is False

        # logged in by keyboard: the button has the focus and keeps it when the row changes
        login = page.get_by_role("button", name="Logga in David Dahl")
        login.focus()
        page.keyboard.press("Enter")
        expect(david.locator(".state")).to_have_text("Ledig")
        expect(page.get_by_role("button", name="Logga ut David Dahl")).to_be_focused()
        now = agent(page, SUPPORT, "david")
        assert (now["logged_in"], now["status"]) == (True, "free")

        # paused with a reason, then the pause ended
        page.get_by_role("button", name="Pausa David Dahl").click()
        page.get_by_label("Orsak till pausen för David Dahl").fill("Utbildning")
        david.get_by_role("button", name="Pausa", exact=True).click()
        expect(david.locator(".state")).to_have_text("Pausad – Utbildning")
        now = agent(page, SUPPORT, "david")
        assert (now["status"], now["pause_reason"]) == ("paused", "Utbildning")
        expect(page.locator('[data-figure="paused"]')).to_have_text("1")
        shot(page, "31-queue-agents")
        page.get_by_role("button", name="Avsluta pausen för David Dahl").click()
        expect(david.locator(".state")).to_have_text("Ledig")
        assert agent(page, SUPPORT, "david")["paused"] is False

        page.get_by_role("button", name="Logga ut David Dahl").click()
        expect(david.locator(".state")).to_have_text("Utloggad")
        assert agent(page, SUPPORT, "david")["logged_in"] is False
    finally:
        restore_agents(site, before, "queue:support")


def test_a_caller_waiting_in_support_appears_in_the_callers_waiting_figure(site: Site, page: Page) -> None:
    controller, sim = site.controller, site.sim
    assert controller is not None
    sign_in(page, site, "boss@exempel.se")
    before = {a["user"]: a for a in api_json(page, SUPPORT)["live"]["agents"]}
    # David logged out and Eva at lunch: a caller for Support waits
    site.run(lambda: controller.acd.agent_logout("exempel", "david", "queue:support"))
    site.run(lambda: controller.acd.agent_pause("exempel", "eva", "lunch"))
    call = None
    try:
        page.goto(f"{site.base}/app/#/queues/support")
        waiting = page.locator('[data-figure="callers_waiting"]')
        expect(waiting).to_have_text("0")
        expect(page.get_by_text("Ingen väntar.")).to_be_visible()
        expect(row(page, "Eva Ström").locator(".state")).to_have_text("Pausad – lunch")

        call = site.run(lambda: sim.place_call("+46705550002", MAIN_NUMBER, CallScript(keys=["2"])))
        expect(waiting).to_have_text("1", timeout=WAIT_MS)  # read again by the page itself: no reload
        line = page.locator("table.waiting tbody tr")
        expect(line).to_have_count(1)
        expect(line).to_contain_text("+46705550002")
        live = api_json(page, SUPPORT)["live"]
        assert live["callers_waiting"] == 1 and live["waiting"][0]["caller"] == "+46705550002"
        expect(page.locator('[data-figure="longest_wait_s"]')).not_to_have_text("0:00", timeout=WAIT_MS)
        shot(page, "32-queue-waiting")

        placed = call

        async def hang_up() -> None:
            sim.node.request_hangup(sim.node.find(placed.uniqueid), remote=True)
        site.run(hang_up)
        call = None
        expect(waiting).to_have_text("0", timeout=WAIT_MS)
        expect(page.get_by_text("Ingen väntar.")).to_be_visible()
    finally:
        if call is not None:
            left = call

            async def hang_up_still() -> None:
                found = sim.node.find(left.uniqueid)
                if found is not None:
                    sim.node.request_hangup(found, remote=True)
            site.run(hang_up_still)
        restore_agents(site, before, "queue:support")


def test_settings_are_changed_with_the_apis_errors_beside_the_fields(site: Site, page: Page) -> None:
    sign_in(page, site, "boss@exempel.se")
    original = api_json(page, SUPPORT)
    group = api_json(page, SALJ)
    try:
        page.goto(f"{site.base}/app/#/queues/support")
        settings = page.locator("section", has=page.get_by_role("heading", name="Inställningar"))
        wrapup = settings.get_by_label("Efterarbetstid (sekunder)")
        expect(wrapup).to_have_value(str(original["wrapup_s"]))
        wrapup.fill("en halvtimme")
        settings.get_by_role("button", name="Spara").click()
        expect(wrapup).to_have_attribute("aria-invalid", "true")
        expect(settings.locator(".field", has=page.get_by_label("Efterarbetstid (sekunder)")).locator(".field-error")
               ).to_have_text("Fel sorts värde.")
        wrapup.fill("99999")
        settings.get_by_role("button", name="Spara").click()
        expect(settings.locator(".field", has=page.get_by_label("Efterarbetstid (sekunder)")).locator(".field-error")
               ).to_have_text("Utanför tillåtet intervall.")
        expect(wrapup).to_be_focused()
        r = page.request.patch(f"{site.base}{SUPPORT}", headers=HEADERS, data={"wrapup_s": 99999})
        assert r.status == 422 and [e["field"] for e in r.json()["errors"]] == ["body.wrapup_s"]
        assert api_json(page, SUPPORT)["wrapup_s"] == original["wrapup_s"]

        wrapup.fill("45")
        settings.get_by_label("Fördelning").select_option("round_robin")
        settings.get_by_role("button", name="Spara").click()
        expect(settings.locator(".saved-note")).to_have_text(re.compile(r"^Sparat \d\d:\d\d\.$"))
        expect(wrapup).not_to_have_attribute("aria-invalid", "true")
        saved = api_json(page, SUPPORT)
        assert (saved["wrapup_s"], saved["strategy"]) == (45, "round_robin")
        assert {k: saved[k] for k in ("callback_key", "max_wait_s", "callback_notify", "announce_every_s")} == {
            k: original[k] for k in ("callback_key", "max_wait_s", "callback_notify", "announce_every_s")}

        # an answer group's own settings: all at once, the overflow without a limit
        page.goto(f"{site.base}/app/#/groups/salj")
        settings = page.locator("section", has=page.get_by_role("heading", name="Inställningar"))
        settings.get_by_label("Fördelning").select_option("parallel")
        settings.get_by_label("Vidarekoppla efter (sekunder)").fill("0")
        settings.get_by_role("button", name="Spara").click()
        expect(settings.locator(".saved-note")).to_have_text(re.compile(r"^Sparat \d\d:\d\d\.$"))
        saved = api_json(page, SALJ)
        assert (saved["strategy"], saved["overflow_after_s"]) == ("parallel", 0)
        shot(page, "33-group")
    finally:
        keep = ("name", "strategy", "wrapup_s", "announce_every_s", "callback_key", "max_wait_s", "join_empty",
                "priority", "callback_scheduled", "callback_notify", "record")
        page.request.patch(f"{site.base}{SUPPORT}", headers=HEADERS, data={k: original[k] for k in keep})
        page.request.patch(f"{site.base}{SALJ}", headers=HEADERS, data={
            k: group[k] for k in ("name", "strategy", "overflow_after_s", "overflow_when_empty", "waiting_prompt")})


def test_an_agent_of_the_answer_group_is_logged_out_and_in_and_pausing_is_offered_only_through_a_queue(
        site: Site, page: Page) -> None:
    sign_in(page, site, "boss@exempel.se")
    before = {a["user"]: a for a in api_json(page, SALJ)["live"]["agents"]}
    try:
        page.goto(f"{site.base}/app/#/groups/salj")
        anna = row(page, "Anna Andersson")
        expect(anna.locator(".state")).to_have_text("Ledig")
        page.get_by_role("button", name="Logga ut Anna Andersson").click()
        expect(anna.locator(".state")).to_have_text("Utloggad")
        expect(page.locator('[data-figure="logged_in"]')).to_have_text(str(len(before) - 1))
        assert agent(page, SALJ, "anna")["logged_in"] is False
        page.get_by_role("button", name="Logga in Anna Andersson").click()
        expect(anna.locator(".state")).to_have_text("Ledig")
        assert agent(page, SALJ, "anna")["logged_in"] is True
        # Anna is in no queue: the API pauses through a queue, so no pause is offered for her
        expect(page.get_by_role("button", name="Pausa Anna Andersson")).to_have_count(0)
    finally:
        restore_agents(site, before, "group:salj")


def test_the_account_administrator_and_the_viewer_get_only_what_their_rights_allow(site: Site, page: Page) -> None:
    controller = site.controller
    assert controller is not None
    before = {a["user"]: a for a in site.run(lambda: _live_support(site))}
    try:
        # Göteborg's account administrator: the right "agents" for Göteborg's David and Eva, no "flows"
        sign_in(page, site, "gbg@exempel.se")
        page.goto(f"{site.base}/app/#/queues/support")
        expect(page.get_by_role("heading", level=1, name="Support")).to_be_visible()
        expect(page.get_by_text("Du kan se inställningarna men inte ändra dem")).to_be_visible()
        expect(row(page, "David Dahl").locator(".state")).to_have_text("Ledig")
        for name in ("Spara", "Lägg till", "Ta bort David Dahl", "Lägg till larm"):
            expect(page.get_by_role("button", name=name, exact=True)).to_have_count(0)
        expect(page.locator("section", has=page.get_by_role("heading", name="Inställningar"))).to_contain_text(
            "Längst ledig först")
        page.get_by_role("button", name="Logga ut Eva Ström").click()
        expect(row(page, "Eva Ström").locator(".state")).to_have_text("Utloggad")
        assert agent(page, SUPPORT, "eva")["logged_in"] is False
        page.get_by_role("button", name="Logga in Eva Ström").click()
        expect(row(page, "Eva Ström").locator(".state")).to_have_text("Ledig")
        shot(page, "34-queue-account-admin")
        # Sälj's members are Stockholm's: nothing to act on, only to see
        page.goto(f"{site.base}/app/#/groups/salj")
        expect(page.get_by_role("heading", level=1, name="Sälj")).to_be_visible()
        expect(page.locator("li.member-state")).to_have_count(3)
        expect(page.locator(".agent-actions")).to_have_count(0)
        page.get_by_role("button", name="Logga ut").click()
        expect(page.get_by_role("heading", level=1, name="Logga in")).to_be_visible()

        # the viewer: everything to see, no button at all on the queue's page
        sign_in(page, site, "viewer@exempel.se")
        page.goto(f"{site.base}/app/#/queues/support")
        expect(row(page, "David Dahl").locator(".state")).to_have_text("Ledig")
        expect(page.locator('[data-figure="logged_in"]')).to_have_text("2")
        expect(page.locator("main button")).to_have_count(0)
        expect(page.locator("main input, main select")).to_have_count(0)
    finally:
        restore_agents(site, before, "queue:support")


async def _live_support(site: Site) -> list[dict[str, Any]]:
    controller = site.controller
    assert controller is not None
    agents = []
    for user in ("david", "eva"):
        a = await controller.store.agent("exempel", user)
        agents.append({"user": user, "logged_in": "queue:support" in a.logged_in, "paused": a.paused})
    return agents


def test_another_tenants_administrator_finds_no_queue_or_group_of_exempels(site: Site, page: Page) -> None:
    sign_in(page, site, "admin@annat.se")
    for path in ("/queues/support", "/groups/salj"):
        page.goto(f"{site.base}/app/#{path}")
        expect(page.get_by_role("heading", level=1, name="Hittades inte")).to_be_visible()
        expect(page.locator("main")).not_to_contain_text(re.compile("Support|Sälj|David"))
        assert page.request.get(f"{site.base}/api/v1{path}").status == 404
    page.goto(f"{site.base}/app/#/queues")
    expect(page.get_by_role("heading", level=1, name="Köer och svarsgrupper")).to_be_visible()
    expect(page.locator("table.list td.empty")).to_have_count(2)


def test_a_queue_and_an_answer_group_are_created_and_deleted_but_not_while_calls_are_sent_there(
        site: Site, page: Page) -> None:
    sign_in(page, site, "boss@exempel.se")
    try:
        for kind, button, path, heading in (("queue", "Ny kö", "/api/v1/queues", "Kvällskö"),
                                            ("group", "Ny svarsgrupp", "/api/v1/groups", "Kvällsgrupp")):
            page.goto(f"{site.base}/app/#/queues")
            page.get_by_role("button", name=button).click()
            form = page.locator("form.new-keyed")
            form.get_by_label("Namn", exact=True).fill(heading)
            key = form.get_by_label("Kortnamn")
            key.fill("Kväll!")
            form.get_by_role("button", name="Skapa").click()
            expect(key).to_have_attribute("aria-invalid", "true")  # the API's 422, beside the field
            key.fill(f"kvall-{kind}")
            form.get_by_role("button", name="Skapa").click()
            expect(page.get_by_role("heading", level=1, name=heading)).to_be_visible()
            assert api_json(page, f"{path}/kvall-{kind}")["name"] == heading
            remove = "Ta bort kön" if kind == "queue" else "Ta bort svarsgruppen"
            page.get_by_role("button", name=remove).click()
            page.get_by_role("dialog").get_by_role("button", name=remove).click()
            expect(page.get_by_role("heading", level=1, name="Köer och svarsgrupper")).to_be_visible()
            assert page.request.get(f"{site.base}{path}/kvall-{kind}").status == 404
        # Support is where the main menu's key 2 leads: it stays, and the page says what uses it
        page.goto(f"{site.base}/app/#/queues/support")
        page.get_by_role("button", name="Ta bort kön").click()
        page.get_by_role("dialog").get_by_role("button", name="Ta bort kön").click()
        expect(page.locator(".danger-zone").get_by_role("alert")).to_contain_text(
            re.compile(r"Går inte att ta bort: den används av flödet \w+ \(steg \w+\)"))
        assert page.request.get(f"{site.base}{SUPPORT}").ok
    finally:
        for path in ("/api/v1/queues/kvall-queue", "/api/v1/groups/kvall-group"):
            if page.request.get(f"{site.base}{path}").ok:
                page.request.delete(f"{site.base}{path}", headers=HEADERS)


def test_the_two_lists_keep_each_their_own_search_in_the_address(site: Site, page: Page) -> None:
    sign_in(page, site, "boss@exempel.se")
    page.goto(f"{site.base}/app/#/queues")
    groups = page.get_by_role("search", name="Sök bland svarsgrupperna")
    groups.get_by_role("searchbox").fill("zzz")
    groups.get_by_role("searchbox").press("Enter")
    group_rows = page.locator("section.kind-list").nth(1).locator("table.list > tbody > tr")
    expect(group_rows).to_have_text(["Inga träffar."])
    queue_rows = page.locator("section.kind-list").nth(0).locator("table.list > tbody > tr")
    expect(queue_rows).not_to_have_count(0)
    expect(queue_rows.first).not_to_contain_text("Inga träffar.")
    expect(page).to_have_url(re.compile(r"groups\.q=zzz"))
    page.reload()  # the address keeps it: the groups' search, and the queues' list untouched
    expect(group_rows).to_have_text(["Inga träffar."])
    expect(queue_rows.first).to_contain_text("Support")
