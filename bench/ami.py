"""AMI benchmark: events parsed and dispatched per second by our AMI client, over loopback.

A second process plays Asterisk: it logs the client in, then sends the events a real Asterisk 22
sent for a queue call (tests/data/asterisk/ami/11_…), over and over. The client dispatches them
to handlers like the controller's (every event counted; Hangup and DeviceStateChange handled).
The baseline, in the same run: the codec alone parsing the same bytes in memory (no socket, no
dispatch); the ratio says what the socket and the dispatch cost.

Run: .venv/bin/python bench/ami.py [--events N]
Prints a table, then one JSON line (ami_events_per_s, parse_only_per_s, dispatch_vs_parse)."""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import socket
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _report import report

from pbx.asterisk.amicodec import BANNER, AMIMessage, AMIParser, encode_message

DATA = Path(__file__).resolve().parent.parent / "tests" / "data" / "asterisk" / "ami"
TRANSCRIPT = DATA / "11_queue_call_agent_connect_complete.s2c.raw"


def event_bytes() -> tuple[bytes, int]:
    """The transcript's events (responses dropped), re-encoded: one block and its event count."""
    messages = [m for m in AMIParser().feed(TRANSCRIPT.read_bytes()) if isinstance(m, AMIMessage)]
    events = [m for m in messages if m.kind == "event"]
    return b"".join(encode_message(m) for m in events), len(events)


def asterisk_process(port_q: mp.Queue, total: int) -> None:  # type: ignore[type-arg]
    block, per_block = event_bytes()
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    port_q.put(srv.getsockname()[1])
    conn, _ = srv.accept()
    conn.sendall(BANNER)
    buf = b""
    while b"\r\n\r\n" not in buf:  # the Login action
        buf += conn.recv(4096)
    action_id = next((line.split(b": ", 1)[1] for line in buf.split(b"\r\n") if line.startswith(b"ActionID")), b"")
    conn.sendall(b"Response: Success\r\nActionID: " + action_id + b"\r\nMessage: Authentication accepted\r\n\r\n")
    chunk = block * 50
    sent = 0
    while sent < total:
        conn.sendall(chunk)
        sent += per_block * 50
    # then answer pings until the client leaves
    conn.settimeout(30)
    try:
        while data := conn.recv(65536):
            for line in data.split(b"\r\n"):
                if line.startswith(b"ActionID"):
                    aid = line.split(b": ", 1)[1]
                    conn.sendall(b"Response: Success\r\nActionID: " + aid + b"\r\nPing: Pong\r\n\r\n")
    except OSError:
        pass
    conn.close()


async def client_side(port: int, total: int) -> dict[str, float]:
    from pbx.asterisk.ami import AMIClient

    client = AMIClient("127.0.0.1", port, "bench", "bench", ping_interval=60, action_timeout=30)
    seen = 0
    hangups = 0
    lines: dict[str, str] = {}
    done = asyncio.Event()

    def count(m: AMIMessage) -> None:
        nonlocal seen
        seen += 1
        if seen >= total:
            done.set()

    def hangup(m: AMIMessage) -> None:
        nonlocal hangups
        hangups += 1

    def device(m: AMIMessage) -> None:
        lines[m.get("Device") or ""] = m.get("State") or ""

    client.on_event("*", count)
    client.on_event("Hangup", hangup)
    client.on_event("DeviceStateChange", device)
    t0 = time.perf_counter()
    await client.start()
    await asyncio.wait_for(done.wait(), 120)
    elapsed = time.perf_counter() - t0
    await client.stop()
    return {"events": seen, "seconds": elapsed, "per_s": seen / elapsed, "hangups": hangups}


def parse_only(total: int) -> float:
    block, _ = event_bytes()
    chunk = block * 50
    parser = AMIParser()
    n = 0
    t0 = time.perf_counter()
    while n < total:
        for i in range(0, len(chunk), 65536):  # as a socket would hand it over
            n += len(parser.feed(chunk[i:i + 65536]))
    return n / (time.perf_counter() - t0)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=300_000)
    args = parser.parse_args()
    ctx = mp.get_context("spawn")
    q: mp.Queue = ctx.Queue()  # type: ignore[type-arg]
    proc = ctx.Process(target=asterisk_process, args=(q, args.events))
    proc.start()
    port = q.get(timeout=30)
    result = asyncio.run(client_side(port, args.events))
    proc.join(30)
    if proc.is_alive():
        proc.kill()
    baseline = parse_only(args.events)
    figures = {"ami_events_per_s": round(result["per_s"]), "events": result["events"],
               "parse_only_per_s": round(baseline), "dispatch_vs_parse": round(result["per_s"] / baseline, 2)}
    rows = [
        ("AMI events received, parsed and dispatched", f"{figures['ami_events_per_s']:,} /s", "≥ 30,000 /s"),
        ("baseline: codec alone, in memory", f"{figures['parse_only_per_s']:,} /s", ""),
        ("client ÷ codec alone", f"{figures['dispatch_vs_parse']:.2f}", ""),
    ]
    report(rows, figures)


if __name__ == "__main__":
    main()
