"""The call-flow pages (issue 8) in a real browser: the list of flows against the API's, the visual view of a flow
(every node a box, every path a labelled way to the node it leads to, the same flow as a list on a phone), an
administrator building and publishing a small flow (a menu whose key 1 goes to the Support queue and key 2 to a
voicemail box; a draft with a problem shown on the node it concerns first), pointing a number at it, trying it with
what-if, a simulated call that follows the published version, and publishing an earlier version again; what a
viewer is offered, a change the API refuses, and another tenant's administrator meeting "not found". Everything
changed is undone (try/finally): the tests share the site. Screenshots in var/screenshots/ (PBX_SCREENSHOTS)."""

from __future__ import annotations

import re

from playwright.sync_api import Locator, Page, expect

from admin_api.pages import WEB_DIR
from pbx.db.codec import params_schema
from pbx.routing.model import NodeKind
from tests.web_world import Site, api_json, shot, sign_in, texts

HEADERS = {"X-Requested-With": "pbx"}
FLOWS = "/api/v1/flows"


def node_box(page: Page, key: str) -> Locator:
    return page.locator(f'.flow-graph .flow-node[data-node="{key}"]')


def open_flow(page: Page, site: Site, key: str, show: str = "") -> None:
    page.goto(f"{site.base}/app/#/flows/{key}" + (f"?show={show}" if show else ""))
    expect(page.locator(".flow-graph .flow-node").first).to_be_visible()


def form_fields() -> dict[str, list[str]]:
    """The fields the page's form has for each node kind (FIELDS in flows-model.js)."""
    source = (WEB_DIR / "js" / "pages" / "flows-model.js").read_text(encoding="utf-8")
    block = source.split("export const FIELDS = {", 1)[1].split("\n};", 1)[0] + "\n"
    kinds = re.findall(r"(\w+): \[(.*?)\],?\n", block, re.S)
    return {kind: re.findall(r'name: "(\w+)"', fields) for kind, fields in kinds}


def test_each_node_kind_has_a_form_with_exactly_its_fields() -> None:
    fields = form_fields()
    assert set(fields) == {k.value for k in NodeKind}
    for kind in NodeKind:
        assert sorted(fields[kind.value]) == sorted(params_schema(kind)["properties"]), kind


def test_every_node_kind_path_and_problem_has_words_in_both_languages() -> None:
    every = texts()
    made = {*(f"flows.kind-{k.value}" for k in NodeKind),
            *(f"flows.field-{f}" for fs in form_fields().values() for f in fs),
            *(f"flows.problem-{c}" for c in ("menu-no-timeout", "menu-no-invalid", "menu-empty", "bad-attempts",
                                             "bad-timeout", "unreachable", "no-way-out", "duplicate", "bad-code",
                                             "service-no-prompts", "missing-user", "missing-group", "missing-queue",
                                             "missing-box", "missing-schedule", "missing-flow")),
            *(f"flows.via-{v}" for v in ("next", "timeout", "invalid", "retry", "open", "closed", "holiday",
                                         "override", "overflow")),
            *(f"flows.state-{s}" for s in ("draft", "published", "earlier")),
            *(f"flows.action-{a.lower()}" for a in ("PlayMenu", "RingGroup", "EnterQueue", "Dial", "Voicemail",
                                                    "Hangup", "CollectNumber", "Service", "RecordPrompt"))}
    assert made - set(every["sv"]) == set() and made - set(every["en"]) == set()


