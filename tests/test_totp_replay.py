"""A TOTP code signs in once (RFC 6238 §5.2): the same code again, or an older one, is refused, even when two
sign-ins race with it; the next period's code works. Real HTTP on loopback against the migrated test world."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pyotp
from aiohttp import ClientSession, CookieJar
from sqlalchemy import select

from pbx.db.models import AdminRow
from tests.admin_world import PASSWORD, World, problem, run

BOSS = "boss@exempel.se"


async def waiting_for_code(w: World) -> ClientSession:
    """A browser session past the password, waiting for the second factor."""
    client = ClientSession(headers={"X-Requested-With": "pbx"}, cookie_jar=CookieJar(unsafe=True))
    async with client.post(f"{w.base}/api/v1/login", json={"login": BOSS, "password": PASSWORD}) as r:
        assert r.status == 200 and (await r.json())["second_factor"] == "totp"
    return client


async def give(w: World, client: ClientSession, code: str) -> int:
    async with client.post(f"{w.base}/api/v1/login/verify", json={"code": code}) as r:
        if r.status != 200:
            assert (await problem(r, 401))["type"].endswith("/bad-code")
        return r.status


async def me(w: World, client: ClientSession) -> int:
    async with client.get(f"{w.base}/api/v1/me") as r:
        return r.status


def test_the_same_code_twice_is_refused_the_second_time_and_the_next_periods_code_works(tmp_path: Path) -> None:
    async def body(w: World) -> None:
        totp = pyotp.TOTP(w.totp)
        step = totp.timecode(datetime.now(UTC))
        code, following = totp.generate_otp(step), totp.generate_otp(step + 1)
        async with await waiting_for_code(w) as first, await waiting_for_code(w) as second:
            assert await give(w, first, code) == 200 and await me(w, first) == 200
            assert await give(w, second, code) == 401  # seen over the shoulder, or replayed: refused
            assert await me(w, second) == 401  # still waiting for a good code
            assert await give(w, second, following) == 200 and await me(w, second) == 200
    run(tmp_path, body)


def test_a_code_older_than_the_last_one_used_is_refused_though_still_in_the_window(tmp_path: Path) -> None:
    async def body(w: World) -> None:
        totp = pyotp.TOTP(w.totp)
        step = totp.timecode(datetime.now(UTC))
        async with await waiting_for_code(w) as first, await waiting_for_code(w) as second:
            assert await give(w, first, totp.generate_otp(step + 1)) == 200  # a phone clock a little ahead
            assert await give(w, second, totp.generate_otp(step)) == 401
        with w.ctx.sessions() as session:
            assert session.scalar(select(AdminRow.totp_last_step).where(AdminRow.login == BOSS)) == step + 1
    run(tmp_path, body)


def test_two_sign_ins_racing_with_one_code_let_only_one_in(tmp_path: Path) -> None:
    async def body(w: World) -> None:
        admins = w.ctx.admins
        admin = admins.authenticate(BOSS, PASSWORD)
        assert admin is not None
        for offset in (0, 1):  # a fresh code each round (the second round: the next period's)
            code = pyotp.TOTP(w.totp).generate_otp(pyotp.TOTP(w.totp).timecode(datetime.now(UTC)) + offset)
            tokens = [admins.open(admin, "session").token for _ in range(4)]
            results = await asyncio.gather(*(asyncio.to_thread(admins.verify, t, code) for t in tokens))
            assert sorted(results) == [False, False, False, True], offset
            assert [admins.resolve(t) is not None for t in tokens] == results  # only the winner is signed in
    run(tmp_path, body)
