"""Failed sign-ins are limited across every admin API instance through Redis, and still limited (per instance)
when Redis is down: two instances over real HTTP on one database, one real redis-server."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
from aiohttp import ClientSession
from aiohttp.test_utils import TestServer
from redis.exceptions import RedisError

from admin_api.app import ApiContext, create_app
from admin_api.auth import LoginLimiter as LoginLimiterFromAuth
from admin_api.limits import LoginLimiter, RedisLoginLimiter
from tests.admin_world import PASSWORD, World, problem, world
from tests.redis_server import RedisServer, find_redis_server

LOGIN = "gbg@exempel.se"


@dataclass
class Instances:
    a: str  # base URL of one instance
    b: str  # … and of another, on the same database and the same Redis
    world: World
    redis: aioredis.Redis
    prefix: str

    async def sign_in(self, base: str, login: str = LOGIN, password: str = PASSWORD) -> Any:
        """(status, Retry-After or None) of one sign-in."""
        async with ClientSession() as c, c.post(f"{base}/api/v1/login",
                                                json={"login": login, "password": password}) as r:
            if r.status in (401, 429):
                await problem(r, r.status)
            else:
                assert r.status == 200, await r.text()
            return r.status, r.headers.get("Retry-After")


@asynccontextmanager
async def instances(tmp: Path, redis_url: str, **limits: Any) -> AsyncIterator[Instances]:
    """Two API instances sharing one database and one Redis, each with its own RedisLoginLimiter; the keys
    are removed afterwards (when that Redis is still there)."""
    prefix = f"pbxtest-limits-{uuid.uuid4().hex[:10]}:"
    client = aioredis.from_url(redis_url)
    try:
        async with world(tmp) as w:
            w.ctx.limiter = RedisLoginLimiter(client, prefix=prefix, **limits)
            other = ApiContext(w.ctx.sessions, w.ctx.admins, w.ctx.clock, send_sms=w.ctx.send_sms,
                               limiter=RedisLoginLimiter(client, prefix=prefix, **limits))
            async with TestServer(create_app(other, validate_responses=True), host="127.0.0.1") as server:
                yield Instances(w.base, str(server.make_url("")).rstrip("/"), w, client, prefix)
        with contextlib.suppress(RedisError, OSError, TimeoutError):
            async with asyncio.timeout(1):
                async for key in client.scan_iter(f"{prefix}*"):
                    await client.delete(key)
    finally:
        await client.aclose()


def run(tmp: Path, redis_url: str, body: Callable[[Instances], Awaitable[None]], **limits: Any) -> None:
    async def main() -> None:
        async with instances(tmp, redis_url, **limits) as both:
            await body(both)
    asyncio.run(main())


def test_five_wrong_passwords_spread_over_two_instances_lock_the_login_on_both(tmp_path: Path, redis_url: str) -> None:
    async def body(i: Instances) -> None:
        for base in (i.a, i.b, i.a, i.b, i.a):
            assert (await i.sign_in(base, password="wrong password"))[0] == 401
        for base in (i.b, i.a):  # the 6th attempt, on either instance, even with the right password
            status, retry_after = await i.sign_in(base)
            assert status == 429 and retry_after is not None and 0 < int(retry_after) <= 300
        # another login from the same address is not locked out
        assert (await i.sign_in(i.b, login="viewer@exempel.se"))[0] == 200
    run(tmp_path, redis_url, body)


def test_a_sign_in_starts_the_count_again_on_every_instance(tmp_path: Path, redis_url: str) -> None:
    async def body(i: Instances) -> None:
        for base in (i.a, i.b, i.a, i.b):
            assert (await i.sign_in(base, password="wrong password"))[0] == 401
        assert (await i.sign_in(i.a))[0] == 200
        assert await i.redis.exists(f"{i.prefix}{{login-limit}}:login:{LOGIN}") == 0
        for base in (i.b, i.a, i.b, i.a):  # without the reset these would make 8 failures
            assert (await i.sign_in(base, password="wrong password"))[0] == 401
        assert (await i.sign_in(i.b))[0] == 200
    run(tmp_path, redis_url, body)


def test_the_window_passes_and_its_keys_expire(tmp_path: Path, redis_url: str) -> None:
    async def body(i: Instances) -> None:
        # failures recorded straight away (no password hashing between them): all inside the short window
        for _ in range(5):
            await i.world.ctx.limiter.failed(f"login:{LOGIN}", "addr:127.0.0.1")
        await i.world.ctx.limiter.failed("login:tried-once@exempel.se")
        status, retry_after = await i.sign_in(i.b)
        assert status == 429 and retry_after in ("1", "2")
        once = f"{i.prefix}{{login-limit}}:login:tried-once@exempel.se"
        assert 0 < await i.redis.pttl(once) <= 2000  # nothing stays in Redis for good
        await asyncio.sleep(2.2)
        assert (await i.sign_in(i.b))[0] == 200
        assert await i.redis.exists(once) == 0  # never looked at again, yet gone
    run(tmp_path, redis_url, body, window_s=2.0)


def test_the_address_limit_counts_every_login_from_one_address(tmp_path: Path, redis_url: str) -> None:
    async def body(i: Instances) -> None:
        for base, login in ((i.a, "nobody@exempel.se"), (i.b, "gbg@exempel.se"), (i.a, "sms@exempel.se")):
            assert (await i.sign_in(base, login=login, password="wrong password"))[0] == 401
        status, retry_after = await i.sign_in(i.b, login="viewer@exempel.se")  # never tried, right password
        assert status == 429 and retry_after is not None
        key = f"{i.prefix}{{login-limit}}:addr:127.0.0.1"
        assert await i.redis.zcard(key) == 3
    run(tmp_path, redis_url, body, attempts=5, per_address=3)


def test_a_redis_that_stops_leaves_sign_in_working_and_limited_per_instance(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    server = RedisServer(find_redis_server())
    server.start()
    try:
        async def body(i: Instances) -> None:
            for base in (i.a, i.a, i.a, i.b):
                assert (await i.sign_in(base, password="wrong password"))[0] == 401
            server.stop(remove=False)
            with caplog.at_level(logging.WARNING, logger="admin_api.limits"):
                # no 500: a right password signs in, a wrong one is refused
                assert (await i.sign_in(i.a, login="viewer@exempel.se"))[0] == 200
                for _ in range(2):
                    assert (await i.sign_in(i.a, password="wrong password"))[0] == 401
                # instance A counted its 3 failures from before the outage and 2 during it: the limit holds
                status, retry_after = await i.sign_in(i.a)
                assert status == 429 and retry_after is not None
                # instance B saw 1 failure: it limits alone now
                assert (await i.sign_in(i.b))[0] == 200
            events = [r for r in caplog.records if getattr(r, "event", None) == "login_limiter_unavailable"]
            assert events and all(r.levelno == logging.WARNING for r in events)
            assert {getattr(r, "action", None) for r in events} >= {"retry_after", "failed", "succeeded"}
        run(tmp_path, server.url, body, timeout_s=0.3)
    finally:
        server.stop()


def test_an_unreachable_redis_falls_back_to_counting_in_memory(tmp_path: Path) -> None:
    with socket.socket() as sock:  # a port where nothing listens
        sock.bind(("127.0.0.1", 0))
        unreachable = f"redis://127.0.0.1:{sock.getsockname()[1]}/0"

    async def body(i: Instances) -> None:
        for _ in range(5):
            assert (await i.sign_in(i.b, password="wrong password"))[0] == 401
        assert (await i.sign_in(i.b))[0] == 429
        assert (await i.sign_in(i.a))[0] == 200  # the other instance counts alone
    run(tmp_path, unreachable, body, timeout_s=0.3)


def test_the_in_memory_limiter_keeps_its_rules() -> None:
    now = [0.0]
    limiter = LoginLimiter(attempts=2, window_s=10.0, clock=lambda: now[0], per_address=3)
    assert LoginLimiterFromAuth is LoginLimiter  # the old import still works

    async def scenario() -> None:
        keys = ("login:a", "addr:x")
        await limiter.failed(*keys)
        now[0] = 4.0
        await limiter.failed(*keys)
        assert await limiter.retry_after(*keys) == 6.0  # until the first failure leaves the window
        assert await limiter.retry_after("login:b", "addr:x") == 0.0  # 2 of 3 for the address
        await limiter.succeeded("login:a")
        assert await limiter.retry_after(*keys) == 0.0
        await limiter.failed("login:b", "addr:x")
        assert await limiter.retry_after("login:c", "addr:x") == 6.0
        now[0] = 10.5
        assert await limiter.retry_after("login:c", "addr:x") == 0.0  # the failure at 0 has left the window
    asyncio.run(scenario())


def test_pbx_up_with_a_redis_url_counts_failed_sign_ins_in_redis(
        tmp_path: Path, redis_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import io
    import re

    from pbx.cli import _load, main
    from pbx.live import run_up
    from pbx.settings import Settings

    for name, value in (("PBX_DATABASE_URL", f"sqlite:///{tmp_path / 'pbx.sqlite'}"), ("PBX_REDIS_URL", redis_url),
                        ("PBX_AGI_BIND", "127.0.0.1:0"), ("PBX_HTTP_BIND", "127.0.0.1:0"),
                        ("PBX_API_BIND", "127.0.0.1:0"), ("PBX_SPOOL", str(tmp_path / "spool")),
                        ("PBX_MEDIA", str(tmp_path / "media")), ("PBX_PROMPTS", str(tmp_path / "prompts")),
                        ("PBX_ADMIN_PASSWORD", "a long enough password")):
        monkeypatch.setenv(name, value)
    assert main(["demo"]) == 0
    assert main(["admin-add", "--tenant", "exempel", "--login", "limits@exempel.se", "--name", "L",
                 "--second-factor", "none"]) == 0
    key = "pbx:{login-limit}:login:limits@exempel.se"

    async def scenario() -> None:
        settings = Settings.from_env()
        configs, presences = _load(settings, seed=True)
        out = io.StringIO()
        task = asyncio.create_task(run_up(settings, configs, presences, demo_calls=False, out=out, stop_after_s=60))
        client = aioredis.from_url(redis_url)
        try:
            while "admin API on" not in out.getvalue():
                assert not task.done(), out.getvalue()
                await asyncio.sleep(0.05)
            match = re.search(r"admin API on (http://[0-9.:]+)/api/v1/docs", out.getvalue())
            assert match is not None
            async with ClientSession() as c:
                async with c.post(f"{match[1]}/api/v1/login",
                                  json={"login": "limits@exempel.se", "password": "wrong password"}) as r:
                    await problem(r, 401)
                assert await client.zcard(key) == 1  # counted where every instance sees it
                async with c.post(f"{match[1]}/api/v1/login",
                                  json={"login": "limits@exempel.se", "password": "a long enough password"}) as r:
                    assert r.status == 200, await r.text()
                assert await client.exists(key) == 0
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            async for stale in client.scan_iter("pbx:*"):  # the live state pbx up kept there too
                await client.delete(stale)
            await client.aclose()
    asyncio.run(scenario())


def test_the_in_memory_limiter_forgets_logins_tried_long_ago_when_it_holds_many() -> None:
    now = [0.0]
    limiter = LoginLimiter(attempts=2, window_s=10.0, clock=lambda: now[0], max_keys=100)

    async def scenario() -> None:
        for n in range(100):
            await limiter.failed(f"login:old{n}")
        now[0] = 20.0
        await limiter.failed("login:recent", "addr:x")
        await limiter.failed("login:recent")  # more than 100 keys: the old ones, out of the window, go
        assert sorted(limiter._failures) == ["addr:x", "login:recent"]
        assert await limiter.retry_after("login:recent") == 10.0  # what is in the window stays
    asyncio.run(scenario())