def test_the_list_and_the_visual_view_of_the_main_flow(site: Site, page: Page) -> None:
    sign_in(page, site, "boss@exempel.se")
    page.get_by_role("navigation", name="Huvudmeny").get_by_role("link", name="Samtalsflöden").click()
    expect(page.get_by_role("heading", level=1, name="Samtalsflöden")).to_be_visible()
    listed = api_json(page, f"{FLOWS}?per_page=100")["items"]
    expect(page.locator("table.list tbody tr")).to_have_count(len(listed))
    huvud = next(f for f in listed if f["key"] == "huvud")
    row = page.locator("table.list tbody tr", has_text="Stockholm huvudnummer")
    expect(row).to_contain_text(f"Version {huvud['published_version']}")
    expect(row).to_contain_text(", ".join(huvud["numbers"]))
    shot(page, "30-flows-list")

    row.get_by_role("link", name="Stockholm huvudnummer").click()
    expect(page.get_by_role("heading", level=1, name="Stockholm huvudnummer")).to_be_visible()
    flow = api_json(page, f"{FLOWS}/huvud")
    nodes = flow["published"]["nodes"]
    # every node a box, the entry marked; every path a button named by where it leads
    expect(page.locator(".flow-graph .flow-node")).to_have_count(len(nodes))
    expect(node_box(page, "valkommen")).to_contain_text("Start")
    menu = node_box(page, "meny")
    for digit, target in next(n for n in nodes if n["key"] == "meny")["params"]["choices"]:
        name = next(n["name"] or n["key"] for n in nodes if n["key"] == target)
        expect(menu.get_by_role("button", name=f"Val {digit} → {name}")).to_be_visible()
    expect(menu.get_by_role("button", name="Inget val → Support")).to_be_visible()
    expect(node_box(page, "oppet").get_by_role("button", name="Stängt → Vi har stängt")).to_be_visible()
    # a connector for each path
    paths = sum(len(n["params"].get("choices", [])) + sum(
        1 for k in ("next", "timeout_next", "invalid_next", "open", "closed", "holiday", "override", "overflow")
        if n["params"].get(k)) for n in nodes)
    expect(page.locator(".flow-edges > path")).to_have_count(paths)
    # a path moves the focus to the node it leads to; a node's heading shows its settings
    menu.get_by_role("button", name="Val 2 → Support").click()
    expect(node_box(page, "support").locator(".node-head")).to_be_focused()
    page.keyboard.press("Enter")
    side = page.locator(".flow-side")
    expect(side.get_by_role("heading", name="Kö: Support")).to_be_visible()
    expect(side).to_contain_text("Överflöde → vm-support")
    # the viewer's page has no edit buttons (this is the super administrator: they have them)
    expect(page.get_by_role("button", name="Ändra flödet (skapa utkast)")).to_be_visible()
    shot(page, "31-flows-visual")


# --- building, publishing and rolling back a flow ----------------------------------------------------------

FLOW = "kundtjanst"
NUMBER = "+46812345677"  # a number of Exempel's the test adds, and takes away again


def follow_the_database(site: Site) -> None:
    """What a deployed controller does every second (RELOAD_EVERY_S): take up the configuration the API published.
    The browser tests' controller does not poll the database, so the test does it at the moment it matters."""
    from pbx.db import load_all
    from pbx.tables import compile_from
    controller = site.controller
    assert site.w is not None and controller is not None
    with site.w.ctx.sessions() as session:
        configs = load_all(session)

    async def swap() -> None:
        controller.tables.swap(compile_from(configs, version=controller.tables.table.version + 1))
    site.run(swap)


def positions(site: Site, keys: list[str]) -> list[str]:
    """A simulated call to NUMBER pressing `keys`: the position each of its route requests named (tenant^flow@
    version^node…), as the simulated Asterisk sent them."""
    from pbx.asterisk.simulator import CallScript
    sim = site.sim

    async def place() -> list[str]:
        call = await sim.place_call("+46705550002", NUMBER, CallScript(keys=keys, message_s=1.0))
        await call.wait()
        return [s.args[1] for s in call.steps if s.kind == "agi"]
    return site.run(place, timeout=60)


def where(called: list[str]) -> list[tuple[str, str]]:
    """The (flow@version, node) of each position, in order, once each: the menu, then where key 2 led."""
    out: list[tuple[str, str]] = []
    for p in called:
        parts = p.split("^")
        if len(parts) > 2 and (parts[1], parts[2]) not in out:
            out.append((parts[1], parts[2]))
    return out


