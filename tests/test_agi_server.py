"""The FastAGI server on real sockets: clients play Asterisk with the recorded transcript bytes."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from pbx.asterisk.agi import (
    DEAD_CHANNEL_LINE,
    HANGUP_LINE,
    INVALID_COMMAND_LINE,
    AGICommandParser,
    AGIResponse,
    AGIServerParser,
    encode_environment,
    encode_response,
)
from pbx.asterisk.agi_server import (
    AGICommandError,
    AGIHangupError,
    AGISession,
    AGITimeoutError,
    FastAGIServer,
)

TRANSCRIPTS = Path(__file__).resolve().parent / "data" / "asterisk" / "agi"  # copied from shared/asterisk

Handler = Callable[[AGISession], Awaitable[None]]


def transcript(name: str) -> tuple[bytes, list[bytes], bytes]:
    """(environment bytes, each reply's bytes in order (HANGUP included), what our side sent)."""
    raw = (TRANSCRIPTS / f"{name}.a2s.raw").read_bytes()
    env_end = raw.index(b"\n\n") + 2
    replies = []
    for event in AGIServerParser().feed(raw)[1:]:
        replies.append(event.text.encode() + b"\n" if isinstance(event, AGIResponse) else HANGUP_LINE)
    assert b"".join(replies) == raw[env_end:]
    return raw[:env_end], replies, (TRANSCRIPTS / f"{name}.s2a.raw").read_bytes()


ROUTE_ENV, ROUTE_REPLIES, ROUTE_SENT = transcript("001_route")
HANGUP_ENV, HANGUP_REPLIES, _ = transcript("002_hangup-test")


def env_for(script: str | None, **more: str) -> bytes:
    env = {"agi_network": "yes", "agi_channel": "PJSIP/trunk-00000001", "agi_uniqueid": "1795324157.7"}
    if script is not None:
        env["agi_network_script"] = script
    return encode_environment({**env, **more})


def run(coro: Coroutine[Any, Any, None]) -> None:
    asyncio.run(asyncio.wait_for(coro, 20))


async def until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    """Waits for the server to reach a state (it acts on its own schedule, after the client's I/O)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.002)


@asynccontextmanager
async def serving(handler: Handler, **options: Any) -> AsyncIterator[FastAGIServer]:
    server = FastAGIServer(handler, port=0, **options)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


class FakeAsterisk:
    """One FastAGI connection, Asterisk's end."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def connect(cls, server: FastAGIServer) -> FakeAsterisk:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        return cls(reader, writer)

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def command(self) -> bytes:
        line = await asyncio.wait_for(self.reader.readline(), 5)
        assert line.endswith(b"\n"), f"server closed instead of sending a command (got {line!r})"
        return line

    async def rest_until_closed(self) -> bytes:
        """Everything the server still writes before it closes the connection."""
        try:
            return await asyncio.wait_for(self.reader.read(), 5)
        except ConnectionResetError:
            return b""

    async def close(self) -> None:
        self.writer.close()
        try:
            await self.writer.wait_closed()
        except ConnectionError:
            pass


def events(caplog: pytest.LogCaptureFixture, name: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if getattr(r, "event", None) == name]


# --- sessions that go well -------------------------------------------------------------------


def test_route_session_replays_the_recorded_call() -> None:
    seen: dict[str, Any] = {}

    async def handler(s: AGISession) -> None:
        seen.update(script=s.script, query=s.query, args=s.args, channel=s.env["agi_channel"])
        seen["callerid"] = await s.get_variable("CALLERID(num)")
        seen["full"] = await s.command("GET FULL VARIABLE", "${CALLERID(all)}")
        await s.set_variable("ROUTE_DEST", "queue:support")
        seen["dest"] = await s.get_variable("ROUTE_DEST")
        seen["stream"] = await s.command("STREAM FILE", "demo-congrats", "0123456789*#")
        seen["data"] = await s.command("GET DATA", "beep", "3000", "4")
        await s.command("EXEC", "Playback", "demo-thanks")
        await s.command("VERBOSE", "x", "1")
        seen["status"] = await s.command("CHANNEL STATUS")
        seen["invalid"] = await s.command("THIS IS NOT A COMMAND")
        seen["usage"] = await s.command("GET VARIABLE")
        seen["missing"] = await s.command("STREAM FILE", "no-such-file-xyz", "")
        await s.command("DATABASE PUT", "lab", "key1", "value1")
        seen["db"] = await s.command("DATABASE GET", "lab", "key1")

    async def main() -> None:
        async with serving(handler) as server:
            asterisk = await FakeAsterisk.connect(server)
            await asterisk.send(ROUTE_ENV)
            sent = b""
            for reply in ROUTE_REPLIES:
                sent += await asterisk.command()
                await asterisk.send(reply)
            assert await asterisk.rest_until_closed() == b""  # the handler returned: we hang up the AGI
            await asterisk.close()
            await until(lambda: server.stats.active == 0)
            # The recording driver quoted "x" needlessly; the words Asterisk parses are the same.
            assert sent == ROUTE_SENT.replace(b'VERBOSE "x" 1', b"VERBOSE x 1")
            assert AGICommandParser().feed(sent) == AGICommandParser().feed(ROUTE_SENT)
            stats = server.stats
            assert (stats.connections, stats.completed, stats.handler_errors, stats.protocol_errors) == (1, 1, 0, 0)

    run(main())
    assert seen["script"] == "route"
    assert seen["query"] == {"x": "1"}
    assert seen["args"] == ("arg1", "arg2")
    assert seen["channel"] == "Local/200@test-context-0000000e;2"
    assert seen["callerid"] == "5551234"
    assert seen["full"].data == '"Lab Test" <5551234>'
    assert seen["dest"] == "queue:support"
    assert seen["stream"].extra == {"endpos": "242214"}
    assert (seen["data"].result, seen["data"].data) == ("", "timeout")
    assert seen["status"].result == "6"
    assert seen["invalid"].code == 510
    assert seen["usage"].code == 520
    # After the multi-line 520, replies still pair with their commands.
    assert (seen["missing"].result, seen["missing"].extra) == ("-1", {"endpos": "0"})
    assert seen["db"].data == "value1"


def test_environment_split_inside_a_swedish_letter_arrives_whole() -> None:
    names: list[str] = []

    async def handler(s: AGISession) -> None:
        names.append(s.env["agi_calleridname"])
        await s.set_variable("PBX_DO", "menu^pbx/välkommen^123^5")

    async def main() -> None:
        async with serving(handler) as server:
            asterisk = await FakeAsterisk.connect(server)
            data = env_for("route", agi_calleridname="Åsa Öberg")
            cut = data.index("Å".encode()) + 1
            await asterisk.send(data[:cut])
            await asyncio.sleep(0.01)  # let the server read the first half on its own
            await asterisk.send(data[cut:])
            line = await asterisk.command()
            assert AGICommandParser().feed(line) == [["SET", "VARIABLE", "PBX_DO", "menu^pbx/välkommen^123^5"]]
            await asterisk.send(encode_response(200, "1"))
            assert await asterisk.rest_until_closed() == b""
            await asterisk.close()

    run(main())
    assert names == ["Åsa Öberg"]


def test_get_variable_of_unset_variable_is_none_and_error_replies_raise() -> None:
    outcome: dict[str, Any] = {}

    async def handler(s: AGISession) -> None:
        outcome["unset"] = await s.get_variable("NOPE")
        with pytest.raises(AGICommandError) as error:
            await s.set_variable("X", "y")
        outcome["code"] = error.value.response.code

    async def main() -> None:
        async with serving(handler) as server:
            asterisk = await FakeAsterisk.connect(server)
            await asterisk.send(env_for("route"))
            assert await asterisk.command() == b"GET VARIABLE NOPE\n"
            await asterisk.send(encode_response(200, "0"))
            assert await asterisk.command() == b'SET VARIABLE X "y"\n'
            await asterisk.send(INVALID_COMMAND_LINE)
            assert await asterisk.rest_until_closed() == b""
            await asterisk.close()

    run(main())
    assert outcome == {"unset": None, "code": 510}


# --- the channel hangs up ---------------------------------------------------------------------


def test_hangup_line_ends_the_session_cleanly() -> None:
    outcome: dict[str, Any] = {}

    async def handler(s: AGISession) -> None:
        outcome["stream"] = await s.command("STREAM FILE", "demo-congrats", "")
        try:
            await s.get_variable("CALLERID(num)")
        except AGIHangupError:
            outcome["hung_up"] = s.hung_up
            raise

    async def main() -> None:
        async with serving(handler) as server:
            asterisk = await FakeAsterisk.connect(server)
            await asterisk.send(HANGUP_ENV)
            assert await asterisk.command() == b'STREAM FILE demo-congrats ""\n'
            await asterisk.send(HANGUP_REPLIES[0] + HANGUP_REPLIES[1])  # 200 result=-1 endpos=16160, HANGUP
            # Nothing more is sent on the dead channel; the connection just closes.
            assert await asterisk.rest_until_closed() == b""
            await asterisk.close()
            await until(lambda: server.stats.active == 0)
            stats = server.stats
            assert (stats.hangups, stats.handler_errors, stats.completed) == (1, 0, 0)

    run(main())
    assert outcome["stream"].result == "-1"
    assert outcome["hung_up"] is True


def test_511_after_hangup_mid_command_raises_hangup_error() -> None:
    outcome: list[str] = []

    async def handler(s: AGISession) -> None:
        try:
            await s.command("STREAM FILE", "demo-thanks", "")
        except AGIHangupError:
            outcome.append("first")
        try:
            await s.command("ANSWER")  # not even sent: the channel is known to be gone
        except AGIHangupError:
            outcome.append("second")

    async def main() -> None:
        async with serving(handler) as server:
            asterisk = await FakeAsterisk.connect(server)
            await asterisk.send(env_for("hangup-test"))
            assert await asterisk.command() == b'STREAM FILE demo-thanks ""\n'
            await asterisk.send(HANGUP_LINE)  # the channel hangs up while the command runs ...
            await asterisk.send(DEAD_CHANNEL_LINE)  # ... and Asterisk answers it 511
            assert await asterisk.rest_until_closed() == b""
            await asterisk.close()
            await until(lambda: server.stats.active == 0)
            assert (server.stats.hangups, server.stats.completed) == (1, 1)

    run(main())
    assert outcome == ["first", "second"]


def test_reply_still_due_after_hangup_line_is_delivered() -> None:
    replies: list[AGIResponse] = []

    async def handler(s: AGISession) -> None:
        replies.append(await s.command("EXEC", "NoOp", "x"))
        assert s.hung_up

    async def main() -> None:
        async with serving(handler) as server:
            asterisk = await FakeAsterisk.connect(server)
            await asterisk.send(env_for("route"))
            await asterisk.command()
            await asterisk.send(HANGUP_LINE + encode_response(200, "0"))
            assert await asterisk.rest_until_closed() == b""
            await asterisk.close()

    run(main())
    assert [(r.code, r.result) for r in replies] == [(200, "0")]


# --- misbehaving peers and handlers ------------------------------------------------------------


def test_garbage_is_dropped_with_a_log_line_and_others_are_still_served(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="pbx.agi")
    served: list[str] = []

    async def handler(s: AGISession) -> None:
        served.append(s.script)

    async def main() -> None:
        async with serving(handler) as server:
            garbage = await FakeAsterisk.connect(server)
            await garbage.send(b"GET / HTTP/1.1\r\nHost: pbx\r\n\r\n")
            assert await garbage.rest_until_closed() == b""
            await garbage.close()
            good = await FakeAsterisk.connect(server)
            await good.send(env_for("route"))
            assert await good.rest_until_closed() == b""
            await good.close()
            await until(lambda: server.stats.active == 0)
            assert (server.stats.protocol_errors, server.stats.completed) == (1, 1)

    run(main())
    assert served == ["route"]
    [record] = events(caplog, "agi_protocol_error")
    assert record.levelno == logging.WARNING
    assert record.peer.startswith("127.0.0.1:")  # type: ignore[attr-defined]
    assert "GET / HTTP" in record.error  # type: ignore[attr-defined]


def test_request_without_script_is_closed_without_calling_the_handler(caplog: pytest.LogCaptureFixture) -> None:
    called: list[AGISession] = []

    async def handler(s: AGISession) -> None:
        called.append(s)

    async def main() -> None:
        async with serving(handler) as server:
            asterisk = await FakeAsterisk.connect(server)
            await asterisk.send(env_for(None))
            assert await asterisk.rest_until_closed() == b""  # not a single command
            await asterisk.close()
            await until(lambda: server.stats.active == 0)
            assert server.stats.protocol_errors == 1

    run(main())
    assert called == []
    [record] = events(caplog, "agi_missing_script")
    assert record.uniqueid == "1795324157.7"  # type: ignore[attr-defined]
    assert record.channel == "PJSIP/trunk-00000001"  # type: ignore[attr-defined]


def test_peer_stalling_inside_the_environment_is_dropped_after_env_timeout(
        caplog: pytest.LogCaptureFixture) -> None:
    async def handler(s: AGISession) -> None:
        raise AssertionError("no session without a whole environment")

    async def main() -> None:
        async with serving(handler, env_timeout=0.05) as server:
            asterisk = await FakeAsterisk.connect(server)
            t0 = time.monotonic()
            await asterisk.send(ROUTE_ENV[:200])
            assert await asterisk.rest_until_closed() == b""
            assert 0.05 <= time.monotonic() - t0 < 2
            await asterisk.close()
            await until(lambda: server.stats.active == 0)
            assert server.stats.timeouts == 1

    run(main())
    assert len(events(caplog, "agi_env_timeout")) == 1


def test_unanswered_command_times_out_and_closes_the_connection() -> None:
    outcome: list[BaseException] = []

    async def handler(s: AGISession) -> None:
        try:
            await s.command("ANSWER")
        except AGITimeoutError as exc:
            outcome.append(exc)
            raise

    async def main() -> None:
        async with serving(handler, command_timeout=0.05) as server:
            asterisk = await FakeAsterisk.connect(server)
            await asterisk.send(env_for("route"))
            assert await asterisk.command() == b"ANSWER\n"
            assert await asterisk.rest_until_closed() == b""  # never answered
            await asterisk.close()
            await until(lambda: server.stats.active == 0)
            assert (server.stats.timeouts, server.stats.handler_errors) == (1, 0)

    run(main())
    assert len(outcome) == 1
    assert isinstance(outcome[0], TimeoutError)


def test_handler_exception_is_logged_with_traceback_and_server_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    async def handler(s: AGISession) -> None:
        if s.script == "broken":
            raise RuntimeError("boom in routing")
        await s.set_variable("OK", "1")

    async def main() -> None:
        async with serving(handler) as server:
            broken = await FakeAsterisk.connect(server)
            await broken.send(env_for("broken"))
            assert await broken.rest_until_closed() == b""
            await broken.close()
            fine = await FakeAsterisk.connect(server)
            await fine.send(env_for("route"))
            assert await fine.command() == b'SET VARIABLE OK "1"\n'
            await fine.send(encode_response(200, "1"))
            assert await fine.rest_until_closed() == b""
            await fine.close()
            await until(lambda: server.stats.active == 0)
            assert (server.stats.handler_errors, server.stats.completed) == (1, 1)

    run(main())
    [record] = events(caplog, "agi_handler_error")
    assert record.levelno == logging.ERROR
    assert record.exc_info is not None and isinstance(record.exc_info[1], RuntimeError)
    assert record.script == "broken"  # type: ignore[attr-defined]


def test_peer_closing_mid_command_ends_the_session_cleanly() -> None:
    outcome: list[BaseException] = []

    async def handler(s: AGISession) -> None:
        try:
            await s.command("STREAM FILE", "demo-congrats", "")
        except ConnectionError as exc:
            outcome.append(exc)
            raise

    async def main() -> None:
        async with serving(handler) as server:
            asterisk = await FakeAsterisk.connect(server)
            await asterisk.send(env_for("route"))
            await asterisk.command()
            await asterisk.close()
            await until(lambda: server.stats.active == 0 and server.stats.disconnects == 1)
            assert server.stats.handler_errors == 0

    run(main())
    assert len(outcome) == 1


def test_reply_nobody_asked_for_is_a_protocol_error() -> None:
    async def handler(s: AGISession) -> None:
        await s.set_variable("X", "1")

    async def main() -> None:
        async with serving(handler) as server:
            asterisk = await FakeAsterisk.connect(server)
            await asterisk.send(env_for("route") + encode_response(200, "1"))
            await asterisk.rest_until_closed()
            await asterisk.close()
            await until(lambda: server.stats.active == 0 and not server._tasks)
            assert server.stats.protocol_errors == 1
            assert server.stats.handler_errors == 0

    run(main())


def test_connections_beyond_max_connections_are_refused() -> None:
    async def handler(s: AGISession) -> None:
        pass

    async def main() -> None:
        async with serving(handler, max_connections=1) as server:
            first = await FakeAsterisk.connect(server)
            await until(lambda: server.stats.active == 1)
            second = await FakeAsterisk.connect(server)
            assert await second.rest_until_closed() == b""
            await second.close()
            await first.send(env_for("route"))
            assert await first.rest_until_closed() == b""
            await first.close()
            assert server.stats.rejected == 1

    run(main())


def test_stop_cancels_handlers_and_closes_connections() -> None:
    cancelled: list[bool] = []

    async def handler(s: AGISession) -> None:
        try:
            await s.command("WAIT FOR DIGIT", "-1")
        except asyncio.CancelledError:
            cancelled.append(True)
            raise

    async def main() -> None:
        baseline = len(asyncio.all_tasks())
        server = FastAGIServer(handler, port=0)
        await server.start()
        asterisk = await FakeAsterisk.connect(server)
        await asterisk.send(env_for("route"))
        await asterisk.command()
        await server.stop()
        assert await asterisk.rest_until_closed() == b""
        await asterisk.close()
        assert len(asyncio.all_tasks()) == baseline
        assert server.stats.active == 0

    run(main())
    assert cancelled == [True]


# --- many bad connections leave nothing behind ---------------------------------------------------


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_200_misbehaving_connections_leave_no_tasks_or_fds() -> None:
    async def handler(s: AGISession) -> None:
        if s.script == "raise":
            raise ValueError("handler bug")
        await s.command("STREAM FILE", "demo-congrats", "")
        await s.command("GET DATA", "beep", "3000", "4")

    async def misbehave(server: FastAGIServer, kind: int) -> None:
        asterisk = await FakeAsterisk.connect(server)
        try:
            if kind == 0:  # garbage
                await asterisk.send(b"\x16\x03\x01garbage\n")
            elif kind == 1:  # half an environment, then silence
                await asterisk.send(ROUTE_ENV[:100])
            elif kind == 2:  # no script
                await asterisk.send(env_for(None))
            elif kind == 3:  # handler raises
                await asterisk.send(env_for("raise"))
            elif kind == 4:  # closes mid-command
                await asterisk.send(env_for("route"))
                await asterisk.command()
                return
            elif kind == 5:  # hangs up mid-exchange
                await asterisk.send(HANGUP_ENV)
                await asterisk.command()
                await asterisk.send(HANGUP_LINE + DEAD_CHANNEL_LINE)
            elif kind == 6:  # never answers the command
                await asterisk.send(env_for("route"))
                await asterisk.command()
            # kind 7: connects and says nothing
            await asterisk.rest_until_closed()
        finally:
            await asterisk.close()

    async def main() -> None:
        async with serving(handler, env_timeout=0.05, command_timeout=0.05) as server:
            tasks, fds = len(asyncio.all_tasks()), open_fds()
            for batch in range(4):
                await asyncio.gather(*(misbehave(server, (batch * 50 + i) % 8) for i in range(50)))
            await until(lambda: server.stats.active == 0 and len(asyncio.all_tasks()) == tasks and open_fds() == fds)
            stats = server.stats
            assert stats.connections == 200
            assert stats.protocol_errors == 50  # garbage and missing script
            assert stats.timeouts == 75  # stalled environment, unanswered command, silent peer
            assert stats.handler_errors == 25
            assert stats.disconnects == 25
            assert stats.hangups == 25

    run(main())
