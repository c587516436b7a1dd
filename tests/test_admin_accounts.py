"""Accounts, numbers, users with presence, administrators and search in the admin API, over real HTTP on
loopback: who may do what, the routing core's refusals, tenant isolation, the audit log, exports."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp import ClientSession, CookieJar
from openpyxl import load_workbook

from pbx.controller import Controller
from pbx.db import config_stamp
from pbx.demo import demo_tenants
from pbx.settings import Settings
from tests.admin_world import PASSWORD, World, problem, run, signed_in

API = "/api/v1"


async def call(c: ClientSession, w: World, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    async with c.request(method, f"{w.base}{API}{path}", json=body) as r:
        if r.status == 204:
            return 204, None
        return r.status, await r.json(content_type=None)


async def audit_log(w: World, resource: str) -> list[dict[str, Any]]:
    async with await signed_in(w, "boss@exempel.se") as c:
        status, page = await call(c, w, "GET", f"/audit?resource={resource}&sort=at&per_page=500")
    assert status == 200
    items: list[dict[str, Any]] = page["items"]
    return items


async def admin_id(c: ClientSession, w: World, login: str) -> str:
    status, page = await call(c, w, "GET", f"/admins?q={login}")
    assert status == 200
    return str(next(a["id"] for a in page["items"] if a["login"] == login))


# --- accounts ------------------------------------------------------------------------------------


def test_the_account_tree_is_listed_flat_and_nested_and_changes_without_cycles(tmp_path: Path) -> None:
    async def body(w: World) -> None:
        async with await signed_in(w, "boss@exempel.se") as c:
            _, flat = await call(c, w, "GET", "/accounts")
            assert {(a["key"], a["parent"]) for a in flat["items"]} == {
                ("exempel", None), ("stockholm", "exempel"), ("goteborg", "exempel")}
            _, tree = await call(c, w, "GET", "/account-tree")
            [root] = tree["roots"]
            assert root["key"] == "exempel" and [k["key"] for k in root["children"]] == ["stockholm", "goteborg"]
            assert root["children"][1]["numbers"] == ["+46317654300"] and root["children"][1]["users"] == [
                "david", "eva"]

            status, made = await call(c, w, "POST", "/accounts", {"key": "malmo", "name": "Malmö",
                                                                  "parent": "exempel"})
            assert status == 201 and made == {"key": "malmo", "name": "Malmö", "parent": "exempel", "numbers": [],
                                              "users": [], "children": []}
            status, _ = await call(c, w, "POST", "/accounts", {"key": "malmo", "name": "Again", "parent": "exempel"})
            assert status == 409
            status, err = await call(c, w, "POST", "/accounts", {"key": "lund", "name": "Lund"})
            assert status == 409 and err["errors"][0]["field"] == "body.parent"  # one main account per tenant
            status, err = await call(c, w, "POST", "/accounts", {"key": "lund", "name": "Lund", "parent": "nowhere"})
            assert status == 422 and err["errors"][0]["field"] == "body.parent"

            status, moved = await call(c, w, "PATCH", "/accounts/malmo", {"name": "Malmö kontor",
                                                                          "parent": "stockholm"})
            assert status == 200 and moved["parent"] == "stockholm" and moved["name"] == "Malmö kontor"
            for key, parent in (("exempel", "malmo"), ("stockholm", "malmo"), ("malmo", "malmo")):
                status, err = await call(c, w, "PATCH", f"/accounts/{key}", {"parent": parent})
                assert status == 422 and "under itself" in err["errors"][0]["message"], (key, parent)
            status, _ = await call(c, w, "PATCH", "/accounts/malmo", {"parent": None})
            assert status == 422

            status, err = await call(c, w, "DELETE", "/accounts/stockholm")
            assert status == 409 and {e["field"] for e in err["errors"]} == {"numbers", "users", "children"}
            status, err = await call(c, w, "DELETE", "/accounts/goteborg")
            assert status == 409 and "administrators" in {e["field"] for e in err["errors"]}
            assert (await call(c, w, "DELETE", "/accounts/malmo"))[0] == 204
            assert (await call(c, w, "GET", "/accounts/malmo"))[0] == 404
            _, after = await call(c, w, "GET", "/account-tree")
            assert after == tree  # the tree is as it was
        log = await audit_log(w, "account")
        assert [(e["action"], e["ref"]) for e in log] == [("create", "malmo"), ("update", "malmo"),
                                                          ("delete", "malmo")]
        assert log[1]["before"]["parent"] == "exempel" and log[1]["after"]["parent"] == "stockholm"
        assert log[2]["after"] is None and log[2]["before"]["name"] == "Malmö kontor"
    run(tmp_path, body)


def test_an_account_administrator_manages_accounts_inside_their_own_only(tmp_path: Path) -> None:
    async def body(w: World) -> None:
        async with await signed_in(w, "gbg@exempel.se") as c:
            _, flat = await call(c, w, "GET", "/accounts")
            assert [(a["key"], a["parent"]) for a in flat["items"]] == [("goteborg", None)]
            status, _ = await call(c, w, "POST", "/accounts", {"key": "hisingen", "name": "Hisingen"})
            assert status == 403  # not at the root
            status, err = await call(c, w, "POST", "/accounts", {"key": "hisingen", "name": "H", "parent": "stockholm"})
            assert status == 422 and err["errors"][0]["field"] == "body.parent"
            status, _ = await call(c, w, "POST", "/accounts", {"key": "hisingen", "name": "H", "parent": "goteborg"})
            assert status == 201
            _, tree = await call(c, w, "GET", "/account-tree")
            assert [r["key"] for r in tree["roots"]] == ["goteborg"]
            assert [k["key"] for k in tree["roots"][0]["children"]] == ["hisingen"]
            status, _ = await call(c, w, "PATCH", "/accounts/hisingen", {"parent": "exempel"})
            assert status == 422  # not out of their subtree
            status, _ = await call(c, w, "PATCH", "/accounts/goteborg", {"parent": "hisingen"})
            assert status == 422
            status, _ = await call(c, w, "DELETE", "/accounts/goteborg")
            assert status == 409  # they themself belong to it
            assert (await call(c, w, "DELETE", "/accounts/hisingen"))[0] == 204
    run(tmp_path, body)


# --- numbers -------------------------------------------------------------------------------------


def test_numbers_change_through_the_routing_core_and_controllers_see_a_new_version(tmp_path: Path) -> None:
    async def body(w: World) -> None:
        with w.ctx.sessions() as session:
            stamp = config_stamp(session)
        async with await signed_in(w, "boss@exempel.se") as c:
            new = {"number": "+46812345620", "flow": "huvud", "label": "Kampanj", "account": "stockholm"}
            status, made = await call(c, w, "POST", "/numbers", new)
            assert status == 201 and made == {**new, "user": None, "via": "fixed", "record": False}
            assert (await call(c, w, "GET", "/numbers/+46812345620"))[1] == made
            with w.ctx.sessions() as session:
                assert config_stamp(session) != stamp  # what controllers poll to reload

            status, err = await call(c, w, "POST", "/numbers", {"number": "+46812345621", "flow": "no-such-flow"})
            assert status == 422 and err["errors"][0]["field"] == "number +46812345621"
            assert "no-such-flow" in err["errors"][0]["message"]
            status, err = await call(c, w, "POST", "/numbers", {"number": "+46812345621", "flow": "huvud",
                                                                "user": "anna"})
            assert status == 422 and err["errors"][0]["code"] == "bad-number-target"
            status, err = await call(c, w, "POST", "/numbers", {"number": "+46851234500", "flow": "huvud"})
            assert status == 409 and "annat" not in str(err).lower()  # Annat's number, not named

            status, changed = await call(c, w, "PATCH", "/numbers/+46812345620", {"user": "bjorn",
                                                                                  "account": "goteborg",
                                                                                  "record": True})
            assert status == 200 and (changed["flow"], changed["user"], changed["account"], changed["record"]) == (
                None, "bjorn", "goteborg", True)
            _, page = await call(c, w, "GET", "/numbers?account=goteborg")
            assert "+46812345620" in [n["number"] for n in page["items"]]
            assert (await call(c, w, "DELETE", "/numbers/+46812345620"))[0] == 204
            assert (await call(c, w, "GET", "/numbers/+46812345620"))[0] == 404
            assert (await call(c, w, "PATCH", "/numbers/+46812345620", {"label": "x"}))[0] == 404
        log = await audit_log(w, "number")
        assert [(e["action"], e["ref"]) for e in log] == [("create", "+46812345620"), ("update", "+46812345620"),
                                                          ("delete", "+46812345620")]
        assert log[1]["before"]["flow"] == "huvud" and log[1]["after"]["user"] == "bjorn"
        assert log[1]["before"]["account"] == "stockholm" and log[1]["after"]["account"] == "goteborg"
    run(tmp_path, body)


def test_an_account_administrators_numbers_stay_in_their_account(tmp_path: Path) -> None:
    async def body(w: World) -> None:
        async with await signed_in(w, "gbg@exempel.se") as c:
            status, made = await call(c, w, "POST", "/numbers", {"number": "+46317654301", "user": "david"})
            assert status == 201 and made["account"] == "goteborg"
            status, err = await call(c, w, "POST", "/numbers", {"number": "+46317654302", "user": "anna"})
            assert status == 422 and err["errors"][0]["field"] == "body.user"  # Stockholm's user
            status, err = await call(c, w, "POST", "/numbers", {"number": "+46317654302", "flow": "goteborg",
                                                                "account": "stockholm"})
            assert status == 422 and err["errors"][0]["field"] == "body.account"
            status, _ = await call(c, w, "PATCH", "/numbers/+46317654301", {"account": None})
            assert status == 403
    run(tmp_path, body)


# --- users ---------------------------------------------------------------------------------------


def test_users_are_created_changed_and_deleted_with_numbers_devices_forwarding_and_barring(tmp_path: Path) -> None:
    async def body(w: World) -> None:
        async with await signed_in(w, "boss@exempel.se") as c:
            frida = {"key": "frida", "name": "Frida Fors", "extension": "303", "kind": "both",
                     "fixed_number": "+46317654310", "mobile_number": "+46702222222", "devices": ["PJSIP/frida"],
                     "voicemail": "support", "forwarding": {"on_busy": "queue:support", "no_answer_after_s": 15},
                     "barred": ["premium"], "call_waiting": True, "email": "frida@exempel.se",
                     "account": "goteborg"}
            status, made = await call(c, w, "POST", "/users", frida)
            assert status == 201, made
            assert made["forwarding"] == {"always": None, "on_busy": "queue:support", "on_no_answer": None,
                                          "no_answer_after_s": 15}
            assert made["account"] == "goteborg" and made["barred"] == ["premium"] and made["call_waiting"]
            assert (await call(c, w, "GET", "/users/frida"))[1] == made

            status, err = await call(c, w, "POST", "/users", {"key": "gustav", "name": "G", "extension": "201"})
            assert status == 409 and err["errors"][0]["field"] == "body.extension"
            status, err = await call(c, w, "POST", "/users", {"key": "gustav", "name": "G", "kind": "mobile",
                                                              "forwarding": {"always": "user:nobody"}})
            assert status == 422
            assert {e["code"] for e in err["errors"]} == {"no-mobile", "dangling-reference"}
            assert any(e["field"] == "user gustav forwarding always" for e in err["errors"])
            assert (await call(c, w, "POST", "/users", {"key": "frida", "name": "Again"}))[0] == 409

            status, changed = await call(c, w, "PATCH", "/users/frida", {
                "forwarding": {"always": "external:+46701234567"}, "barred": ["international", "premium"],
                "presence_rules": [{"status": "meeting", "target": "voicemail:support"}], "call_waiting": False})
            assert status == 200
            assert changed["forwarding"]["always"] == "external:+46701234567"
            assert changed["forwarding"]["on_busy"] == "queue:support"  # what the change did not name stays
            assert changed["barred"] == ["international", "premium"] and not changed["call_waiting"]
            assert changed["presence_rules"] == [{"status": "meeting", "target": "voicemail:support",
                                                  "applies_to": "both", "announce": True}]

            status, err = await call(c, w, "DELETE", "/users/anna")
            assert status == 409 and err["type"].endswith("/user-in-use")
            assert {"group salj", "number +46812345601"} <= {e["field"] for e in err["errors"]}
            assert (await call(c, w, "GET", "/users/anna"))[0] == 200  # nothing was half-deleted
            assert (await call(c, w, "DELETE", "/users/frida"))[0] == 204
            assert (await call(c, w, "GET", "/users/frida"))[0] == 404
        log = await audit_log(w, "user")
        assert [(e["action"], e["ref"]) for e in log] == [("create", "frida"), ("update", "frida"),
                                                          ("delete", "frida")]
        assert log[1]["before"]["barred"] == ["premium"] and log[1]["after"]["barred"] == ["international", "premium"]
    run(tmp_path, body)


def test_a_phone_is_one_users_in_the_whole_system(tmp_path: Path) -> None:
    async def body(w: World) -> None:
        async with await signed_in(w, "admin@annat.se") as c:
            status, err = await call(c, w, "POST", "/users", {"key": "anna", "name": "Annat Anna",
                                                              "devices": ["PJSIP/anna"]})
            assert status == 409 and err["errors"][0]["field"] == "body.devices"
            assert "exempel" not in str(err).lower()
            status, made = await call(c, w, "POST", "/users", {"key": "anna", "name": "Annat Anna"})
            assert status == 201 and made["account"] is None  # keys are per tenant
    run(tmp_path, body)


def test_the_user_list_filters_and_exports_as_csv_and_xlsx(tmp_path: Path) -> None:
    async def body(w: World) -> None:
        async with await signed_in(w, "boss@exempel.se") as c:
            _, page = await call(c, w, "GET", "/users?sort=-extension&per_page=3")
            assert page["total"] == 7 and [u["extension"] for u in page["items"]] == ["401", "302", "301"]
            async with c.get(f"{w.base}{API}/users?account=goteborg&format=csv") as r:
                assert r.headers["Content-Type"].startswith("text/csv")
                rows = list(csv.DictReader(io.StringIO(await r.text())))
            assert [row["key"] for row in rows] == ["david", "eva"] and rows[0]["devices"] == "PJSIP/david"
            async with c.get(f"{w.base}{API}/users?format=xlsx&q=ström") as r:
                sheet = load_workbook(io.BytesIO(await r.read())).active
            assert sheet is not None
            values = [[cell.value for cell in row] for row in sheet.iter_rows()]
            assert values[0][:3] == ["name", "key", "extension"] and values[1][:2] == ["Eva Ström", "eva"]
            assert len(values) == 2
    run(tmp_path, body)


def test_presence_is_set_planned_shown_and_removed_and_the_controller_hears_it(tmp_path: Path) -> None:
    settings = Settings(database_url="sqlite://", log_level="INFO", agi_port=0, http_port=0,
                        spool=str(tmp_path / "spool"))
    controller = Controller(settings, demo_tenants())

    async def body(w: World) -> None:
        now = datetime.now(UTC).replace(microsecond=0)
        until = now + timedelta(minutes=45)
        async with await signed_in(w, "boss@exempel.se") as c:
            status, lunch = await call(c, w, "POST", "/users/bjorn/presence", {
                "status": "lunch", "from": now.isoformat(), "until": until.isoformat(), "message": "Lunch"})
            assert status == 201 and lunch["active"] and lunch["status"] == "lunch"
            tomorrow = (now + timedelta(days=1)).strftime("%Y-%m-%dT09:00:00Z")
            status, planned = await call(c, w, "POST", "/users/bjorn/presence", {"status": "vacation",
                                                                                  "from": tomorrow})
            assert status == 201 and not planned["active"] and planned["until"] is None
            _, shown = await call(c, w, "GET", "/users/bjorn/presence")
            assert shown["current"]["id"] == lunch["id"] and len(shown["entries"]) == 2
            live = controller.store.view().presence("exempel", "bjorn", now + timedelta(minutes=1))
            assert live is not None and live.status == "lunch" and live.end == until

            status, err = await call(c, w, "POST", "/users/bjorn/presence", {"status": "away", "from": tomorrow,
                                                                              "until": now.isoformat()})
            assert status == 422 and err["errors"][0]["field"] == "body.until"
            status, err = await call(c, w, "POST", "/users/bjorn/presence", {"status": "away", "from": "tuesday"})
            assert status in (400, 422) and err["errors"][0]["field"] == "body.from"
            assert (await call(c, w, "POST", "/users/nobody/presence", {"status": "away"}))[0] == 404

            assert (await call(c, w, "DELETE", f"/users/bjorn/presence/{lunch['id']}"))[0] == 204
            assert (await call(c, w, "DELETE", f"/users/bjorn/presence/{lunch['id']}"))[0] == 404
            _, shown = await call(c, w, "GET", "/users/bjorn/presence")
            assert shown["current"] is None and [e["status"] for e in shown["entries"]] == ["vacation"]
            assert controller.store.view().presence("exempel", "bjorn", now + timedelta(minutes=1)) is None
        async with await signed_in(w, "viewer@exempel.se") as c:
            assert (await call(c, w, "POST", "/users/bjorn/presence", {"status": "away"}))[0] == 403
        log = await audit_log(w, "presence")
        assert [e["action"] for e in log] == ["create", "create", "delete"]
        assert log[2]["before"]["status"] == "lunch" and log[2]["after"] is None
    run(tmp_path, body, controller=controller)


def test_an_agent_sets_their_own_presence_and_no_one_elses(tmp_path: Path) -> None:
    async def body(w: World) -> None:
        async with await signed_in(w, "boss@exempel.se") as c:
            status, _ = await call(c, w, "POST", "/admins", {"login": "bjorn@exempel.se", "name": "Björn",
                                                             "password": PASSWORD, "role": "custom",
                                                             "rights": ["view", "agents"], "user": "bjorn"})
            assert status == 201
        async with await signed_in(w, "bjorn@exempel.se") as c:
            status, entry = await call(c, w, "POST", "/users/bjorn/presence", {"status": "meeting"})
            assert status == 201 and entry["active"]
            assert (await call(c, w, "POST", "/users/anna/presence", {"status": "meeting"}))[0] == 403
            assert (await call(c, w, "DELETE", f"/users/bjorn/presence/{entry['id']}"))[0] == 204
        async with await signed_in(w, "boss@exempel.se") as c:
            status, err = await call(c, w, "DELETE", "/users/bjorn")
            assert status == 409 and err["type"].endswith("/user-in-use")  # referred to, and a sign-in's user
    run(tmp_path, body)


# --- administrators ------------------------------------------------------------------------------


def test_administrators_are_managed_without_secrets_leaving_the_server(tmp_path: Path) -> None:
    async def body(w: World) -> None:
        async with await signed_in(w, "boss@exempel.se") as c:
            _, page = await call(c, w, "GET", "/admins")
            assert {a["login"] for a in page["items"]} == {"boss@exempel.se", "gbg@exempel.se", "sms@exempel.se",
                                                           "viewer@exempel.se"}
            status, made = await call(c, w, "POST", "/admins", {
                "login": "Rapport@exempel.se", "name": "Rut Port", "password": "a long password 1",
                "role": "custom", "rights": ["view", "reports"], "second_factor": "totp"})
            assert status == 201 and made["login"] == "rapport@exempel.se" and made["rights"] == ["reports", "view"]
            assert len(made["totp_secret"]) >= 16 and made["totp_uri"].startswith("otpauth://totp/")
            assert "password" not in made and "password_hash" not in made
            status, again = await call(c, w, "GET", f"/admins/{made['id']}")
            assert status == 200 and "totp_secret" not in again
            status, reset = await call(c, w, "PATCH", f"/admins/{made['id']}", {"reset_second_factor": True,
                                                                                "rights": ["view"]})
            assert status == 200 and reset["totp_secret"] != made["totp_secret"] and reset["rights"] == ["view"]
            status, err = await call(c, w, "POST", "/admins", {"login": "RAPPORT@exempel.se", "name": "x",
                                                               "password": "a long password 1", "role": "admin"})
            assert status == 409
            status, err = await call(c, w, "POST", "/admins", {"login": "a@exempel.se", "name": "x",
                                                               "password": "a long password 1",
                                                               "role": "account_admin"})
            assert status == 422 and err["errors"][0]["field"] == "body.account"
            status, err = await call(c, w, "POST", "/admins", {"login": "a@exempel.se", "name": "x",
                                                               "password": "a long password 1", "role": "admin",
                                                               "rights": ["view"]})
            assert status == 422 and err["errors"][0]["field"] == "body.rights"
        async with ClientSession(cookie_jar=CookieJar(unsafe=True)) as fresh:
            async with fresh.post(f"{w.base}{API}/login", json={"login": "rapport@exempel.se",
                                                                 "password": "a long password 1"}) as r:
                assert (await r.json())["second_factor"] == "totp"  # the new password works, the factor applies
        log = await audit_log(w, "admin")
        assert [(e["action"], e["ref"]) for e in log] == [("create", "rapport@exempel.se"),
                                                          ("update", "rapport@exempel.se")]
        assert log[1]["after"]["second_factor_reset"] is True
        text = str(log)
        assert "a long password" not in text and made["totp_secret"] not in text and "argon2" not in text
        assert reset["totp_secret"] not in text
    run(tmp_path, body)


def test_one_super_administrator_always_remains_and_nobody_deletes_themself(tmp_path: Path) -> None:
    async def body(w: World) -> None:
        async with await signed_in(w, "boss@exempel.se") as c:
            boss = await admin_id(c, w, "boss@exempel.se")
            async with c.delete(f"{w.base}{API}/admins/{boss}") as r:
                assert "themself" in (await problem(r, 409))["detail"]
            status, err = await call(c, w, "PATCH", f"/admins/{boss}", {"role": "admin"})
            assert status == 409 and "last super administrator" in err["detail"]
            status, second = await call(c, w, "POST", "/admins", {"login": "vice@exempel.se", "name": "Vice",
                                                                  "password": PASSWORD, "role": "super_admin"})
            assert status == 201
            status, demoted = await call(c, w, "PATCH", f"/admins/{boss}", {"role": "admin"})
            assert status == 200 and demoted["role"] == "admin"  # another super administrator remains
        async with await signed_in(w, "vice@exempel.se") as c:
            status, err = await call(c, w, "DELETE", f"/admins/{second['id']}")
            assert status == 409
            status, err = await call(c, w, "PATCH", f"/admins/{second['id']}", {"role": "custom", "rights": ["view"]})
            assert status == 409 and "last super administrator" in err["detail"]
            assert (await call(c, w, "DELETE", f"/admins/{boss}"))[0] == 204
            _, page = await call(c, w, "GET", "/admins?role=super_admin")
            assert [a["login"] for a in page["items"]] == ["vice@exempel.se"]
    run(tmp_path, body)


def test_only_holders_of_admins_manage_administrators_and_never_above_themselves(tmp_path: Path) -> None:
    async def body(w: World) -> None:
        new = {"login": "ny@exempel.se", "name": "Ny", "password": PASSWORD}
        for login in ("gbg@exempel.se", "viewer@exempel.se"):
            async with await signed_in(w, login) as c:
                assert (await call(c, w, "GET", "/admins"))[0] == 403
                assert (await call(c, w, "POST", "/admins", {**new, "role": "custom"}))[0] == 403
        async with await signed_in(w, "boss@exempel.se") as c:
            boss = await admin_id(c, w, "boss@exempel.se")
            status, helper = await call(c, w, "POST", "/admins", {
                "login": "hr@exempel.se", "name": "HR", "password": PASSWORD, "role": "custom",
                "rights": ["view", "users", "admins"]})
            assert status == 201
        async with await signed_in(w, "sms@exempel.se") as c:  # an administrator, not a super one
            status, err = await call(c, w, "POST", "/admins", {**new, "role": "super_admin"})
            assert status == 403 and "super" in err["detail"]
            sms = await admin_id(c, w, "sms@exempel.se")
            assert (await call(c, w, "PATCH", f"/admins/{sms}", {"role": "super_admin"}))[0] == 403
            assert (await call(c, w, "PATCH", f"/admins/{boss}", {"name": "Renamed"}))[0] == 403
            assert (await call(c, w, "DELETE", f"/admins/{boss}"))[0] == 403
            status, made = await call(c, w, "POST", "/admins", {**new, "role": "account_admin", "account": "goteborg"})
            assert status == 201 and made["rights"] == ["agents", "numbers", "users", "view"]
        async with ClientSession(cookie_jar=CookieJar(unsafe=True), headers={"X-Requested-With": "pbx"}) as c:
            async with c.post(f"{w.base}{API}/login", json={"login": "hr@exempel.se", "password": PASSWORD}):
                pass
            status, err = await call(c, w, "POST", "/admins", {**new, "login": "x@exempel.se", "role": "custom",
                                                               "rights": ["view", "recordings"]})
            assert status == 403 and "recordings" in err["detail"]
            status, _ = await call(c, w, "PATCH", f"/admins/{helper['id']}", {"rights": ["view", "users", "admins",
                                                                                         "flows"]})
            assert status == 403  # not even for themself
            status, _ = await call(c, w, "DELETE", f"/admins/{made['id']}")
            assert status == 403  # an account administrator holds "agents", which HR does not
            status, viewer = await call(c, w, "POST", "/admins", {**new, "login": "v2@exempel.se", "role": "custom",
                                                                  "rights": ["view"]})
            assert status == 201 and viewer["rights"] == ["view"]
    run(tmp_path, body)


# --- search --------------------------------------------------------------------------------------


def test_one_search_finds_users_numbers_and_accounts_exact_first(tmp_path: Path) -> None:
    async def body(w: World) -> None:
        async with await signed_in(w, "boss@exempel.se") as c:
            _, found = await call(c, w, "GET", "/search?q=anna")
            assert found["hits"][0] == {"kind": "user", "key": "anna", "label": "Anna Andersson", "match": "key",
                                        "value": "anna"}
            assert {(h["kind"], h["key"]) for h in found["hits"]} == {
                ("user", "anna"), ("number", "+46812345601"), ("number", "+46701111111")}
            _, found = await call(c, w, "GET", "/search?q=08-123 456 01")
            assert [(h["kind"], h["key"], h["match"]) for h in found["hits"][:2]] == [
                ("user", "anna", "fixed_number"), ("number", "+46812345601", "number")]
            _, found = await call(c, w, "GET", "/search?q=göteborg")
            assert found["hits"][0]["kind"] == "account" and found["hits"][0]["key"] == "goteborg"
            assert ("number", "+46317654300") in {(h["kind"], h["key"]) for h in found["hits"]}
            _, found = await call(c, w, "GET", "/search?q=30")
            assert {h["key"] for h in found["hits"]} == {"david", "eva"}  # extensions 301, 302
            _, limited = await call(c, w, "GET", "/search?q=e&limit=2")
            assert len(limited["hits"]) == 2 and limited["total"] > 2
            status, err = await call(c, w, "GET", "/search")
            assert status == 400 and err["errors"][0]["field"] == "query.q"
    run(tmp_path, body)


# --- tenant isolation ----------------------------------------------------------------------------


def test_another_tenant_and_a_sibling_account_reach_nothing_of_these_resources(tmp_path: Path) -> None:
    async def body(w: World) -> None:
        async with await signed_in(w, "boss@exempel.se") as c:
            boss = await admin_id(c, w, "boss@exempel.se")
            _, lunch = await call(c, w, "POST", "/users/anna/presence", {"status": "lunch"})
            _, gbg_lunch = await call(c, w, "POST", "/users/david/presence", {"status": "lunch"})
        exempel_objects = [
            ("GET", "/accounts/stockholm", None), ("PATCH", "/accounts/stockholm", {"name": "x"}),
            ("DELETE", "/accounts/stockholm", None),
            ("GET", "/numbers/+46812345601", None), ("PATCH", "/numbers/+46812345601", {"label": "x"}),
            ("DELETE", "/numbers/+46812345601", None),
            ("GET", "/users/anna", None), ("PATCH", "/users/anna", {"name": "x"}), ("DELETE", "/users/anna", None),
            ("GET", "/users/anna/presence", None), ("POST", "/users/anna/presence", {"status": "away"}),
            ("DELETE", f"/users/anna/presence/{lunch['id']}", None),
        ]
        async with await signed_in(w, "admin@annat.se") as c:
            for method, path, payload in [*exempel_objects, ("GET", "/accounts/goteborg", None),
                                          ("GET", f"/admins/{boss}", None),
                                          ("PATCH", f"/admins/{boss}", {"name": "x"}),
                                          ("DELETE", f"/admins/{boss}", None)]:
                status, err = await call(c, w, method, path, payload)
                assert status == 404, (method, path, status, err)
            for path in ("/accounts", "/users", "/admins"):
                _, page = await call(c, w, "GET", path)
                assert all("exempel" not in str(item) for item in page["items"]), path
            _, found = await call(c, w, "GET", "/search?q=anna")
            assert found["hits"] == []
            status, err = await call(c, w, "POST", "/numbers", {"number": "+46851234501", "flow": "enkel",
                                                                "account": "stockholm"})
            assert status == 422 and err["errors"][0]["field"] == "body.account"
            status, _ = await call(c, w, "POST", "/accounts", {"key": "x", "name": "x", "parent": "exempel"})
            assert status == 422
        async with await signed_in(w, "gbg@exempel.se") as c:
            for method, path, payload in exempel_objects:
                status, err = await call(c, w, method, path, payload)
                assert status == 404, (method, path, status, err)
            for method, path, payload in (("GET", f"/admins/{boss}", None), ("DELETE", f"/admins/{boss}", None)):
                assert (await call(c, w, method, path, payload))[0] == 403
            _, found = await call(c, w, "GET", "/search?q=a")
            assert {h["key"] for h in found["hits"]} <= {"david", "eva", "goteborg", "+46317654300"}
            assert {h["key"] for h in found["hits"]} >= {"david", "eva"}  # Ström, Dahl: both have an "a"
            _, users = await call(c, w, "GET", "/users")
            assert [u["key"] for u in users["items"]] == ["david", "eva"]
            # their own reach works: the same verbs on Göteborg's objects
            assert (await call(c, w, "PATCH", "/users/david", {"call_waiting": True}))[0] == 200
            assert (await call(c, w, "DELETE", f"/users/david/presence/{gbg_lunch['id']}"))[0] == 204
            assert (await call(c, w, "GET", "/numbers/+46317654300"))[0] == 200
        async with await signed_in(w, "boss@exempel.se") as c:  # nothing changed on Exempel's side
            _, anna = await call(c, w, "GET", "/users/anna")
            assert anna["name"] == "Anna Andersson"
            _, presence = await call(c, w, "GET", "/users/anna/presence")
            assert [e["id"] for e in presence["entries"]] == [lunch["id"]]
            assert (await call(c, w, "GET", "/accounts/stockholm"))[1]["name"] == "Stockholm"
            assert (await call(c, w, "GET", "/numbers/+46812345601"))[1]["label"] == "Anna direct"
    run(tmp_path, body)