def undo(page: Page, site: Site) -> None:
    """The demo as it was: no test number, no test flow (the number first: a flow a number leads to stays)."""
    page.request.delete(f"{site.base}/api/v1/numbers/{NUMBER.replace('+', '%2B')}", headers=HEADERS)
    page.request.delete(f"{site.base}{FLOWS}/{FLOW}/draft", headers=HEADERS)
    page.request.delete(f"{site.base}{FLOWS}/{FLOW}", headers=HEADERS)
    assert page.request.get(f"{site.base}{FLOWS}/{FLOW}").status == 404
    follow_the_database(site)


def add_step(page: Page, kind: str, key: str, name: str) -> None:
    page.get_by_role("button", name="Lägg till steg").click()
    form = page.locator("form.add-node")
    form.get_by_label("Typ av steg").select_option(label=kind)
    form.get_by_label("Nyckel").fill(key)
    form.get_by_label("Namn").fill(name)
    form.get_by_role("button", name="Lägg till steget").click()
    expect(page.locator(".flow-side").get_by_role("heading", name=f"{kind}: {name}")).to_be_visible()
    expect(node_box(page, key)).to_be_visible()


def draft_problems(page: Page) -> list[tuple[str | None, str]]:
    r = page.request.post(f"/api/v1/flows/{FLOW}/draft/validate", headers=HEADERS)
    assert r.ok, r.text()
    return [(p["node"], p["code"]) for p in r.json()["problems"]]


def test_an_administrator_builds_publishes_tries_and_rolls_back_a_flow(site: Site, page: Page) -> None:
    sign_in(page, site, "boss@exempel.se")
    added = page.request.post(f"{site.base}/api/v1/numbers", headers=HEADERS, data={
        "number": NUMBER, "flow": "huvud", "label": "Kundtjänst test", "account": "stockholm"})
    assert added.status == 201, added.text()
    try:
        build_and_publish(page, site)
    finally:
        undo(page, site)


