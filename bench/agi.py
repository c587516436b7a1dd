"""FastAGI benchmark: decisions per second of one controller process over loopback, and latency
at a fixed 1,000 requests/s. The controller (FastAGI server + router + demo tenants) runs in
this process; the load generator runs in a second process, as Asterisk would.

Run: .venv/bin/python bench/agi.py [--seconds N] [--concurrency C]
Prints a table, then one JSON line (agi_per_s, agi_p50_ms_at_1000, agi_p99_ms_at_1000)."""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import sys
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _report import report

from pbx.asterisk.agi import AGICommandParser, encode_environment, encode_response

MAIN = "+46812345600"


def environment(i: int, port: int, position: str, result: str) -> bytes:
    """The environment a real Asterisk sends for `AGI(agi://…/route,dialled,position,result)`."""
    uid = f"1795324157.{i}"
    return encode_environment({
        "agi_network": "yes", "agi_network_script": "route", "agi_request": f"agi://127.0.0.1:{port}/route",
        "agi_channel": f"PJSIP/trunk-{i:08x}", "agi_language": "sv", "agi_type": "PJSIP", "agi_uniqueid": uid,
        "agi_version": "22.10.1", "agi_callerid": "+46701234567", "agi_calleridname": "Åsa Öberg",
        "agi_callingpres": "0", "agi_callingani2": "0", "agi_callington": "0", "agi_callingtns": "0",
        "agi_dnid": MAIN, "agi_rdnis": "unknown", "agi_context": "pbx-step", "agi_extension": "s",
        "agi_priority": "1", "agi_enhanced": "0.0", "agi_accountcode": "", "agi_threadid": "140631145543360",
        "agi_arg_1": MAIN, "agi_arg_2": position, "agi_arg_3": result,
    })


class _AsteriskSide(asyncio.Protocol):
    """Asterisk's half of one FastAGI session: send the environment, answer each command."""

    def __init__(self, env: bytes, done: asyncio.Future[int]) -> None:
        self.env, self.done, self.parser, self.answered = env, done, AGICommandParser(), 0
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.write(self.env)

    def data_received(self, data: bytes) -> None:
        assert self.transport is not None
        for _command in self.parser.feed(data):
            self.transport.write(encode_response(200, "1"))
            self.answered += 1

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_result(self.answered)


