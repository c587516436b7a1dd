"""Flows in the admin API over real HTTP on loopback: drafts, validation per node, publish and roll back,
delete, what-if, rights, tenant isolation and the audit log."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from aiohttp import ClientSession

from pbx.demo import ANNAT_NUMBER, GOTEBORG_NUMBER, MAIN_NUMBER
from tests.admin_world import World, problem, run, signed_in

API = "/api/v1"
TUE_10 = "2026-11-24T10:00:00+01:00"
SWAP_1_AND_3 = {"kind": "menu", "key": "meny", "name": "Huvudmeny", "params": {
    "prompt": "exempel-huvudmeny", "choices": [["1", "ekonomi"], ["2", "support"], ["3", "salj"], ["0", "reception"]],
    "timeout_next": "support", "invalid_next": "support", "attempts": 2}}


async def call(c: ClientSession, w: World, method: str, path: str, payload: Any = None) -> Any:
    async with c.request(method, f"{w.base}{API}{path}", json=payload) as r:
        assert r.status < 300, f"{method} {path}: {r.status} {await r.text()}"
        return await r.json() if r.status != 204 else None


async def what_if(c: ClientSession, w: World, **body: Any) -> dict[str, Any]:
    result: dict[str, Any] = await call(c, w, "POST", "/what-if", {"number": MAIN_NUMBER, "at": TUE_10, **body})
    return result


# --- the life of a flow ----------------------------------------------------------------------------


def test_a_draft_is_edited_validated_published_and_rolled_back(tmp_path: Path) -> None:
    async def body(w: World) -> None:
        async with await signed_in(w, "boss@exempel.se") as c:
            page = await call(c, w, "GET", "/flows")
            assert [(f["key"], f["published_version"], f["draft"]) for f in page["items"]] == [
                ("goteborg", 1, False), ("huvud", 1, False), ("inspelning", 1, False), ("rostbrevlada", 1, False)]
            huvud = await call(c, w, "GET", "/flows/huvud")
            assert huvud["published"]["version"] == 1 and huvud["draft"] is None
            assert huvud["numbers"] == [MAIN_NUMBER]
            menu = next(n for n in huvud["published"]["nodes"] if n["key"] == "meny")
            assert menu["params"]["choices"][0] == ["1", "salj"]

            draft = await call(c, w, "PATCH", "/flows/huvud/draft", {"upsert": [SWAP_1_AND_3]})
            assert draft["state"] == "draft" and "version" not in draft and draft["based_on"] == 1
            listed = (await call(c, w, "GET", "/flows/huvud/versions?state=draft"))["items"]
            assert [(v.get("version"), v["state"]) for v in listed] == [(None, "draft")]
            # the draft is not in force: what-if on the published version still rings sales
            assert (await what_if(c, w, digits="1"))["decisions"][-1]["kind"] == "RingGroup"
            tried = await what_if(c, w, digits="1", version="draft")
            assert tried["decisions"][-1]["action"].startswith("voicemail ekonomi") and tried["version"] == "draft"
            assert await call(c, w, "POST", "/flows/huvud/draft/validate") == {"valid": True, "problems": []}

            done = await call(c, w, "POST", "/flows/huvud/publish", {})
            assert (done["before"], done["after"]) == (1, 2)
            now = await call(c, w, "GET", "/flows/huvud")
            assert now["published"]["version"] == 2 and now["draft"] is None
            assert (await what_if(c, w, digits=["1"]))["decisions"][-1]["kind"] == "Voicemail"
            old = await what_if(c, w, digits="1", version=1)
            assert old["decisions"][-1]["kind"] == "RingGroup" and old["version"] == 1

            back = await call(c, w, "POST", "/flows/huvud/publish", {"version": 1})
            assert (back["before"], back["after"]) == (2, 1) and back["config_version"] == done["config_version"] + 1
            versions = await call(c, w, "GET", "/flows/huvud/versions?sort=version")
            assert [(v["version"], v["state"], v["published_times"]) for v in versions["items"]] == [
                (1, "published", 2), (2, "earlier", 1)]
            assert versions["items"][0]["last_published_by"] == "boss@exempel.se"
            async with c.get(f"{w.base}{API}/flows/huvud/versions?format=csv") as r:
                rows = list(csv.DictReader(io.StringIO(await r.text())))
            assert [row["version"] for row in rows] == ["1", "2"]
            v2 = await call(c, w, "GET", "/flows/huvud/versions/2")
            assert next(n for n in v2["nodes"] if n["key"] == "meny")["params"]["choices"][0] == ["1", "ekonomi"]
            async with c.post(f"{w.base}{API}/flows/huvud/publish", json={"version": 1}) as r:
                assert "already in force" in (await problem(r, 409))["detail"]

            log = (await call(c, w, "GET", "/audit?resource=flow&sort=at"))["items"]
            assert [(e["action"], e["before"]["version"], e["after"]["version"]) for e in log] == [
                ("publish", 1, 2), ("publish", 2, 1)]
            assert log[0]["actor"] == "boss@exempel.se"
            before_menu = next(n for n in log[0]["before"]["nodes"] if n["key"] == "meny")
            after_menu = next(n for n in log[0]["after"]["nodes"] if n["key"] == "meny")
            assert before_menu["params"]["choices"][0] == ["1", "salj"]
            assert after_menu["params"]["choices"][0] == ["1", "ekonomi"]
            drafts = (await call(c, w, "GET", "/audit?resource=flow_draft"))["items"]
            assert [(e["action"], e["before"], e["after"]["version"]) for e in drafts] == [("create", None, None)]
    run(tmp_path, body)


def test_an_invalid_draft_gets_the_routing_cores_problems_per_node_and_is_not_published(tmp_path: Path) -> None:
    async def body(w: World) -> None:
        async with await signed_in(w, "boss@exempel.se") as c:
            broken = {**SWAP_1_AND_3, "params": {**SWAP_1_AND_3["params"], "choices": [["1", "nowhere"]],
                                                 "timeout_s": 99}}
            await call(c, w, "PATCH", "/flows/huvud/draft", {"upsert": [broken]})
            checked = await call(c, w, "POST", "/flows/huvud/draft/validate")
            assert not checked["valid"]
            by_code = {p["code"]: p for p in checked["problems"]}
            assert by_code["dangling-reference"]["node"] == "meny" and "nowhere" in by_code["dangling-reference"][
                "message"]
            assert by_code["bad-timeout"]["node"] == "meny"
            assert by_code["unreachable"]["node"] in {"salj", "ekonomi", "reception", "vm-salj"}
            async with c.post(f"{w.base}{API}/flows/huvud/publish", json={}) as r:
                refused = await problem(r, 422)
            assert {"field": "nodes.meny", "message": by_code["bad-timeout"]["message"], "code": "bad-timeout",
                    "node": "meny"} in refused["errors"]
            huvud = await call(c, w, "GET", "/flows/huvud")
            assert huvud["published"]["version"] == 1 and huvud["draft"] is not None  # nothing half-done
            assert (await call(c, w, "GET", "/audit?resource=flow"))["total"] == 0
            async with c.post(f"{w.base}{API}/what-if", json={"number": MAIN_NUMBER, "version": "draft"}) as r:
                assert (await problem(r, 422))["errors"][0]["node"] is not None
            await call(c, w, "DELETE", "/flows/huvud/draft")
            async with c.delete(f"{w.base}{API}/flows/huvud/draft") as r:
                await problem(r, 404)
    run(tmp_path, body)


def test_a_new_flow_starts_as_a_draft_and_a_flow_in_use_cannot_be_deleted(tmp_path: Path) -> None:
    async def body(w: World) -> None:
        new = {"key": "kvall", "name": "Kvällsflöde", "entry": "hej", "nodes": [
            {"kind": "announcement", "key": "hej", "params": {"prompt": "closed", "next": "brevlada"}},
            {"kind": "voicemail", "key": "brevlada", "name": "Växeln", "params": {"box": "vaxel"}}]}
        async with await signed_in(w, "boss@exempel.se") as c:
            created = await call(c, w, "POST", "/flows", new)
            assert created["published"] is None and created["draft"]["nodes"][1]["name"] == "Växeln"
            async with c.post(f"{w.base}{API}/flows", json=new) as r:
                await problem(r, 409)
            listed = await call(c, w, "GET", "/flows?draft=true")
            assert [(f["key"], f["published_version"]) for f in listed["items"]] == [("kvall", None)]
            assert (await call(c, w, "POST", "/flows/kvall/publish", {}))["after"] == 1
            assert (await call(c, w, "GET", "/flows/kvall"))["published"]["entry"] == "hej"
            async with c.delete(f"{w.base}{API}/flows/huvud") as r:
                assert MAIN_NUMBER in (await problem(r, 409))["detail"]
            await call(c, w, "DELETE", "/flows/kvall")
            async with c.get(f"{w.base}{API}/flows/kvall") as r:
                await problem(r, 404)
            log = (await call(c, w, "GET", "/audit?resource=flow&sort=at"))["items"]
            assert [e["action"] for e in log] == ["publish", "delete"]
            assert log[-1]["before"]["published"]["version"] == 1 and log[-1]["after"] is None
    run(tmp_path, body)


def test_what_if_explains_where_a_call_goes_step_by_step(tmp_path: Path) -> None:
    async def body(w: World) -> None:
        async with await signed_in(w, "viewer@exempel.se") as c:
            evening = await what_if(c, w, at="2026-11-24T19:00:00")  # no offset: the tenant's time zone
            assert evening["at"].startswith("2026-11-24T19:00:00+01:00")
            assert "closed" in " ".join(evening["decisions"][0]["steps"])
            assert evening["outcome"].endswith("voicemail vaxel")
            menu = await what_if(c, w, digits=["", "2"], logged_in="none")
            kinds = [d["kind"] for d in menu["decisions"]]
            assert kinds[:2] == ["PlayMenu", "PlayMenu"]  # nothing pressed: the menu again, then 2
            assert any("no agent logged in" in s for s in menu["decisions"][-1]["steps"])
            assert menu["decisions"][0]["flow"] == "huvud@1" and len(menu["explanation"]) == len(menu["decisions"])
            async with c.post(f"{w.base}{API}/what-if", json={"number": MAIN_NUMBER, "at": "tuesday"}) as r:
                assert (await problem(r, 422))["errors"][0]["field"] == "body.at"
            async with c.post(f"{w.base}{API}/what-if", json={"number": "+46812345601", "version": 2}) as r:
                assert (await problem(r, 422))["errors"][0]["field"] == "body.version"
            async with c.post(f"{w.base}{API}/what-if", json={"number": MAIN_NUMBER, "version": 9}) as r:
                await problem(r, 404)
    run(tmp_path, body)


def test_bad_nodes_are_refused_naming_the_field(tmp_path: Path) -> None:
    async def body(w: World) -> None:
        async with await signed_in(w, "boss@exempel.se") as c:
            for nodes in ([{"kind": "teleport", "key": "x", "params": {}}],
                          [{"kind": "menu", "key": "m", "params": {"prompt": "p", "choices": {"1": "x"},
                                                                   "timeout_next": None, "invalid_next": None}}],
                          [{"kind": "hangup", "key": "x", "params": {"colour": "red"}}]):
                async with c.put(f"{w.base}{API}/flows/huvud/draft",
                                 json={"name": "H", "entry": "x", "nodes": nodes}) as r:
                    assert all(e["field"].startswith("body.nodes") for e in (await problem(r, 422))["errors"])
            async with c.patch(f"{w.base}{API}/flows/huvud/draft", json={"remove": ["nosuchnode"]}) as r:
                assert (await problem(r, 422))["errors"][0]["field"] == "body.remove"
            assert (await call(c, w, "GET", "/flows/huvud"))["draft"] is None  # nothing was stored
    run(tmp_path, body)


# --- rights and isolation --------------------------------------------------------------------------


def _every_operation(flow: str, number: str) -> list[tuple[str, str, Any, bool]]:
    """(method, path, body, changes something) for every flow operation on one of a tenant's flows."""
    node = {"kind": "hangup", "key": "slut", "params": {}}
    return [
        ("GET", f"/flows/{flow}", None, False),
        ("GET", f"/flows/{flow}/versions", None, False),
        ("GET", f"/flows/{flow}/versions/1", None, False),
        ("POST", f"/flows/{flow}/draft/validate", None, False),
        ("POST", "/what-if", {"number": number}, False),
        ("PUT", f"/flows/{flow}/draft", {"name": "X", "entry": "slut", "nodes": [node]}, True),
        ("PATCH", f"/flows/{flow}/draft", {"name": "Y"}, True),
        ("POST", f"/flows/{flow}/publish", {"version": 1}, True),
        ("POST", f"/flows/{flow}/publish", {}, True),
        ("DELETE", f"/flows/{flow}/draft", None, True),
        ("DELETE", f"/flows/{flow}", None, True),
    ]