def build_and_publish(page: Page, site: Site) -> None:
    page.goto(f"{site.base}/app/#/flows")
    page.get_by_role("button", name="Nytt samtalsflöde").click()
    form = page.locator("form.new-flow")
    form.get_by_label("Namn").fill("Kundtjänst")
    form.get_by_label("Nyckel").fill("huvud")
    expect(form.get_by_label("Första steget")).to_have_value("menu")
    form.get_by_role("button", name="Skapa utkast").click()
    # the API refuses a key that is taken (409): said beside the field, nothing typed is lost
    key = form.get_by_label("Nyckel")
    expect(form.locator(".field", has=page.get_by_label("Nyckel")).locator(".field-error")).to_have_text(
        "Det finns redan ett flöde med den nyckeln.")
    expect(key).to_have_attribute("aria-invalid", "true")
    expect(form.get_by_label("Namn")).to_have_value("Kundtjänst")
    key.fill(FLOW)
    form.get_by_role("button", name="Skapa utkast").click()
    expect(page.get_by_role("heading", level=1, name="Kundtjänst")).to_be_visible()
    made = api_json(page, f"{FLOWS}/{FLOW}")
    assert made["published"] is None and [n["kind"] for n in made["draft"]["nodes"]] == ["menu"]

    # a queue for key 1 and a voicemail box for key 2
    add_step(page, "Kö", "support", "Support")
    expect(page.locator(".flow-side").get_by_label("Kö", exact=True)).to_have_value("support")
    add_step(page, "Röstbrevlåda", "brevlada", "Supportens brevlåda")
    page.locator(".flow-side").get_by_label("Röstbrevlåda").select_option("support")
    page.get_by_role("button", name="Spara steget").click()
    expect(node_box(page, "brevlada").locator(".node-summary")).to_have_text("Brevlåda: Support")
    # not yet reached from the start: said on the new step itself
    expect(node_box(page, "brevlada").locator(".node-problem")).to_have_text(
        "Inget samtal når det här steget från start.")
    assert ("brevlada", "unreachable") in draft_problems(page)

    # the menu: key 1 → Support, key 2 → the box; no path yet for a caller who presses nothing
    node_box(page, "start").get_by_role("button", name=re.compile("^Knappvalsmeny")).click()
    side = page.locator(".flow-side")
    side.get_by_role("button", name="Lägg till knappval").click()
    side.get_by_label("Val 1 leder till").select_option("support")
    side.get_by_role("button", name="Lägg till knappval").click()
    side.get_by_label("Val 2 leder till").select_option("brevlada")
    side.get_by_role("button", name="Spara steget").click()
    start = node_box(page, "start")
    expect(start).to_have_class(re.compile(r"\bhas-problem\b"))
    expect(start.locator(".node-problem").first).to_have_text(
        "Menyn saknar väg för den som inte trycker något (Inget val).")
    timeout_field = page.get_by_label("Inget val leder till")
    expect(timeout_field).to_have_attribute("aria-invalid", "true")
    expect(side.locator(".field", has=timeout_field).locator(".field-error")).to_contain_text("Inget val")
    problems = page.locator(".flow-problems")
    expect(problems.get_by_role("heading")).to_have_text("Fel i utkastet: 2")
    assert sorted(draft_problems(page)) == [("start", "menu-no-invalid"), ("start", "menu-no-timeout")]
    expect(node_box(page, "support")).not_to_have_class(re.compile(r"\bhas-problem\b"))
    shot(page, "32-flows-draft-error")
    # publishing is refused by the API while the draft has problems
    page.get_by_role("button", name="Publicera som version 1").click()
    page.get_by_role("button", name="Ja, publicera version 1").click()
    expect(page.locator(".flow-page > .form-error")).to_contain_text("Utkastet kan inte publiceras")
    assert api_json(page, f"{FLOWS}/{FLOW}")["published"] is None
    # the list of problems leads to the step
    problems.get_by_role("button", name="Knappvalsmeny: Knappvalsmeny").first.click()
    expect(side.get_by_role("heading", name="Knappvalsmeny: Knappvalsmeny")).to_be_focused()

    side.get_by_label("Inget val leder till").select_option("support")
    side.get_by_label("Fel val leder till").select_option("support")
    side.get_by_label("Namn", exact=True).fill("Huvudval")
    side.get_by_role("button", name="Spara steget").click()
    expect(problems.get_by_role("heading")).to_have_text("Inga fel: utkastet kan publiceras.")
    expect(start).not_to_have_class(re.compile(r"\bhas-problem\b"))
    assert draft_problems(page) == []
    menu = next(n for n in api_json(page, f"{FLOWS}/{FLOW}")["draft"]["nodes"] if n["key"] == "start")
    assert menu["name"] == "Huvudval" and menu["params"]["choices"] == [["1", "support"], ["2", "brevlada"]]
    assert (menu["params"]["timeout_next"], menu["params"]["invalid_next"]) == ("support", "support")

    # publish: version 1
    page.get_by_role("button", name="Publicera som version 1").click()
    expect(page.get_by_role("group", name="Bekräfta")).to_contain_text("Publicera utkastet som version 1?")
    page.get_by_role("button", name="Ja, publicera version 1").click()
    expect(page.get_by_label("Version som visas")).to_have_value("1")
    flow = api_json(page, f"{FLOWS}/{FLOW}")
    assert flow["published"]["version"] == 1 and flow["draft"] is None
    expect(page.locator(".flow-facts")).to_contain_text("Version 1, publicerad")

    # version 2: a welcome message before the menu
    page.get_by_role("button", name="Ändra flödet (skapa utkast)").click()
    expect(page.get_by_label("Version som visas")).to_have_value("draft")
    add_step(page, "Meddelande", "valkommen", "Välkommen")
    side.get_by_label("Sedan till").select_option("start")
    side.get_by_role("button", name="Spara steget").click()
    expect(node_box(page, "valkommen").get_by_role("button", name="Sedan → Huvudval")).to_be_visible()
    side.get_by_role("button", name="Gör till start").click()
    expect(node_box(page, "valkommen").locator(".node-tag")).to_have_text("Start")
    expect(problems.get_by_role("heading")).to_have_text("Inga fel: utkastet kan publiceras.")
    page.get_by_role("button", name="Publicera som version 2").click()
    page.get_by_role("button", name="Ja, publicera version 2").click()
    expect(page.get_by_label("Version som visas")).to_have_value("2")
    assert api_json(page, f"{FLOWS}/{FLOW}")["published"]["entry"] == "valkommen"

    # a number to it, then what-if: the path lit up in the view, step by step as the API says
    page.get_by_label("Led ett nummer hit").select_option(NUMBER)
    page.get_by_role("button", name="Led numret hit").click()
    expect(page.locator(".flow-facts")).to_contain_text(NUMBER)
    assert api_json(page, f"/api/v1/numbers/{NUMBER.replace('+', '%2B')}")["flow"] == FLOW
    panel = page.locator(".whatif")
    expect(panel.get_by_label("Nummer som rings")).to_have_value(NUMBER)
    panel.get_by_label("Datum").fill("2026-11-24")
    panel.get_by_label("Klockslag").fill("10:00")
    panel.get_by_label("Knappval").fill("2")
    panel.get_by_role("button", name="Provkör").click()
    steps = panel.locator(".whatif-nodes li")
    expect(steps).to_have_text(["Start → Meddelande: Välkommen", "Sedan → Knappvalsmeny: Huvudval",
                                "Val 2 → Röstbrevlåda: Supportens brevlåda"])
    expect(panel.locator(".whatif-outcome")).to_have_text("Samtalet slutar i: Röstbrevlåda.")
    same = page.request.post(f"{site.base}/api/v1/what-if", headers=HEADERS, data={
        "number": NUMBER, "at": "2026-11-24T10:00:00", "digits": "2"}).json()
    assert [s["node"] for d in same["decisions"] for s in d["path"]] == ["valkommen", "start", "brevlada"]
    for key in ("valkommen", "start", "brevlada"):
        expect(node_box(page, key)).to_have_class(re.compile(r"\bon-path\b"))
    expect(node_box(page, "support")).not_to_have_class(re.compile(r"\bon-path\b"))
    expect(node_box(page, "start").locator('button.exit[data-exit="digit 2"]')).to_have_class(re.compile("on-path"))
    shot(page, "33-flows-what-if")

    # a call to the number follows the published version: welcome, menu, key 2 → the box, on version 2
    follow_the_database(site)
    called = positions(site, ["2"])
    assert where(called) == [(f"{FLOW}@2", "start"), (f"{FLOW}@2", "brevlada")], called

    # an earlier version is shown as it was, with "publish again" beside it
    page.get_by_label("Version som visas").select_option("1")
    expect(page.get_by_role("heading", name="Flödet – Version 1")).to_be_visible()
    expect(page.locator(".flow-graph .flow-node")).to_have_count(3)
    expect(node_box(page, "start").locator(".node-tag")).to_have_text("Start")
    expect(page.locator(".flow-bar").get_by_role("button", name="Publicera version 1 igen")).to_be_visible()
    assert len(api_json(page, f"{FLOWS}/{FLOW}/versions/1")["nodes"]) == 3

    # publish version 1 again (a rollback), from the versions list, confirmed
    versions = page.locator(".flow-versions")
    versions.get_by_role("button", name="Publicera version 1 igen").click()
    expect(page.get_by_role("group", name="Bekräfta")).to_contain_text("Den ersätter version 2")
    page.get_by_role("button", name="Ja, publicera version 1").click()
    expect(page.get_by_label("Version som visas")).to_have_value("1")
    expect(versions.locator('tr[data-version="1"]')).to_contain_text("Publicerad nu")
    listed = api_json(page, f"{FLOWS}/{FLOW}/versions?sort=version")["items"]
    assert [(v["version"], v["state"], v["published_times"]) for v in listed] == [
        (1, "published", 2), (2, "earlier", 1)]
    expect(versions.locator('tr[data-version="1"] td').nth(5)).to_have_text("2")
    expect(node_box(page, "valkommen")).to_have_count(0)  # version 1 had no welcome
    follow_the_database(site)
    again = positions(site, ["2"])
    assert where(again) == [(f"{FLOW}@1", "start"), (f"{FLOW}@1", "brevlada")], again


