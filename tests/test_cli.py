"""The `pbx` command a newcomer and an administrator use: the demo and what-if, on a real SQLite file."""

from __future__ import annotations

from pathlib import Path

import pytest

from pbx.cli import main


@pytest.fixture()
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "pbx.sqlite"
    monkeypatch.setenv("PBX_DATABASE_URL", f"sqlite:///{path}")
    return path


def test_demo_seeds_the_company_and_shows_its_calls(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert db.exists()
    assert "2 tenants" in out
    assert "Exempel AB" in out and "Annat AB" in out
    assert "schedule Kontorstid holiday" in out
    assert "Åsa Öberg is at lunch until 12:45" in out
    # a second run finds the seeded configuration instead of seeding again
    assert main(["demo"]) == 0
    assert "2 tenants" in capsys.readouterr().out


def test_what_if_on_christmas_eve_goes_to_the_switchboard_box(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["what-if", "--number", "+46812345600", "--at", "2026-12-24T10:00"]) == 0
    out = capsys.readouterr().out
    assert "Thu 2026-12-24 10:00 CET" in out
    assert "holiday: Christmas Eve" in out or "Julafton" in out
    assert "voicemail Växel" in out


def test_what_if_follows_keys_and_overflow(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["what-if", "--number", "+46812345600", "--at", "2026-11-24T10:00", "--digits", "1",
                 "--unanswered"]) == 0
    out = capsys.readouterr().out
    assert "pressed 1 at menu Huvudmeny" in out
    assert "answer group Sälj" in out
    assert "voicemail Sälj" in out


def test_what_if_with_presence_and_nobody_logged_in(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["what-if", "--number", "+46812345610", "--at", "2026-11-24T12:10",
                 "--presence", "asa=lunch@12:00-12:45"]) == 0
    out = capsys.readouterr().out
    assert "Åsa Öberg is at lunch until 12:45" in out
    assert "presence rule lunch → user David Dahl" in out
    assert "dial PJSIP/david" in out
    assert main(["what-if", "--number", "+46812345600", "--at", "2026-11-24T10:00", "--digits", "2",
                 "--logged-in", "none"]) == 0
    assert "no agent logged in → overflow" in capsys.readouterr().out


def test_what_if_for_an_unknown_number_says_so(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["what-if", "--number", "+46899999999", "--at", "2026-11-24T10:00"]) == 0
    assert "is not a number of any tenant" in capsys.readouterr().out


def test_pbx_up_serves_the_demo_on_a_simulated_asterisk(db: Path, monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("PBX_AGI_BIND", "127.0.0.1:0")
    monkeypatch.setenv("PBX_HTTP_BIND", "127.0.0.1:0")
    monkeypatch.setenv("PBX_API_BIND", "127.0.0.1:0")
    monkeypatch.setenv("PBX_MEDIA", str(db.parent / "media"))
    monkeypatch.setenv("PBX_PROMPTS", str(db.parent / "prompts"))
    monkeypatch.setenv("PBX_SIM_SPEED", "500")
    monkeypatch.setenv("PBX_SPOOL", str(db.parent / "spool"))
    monkeypatch.setenv("PBX_LOG_LEVEL", "WARNING")
    assert main(["up", "--stop-after", "0.5"]) == 0
    out = capsys.readouterr().out
    assert "pbx up: FastAGI on 127.0.0.1:" in out and "simulated Asterisk" in out
    assert out.count("Call from ") == 2
    assert "why: +46812345600 is Exempel AB's Stockholm main number" in out
    assert "call ended:" in out


def test_pbx_call_places_one_call_and_shows_why(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["call", "+46812345600", "--digits", "2", "--at", "2026-11-24T10:00", "--speed", "500"]) == 0
    out = capsys.readouterr().out
    assert "pressed 2 at menu Huvudmeny → queue Support" in out
    # both agents idle alike: longest idle falls back to members' order, so David takes it
    assert "answered by PJSIP/david" in out


def test_an_administrator_made_with_the_cli_signs_in_to_the_api_pbx_up_serves(
        db: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import asyncio
    import io
    import re

    from aiohttp import ClientSession, CookieJar

    from pbx.cli import _load
    from pbx.live import run_up
    from pbx.settings import Settings

    for name, value in (("PBX_AGI_BIND", "127.0.0.1:0"), ("PBX_HTTP_BIND", "127.0.0.1:0"),
                        ("PBX_API_BIND", "127.0.0.1:0"), ("PBX_SPOOL", str(db.parent / "spool")),
                        ("PBX_MEDIA", str(db.parent / "media")), ("PBX_PROMPTS", str(db.parent / "prompts")),
                        ("PBX_ADMIN_PASSWORD", "a long enough password")):
        monkeypatch.setenv(name, value)
    assert main(["demo"]) == 0  # seeds the tenants and their accounts
    assert main(["admin-add", "--tenant", "exempel", "--login", "Boss@Exempel.se", "--name", "Bo",
                 "--second-factor", "none"]) == 0
    assert "administrator Boss@Exempel.se of exempel created (super_admin)" in capsys.readouterr().out
    assert main(["admin-add", "--tenant", "exempel", "--login", "boss@exempel.se", "--name", "Twin"]) == 1
    assert main(["admin-add", "--tenant", "exempel", "--login", "gbg@exempel.se", "--name", "G",
                 "--role", "account_admin", "--account", "goteborg"]) == 0
    assert "authenticator app: otpauth://totp/" in capsys.readouterr().out

    async def scenario() -> dict[str, object]:
        settings = Settings.from_env()
        configs, presences = _load(settings, seed=True)
        out = io.StringIO()
        task = asyncio.create_task(run_up(settings, configs, presences, demo_calls=False, out=out, stop_after_s=30))
        while "admin API on" not in out.getvalue():
            await asyncio.sleep(0.05)
        match = re.search(r"admin API on (http://[0-9.:]+)/api/v1/docs", out.getvalue())
        assert match is not None
        try:
            async with ClientSession(cookie_jar=CookieJar(unsafe=True)) as client:
                async with client.post(f"{match[1]}/api/v1/login",
                                       json={"login": "boss@exempel.se", "password": "a long enough password"}):
                    pass
                async with client.get(f"{match[1]}/api/v1/numbers?account=goteborg") as r:
                    numbers: dict[str, object] = await r.json()
                    return numbers
        finally:
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

    numbers = asyncio.run(scenario())
    assert [n["number"] for n in numbers["items"]] == ["+46317654300"]  # type: ignore[index, union-attr]