def test_another_tenants_flows_are_not_found_for_every_verb(tmp_path: Path) -> None:
    async def body(w: World) -> None:
        async with await signed_in(w, "boss@exempel.se") as c:
            await call(c, w, "PATCH", "/flows/huvud/draft", {"name": "Exempels utkast"})  # a draft to aim at
        async with await signed_in(w, "admin@annat.se") as other:
            for method, path, payload, _ in _every_operation("huvud", MAIN_NUMBER):
                async with other.request(method, f"{w.base}{API}{path}", json=payload) as r:
                    await problem(r, 404)
            assert [f["key"] for f in (await call(other, w, "GET", "/flows"))["items"]] == ["enkel"]
            # Annat may even create a flow of the same key: keys are per tenant
            await call(other, w, "POST", "/flows", {"key": "huvud", "name": "Annats", "entry": "x", "nodes": [
                {"kind": "voicemail", "key": "x", "params": {"box": "info"}}]})
            assert (await call(other, w, "POST", "/flows/huvud/publish", {}))["after"] == 1
        async with await signed_in(w, "boss@exempel.se") as c:
            huvud = await call(c, w, "GET", "/flows/huvud")
            assert huvud["published"]["version"] == 1 and huvud["draft"]["name"] == "Exempels utkast"
            async with c.post(f"{w.base}{API}/what-if", json={"number": ANNAT_NUMBER}) as r:
                await problem(r, 404)
            assert (await call(c, w, "GET", "/audit?resource=flow"))["total"] == 0  # Annat's publish is Annat's
    run(tmp_path, body)