# --- who may do what ---------------------------------------------------------------------------------------


def test_a_viewer_sees_flows_and_tries_them_but_is_offered_no_change(site: Site, page: Page) -> None:
    sign_in(page, site, "viewer@exempel.se")  # the right "view" only
    page.goto(f"{site.base}/app/#/flows")
    expect(page.locator("table.list tbody tr", has_text="Stockholm huvudnummer")).to_be_visible()
    expect(page.get_by_role("button", name="Nytt samtalsflöde")).to_have_count(0)
    open_flow(page, site, "huvud")
    expect(page.get_by_role("heading", level=1, name="Stockholm huvudnummer")).to_be_visible()
    for name in ("Ändra flödet (skapa utkast)", "Lägg till steg", "Släng utkastet", "Led numret hit"):
        expect(page.get_by_role("button", name=name)).to_have_count(0)
    expect(page.locator(".flow-versions").get_by_role("button", name=re.compile("igen$"))).to_have_count(0)
    # a step's settings are shown to read, not as a form
    node_box(page, "meny").locator(".node-head").click()
    side = page.locator(".flow-side")
    expect(side.get_by_role("heading", name="Knappvalsmeny: Huvudmeny")).to_be_focused()
    expect(side.locator("form")).to_have_count(0)
    expect(side.locator(".paths")).to_contain_text("Val 3 → Ekonomi")
    # what-if is reading: a viewer may try the flow; the evening takes the closed branch
    panel = page.locator(".whatif")
    panel.get_by_label("Datum").fill("2026-11-24")
    panel.get_by_label("Klockslag").fill("19:00")
    panel.get_by_role("button", name="Provkör").click()
    expect(panel.locator(".whatif-nodes li")).to_have_text(
        ["Start → Meddelande: Välkommen", "Sedan → Öppettider: Kontorstid?", "Stängt → Meddelande: Vi har stängt",
         "Sedan → Röstbrevlåda: vm-vaxel"])
    expect(node_box(page, "oppet").locator('button.exit[data-exit="closed"]')).to_have_class(re.compile("on-path"))
    expect(node_box(page, "meny")).not_to_have_class(re.compile(r"\bon-path\b"))
    # the API refuses the viewer a change all the same
    refused = page.request.post(f"{site.base}{FLOWS}/huvud/publish", headers=HEADERS, data={"version": 1})
    assert refused.status == 403


