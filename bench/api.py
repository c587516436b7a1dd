"""Admin API benchmark: requests per second and p99 latency of a typical read and a typical write, with
50 concurrent clients on loopback.

The API runs in its own process (as under `pbx up`), on a migrated database holding the demo tenants
(SQLite by default, the embedded set-up; `--database-url` for PostgreSQL). The load comes from a second
process: 50 aiohttp clients, each sending its next request as soon as the last one is answered, every one
with a bearer token (so each request is authenticated, checked against the OpenAPI document, scoped by
tenant and, for writes, audited).

- read:  GET /api/v1/numbers (the tenant's numbers, one JSON page)
- write: PATCH /api/v1/voicemail/messages/{id} (mark a message heard/unheard: the message row, its audit
  entry, one transaction)
- read, uncached: the same read on a second application of the same process with the configuration
  read cache off (every request goes to the database; only the sign-in stays cached)
- baseline, same server, same run: GET /bench/baseline, a bare aiohttp handler returning the same bytes
  the read returns, with no authentication, validation or database. The ratio read/baseline says what our
  layers cost over aiohttp itself.

Run: .venv/bin/python bench/api.py [--seconds 10] [--clients 50] [--database-url URL]
Prints a table, then one JSON line (read_rps, read_p99_ms, write_rps, write_p99_ms, baseline_rps, …)."""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _report import report

READ_TARGET_RPS, READ_TARGET_P99 = 1000, 100.0
WRITE_TARGET_RPS, WRITE_TARGET_P99 = 200, 250.0


def prepare(url: str, media: Path) -> tuple[str, list[str]]:
    """Migrate, load the demo tenants, make an administrator with a bearer token and 50 voicemail
    messages; returns (token, message ids)."""
    from admin_api.auth import AdminStore
    from pbx.asterisk.sim_core import write_wav
    from pbx.db import make_engine, migrate, save_tenant, session_factory
    from pbx.db.models import AdminRow
    from pbx.demo import annat, demo_accounts, exempel
    from pbx.voicemail.messages import VoicemailStore

    migrate(url)
    sessions = session_factory(make_engine(url))
    with sessions() as session:
        save_tenant(session, exempel(), demo_accounts())
        save_tenant(session, annat())
        session.commit()
    clock = lambda: datetime.now(UTC)  # noqa: E731
    admins = AdminStore(sessions, clock)
    admin_id, _ = admins.create_admin("exempel", "bench@exempel.se", "Bench", "bench password 1", "admin")
    with sessions() as session:
        admin = session.get(AdminRow, admin_id)
        assert admin is not None
        session.expunge(admin)
    token = admins.open(admin, "bearer", "bench").token
    vm = VoicemailStore(sessions, media, clock)
    ids = []
    for i in range(50):
        spool = media / "spool" / f"{i}.wav"
        write_wav(str(spool), 1.5)
        message = vm.deposit("exempel", "vaxel", spool, call_id=f"b.{i}", caller="+46701234567",
                             dialled="+46812345600", at=clock())
        assert message is not None
        ids.append(message.id)
    return token, ids


def serve(url: str, media: str, port_q: mp.Queue) -> None:  # type: ignore[type-arg]
    """Two API applications on one database: as shipped (configuration reads kept 0.5 s per tenant),
    and with that read cache off, so the bench shows what the cache is worth."""
    import logging

    from aiohttp import web

    from admin_api.app import ApiContext, create_app
    from admin_api.auth import AdminStore
    from pbx.db import make_engine, session_factory
    from pbx.voicemail.messages import VoicemailStore

    logging.disable(logging.INFO)  # the request logs would measure the terminal
    sessions = session_factory(make_engine(url))
    clock = lambda: datetime.now(UTC)  # noqa: E731

    def app_with(read_cache_ttl_s: float) -> web.Application:
        return create_app(ApiContext(sessions, AdminStore(sessions, clock), clock,
                                     voicemail=VoicemailStore(sessions, Path(media), clock),
                                     read_cache_ttl_s=read_cache_ttl_s))
    app, uncached = app_with(0.5), app_with(0.0)
    baseline: list[bytes] = []

    async def bare(_: web.Request) -> web.Response:
        return web.Response(body=baseline[0] if baseline else b"{}", content_type="application/json")
    app.router.add_get("/bench/baseline", bare)
    app.router.add_put("/bench/baseline", lambda r: _keep(r, baseline))

    async def main() -> None:
        ports = []
        for application in (app, uncached):
            runner = web.AppRunner(application, access_log=None)
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", 0, backlog=1024).start()
            ports.append(runner.addresses[0][1])
        port_q.put(ports)
        await asyncio.Event().wait()
    asyncio.run(main())


async def _keep(request: Any, into: list[bytes]) -> Any:
    from aiohttp import web
    into[:] = [await request.read()]
    return web.Response(status=204)


