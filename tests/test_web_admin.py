"""The accounts, administrators and search pages (issue 8; A-01, A-02, A-08) in a real browser, against the running
controller and admin API of tests/web_world.py. Each change made on a page is checked in the API afterwards; each
refusal of the API is shown where it belongs; an account administrator and another tenant see only their own."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import Page, expect

from tests.web_world import Site, api_json, shot, sign_in

MENU = "Huvudmeny"


def tree_of(page: Page) -> list[tuple[str, int]]:
    """The tree as the page shows it: (account key, depth) in order."""
    rows: list[tuple[str, int]] = page.locator("ul.account-tree li").evaluate_all(
        "els => els.map(li => [li.dataset.account, (function d(e){ let n = 0; "
        "for (let p = e.parentElement; p && !p.classList.contains('account-tree'); p = p.parentElement) "
        "{ if (p.tagName === 'UL') n++; } return n; })(li)])")
    return [(key, depth) for key, depth in rows]


def api_tree(nodes: list[dict[str, Any]], depth: int = 0) -> list[tuple[str, int]]:
    return [x for n in nodes for x in [(n["key"], depth), *api_tree(n["children"], depth + 1)]]


def test_the_account_tree_and_a_sub_account_made_renamed_moved_and_deleted(site: Site, page: Page) -> None:
    sign_in(page, site, "boss@exempel.se")
    page.get_by_role("navigation", name=MENU).get_by_role("link", name="Konton").click()
    expect(page.get_by_role("heading", level=1, name="Konton")).to_be_visible()
    tree = api_json(page, "/api/v1/account-tree")
    expect(page.locator("ul.account-tree li")).to_have_count(len(api_tree(tree["roots"])))
    assert tree_of(page) == api_tree(tree["roots"]) == [("exempel", 0), ("stockholm", 1), ("goteborg", 1)]
    stockholm = next(n for n in tree["roots"][0]["children"] if n["key"] == "stockholm")
    expect(page.locator('li[data-account="stockholm"] > .tree-item .counts')).to_have_text(
        f"{len(stockholm['users'])} användare · {len(stockholm['numbers'])} nummer")
    shot(page, "40-accounts-tree")

    # the same as a list: the API's rows, in its order
    page.get_by_role("link", name="Lista").click()
    expect(page.locator("table.list tbody tr")).to_have_count(3)
    names = [a["name"] for a in api_json(page, "/api/v1/accounts")["items"]]
    expect(page.locator("table.list tbody tr td:nth-child(1)")).to_have_text(names)
    page.get_by_role("link", name="Träd").click()

    # a new sub-account: a key of the wrong shape is the API's 422, beside the key field
    form = page.locator("form.account-new")
    form.get_by_label("Namn", exact=True).fill("Malmö")
    key = form.get_by_label("Kortnamn")
    key.fill("Malmö!")
    form.get_by_label("Överordnat konto").select_option("goteborg")
    form.get_by_role("button", name="Skapa konto").click()
    expect(key).to_have_attribute("aria-invalid", "true")
    expect(form.locator(".field", has=page.get_by_label("Kortnamn")).locator(".field-error")).to_be_visible()
    key.fill("malmo")
    form.get_by_role("button", name="Skapa konto").click()
    expect(page.get_by_role("heading", level=1, name="Malmö")).to_be_visible()
    made = api_json(page, "/api/v1/accounts/malmo")
    assert (made["name"], made["parent"]) == ("Malmö", "goteborg")
    shot(page, "41-account")

    # rename; move under Stockholm (Malmö itself is no choice of parent)
    rename = page.locator("form", has=page.get_by_role("heading", name="Byt namn"))
    rename.get_by_label("Namn", exact=True).fill("Malmö kontor")
    rename.get_by_role("button", name="Spara").click()
    expect(page.get_by_role("heading", level=1, name="Malmö kontor")).to_be_visible()
    move = page.locator("form", has=page.get_by_role("heading", name="Flytta kontot"))
    options = move.get_by_label("Överordnat konto").locator("option").evaluate_all("os => os.map(o => o.value)")
    assert "malmo" not in options and {"exempel", "stockholm", "goteborg"} <= set(options)
    move.get_by_label("Överordnat konto").select_option("stockholm")
    move.get_by_role("button", name="Flytta").click()
    expect(page.locator("dl.facts")).to_contain_text("Stockholm")
    assert api_json(page, "/api/v1/accounts/malmo")["parent"] == "stockholm"
    assert [e["action"] for e in api_json(page, "/api/v1/audit?resource=account&per_page=500")["items"]
            if e["ref"] == "malmo"] == ["create", "update", "update"]

    # delete: asked first (cancel keeps it), then gone
    page.get_by_role("button", name="Ta bort kontot").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Ta bort kontot Malmö kontor?")
    expect(dialog.get_by_role("button", name="Avbryt")).to_be_focused()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    assert page.request.get(f"{site.base}/api/v1/accounts/malmo").ok
    page.get_by_role("button", name="Ta bort kontot").click()
    page.get_by_role("dialog").get_by_role("button", name="Ta bort kontot").click()
    expect(page.get_by_role("heading", level=1, name="Konton")).to_be_visible()
    assert page.request.get(f"{site.base}/api/v1/accounts/malmo").status == 404

    # an account that holds users and numbers is not deleted: what it holds is said in Swedish
    page.goto(f"{site.base}/app/#/accounts/goteborg")
    page.get_by_role("button", name="Ta bort kontot").click()
    page.get_by_role("dialog").get_by_role("button", name="Ta bort kontot").click()
    expect(page.get_by_role("alert")).to_contain_text("Kontot är inte tomt. Det har kvar: 1 nummer, 2 användare")
    assert page.request.get(f"{site.base}/api/v1/accounts/goteborg").ok


def test_an_account_administrator_sees_their_own_subtree_only(site: Site, page: Page) -> None:
    sign_in(page, site, "gbg@exempel.se")
    page.goto(f"{site.base}/app/#/accounts")
    expect(page.locator("ul.account-tree li")).to_have_count(1)
    assert tree_of(page) == [("goteborg", 0)]
    expect(page.get_by_role("navigation", name=MENU).get_by_role("link", name="Administratörer")).to_have_count(0)
    page.goto(f"{site.base}/app/#/accounts/stockholm")
    expect(page.get_by_role("heading", level=1, name="Hittades inte")).to_be_visible()
    expect(page.locator("main")).not_to_contain_text("anna")


def test_administrators_are_added_with_rights_changed_and_removed_but_never_oneself(site: Site, page: Page) -> None:
    sign_in(page, site, "boss@exempel.se")
    page.get_by_role("navigation", name=MENU).get_by_role("link", name="Administratörer").click()
    expect(page.get_by_role("heading", level=1, name="Administratörer")).to_be_visible()
    listed = api_json(page, "/api/v1/admins?per_page=500")["items"]
    expect(page.locator("table.list tbody tr")).to_have_count(len(listed))
    expect(page.locator("table.list tbody tr td:nth-child(2)")).to_have_text([a["login"] for a in listed])
    shot(page, "42-admins")

    page.get_by_role("button", name="Ny administratör").click()
    form = page.locator("form.admin-form")
    form.get_by_label("E-post (inloggning)").fill("kim@exempel.se")
    form.get_by_label("Lösenord").fill("kort")
    form.get_by_label("Namn", exact=True).fill("Kim Kund")
    form.get_by_label("Roll", exact=True).select_option("custom")
    rights = form.get_by_role("group", name="Rättigheter")
    expect(rights).to_be_visible()
    rights.get_by_label("Rapporter och statistik").check()
    form.get_by_role("button", name="Lägg till administratör").click()
    expect(form.get_by_label("Lösenord")).to_have_attribute("aria-invalid", "true")  # too short: the API's 422
    form.get_by_label("Lösenord").fill("ett långt lösenord")
    form.get_by_role("button", name="Lägg till administratör").click()

    # the authenticator key is shown once, on the new administrator's page
    expect(page.get_by_role("heading", level=1, name="Kim Kund")).to_be_visible()
    secret = page.locator(".secret-value code")
    expect(secret).to_have_text(re.compile(r"^[A-Z2-7]{4}( [A-Z2-7]{1,4})+$"))
    kim = next(a for a in api_json(page, "/api/v1/admins?per_page=500")["items"] if a["login"] == "kim@exempel.se")
    assert (kim["role"], sorted(kim["rights"]), kim["second_factor"]) == ("custom", ["reports", "view"], "totp")
    assert "totp_secret" not in kim
    shot(page, "43-admin-new-secret")
    first_key = secret.inner_text()
    page.reload()
    expect(page.get_by_role("heading", level=1, name="Kim Kund")).to_be_visible()
    expect(page.locator(".secret")).to_have_count(0)
    # a lost phone: a new key, shown once, and the old one no longer the one kept
    page.get_by_role("button", name="Ny nyckel till appen").click()
    page.get_by_role("dialog").get_by_role("button", name="Ny nyckel till appen").click()
    expect(secret).to_have_text(re.compile(r"^[A-Z2-7]{4}( [A-Z2-7]{1,4})+$"))
    assert secret.inner_text() != first_key
    assert [e["after"].get("second_factor_reset") for e in api_json(page, "/api/v1/audit?resource=admin&per_page=500")
            ["items"] if e["ref"] == "kim@exempel.se"][-1] is True

    # an account administrator of Göteborg, the user David
    change = page.locator("form", has=page.get_by_role("heading", name="Ändra", exact=True))
    change.get_by_label("Roll", exact=True).select_option("account_admin")
    expect(change.get_by_role("group", name="Rättigheter")).to_be_hidden()
    change.get_by_label("Konto", exact=True).select_option("goteborg")
    change.get_by_label("Är användaren").select_option("david")
    change.get_by_role("button", name="Spara").click()
    expect(page.locator("dl.facts")).to_contain_text("Kontoadministratör")
    now = api_json(page, f"/api/v1/admins/{kim['id']}")
    assert (now["role"], now["account"], now["user"]) == ("account_admin", "goteborg", "david")

    page.get_by_role("button", name="Ta bort administratören").click()
    page.get_by_role("dialog").get_by_role("button", name="Ta bort administratören").click()
    expect(page.get_by_role("heading", level=1, name="Administratörer")).to_be_visible()
    assert page.request.get(f"{site.base}/api/v1/admins/{kim['id']}").status == 404

    # nobody removes themself: the page says so, and the API kept Bo
    me = next(a for a in listed if a["login"] == "boss@exempel.se")
    page.goto(f"{site.base}/app/#/admins/{me['id']}")
    expect(page.get_by_text("Det här är du. Ingen kan ta bort sig själv")).to_be_visible()
    page.get_by_role("button", name="Ta bort administratören").click()
    page.get_by_role("dialog").get_by_role("button", name="Ta bort administratören").click()
    expect(page.get_by_role("alert")).to_have_text("Ingen kan ta bort sig själv. Be en annan administratör.")
    assert page.request.get(f"{site.base}/api/v1/admins/{me['id']}").ok


def test_a_viewer_has_no_administrators_page(site: Site, page: Page) -> None:
    sign_in(page, site, "viewer@exempel.se")
    expect(page.get_by_role("navigation", name=MENU).get_by_role("link", name="Konton")).to_be_visible()
    expect(page.get_by_role("navigation", name=MENU).get_by_role("link", name="Administratörer")).to_have_count(0)
    page.goto(f"{site.base}/app/#/admins")
    expect(page.get_by_role("alert")).to_have_text("Du har inte behörighet till detta.")
    # and no forms to change accounts with: the right "users" is missing
    page.goto(f"{site.base}/app/#/accounts")
    expect(page.locator("ul.account-tree li")).to_have_count(3)
    expect(page.locator("main form")).to_have_count(0)


def test_the_one_search_field_finds_users_numbers_and_accounts(site: Site, page: Page) -> None:
    sign_in(page, site, "boss@exempel.se")
    field = page.get_by_role("searchbox", name="Sök i växeln")
    field.fill("anna")
    field.press("Enter")
    expect(page.get_by_role("heading", level=1, name="Sökning: anna")).to_be_visible()
    found = api_json(page, "/api/v1/search?q=anna&limit=100")
    users = [x["label"] for x in found["hits"] if x["kind"] == "user"]
    assert "Anna Andersson" in users
    group = page.locator("section.search-group", has=page.get_by_role("heading", name=re.compile("^Användare")))
    expect(group.locator("li a")).to_have_text(users)
    shot(page, "44-search")
    group.get_by_role("link", name="Anna Andersson").click()
    expect(page.get_by_role("heading", level=1, name="Anna Andersson")).to_be_visible()

    # a number, typed as people type it; an account by its name
    field.fill("08-123 456 00")
    field.press("Enter")
    numbers = page.locator("section.search-group", has=page.get_by_role("heading", name=re.compile("^Nummer")))
    expect(numbers.locator("li a").first).to_have_text("+46812345600")
    field.fill("Göteborg")
    field.press("Enter")
    accounts = page.locator("section.search-group", has=page.get_by_role("heading", name=re.compile("^Konton")))
    expect(accounts.get_by_role("link", name="Göteborg")).to_be_visible()
    field.fill("zzzz-inget")
    field.press("Enter")
    expect(page.get_by_text("Inget hittades bland användare, nummer och konton.")).to_be_visible()


def test_another_tenants_administrator_finds_and_opens_nothing_of_exempels(site: Site, page: Page) -> None:
    sign_in(page, site, "boss@exempel.se")
    boss_id = next(a["id"] for a in api_json(page, "/api/v1/admins?per_page=500")["items"]
                   if a["login"] == "boss@exempel.se")
    page.get_by_role("button", name="Logga ut").click()
    expect(page.get_by_role("heading", level=1, name="Logga in")).to_be_visible()

    sign_in(page, site, "admin@annat.se")
    field = page.get_by_role("searchbox", name="Sök i växeln")
    field.fill("anna")
    field.press("Enter")
    expect(page.get_by_text("Inget hittades bland användare, nummer och konton.")).to_be_visible()
    for address in ("#/accounts/stockholm", f"#/admins/{boss_id}"):
        page.goto(f"{site.base}/app/{address}")
        expect(page.get_by_role("heading", level=1, name="Hittades inte")).to_be_visible()
        expect(page.locator("main")).not_to_contain_text("Exempel")
    page.goto(f"{site.base}/app/#/accounts")
    expect(page.get_by_role("heading", level=1, name="Konton")).to_be_visible()
    own = api_tree(api_json(page, "/api/v1/account-tree")["roots"])
    expect(page.locator("ul.account-tree li")).to_have_count(len(own))
    expect(page.locator("main")).not_to_contain_text("Stockholm")


def test_the_change_log_shows_who_changed_what_before_and_after(site: Site, page: Page) -> None:
    sign_in(page, site, "boss@exempel.se")
    headers = {"X-Requested-With": "pbx"}
    before = api_json(page, "/api/v1/accounts/goteborg")["name"]
    assert page.request.patch(f"{site.base}/api/v1/accounts/goteborg", data={"name": "Göteborgskontoret"},
                              headers=headers).ok
    try:
        page.get_by_role("navigation", name=MENU).get_by_role("link", name="Ändringslogg").click()
        expect(page.get_by_role("heading", level=1, name="Ändringslogg")).to_be_visible()
        page.get_by_label("Typ").select_option("account")
        logged = api_json(page, "/api/v1/audit?resource=account&per_page=20")
        rows = page.locator("table.list > tbody > tr")
        expect(rows).to_have_count(min(20, logged["total"]))
        # newest first, as the address can say
        page.goto(f"{site.base}/app/#/audit?resource=account&sort=-at")
        newest = api_json(page, "/api/v1/audit?resource=account&sort=-at&per_page=1")["items"][0]
        assert (newest["ref"], newest["after"]["name"]) == ("goteborg", "Göteborgskontoret")
        entry = rows.first
        expect(entry.locator("td").nth(4)).to_have_text("goteborg")
        diff = entry.locator("table.diff")
        expect(diff).to_be_hidden()  # folded away until asked for
        entry.get_by_text(re.compile(r"^Visa \(\d+\)$")).click()
        expect(diff.locator("tr", has_text="name").locator("td.before")).to_have_text(before)
        expect(diff.locator("tr", has_text="name").locator("td.after")).to_have_text("Göteborgskontoret")
        expect(entry).to_contain_text("boss@exempel.se")
        expect(entry).to_contain_text("Ändrade")
        shot(page, "46-change-log")
    finally:
        assert page.request.patch(f"{site.base}/api/v1/accounts/goteborg", data={"name": before},
                                  headers=headers).ok


def test_my_own_page_makes_an_api_token_shown_once_that_works_until_revoked(site: Site, page: Page) -> None:
    sign_in(page, site, "viewer@exempel.se")
    page.get_by_role("link", name="Vera").click()
    expect(page.get_by_role("heading", level=1, name="Vera")).to_be_visible()
    expect(page.locator("dl.facts")).to_contain_text("Se allt")
    page.get_by_label("Namn").fill("CRM-koppling")
    page.get_by_label("Giltig i dagar").fill("30")
    page.get_by_role("button", name="Skapa nyckel").click()
    token = page.locator(".secret-value code").inner_text()
    assert len(token) >= 20
    row = page.locator("table.tokens tbody tr", has_text="CRM-koppling")
    expect(row).to_be_visible()
    [listed] = [x for x in api_json(page, "/api/v1/tokens") if x["name"] == "CRM-koppling"]
    assert listed["expires_at"] is not None and "token" not in listed
    # the token is the integration's way in, with Vera's rights, and no cookie
    context = page.context.browser
    assert context is not None
    bare = context.new_context(base_url=site.base)
    try:
        bearer = {"Authorization": f"Bearer {token}"}
        assert bare.request.get("/api/v1/me", headers=bearer).json()["login"] == "viewer@exempel.se"
        shot(page, "47-me-token")
        page.reload()
        expect(page.locator(".secret")).to_have_count(0)  # shown once
        row.get_by_role("button", name="Ta bort nyckeln CRM-koppling").click()
        page.get_by_role("dialog").get_by_role("button", name="Ta bort").click()
        expect(row).to_have_count(0)
        assert bare.request.get("/api/v1/me", headers=bearer).status == 401
    finally:
        bare.close()