def test_a_wrong_what_if_is_answered_beside_its_field_and_the_page_speaks_english(site: Site, page: Page) -> None:
    sign_in(page, site, "boss@exempel.se")
    open_flow(page, site, "huvud")
    panel = page.locator(".whatif")
    # a day the API will not try: its refusal (422, body.at) beside the date, in the page's words
    date = panel.get_by_label("Datum")
    date.fill("2150-01-01")
    panel.get_by_label("Knappval").fill("1")
    panel.get_by_role("button", name="Provkör").click()
    expect(date).to_have_attribute("aria-invalid", "true")
    expect(panel.locator(".field", has=page.get_by_label("Datum")).locator(".field-error")).to_have_text(
        "Välj en dag från år 2000 till 2100.")
    assert page.request.post(f"{site.base}/api/v1/what-if", headers=HEADERS, data={
        "number": "+46812345600", "at": "2150-01-01T00:00:00"}).status == 422
    # keys that are no keys are said before anything is sent; nothing typed is lost
    date.fill("2026-11-24")
    digits = panel.get_by_label("Knappval")
    digits.fill("1x")
    panel.get_by_role("button", name="Provkör").click()
    expect(digits).to_have_attribute("aria-invalid", "true")
    expect(date).not_to_have_attribute("aria-invalid", "true")
    expect(panel.locator(".field", has=page.get_by_label("Knappval")).locator(".field-error")).to_have_text(
        "Bara siffror, * och #, med kommatecken mellan menyerna.")
    expect(digits).to_have_value("1x")
    expect(panel.locator(".whatif-result")).to_be_empty()
    # the English page
    page.get_by_label("Språk").select_option("en")
    expect(page.get_by_role("heading", name="The flow – Version 1 (published)")).to_be_visible()
    expect(node_box(page, "meny").get_by_role("button", name="Key 1 → Sälj")).to_be_visible()
    page.get_by_label("Language").select_option("sv")