async def load(base: str, token: str, clients: int, seconds: float, make: Any) -> tuple[int, list[float], int]:
    """`clients` loops for `seconds`: (requests answered, latencies in ms, failures)."""
    import aiohttp

    latencies: list[float] = []
    failures = 0
    stop = time.perf_counter() + seconds
    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=connector, headers={"Authorization": f"Bearer {token}"}) as client:
        async def one(n: int) -> None:
            nonlocal failures
            i = 0
            while time.perf_counter() < stop:
                method, path, body, ok = make(n, i)
                i += 1
                t0 = time.perf_counter()
                async with client.request(method, base + path, json=body) as r:
                    await r.read()
                    if r.status != ok:
                        failures += 1
                latencies.append((time.perf_counter() - t0) * 1000)
        await asyncio.gather(*(one(n) for n in range(clients)))
    return len(latencies), latencies, failures


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[98] if len(values) >= 100 else max(values, default=0.0)


def drive(base: str, uncached: str, token: str, ids: list[str], clients: int, seconds: float,
          out: mp.Queue) -> None:  # type: ignore[type-arg]
    async def main() -> dict[str, Any]:
        import aiohttp
        async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as c:
            async with c.get(base + "/api/v1/numbers") as r:
                assert r.status == 200, await r.text()
                page = await r.read()
            async with c.put(base + "/bench/baseline", data=page) as r:
                assert r.status == 204
        results: dict[str, Any] = {}
        runs = {
            "baseline": lambda n, i: ("GET", "/bench/baseline", None, 200),
            "read": lambda n, i: ("GET", "/api/v1/numbers", None, 200),
            "write": lambda n, i: ("PATCH", f"/api/v1/voicemail/messages/{ids[n % len(ids)]}",
                                   {"heard": i % 2 == 0}, 200),
        }
        for name, make in [*runs.items(), ("read_uncached", runs["read"])]:
            server = uncached if name == "read_uncached" else base
            await load(server, token, clients, min(1.0, seconds / 5), make)  # warm-up
            count, latencies, failures = await load(server, token, clients, seconds, make)
            results[name] = (count / seconds, p99(latencies), failures, statistics.median(latencies))
        return results
    out.put(asyncio.run(main()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/pbx.sqlite"
        token, ids = prepare(url, Path(tmp) / "media")
        ctx = mp.get_context("spawn")
        port_q: mp.Queue = ctx.Queue()  # type: ignore[type-arg]
        server = ctx.Process(target=serve, args=(url, str(Path(tmp) / "media"), port_q), daemon=True)
        server.start()
        try:
            ports = port_q.get(timeout=60)
            base, uncached = (f"http://127.0.0.1:{port}" for port in ports)
            out: mp.Queue = ctx.Queue()  # type: ignore[type-arg]
            client = ctx.Process(target=drive, args=(base, uncached, token, ids, args.clients, args.seconds,
                                                         out))
            client.start()
            results = out.get(timeout=args.seconds * 8 + 120)
            client.join()
        finally:
            server.terminate()
            server.join()
    (b_rps, b_p99, _, _), (r_rps, r_p99, r_fail, r_med), (w_rps, w_p99, w_fail, w_med) = (
        results["baseline"], results["read"], results["write"])
    u_rps, u_p99, u_fail, u_med = results["read_uncached"]
    backend = "postgresql" if url.startswith("postgresql") else "sqlite"
    report([
        (f"read GET /numbers ({args.clients} clients, {backend})", f"{r_rps:,.0f} req/s",
         f">= {READ_TARGET_RPS} req/s"),
        ("read p99 / median", f"{r_p99:.1f} / {r_med:.1f} ms", f"p99 <= {READ_TARGET_P99:.0f} ms"),
        ("write PATCH /voicemail/messages/{id}", f"{w_rps:,.0f} req/s", f">= {WRITE_TARGET_RPS} req/s"),
        ("write p99 / median", f"{w_p99:.1f} / {w_med:.1f} ms", f"p99 <= {WRITE_TARGET_P99:.0f} ms"),
        ("read with the configuration read cache off", f"{u_rps:,.0f} req/s",
         f"p99 {u_p99:.1f} / median {u_med:.1f} ms"),
        ("baseline: bare aiohttp handler, same bytes", f"{b_rps:,.0f} req/s", f"p99 {b_p99:.1f} ms"),
        ("read / baseline", f"{r_rps / b_rps:.2f}", "what auth, validation and SQL cost"),
        ("failed requests (read, write, uncached read)", f"{r_fail}, {w_fail}, {u_fail}", "0"),
    ], {"read_rps": round(r_rps), "read_p99_ms": round(r_p99, 1), "write_rps": round(w_rps),
        "write_p99_ms": round(w_p99, 1), "read_uncached_rps": round(u_rps), "read_uncached_p99_ms": round(u_p99, 1),
        "baseline_rps": round(b_rps), "baseline_p99_ms": round(b_p99, 1),
        "read_vs_baseline": round(r_rps / b_rps, 3), "clients": args.clients, "backend": backend,
        "failures": r_fail + w_fail + u_fail})


if __name__ == "__main__":
    main()
