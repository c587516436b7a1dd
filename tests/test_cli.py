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
