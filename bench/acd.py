"""ACD benchmark: from "agent becomes free" to "Redirect sent", with live state in Redis, and queue
operations per second. The baseline in the same run is the in-memory store (what Redis costs).

Each round: a caller waits in Exempel AB's Support queue; an agent's wrap-up ends (the moment
they become free); the dispatcher claims the caller, reserves the agent atomically (Lua) and sends
Setvar + Setvar + Redirect to a switch that notes the time. A local redis-server is started for
the run unless PBX_REDIS_URL is set.

Run: .venv/bin/python bench/acd.py [--rounds N]
Prints a table, then one JSON line (dispatch_p50_ms, dispatch_p99_ms, queue_ops_per_s, …)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _report import report  # noqa: E402

from pbx.acd.service import AcdService  # noqa: E402
from pbx.demo import STOCKHOLM, demo_tenants  # noqa: E402
from pbx.routing.state import LineStatus  # noqa: E402
from pbx.state.store import LiveStore, MemoryStore, WaitingEntry  # noqa: E402
from pbx.tables import TableHolder, compile_from  # noqa: E402

AT = datetime(2026, 11, 24, 10, 0, tzinfo=STOCKHOLM)
FAR = 4_000_000_000.0


class StampingSwitch:
    """Stands in for the AMI client: notes when the Redirect would have been sent."""

    def __init__(self) -> None:
        self.redirected_at = 0.0

    async def setvar(self, channel: str | None, name: str, value: str) -> None:
        return None

    async def redirect(self, channel: str, context: str, exten: str, priority: int = 1,
                       extra_channel: str | None = None) -> None:
        self.redirected_at = time.perf_counter()


async def dispatch_rounds(store: LiveStore, rounds: int) -> list[float]:
    tables = TableHolder(compile_from(demo_tenants()))
    switch = StampingSwitch()
    acd = AcdService(store, tables, lambda: switch, lambda: AT)
    now = AT.timestamp()
    for user in ("david", "eva"):
        await store.login("exempel", user, "queue", "support")
        await store.set_line("exempel", user, LineStatus.IDLE)
        await store.start_wrapup("exempel", user, "support", FAR)
    latencies = []
    for i in range(rounds):
        call = f"call-{i:08d}"
        await store.enqueue("exempel", "support", WaitingEntry(call, "+46701234567", f"PJSIP/trunk-{i:08x}", now + i))
        acd.callers.pop(call, None)
        user = ("david", "eva")[i % 2]
        t0 = time.perf_counter()
        await store.end_wrapup("exempel", user)  # the agent becomes free …
        moved = await acd.dispatch("exempel", "support")  # … and the waiting caller is moved to them
        if moved != 1:
            raise RuntimeError(f"round {i}: dispatched {moved} callers, expected 1")
        latencies.append(switch.redirected_at - t0)
        await store.release("exempel", user, call, "answered", now + i)
        await store.call_ended("exempel", user, now + i, FAR - now - i, "support")
        acd.callers.pop(call, None)
    latencies.sort()
    return latencies


async def queue_ops(store: LiveStore, seconds: float) -> float:
    n = 0
    end = time.perf_counter() + seconds
    t0 = time.perf_counter()
    while time.perf_counter() < end:
        for j in range(100):
            await store.enqueue("annat", "bench", WaitingEntry(f"q-{n + j}", "+4670", "PJSIP/x", 1.0 + n + j))
        for _ in range(100):
            await store.claim_head("annat", "bench")
        n += 100
    return 2 * n / (time.perf_counter() - t0)


@contextlib.contextmanager
def redis_for_bench() -> Iterator[str]:
    given = os.environ.get("PBX_REDIS_URL")
    if given:
        yield given
        return
    from tests.redis_server import throwaway_redis

    with throwaway_redis() as url:
        yield url


async def measure(url: str, rounds: int, seconds: float) -> dict[str, float]:
    import redis.asyncio as aioredis

    from pbx.state.redis_store import RedisStore

    memory = MemoryStore(clock=lambda: AT.timestamp())
    mem = await dispatch_rounds(memory, rounds)
    mem_ops = await queue_ops(memory, seconds)
    await memory.aclose()
    client = aioredis.from_url(url)
    prefix = f"pbx-bench-{os.getpid()}:"
    store = RedisStore(client, prefix=prefix, clock=lambda: AT.timestamp())
    await store.start()
    try:
        red = await dispatch_rounds(store, rounds)
        red_ops = await queue_ops(store, seconds)
    finally:
        await store.aclose()
        async for key in client.scan_iter(f"{prefix}*"):
            await client.delete(key)
        await client.aclose()

    def pct(v: list[float], q: float) -> float:
        return v[min(len(v) - 1, int(len(v) * q))] * 1000

    return {"dispatch_p50_ms": round(pct(red, 0.5), 3), "dispatch_p99_ms": round(pct(red, 0.99), 3),
            "memory_dispatch_p50_ms": round(pct(mem, 0.5), 3), "memory_dispatch_p99_ms": round(pct(mem, 0.99), 3),
            "redis_vs_memory_p50": round(pct(red, 0.5) / pct(mem, 0.5), 1),
            "queue_ops_per_s": round(red_ops), "memory_queue_ops_per_s": round(mem_ops), "rounds": rounds}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=2.0)
    args = parser.parse_args()
    with redis_for_bench() as url:
        figures = asyncio.run(measure(url, args.rounds, args.seconds))
    rows = [
        ("agent free → Redirect sent, Redis, p50", f"{figures['dispatch_p50_ms']:.2f} ms", ""),
        ("agent free → Redirect sent, Redis, p99", f"{figures['dispatch_p99_ms']:.2f} ms", "≤ 5 ms"),
        ("same, in-memory store, p50 / p99",
         f"{figures['memory_dispatch_p50_ms']:.2f} / {figures['memory_dispatch_p99_ms']:.2f} ms", ""),
        ("Redis ÷ memory (p50)", f"{figures['redis_vs_memory_p50']:.1f}", ""),
        ("queue operations/s (enqueue or claim), Redis", f"{figures['queue_ops_per_s']:,}", ""),
        ("queue operations/s, in memory", f"{figures['memory_queue_ops_per_s']:,}", ""),
    ]
    report(rows, figures)


if __name__ == "__main__":
    main()