def test_viewers_and_account_administrators_read_but_do_not_change_flows(tmp_path: Path) -> None:
    async def body(w: World) -> None:
        for login in ("viewer@exempel.se", "gbg@exempel.se"):
            async with await signed_in(w, login) as c:
                for method, path, payload, changes in _every_operation("goteborg", GOTEBORG_NUMBER):
                    async with c.request(method, f"{w.base}{API}{path}", json=payload) as r:
                        if changes:
                            assert "'flows'" in (await problem(r, 403))["detail"]
                        elif "validate" in path:
                            await problem(r, 404)  # goteborg has no draft
                        else:
                            assert r.status == 200, await r.text()
        async with await signed_in(w, "gbg@exempel.se") as c:
            flows = {f["key"]: f["numbers"] for f in (await call(c, w, "GET", "/flows"))["items"]}
            assert flows["goteborg"] == [GOTEBORG_NUMBER] and flows["huvud"] == []  # Stockholm's number is not theirs
            async with c.post(f"{w.base}{API}/what-if", json={"number": MAIN_NUMBER}) as r:
                await problem(r, 404)
        async with await signed_in(w, "boss@exempel.se") as c:
            assert (await call(c, w, "GET", "/flows/huvud"))["draft"] is None
            assert (await call(c, w, "GET", "/audit?resource=flow_draft"))["total"] == 0
    run(tmp_path, body)
