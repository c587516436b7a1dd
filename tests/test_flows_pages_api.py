"""What the flow pages (issue 8) need of the admin API beyond issue 6's flows: what-if names the nodes a call
passed and the path between them (so a page can light them up), what-if tries a flow no number leads to yet, and
one read of everything a node may refer to (queues, groups, users, schedules, boxes, prompts, flows)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiohttp import ClientSession

from pbx.demo import GOTEBORG_NUMBER, MAIN_NUMBER
from tests.admin_world import World, problem, run, signed_in

API = "/api/v1"
TUE_10 = "2026-11-24T10:00:00+01:00"
NEW_FLOW = {"key": "kundtjanst", "name": "Kundtjänst", "entry": "meny", "nodes": [
    {"kind": "menu", "key": "meny", "name": "Meny", "params": {
        "prompt": "welcome", "choices": [["1", "support"], ["2", "brevlada"]], "timeout_next": "support",
        "invalid_next": "support", "attempts": 1}},
    {"kind": "queue", "key": "support", "name": "Support", "params": {"queue": "support", "overflow": "brevlada"}},
    {"kind": "voicemail", "key": "brevlada", "name": "Brevlåda", "params": {"box": "support"}}]}


async def call(c: ClientSession, w: World, method: str, path: str, payload: Any = None) -> Any:
    async with c.request(method, f"{w.base}{API}{path}", json=payload) as r:
        assert r.status < 300, f"{method} {path}: {r.status} {await r.text()}"
        return await r.json() if r.status != 204 else None


def walked(result: dict[str, Any]) -> list[tuple[str, str | None]]:
    return [(step["node"], step["via"]) for d in result["decisions"] for step in d["path"]]


def test_what_if_names_every_node_the_call_passed_and_the_path_it_took(tmp_path: Path) -> None:
    async def body(w: World) -> None:
        async with await signed_in(w, "boss@exempel.se") as c:
            sales = await call(c, w, "POST", "/what-if", {"number": MAIN_NUMBER, "at": TUE_10, "digits": "1"})
            assert walked(sales) == [("valkommen", None), ("oppet", "next"), ("meny", "open"),
                                     ("salj", "digit 1")]
            assert [d["node"] for d in sales["decisions"]] == ["meny", "salj"]
            # evening: the schedule's closed branch; Christmas Eve: its holiday branch (both end in the switchboard box)
            evening = await call(c, w, "POST", "/what-if", {"number": MAIN_NUMBER, "at": "2026-11-24T19:00:00"})
            assert walked(evening) == [("valkommen", None), ("oppet", "next"), ("stangt", "closed"),
                                       ("vm-vaxel", "next")]
            xmas = await call(c, w, "POST", "/what-if", {"number": MAIN_NUMBER, "at": "2026-12-24T10:00:00"})
            assert walked(xmas) == [("valkommen", None), ("oppet", "next"), ("helg", "holiday"),
                                    ("vm-vaxel", "next")]
            # nothing pressed: the menu again (two attempts), then its timeout path; nobody logged in: overflow
            quiet = await call(c, w, "POST", "/what-if", {"number": MAIN_NUMBER, "at": TUE_10, "digits": ["", ""],
                                                          "logged_in": "none"})
            assert walked(quiet) == [("valkommen", None), ("oppet", "next"), ("meny", "open"), ("meny", "retry"),
                                     ("support", "timeout"), ("vm-support", "overflow")]
            wrong = await call(c, w, "POST", "/what-if", {"number": MAIN_NUMBER, "at": TUE_10, "digits": ["7", "8"]})
            assert walked(wrong)[-2:] == [("meny", "retry"), ("support", "invalid")]
            # a destination that does not answer leaves by its way on
            unanswered = await call(c, w, "POST", "/what-if", {"number": MAIN_NUMBER, "at": TUE_10, "digits": "2",
                                                               "answer": False})
            assert walked(unanswered)[-2:] == [("support", "digit 2"), ("vm-support", "overflow")]
            # a number that rings a user passes no flow
            anna = await call(c, w, "POST", "/what-if", {"number": "+46812345601", "at": TUE_10})
            assert anna["flow"] is None and walked(anna) == []
    run(tmp_path, body)


def test_what_if_tries_a_flow_no_number_leads_to_yet(tmp_path: Path) -> None:
    async def body(w: World) -> None:
        async with await signed_in(w, "boss@exempel.se") as c:
            await call(c, w, "POST", "/flows", NEW_FLOW)
            # only a draft: there is no published version to try
            async with c.post(f"{w.base}{API}/what-if", json={"number": MAIN_NUMBER, "flow": "kundtjanst"}) as r:
                refused = await problem(r, 422)
            assert refused["errors"][0]["field"] == "body.version" and "draft" in refused["errors"][0]["message"]
            tried = await call(c, w, "POST", "/what-if", {"number": MAIN_NUMBER, "flow": "kundtjanst", "at": TUE_10,
                                                          "version": "draft", "digits": "2"})
            assert (tried["flow"], tried["version"]) == ("kundtjanst", "draft")
            assert walked(tried) == [("meny", None), ("brevlada", "digit 2")]
            assert tried["decisions"][-1]["kind"] == "Voicemail"
            # the number itself still leads where it did: nothing was changed
            assert (await call(c, w, "GET", f"/numbers/{MAIN_NUMBER}"))["flow"] == "huvud"
            plain = await call(c, w, "POST", "/what-if", {"number": MAIN_NUMBER, "at": TUE_10, "digits": "2"})
            assert plain["flow"] == "huvud" and walked(plain)[-1] == ("support", "digit 2")

            await call(c, w, "POST", "/flows/kundtjanst/publish", {})
            published = await call(c, w, "POST", "/what-if", {"number": MAIN_NUMBER, "flow": "kundtjanst",
                                                              "at": TUE_10, "digits": ""})
            assert published["version"] == 1 and walked(published) == [("meny", None), ("support", "timeout")]
            # a draft that is not valid cannot be tried: the problems name their nodes
            await call(c, w, "PATCH", "/flows/kundtjanst/draft", {"remove": ["brevlada"]})
            async with c.post(f"{w.base}{API}/what-if", json={"number": MAIN_NUMBER, "flow": "kundtjanst",
                                                              "version": "draft"}) as r:
                invalid = await problem(r, 422)
            assert {e["node"] for e in invalid["errors"]} >= {"meny", "support"}
            async with c.post(f"{w.base}{API}/what-if", json={"number": MAIN_NUMBER, "flow": "ingen"}) as r:
                await problem(r, 404)
        # an account administrator tries flows on their own accounts' numbers only
        async with await signed_in(w, "gbg@exempel.se") as c:
            ok = await call(c, w, "POST", "/what-if", {"number": GOTEBORG_NUMBER, "flow": "kundtjanst",
                                                       "at": TUE_10, "digits": "1"})
            assert walked(ok) == [("meny", None), ("support", "digit 1")]
            async with c.post(f"{w.base}{API}/what-if", json={"number": MAIN_NUMBER, "flow": "kundtjanst"}) as r:
                await problem(r, 404)
        # another tenant: neither the number nor the flow is there
        async with await signed_in(w, "admin@annat.se") as c:
            async with c.post(f"{w.base}{API}/what-if", json={"number": "+46851234500", "flow": "kundtjanst"}) as r:
                await problem(r, 404)
    run(tmp_path, body)


def test_flow_targets_list_what_a_node_may_refer_to(tmp_path: Path) -> None:
    async def body(w: World) -> None:
        async with await signed_in(w, "viewer@exempel.se") as c:  # reading needs the right "view" only
            targets = await call(c, w, "GET", "/flow-targets")
        assert targets["queues"] == [{"key": "support", "name": "Support"}]
        assert targets["groups"] == [{"key": "salj", "name": "Sälj"}]
        assert targets["schedules"] == [{"key": "kontorstid", "name": "Kontorstid"}]
        assert [b["key"] for b in targets["boxes"]] == ["salj", "support", "ekonomi", "vaxel", "olle"]
        assert {"key": "asa", "name": "Åsa Öberg"} in targets["users"] and len(targets["users"]) == 7
        assert [f["key"] for f in targets["flows"]] == ["huvud", "goteborg", "rostbrevlada", "inspelning"]
        prompts = {p["key"]: p for p in targets["prompts"]}
        assert prompts["exempel-huvudmeny"]["system"] is False
        assert prompts["welcome"] == {"key": "welcome", "name": "Välkommen.", "system": True}  # Exempel speaks Swedish
        assert [p["system"] for p in targets["prompts"]] == sorted(p["system"] for p in targets["prompts"])
        # an account administrator sees their accounts' users; another tenant sees its own things only
        async with await signed_in(w, "gbg@exempel.se") as c:
            gbg = await call(c, w, "GET", "/flow-targets")
        assert sorted(u["key"] for u in gbg["users"]) == ["david", "eva"]
        async with await signed_in(w, "admin@annat.se") as c:
            annat = await call(c, w, "GET", "/flow-targets")
        assert annat["queues"] == [] and annat["boxes"] == [{"key": "info", "name": "Info"}]
        assert [f["key"] for f in annat["flows"]] == ["enkel"] and annat["users"] == []
        assert {p["key"] for p in annat["prompts"] if not p["system"]} == {"exempel-huvudmeny"}
    run(tmp_path, body)
