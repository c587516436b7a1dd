"""The admin API over real HTTP on loopback: sign-in with two factors, tokens, rights, tenant isolation,
lists and exports, uploads, problem details and the audit log."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from pathlib import Path
from typing import Any

import pyotp
from aiohttp import ClientSession, CookieJar
from openpyxl import load_workbook

from tests.admin_world import PASSWORD, World, problem, run, signed_in, wav_bytes

# --- signing in ----------------------------------------------------------------------------------


def test_a_totp_administrator_is_not_in_until_the_code_is_given(tmp_path: Path) -> None:
    async def body(w: World) -> None:
        async with ClientSession(headers={"X-Requested-With": "pbx"}, cookie_jar=CookieJar(unsafe=True)) as c:
            async with c.post(f"{w.base}/api/v1/login", json={"login": "BOSS@exempel.se", "password": PASSWORD}) as r:
                assert await r.json() == {"verified": False, "second_factor": "totp"}
                cookie = r.cookies["pbx_session"]
                assert cookie["httponly"] and cookie["samesite"] == "Strict"
            async with c.get(f"{w.base}/api/v1/me") as r:
                await problem(r, 401)
            async with c.post(f"{w.base}/api/v1/login/verify", json={"code": "000000"}) as r:
                await problem(r, 401)
            async with c.post(f"{w.base}/api/v1/login/verify", json={"code": pyotp.TOTP(w.totp).now()}) as r:
                assert r.status == 200
            async with c.get(f"{w.base}/api/v1/me") as r:
                me = await r.json()
            assert me["tenant"] == "exempel" and me["role"] == "super_admin" and "admins" in me["rights"]
            async with c.post(f"{w.base}/api/v1/logout") as r:
                assert r.status == 204
            async with c.get(f"{w.base}/api/v1/me") as r:
                await problem(r, 401)
    run(tmp_path, body)


def test_an_sms_code_comes_through_the_gateway(tmp_path: Path) -> None:
    async def body(w: World) -> None:
        c = await signed_in(w, "sms@exempel.se")
        async with c:
            async with c.get(f"{w.base}/api/v1/me") as r:
                assert (await r.json())["login"] == "sms@exempel.se"
        assert [m["to"] for m in w.sms] == ["+46701234567"] and "code" in w.sms[0]["text"]
    run(tmp_path, body)


def test_wrong_passwords_are_rate_limited_and_unknown_logins_look_the_same(tmp_path: Path) -> None:
    async def body(w: World) -> None:
        async with ClientSession() as c:
            for login in ("nobody@exempel.se", "gbg@exempel.se"):
                async with c.post(f"{w.base}/api/v1/login", json={"login": login, "password": "wrong"}) as r:
                    assert (await problem(r, 401))["title"] == "Wrong login or password"
            for _ in range(4):
                async with c.post(f"{w.base}/api/v1/login", json={"login": "gbg@exempel.se", "password": "x"}) as r:
                    await problem(r, 401)
            async with c.post(f"{w.base}/api/v1/login", json={"login": "gbg@exempel.se", "password": PASSWORD}) as r:
                await problem(r, 429)  # even the right password, until the window has passed
                assert int(r.headers["Retry-After"]) > 0
    run(tmp_path, body)


def test_bearer_tokens_are_shown_once_work_and_can_be_revoked(tmp_path: Path) -> None:
    async def body(w: World) -> None:
        c = await signed_in(w, "boss@exempel.se")
        async with c:
            async with c.post(f"{w.base}/api/v1/tokens", json={"name": "crm", "expires_days": 30}) as r:
                assert r.status == 201
                created = await r.json()
            async with c.get(f"{w.base}/api/v1/tokens") as r:
                listed = await r.json()
            assert [t["name"] for t in listed] == ["crm"] and "token" not in listed[0]
            bearer = {"Authorization": f"Bearer {created['token']}"}
            async with ClientSession(headers=bearer) as api, api.get(f"{w.base}/api/v1/me") as r:
                assert (await r.json())["login"] == "boss@exempel.se"
            async with c.delete(f"{w.base}/api/v1/tokens/{created['id']}") as r:
                assert r.status == 204
            async with ClientSession(headers=bearer) as api, api.get(f"{w.base}/api/v1/me") as r:
                await problem(r, 401)
            forged = {"Authorization": f"Bearer pbx_{created['id']}.not-the-secret"}
            async with ClientSession(headers=forged) as api, api.get(f"{w.base}/api/v1/me") as r:
                await problem(r, 401)
    run(tmp_path, body)


def test_a_session_cookie_needs_the_csrf_header_for_changes(tmp_path: Path) -> None:
    async def body(w: World) -> None:
        c = await signed_in(w, "boss@exempel.se")
        async with c:
            async with c.post(f"{w.base}/api/v1/tokens", json={"name": "x"},
                              headers={"X-Requested-With": "evil"}) as r:
                assert (await problem(r, 403))["type"].endswith("/csrf")
    run(tmp_path, body)


# --- rights and isolation ------------------------------------------------------------------------


def test_another_tenants_objects_are_not_found_for_every_verb(tmp_path: Path) -> None:
    async def body(w: World) -> None:
        c = await signed_in(w, "boss@exempel.se")
        theirs = {"message": w.ids["annat-message"], "recording": w.ids["annat-recording"]}
        matrix = [
            ("GET", f"/voicemail/messages/{theirs['message']}", None),
            ("GET", f"/voicemail/messages/{theirs['message']}/audio", None),
            ("PATCH", f"/voicemail/messages/{theirs['message']}", {"heard": True}),
            ("DELETE", f"/voicemail/messages/{theirs['message']}", None),
            ("GET", f"/recordings/{theirs['recording']}/audio", None),
            ("DELETE", f"/recordings/{theirs['recording']}", None),
            ("GET", "/voicemail/boxes/info", None),  # Annat's box
        ]
        async with c:
            for method, path, payload in matrix:
                async with c.request(method, f"{w.base}/api/v1{path}", json=payload) as r:
                    await problem(r, 404)
            # lists hold only Exempel's rows; Annat's prompt of the same key is not Exempel's audio
            async with c.get(f"{w.base}/api/v1/voicemail/messages") as r:
                assert [m["id"] for m in (await r.json())["items"]] == [w.ids["exempel-message"]]
            async with c.get(f"{w.base}/api/v1/recordings") as r:
                assert [m["id"] for m in (await r.json())["items"]] == [w.ids["exempel-recording"]]
            async with c.get(f"{w.base}/api/v1/numbers?per_page=100") as r:
                assert all(n["number"] != "+46851234500" for n in (await r.json())["items"])
            async with c.get(f"{w.base}/api/v1/voicemail/boxes?per_page=100") as r:
                boxes = {b["key"]: b for b in (await r.json())["items"]}
            assert "info" not in boxes and boxes["vaxel"]["new"] == 1 and boxes["vaxel"]["heard"] == 0
            async with c.patch(f"{w.base}/api/v1/voicemail/messages/{w.ids['exempel-message']}",
                               json={"heard": True}) as r:
                assert r.status == 200
            async with c.get(f"{w.base}/api/v1/voicemail/boxes/vaxel") as r:
                box = await r.json()
            assert (box["new"], box["heard"], box["shared"]) == (0, 1, True) and box["listeners"]
        async with ClientSession(cookie_jar=CookieJar(unsafe=True)) as other:
            async with other.post(f"{w.base}/api/v1/login", json={"login": "admin@annat.se", "password": PASSWORD}):
                pass
            async with other.put(f"{w.base}/api/v1/prompts/exempel-huvudmeny/audio?filename=a.wav", data=wav_bytes(),
                                 headers={"X-Requested-With": "pbx"}) as r:
                assert r.status == 200
        async with await signed_in(w, "boss@exempel.se") as c2, \
                c2.get(f"{w.base}/api/v1/prompts/exempel-huvudmeny/audio") as r:
            await problem(r, 404)
        assert w.ctx.voicemail is not None
        annat_message = w.ctx.voicemail.message("annat", theirs["message"])
        assert not annat_message.heard  # nothing Exempel sent changed Annat's message
    run(tmp_path, body)


def test_an_account_administrator_sees_their_account_and_nothing_else(tmp_path: Path) -> None:
    async def body(w: World) -> None:
        async with await signed_in(w, "gbg@exempel.se") as c:
            async with c.get(f"{w.base}/api/v1/numbers") as r:
                assert [n["number"] for n in (await r.json())["items"]] == ["+46317654300"]
            for path in ("/voicemail/messages", "/recordings", "/audit"):
                async with c.get(f"{w.base}/api/v1{path}") as r:
                    await problem(r, 403)
        async with await signed_in(w, "viewer@exempel.se") as c:
            async with c.put(f"{w.base}/api/v1/prompts/exempel-huvudmeny/audio", data=wav_bytes()) as r:
                assert "prompts" in (await problem(r, 403))["detail"]
    run(tmp_path, body)


# --- lists, exports, changes, the audit log ------------------------------------------------------


def test_lists_filter_sort_page_and_export(tmp_path: Path) -> None:
    async def body(w: World) -> None:
        async with await signed_in(w, "boss@exempel.se") as c:
            async with c.get(f"{w.base}/api/v1/numbers") as r:
                page = await r.json()
            assert page["total"] == 7 and page["per_page"] == 20 and page["page"] == 1
            assert [n["number"] for n in page["items"]] == sorted(n["number"] for n in page["items"])
            async with c.get(f"{w.base}/api/v1/numbers?sort=-label&per_page=2&page=2") as r:
                second = await r.json()
            labels = sorted((n["label"] for n in page["items"]), reverse=True)
            assert [n["label"] for n in second["items"]] == labels[2:4]
            async with c.get(f"{w.base}/api/v1/numbers?q=göteborg") as r:
                assert [n["number"] for n in (await r.json())["items"]] == ["+46317654300"]
            async with c.get(f"{w.base}/api/v1/numbers?account=stockholm&format=csv") as r:
                assert r.headers["Content-Type"].startswith("text/csv")
                rows = list(csv.DictReader(io.StringIO(await r.text())))
            assert len(rows) == 6 and {row["account"] for row in rows} == {"stockholm"}
            async with c.get(f"{w.base}/api/v1/numbers?format=xlsx&q=mobile") as r:
                sheet = load_workbook(io.BytesIO(await r.read())).active
            assert sheet is not None
            values = [[cell.value for cell in row] for row in sheet.iter_rows()]
            assert values[0][:2] == ["number", "label"] and [v[0] for v in values[1:]] == ["+46701111111"]
    run(tmp_path, body)


def test_bad_requests_say_which_field_and_why(tmp_path: Path) -> None:
    async def body(w: World) -> None:
        async with await signed_in(w, "boss@exempel.se") as c:
            async with c.get(f"{w.base}/api/v1/numbers?per_page=0&sort=colour") as r:
                fields = {e["field"] for e in (await problem(r, 400))["errors"]}
            assert fields == {"query.per_page", "query.sort"}
            async with c.patch(f"{w.base}/api/v1/voicemail/messages/{w.ids['exempel-message']}",
                               json={"heard": "yes", "colour": 1}) as r:
                errors = (await problem(r, 422))["errors"]
            assert {e["field"] for e in errors} == {"body", "body.heard"}
            async with c.post(f"{w.base}/api/v1/tokens", data="{not json",
                               headers={"Content-Type": "application/json"}) as r:
                await problem(r, 400)
            async with c.get(f"{w.base}/api/v1/no-such-thing") as r:
                await problem(r, 404)
            async with c.put(f"{w.base}/api/v1/prompts/exempel-huvudmeny/audio?filename=x.mp3",
                             data=b"not audio at all " * 50) as r:
                assert (await problem(r, 422))["type"].endswith("/audio-not-audio")
    run(tmp_path, body)


def test_changes_are_audited_with_before_and_after(tmp_path: Path) -> None:
    async def body(w: World) -> None:
        message = w.ids["exempel-message"]
        async with await signed_in(w, "boss@exempel.se") as c:
            async with c.patch(f"{w.base}/api/v1/voicemail/messages/{message}", json={"heard": True}) as r:
                assert (await r.json())["heard_by"] == "boss@exempel.se"
            async with c.get(f"{w.base}/api/v1/voicemail/messages/{message}/audio") as r:
                assert r.headers["Content-Type"] == "audio/wav" and (await r.read())[:4] == b"RIFF"
            async with c.put(f"{w.base}/api/v1/prompts/exempel-goteborg/audio?filename=gbg.wav",
                             data=wav_bytes(1.5)) as r:
                uploaded = await r.json()
            assert uploaded["has_audio"] and abs(uploaded["seconds"] - 1.5) < 0.05 and uploaded["rate"] == 8000
            async with c.get(f"{w.base}/api/v1/prompts/exempel-goteborg/audio") as r:
                assert (await r.read())[:4] == b"RIFF"
            async with c.delete(f"{w.base}/api/v1/recordings/{w.ids['exempel-recording']}") as r:
                assert r.status == 204
            async with c.delete(f"{w.base}/api/v1/voicemail/messages/{message}") as r:
                assert r.status == 204
            async with c.get(f"{w.base}/api/v1/audit?sort=at") as r:
                log = (await r.json())["items"]
        assert [(e["action"], e["resource"]) for e in log] == [
            ("update", "voicemail_message"), ("update", "prompt_audio"), ("delete", "recording"),
            ("delete", "voicemail_message")]
        assert log[0]["before"] == {"heard": False, "folder": "new"} and log[0]["after"]["heard"] is True
        assert log[-1]["before"]["id"] == message and all(e["actor"] == "boss@exempel.se" for e in log)
    run(tmp_path, body)


def test_the_document_is_served_and_describes_every_route(tmp_path: Path) -> None:
    async def body(w: World) -> None:
        async with ClientSession() as c:
            async with c.get(f"{w.base}/api/v1/openapi.json") as r:
                doc = await r.json()
            async with c.get(f"{w.base}/api/v1/docs") as r:
                assert "openapi.json" in await r.text()
        assert doc["openapi"] == "3.1.0"
        assert {"/api/v1/login", "/api/v1/numbers", "/api/v1/voicemail/messages/{id}"} <= set(doc["paths"])
        patch = doc["paths"]["/api/v1/voicemail/messages/{id}"]["patch"]
        assert {"401", "403", "404", "422"} <= set(patch["responses"]) and patch["security"]
        assert json.dumps(doc)  # plain JSON all through
    run(tmp_path, body)


def test_schemathesis_finds_no_server_error_and_no_answer_off_the_document(tmp_path: Path) -> None:
    """Schemathesis generates requests from the served document (every phase: coverage, fuzzing, stateful)
    and checks every answer against it: no 5xx, statuses, content types and bodies as documented."""
    import sys

    async def body(w: World) -> None:
        async with await signed_in(w, "boss@exempel.se") as c, \
                c.post(f"{w.base}/api/v1/tokens", json={"name": "schemathesis"}) as r:
            token = (await r.json())["token"]
        cli = Path(sys.executable).with_name("schemathesis")
        config = Path(__file__).with_name("schemathesis.toml")
        proc = await asyncio.create_subprocess_exec(
            str(cli), "--no-color", "--config-file", str(config), "run", f"{w.base}/api/v1/openapi.json",
            "--checks", "all", "--exclude-path", "/api/v1/logout",  # it would end the token the run signs in with
            "-H", f"Authorization: Bearer {token}", "--max-examples", "20", "--seed", "20261129",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        out, _ = await asyncio.wait_for(proc.communicate(), 900)
        text = out.decode()
        # the whole report of what failed (schemathesis prints it under FAILURES/ERRORS), not only its tail
        start = min((i for i in (text.find("FAILURES"), text.find("ERRORS")) if i >= 0), default=-1)
        assert proc.returncode == 0, text[start:][:30000] if start >= 0 else text[-8000:]
        assert " passed" in text and "failed" not in text.rsplit("SUMMARY", 1)[-1].split("Warnings")[0]
    run(tmp_path, body)


def test_reads_show_this_instances_changes_at_once_and_another_instances_within_the_cache_time(
        tmp_path: Path) -> None:
    async def body(w: World) -> None:
        from sqlalchemy import update

        from pbx.db.models import NumberRow

        async def label(c: Any, number: str) -> str:
            async with c.get(f"{w.base}/api/v1/numbers?per_page=100") as r:
                page = await r.json()
                assert r.status == 200, page
                return str(next(n["label"] for n in page["items"] if n["number"] == number))

        async with await signed_in(w, "boss@exempel.se") as c:
            first = await label(c, "+46812345600")
            async with c.patch(f"{w.base}/api/v1/numbers/+46812345600", json={"label": "Växeln, ny"}) as r:
                assert r.status == 200, await r.text()
            assert first != "Växeln, ny" and await label(c, "+46812345600") == "Växeln, ny"  # no stale read
            with w.ctx.sessions() as session, session.begin():  # another instance changes it
                session.execute(update(NumberRow).where(NumberRow.number == "+46812345600").values(label="Annan"))
            await asyncio.sleep(w.ctx.read_cache_ttl_s + 0.1)
            assert await label(c, "+46812345600") == "Annan"
    run(tmp_path, body)