async def one_session(i: int, port: int, position: str, result: str) -> float:
    """Seconds from connecting to the controller closing the session (after its 2 commands)."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[int] = loop.create_future()
    t0 = time.perf_counter()
    transport, _ = await loop.create_connection(lambda: _AsteriskSide(environment(i, port, position, result), done),
                                                "127.0.0.1", port)
    answered = await done
    elapsed = time.perf_counter() - t0
    transport.close()
    if answered < 2:
        raise RuntimeError(f"session {i}: the controller answered {answered} commands, expected 2")
    return elapsed


# A realistic mix of requests: new calls (welcome + schedule + menu) and menu choices.
REQUESTS = [("", ""), ("exempel^huvud^meny^^0^0", "1"), ("exempel^huvud^meny^^0^0", "2"), ("", ""),
            ("exempel^huvud^meny^^0^0", "3")]


async def closed_loop(port: int, seconds: float, concurrency: int) -> dict[str, float]:
    done = 0
    stop = time.perf_counter() + seconds

    async def worker(w: int) -> None:
        nonlocal done
        i = w
        while time.perf_counter() < stop:
            position, result = REQUESTS[i % len(REQUESTS)]
            await one_session(i, port, position, result)
            done += 1
            i += concurrency

    t0 = time.perf_counter()
    await asyncio.gather(*(worker(w) for w in range(concurrency)))
    return {"per_s": done / (time.perf_counter() - t0), "n": done}


async def open_loop(port: int, rate: float, seconds: float) -> dict[str, float]:
    """Sessions started on a fixed schedule, whatever the answers' speed (no coordinated omission).
    Latency is from the moment the session connects; asyncio's timer wakes up to ~1 ms late, so
    the lag behind the schedule is reported apart (it is the load generator's, not the server's)."""
    latencies: list[float] = []
    lags: list[float] = []
    tasks = []
    start = time.perf_counter()
    n = int(rate * seconds)

    async def timed(i: int, due: float) -> None:
        lags.append(time.perf_counter() - due)
        position, result = REQUESTS[i % len(REQUESTS)]
        latencies.append(await one_session(i, port, position, result))

    for i in range(n):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(timed(i, due)))
    await asyncio.gather(*tasks)
    latencies.sort()
    lags.sort()
    return {"p50_ms": latencies[len(latencies) // 2] * 1000, "p99_ms": latencies[int(len(latencies) * 0.99)] * 1000,
            "n": len(latencies), "lag_p99_ms": lags[int(len(lags) * 0.99)] * 1000}


def load_process(port: int, mode: str, arg: float, seconds: float, out: mp.Queue) -> None:  # type: ignore[type-arg]
    if mode == "closed":
        out.put(asyncio.run(closed_loop(port, seconds, int(arg))))
    else:
        out.put(asyncio.run(open_loop(port, arg, seconds)))


async def trivial(session: object) -> None:
    """The baseline: a handler that answers every request with two fixed variables, no routing."""
    from pbx.asterisk.agi_server import AGISession

    assert isinstance(session, AGISession)
    await session.set_variable("PBX_POS", "exempel^huvud^meny^^0^0")
    await session.set_variable("PBX_DO", "menu^pbx/sv/welcome&pbx/t/exempel/exempel-huvudmeny^1230^5")


async def measure(handler: object, port_holder: list[int], mode: str, arg: float, seconds: float) -> dict[str, float]:
    from pbx.asterisk.agi_server import FastAGIServer

    server = FastAGIServer(handler, host="127.0.0.1", port=0)  # type: ignore[arg-type]
    await server.start()
    ctx = mp.get_context("spawn")
    try:
        q: mp.Queue = ctx.Queue()  # type: ignore[type-arg]
        proc = ctx.Process(target=load_process, args=(server.port, mode, arg, seconds, q))
        proc.start()
        cpu0, wall0 = time.process_time(), time.perf_counter()
        while proc.is_alive() and q.empty():
            await asyncio.sleep(0.05)
        result: dict[str, float] = q.get(timeout=30)
        result["server_cpu"] = (time.process_time() - cpu0) / (time.perf_counter() - wall0)
        proc.join(10)
    finally:
        await server.stop()
    return result


async def serve(seconds: float, concurrency: int) -> dict[str, float]:
    from pbx.asterisk.router import Router
    from pbx.demo import STOCKHOLM, demo_tenants
    from pbx.routing.state import StateSnapshot, everyone_logged_in
    from pbx.tables import TableHolder, compile_from

    tables = TableHolder(compile_from(demo_tenants()))
    state = StateSnapshot(members=everyone_logged_in(tables.table))
    at = datetime(2026, 11, 24, 10, 0, tzinfo=STOCKHOLM)
    router = Router(tables, state, lambda: at)
    closed = await measure(router, [], "closed", float(concurrency), seconds)
    base = await measure(trivial, [], "closed", float(concurrency), seconds)
    opened = await measure(router, [], "open", 1000.0, seconds)
    if router.stats.errors or router.stats.bad_requests:
        raise RuntimeError(f"router errors during the benchmark: {router.stats}")
    return {"agi_per_s": round(closed["per_s"]), "agi_sessions": closed["n"],
            "trivial_per_s": round(base["per_s"]), "routing_vs_trivial": round(closed["per_s"] / base["per_s"], 2),
            "agi_p50_ms_at_1000": round(opened["p50_ms"], 3), "agi_p99_ms_at_1000": round(opened["p99_ms"], 3),
            "schedule_lag_p99_ms": round(opened["lag_p99_ms"], 3),
            "server_cpu_closed": round(closed["server_cpu"], 2), "server_cpu_at_1000": round(opened["server_cpu"], 2),
            "decisions": router.stats.decisions}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    figures = asyncio.run(serve(args.seconds, args.concurrency))
    rows = [
        ("FastAGI decisions/s, one controller process", f"{figures['agi_per_s']:,} /s", "≥ 5,000 /s"),
        ("same load, trivial handler (no routing)", f"{figures['trivial_per_s']:,} /s", ""),
        ("routing ÷ trivial", f"{figures['routing_vs_trivial']:.2f}", ""),
        ("controller CPU (share of one core), closed loop", f"{figures['server_cpu_closed']:.2f}", ""),
        ("latency p50 at 1,000 requests/s", f"{figures['agi_p50_ms_at_1000']:.2f} ms", ""),
        ("latency p99 at 1,000 requests/s", f"{figures['agi_p99_ms_at_1000']:.2f} ms", "≤ 2 ms"),
        ("load generator's lag behind schedule, p99", f"{figures['schedule_lag_p99_ms']:.2f} ms", ""),
        ("controller CPU at 1,000 requests/s", f"{figures['server_cpu_at_1000']:.2f}", ""),
    ]
    report(rows, figures)


if __name__ == "__main__":
    main()