def test_another_tenants_administrator_sees_not_found(site: Site, page: Page) -> None:
    sign_in(page, site, "admin@annat.se")
    page.goto(f"{site.base}/app/#/flows")
    expect(page.locator("table.list tbody tr")).to_have_count(1)
    expect(page.locator("table.list")).to_contain_text("Enkel")
    expect(page.locator("table.list")).not_to_contain_text("Stockholm huvudnummer")
    page.goto(f"{site.base}/app/#/flows/huvud")
    expect(page.get_by_role("heading", level=1, name="Hittades inte")).to_be_visible()
    assert page.request.get(f"{site.base}{FLOWS}/huvud").status == 404
    expect(page.locator("body")).not_to_contain_text("Huvudmeny")
    # their own flow opens
    page.goto(f"{site.base}/app/#/flows/enkel")
    expect(page.get_by_role("heading", level=1, name="Enkel")).to_be_visible()
    expect(page.locator(".flow-graph .flow-node")).to_have_count(2)


def test_a_flow_no_number_leads_to_is_deleted_and_one_a_number_leads_to_is_kept(site: Site, page: Page) -> None:
    sign_in(page, site, "boss@exempel.se")
    made = page.request.post(f"{site.base}{FLOWS}", headers=HEADERS, data={
        "key": "kvall", "name": "Kvällsflöde", "entry": "brevlada",
        "nodes": [{"kind": "voicemail", "key": "brevlada", "name": "Brevlåda", "params": {"box": "vaxel"}}]})
    assert made.ok, made.text()
    try:
        page.goto(f"{site.base}/app/#/flows/kvall")
        page.get_by_role("button", name="Ta bort flödet").click()
        dialog = page.get_by_role("dialog")
        expect(dialog).to_contain_text("Ta bort flödet kvall med alla dess versioner?")
        dialog.get_by_role("button", name="Ta bort flödet").click()
        expect(page.get_by_role("heading", level=1, name="Samtalsflöden")).to_be_visible()
        assert page.request.get(f"{site.base}{FLOWS}/kvall").status == 404
        # the main number leads to huvud: it stays
        page.goto(f"{site.base}/app/#/flows/huvud")
        page.get_by_role("button", name="Ta bort flödet").click()
        page.get_by_role("dialog").get_by_role("button", name="Ta bort flödet").click()
        expect(page.locator(".danger-zone").get_by_role("alert")).to_have_text(
            "Ett eller flera nummer leder hit. Låt dem leda någon annanstans först.")
        assert page.request.get(f"{site.base}{FLOWS}/huvud").ok
    finally:
        if page.request.get(f"{site.base}{FLOWS}/kvall").ok:
            page.request.delete(f"{site.base}{FLOWS}/kvall", headers=HEADERS)
