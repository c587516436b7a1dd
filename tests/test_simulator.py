"""The simulated Asterisk against the bytes a real Asterisk 22 sent (tests/data/asterisk), on real sockets."""

from __future__ import annotations

import asyncio
import re
import socket
import time
import wave
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest

from pbx.asterisk.agi import AGIEnvironment, AGIHangup, AGIResponse, AGIServerParser, set_variable
from pbx.asterisk.amicodec import AMIMessage, AMIParser, encode_message
from pbx.asterisk.simulator import CallScript, Endpoint, SimAsterisk, SimCall, SimClock

DATA = Path(__file__).resolve().parent / "data" / "asterisk"  # copied from shared/asterisk
START = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
SPEED = 200.0
TIMED = 50.0  # for tests that measure simulated durations: scheduling jitter stays under a second
SLACK = 1.0  # simulated seconds a wake-up may come late (never early) on a busy machine
CALLER, NUMBER = "+46701234567", "+46812345600"
T = TypeVar("T")

# Values that differ between any two runs of the same exchange; channel numbering is handled apart.
VOLATILE = {"Timestamp", "Uniqueid", "Linkedid", "DestUniqueid", "DestLinkedid", "LocalOneUniqueid",
            "LocalOneLinkedid", "LocalTwoUniqueid", "LocalTwoLinkedid", "EventTV", "SessionTV", "SessionID",
            "LocalAddress", "RemoteAddress", "Uptime", "LastReload", "CoreStartupDate", "CoreStartupTime",
            "CoreReloadDate", "CoreReloadTime", "BridgeUniqueid", "CommandId", "Duration", "Seconds"}


# --- transcripts ------------------------------------------------------------------------------


def transcript(name: str) -> tuple[list[bytes], list[AMIMessage]]:
    """(the action blocks the client sent, the messages Asterisk sent after its banner)."""
    sent = (DATA / "ami" / f"{name}.c2s.raw").read_bytes()
    blocks = [b + b"\r\n\r\n" for b in sent.split(b"\r\n\r\n") if b]
    received = [m for m in AMIParser().feed((DATA / "ami" / f"{name}.s2c.raw").read_bytes())
                if isinstance(m, AMIMessage)]
    return blocks, received


def event_shapes() -> dict[str, set[tuple[str, ...]]]:
    """Every field order each event had anywhere in the transcripts."""
    shapes: dict[str, set[tuple[str, ...]]] = {}
    for path in sorted((DATA / "ami").glob("*.s2c.raw")):
        for m in AMIParser().feed(path.read_bytes()):
            if isinstance(m, AMIMessage) and m.kind == "event":
                shapes.setdefault(m.name, set()).add(tuple(k for k, _ in m.items()))
    return shapes


def normalise(message: AMIMessage, volatile: Iterable[str] = ()) -> list[tuple[str, str]]:
    """The message with run-specific values blanked: ids, times, channel numbers."""
    skip = VOLATILE | set(volatile)
    out = []
    for key, value in message.items():
        value = "*" if key in skip else re.sub(r"-[0-9a-f]{8}(;[12])?$", r"-N\1", value)
        out.append((key, value))
    return out


def block(*pairs: tuple[str, str]) -> bytes:
    return encode_message(list(pairs))


# --- a bare AMI client and a tiny FastAGI responder -------------------------------------------


class AMI:
    """Raw bytes out, parsed messages in; every message kept in order."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.parser = AMIParser()
        self.queue: deque[AMIMessage] = deque()
        self.banner = b""
        self.eof = False

    @classmethod
    async def connect(cls, port: int, login: bytes | None = None) -> AMI:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        ami = cls(reader, writer)
        ami.banner = await reader.readline()
        if login is not None:
            await ami.send(login)
            assert (await ami.next()).name == "Success"
        return ami

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def next(self, timeout: float = 3.0) -> AMIMessage:
        while not self.queue:
            data = await asyncio.wait_for(self.reader.read(65536), timeout)
            if not data:
                self.eof = True
                raise EOFError("AMI connection closed")
            self.queue.extend(m for m in self.parser.feed(data) if isinstance(m, AMIMessage))
        return self.queue.popleft()

    async def reply(self, data: bytes) -> list[AMIMessage]:
        """Sends one action; returns its response (with a list's events). Events that came
        before the response stay queued for `next` and `until`."""
        await self.send(data)
        held = []
        while (first := await self.next()).kind != "response":
            held.append(first)
        out = [first]
        if first.get("EventList") == "start":
            while out[-1].get("EventList") != "Complete":
                out.append(await self.next())
        self.queue.extendleft(reversed(held))
        return out

    async def until(self, done: Callable[[AMIMessage], bool], timeout: float = 5.0) -> list[AMIMessage]:
        seen = []
        while True:
            seen.append(await self.next(timeout))
            if done(seen[-1]):
                return seen

    async def closed(self) -> bool:
        try:
            return await asyncio.wait_for(self.reader.read(1), 3.0) == b""
        except ConnectionError:
            return True

    async def close(self) -> None:
        self.writer.close()
        try:
            await self.writer.wait_closed()
        except ConnectionError:
            pass


def login(events: str = "off", user: str = "pbx", secret: str = "pbx-secret") -> bytes:
    return block(("Action", "Login"), ("Username", user), ("Secret", secret), ("Events", events),
                 ("ActionID", "login-1"))


class AGIPeer:
    """Our side of one FastAGI connection: the environment, then one command at a time."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.parser = AGIServerParser()
        self.events: deque[Any] = deque()
        self.raw = bytearray()
        self.hangups = 0

    async def _event(self) -> Any:
        while not self.events:
            data = await asyncio.wait_for(self.reader.read(65536), 5.0)
            if not data:
                raise EOFError("Asterisk closed the FastAGI connection")
            self.raw += data
            self.events.extend(self.parser.feed(data))
        return self.events.popleft()

    async def environment(self) -> AGIEnvironment:
        env = await self._event()
        assert isinstance(env, AGIEnvironment)
        return env

    async def send(self, line: bytes) -> AGIResponse:
        self.writer.write(line)
        while True:
            event = await self._event()
            if isinstance(event, AGIHangup):
                self.hangups += 1
                continue
            assert isinstance(event, AGIResponse)
            return event

    async def set(self, name: str, value: str) -> None:
        assert (await self.send(set_variable(name, value))).text == "200 result=1"

    async def wait_hangup(self) -> None:
        while not self.hangups:
            event = await self._event()
            assert isinstance(event, AGIHangup), event
            self.hangups += 1


Handler = Callable[[AGIPeer, AGIEnvironment], Awaitable[None]]


class Responder:
    """A FastAGI server standing in for the controller: `handler` answers each request."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.seen: list[AGIEnvironment] = []
        self.port = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def __aenter__(self) -> Responder:
        self._server = await asyncio.start_server(self._connection, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()
        await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        peer = AGIPeer(reader, writer)
        try:
            env = await peer.environment()
            self.seen.append(env)
            await self.handler(peer, env)
        finally:
            writer.close()
            try:
                await writer.wait_closed()
            except ConnectionError:
                pass
            self._tasks.discard(task)


def planned(*decisions: str, position: str = "t^f^n^^0^0") -> Handler:
    """A controller that answers the n-th route request with the n-th PBX_DO (the last repeats)."""
    count = [0]

    async def handler(peer: AGIPeer, env: AGIEnvironment) -> None:
        if env.env["agi_network_script"] != "route":
            return
        do = decisions[min(count[0], len(decisions) - 1)]
        count[0] += 1
        await peer.set("PBX_POS", position)
        await peer.set("PBX_DO", do)

    return handler


def simulator(agi_port: int, speed: float = SPEED, **kwargs: Any) -> SimAsterisk:
    sim = SimAsterisk(agi_port=agi_port, clock=SimClock(START, speed), auth_failure_delay_s=0.05, **kwargs)
    sim.endpoint("PJSIP/anna", Endpoint(answer_after_s=2.0, talk_s=3.0))
    sim.endpoint("bertil", Endpoint(answer_after_s=None))
    sim.endpoint("PJSIP/busy", Endpoint(busy=True))
    sim.endpoint("PJSIP/away", Endpoint(unavailable=True))
    return sim


def run(body: Callable[[SimAsterisk, Responder], Awaitable[T]], handler: Handler | None = None, **kwargs: Any) -> T:
    async def main() -> T:
        async with Responder(handler or planned("hangup^^16")) as responder:
            sim = simulator(responder.port, **kwargs)
            await sim.start()
            try:
                return await body(sim, responder)
            finally:
                await sim.stop()

    return asyncio.run(main())


async def finished(call: SimCall, timeout: float = 5.0) -> SimCall:
    return await asyncio.wait_for(call.wait(), timeout)


def sim_seconds(a: datetime, b: datetime) -> float:
    return (b - a).total_seconds()


def about(seconds: float, expected: float) -> bool:
    return expected <= seconds < expected + SLACK


# --- AMI: replays of the recorded sessions ----------------------------------------------------


async def replay(sim: SimAsterisk, name: str, skip: frozenset[str] = frozenset()
                 ) -> tuple[list[AMIMessage], list[AMIMessage]]:
    """Sends a transcript's actions one by one; returns (what Asterisk answered, what we got),
    leaving out the actions named in `skip` and their answers."""
    blocks, expected = transcript(name)
    ami = await AMI.connect(sim.ami_port)
    assert ami.banner == b"Asterisk Call Manager/11.0.0\r\n"
    got: list[AMIMessage] = []
    wanted = deque(expected)
    kept: list[AMIMessage] = []
    for data in blocks:
        action = AMIParser().feed(data)[0]
        assert isinstance(action, AMIMessage)
        answer = [wanted.popleft()]
        if answer[0].get("EventList") == "start":
            while answer[-1].get("EventList") != "Complete":
                answer.append(wanted.popleft())
        if action.get("Action", "") in skip:
            continue
        kept += answer
        got += await ami.reply(data)
    if b"Action: Logoff" in blocks[-1]:
        assert await ami.closed()  # Goodbye, then Asterisk closes the connection
    await ami.close()
    return kept, got


def test_login_ping_coresettings_and_logoff_answer_like_asterisk() -> None:
    async def body(sim: SimAsterisk, _: Any) -> tuple[list[AMIMessage], list[AMIMessage]]:
        return await replay(sim, "01_banner_login_ping_coresettings_logoff", skip=frozenset({"ListCommands"}))

    expected, got = run(body, username="lab", secret="lab-secret")
    assert [m.name for m in got] == [m.name for m in expected]
    volatile = {"CoreCurrentCalls", "CoreProcessedCalls", "Output"}
    assert [normalise(m, volatile) for m in got] == [normalise(m, volatile) for m in expected]
    version = next(m for m in got if m.action_id == "cmd1")
    assert version.items() == next(m for m in expected if m.action_id == "cmd1").items()


def test_invalid_removed_and_headerless_actions_answer_byte_for_byte() -> None:
    async def body(sim: SimAsterisk, _: Any) -> tuple[list[AMIMessage], list[AMIMessage]]:
        return await replay(sim, "03_invalid_and_removed_actions")

    expected, got = run(body, username="lab", secret="lab-secret")
    assert [encode_message(m) for m in got] == [encode_message(m) for m in expected]


def test_astdb_actions_answer_byte_for_byte() -> None:
    async def body(sim: SimAsterisk, _: Any) -> tuple[list[AMIMessage], list[AMIMessage]]:
        sim.db["lab"] = {"key1": "value1"}  # put there over FastAGI in the recording session
        return await replay(sim, "08_dbput_dbget_dbdel")

    expected, got = run(body, username="lab", secret="lab-secret")
    assert [encode_message(m) for m in got] == [encode_message(m) for m in expected]


def test_wrong_password_is_refused_after_a_delay_and_the_connection_closed() -> None:
    blocks, expected = transcript("02_wrong_password")

    async def body(sim: SimAsterisk, _: Any) -> tuple[bytes, float, bool]:
        ami = await AMI.connect(sim.ami_port)
        started = time.monotonic()
        reply = await ami.reply(blocks[0])
        waited = time.monotonic() - started
        await ami.send(blocks[1])  # a second try on the same connection gets no answer
        closed = await ami.closed()
        await ami.close()
        return encode_message(reply[0]), waited, closed

    reply, waited, closed = run(body, username="lab", secret="lab-secret")
    assert reply == encode_message(expected[0]) == (
        b"Response: Error\r\nActionID: bad1\r\nMessage: Authentication failed\r\n\r\n")
    assert waited >= 0.05
    assert closed


# --- AMI: Originate ---------------------------------------------------------------------------


def test_originate_to_a_missing_extension_fails_as_asterisk_reports_it() -> None:
    blocks, expected = transcript("04b_originate_async_natural_end_and_failure")
    failure = [m for m in expected if m.action_id in ("orig-fail-1", "orig-fail-2", "orig-fail-3")]
    async_fail, sync_fail, bogus = blocks[2], blocks[3], blocks[4]

    async def body(sim: SimAsterisk, _: Any) -> dict[str, list[AMIMessage]]:
        ami = await AMI.connect(sim.ami_port, login("on"))
        await ami.until(lambda m: m.name == "SuccessfulAuth")
        seen = {"async": await ami.reply(async_fail)}
        seen["async"] += await ami.until(lambda m: m.get("State") == "INVALID")
        seen["async"].append(await ami.next())  # the second INVALID
        seen["sync"] = await ami.reply(sync_fail)
        await ami.until(lambda m: m.get("State") == "INVALID")  # its channels came and went as above
        await ami.until(lambda m: m.get("State") == "INVALID")
        seen["bogus"] = await ami.reply(bogus)
        seen["bogus"].append(await ami.next())
        await ami.close()
        return seen

    seen = run(body)
    # Async to a missing extension: queued, two Local halves born and gone, Failure, INVALID twice.
    start = next(i for i, m in enumerate(expected) if m.action_id == "orig-fail-1")
    recorded = expected[start:start + len(seen["async"])]
    assert [normalise(m) for m in seen["async"]] == [normalise(m) for m in recorded]
    response = next(m for m in seen["async"] if m.name == "OriginateResponse")
    assert encode_message(response) == encode_message(failure[1])  # byte for byte, Uniqueid <unknown> too
    assert encode_message(seen["sync"][0]) == encode_message(failure[2]) == (
        b"Response: Error\r\nActionID: orig-fail-2\r\nMessage: Originate failed\r\n\r\n")
    assert [encode_message(m) for m in seen["bogus"]] == [encode_message(m) for m in failure[-2:]]


async def answering(peer: AGIPeer, env: AGIEnvironment) -> None:
    """A controller that plays a goodbye: the call gets answered, then hangs up."""
    await peer.set("PBX_POS", "t^f^n^^0^0")
    await peer.set("PBX_DO", "hangup^pbx/sv/bye^16")


def test_sync_originate_into_the_contract_answers_before_its_events_like_asterisk() -> None:
    blocks, expected = transcript("04_originate_sync_playback_all_events")
    sync = blocks[1].replace(b"Local/100@test-context", f"Local/{NUMBER}@pbx-inbound".encode())
    sync = sync.replace(b"Application: Playback\r\nData: demo-congrats", b"Application: Wait\r\nData: 60")
    response = next(m for m in expected if m.action_id == "orig-sync-1")

    async def body(sim: SimAsterisk, _: Any) -> tuple[list[AMIMessage], SimCall]:
        ami = await AMI.connect(sim.ami_port, login("on"))
        await ami.until(lambda m: m.name == "SuccessfulAuth")
        got = await ami.reply(sync)
        got += await ami.until(lambda m: m.name == "DialEnd")
        call = await finished(sim.calls[0])
        await ami.close()
        return got, call

    got, call = run(body, handler=answering)
    # Asterisk holds a session's events while its action runs: Success first, then the channels.
    assert encode_message(got[0]) == encode_message(response) == (
        b"Response: Success\r\nActionID: orig-sync-1\r\nMessage: Originate successfully queued\r\n\r\n")
    names = [m.name for m in got[1:]]
    assert names[:9] == ["Newchannel", "Newchannel", "Newexten", "NewCallerid", "NewConnectedLine", "NewCallerid",
                         "NewConnectedLine", "LocalBridge", "DialBegin"]
    recorded = [m for m in expected[expected.index(response):] if m.kind == "event"][:9]
    assert [[k for k, _ in m.items()] for m in got[1:10]] == [[k for k, _ in m.items()] for m in recorded]
    assert got[1].get("Channel", "").endswith(";1") and got[2].get("Channel", "").endswith(";2")
    assert got[-1].get("DialStatus") == "ANSWER"
    assert call.channel.endswith(";2") and call.dialled == NUMBER and call.hangup_cause == 16


def test_async_originate_reports_success_with_the_preassigned_ids() -> None:
    request = block(("Action", "Originate"), ("Channel", f"Local/{NUMBER}@pbx-inbound"), ("Application", "Wait"),
                    ("Data", "1"), ("CallerID", '"AMI Async" <5550101>'), ("Async", "true"),
                    ("ActionID", "orig-async-1"), ("ChannelId", "lab-call-0001"), ("OtherChannelId", "lab-call-0001-b"),
                    ("Variable", "LAB_TENANT=acme"), ("Variable", "LAB_CALLID=0001"))
    _, expected = transcript("05_originate_async_coreshowchannels_hangup")
    recorded = next(m for m in expected if m.name == "OriginateResponse")

    async def body(sim: SimAsterisk, _: Any) -> tuple[list[AMIMessage], list[AMIMessage]]:
        ami = await AMI.connect(sim.ami_port, login("on"))
        await ami.until(lambda m: m.name == "SuccessfulAuth")
        reply = await ami.reply(request)
        events = await ami.until(lambda m: m.name == "OriginateResponse")
        await ami.close()
        return reply, events

    reply, events = run(body, handler=answering)
    assert encode_message(reply[0]) == (
        b"Response: Success\r\nActionID: orig-async-1\r\nMessage: Originate successfully queued\r\n\r\n")
    response = events[-1]
    assert [k for k, _ in response.items()] == [k for k, _ in recorded.items()]
    assert (response.get("Response"), response.get("Reason"), response.get("Uniqueid")) == (
        "Success", "4", "lab-call-0001")
    assert response.get("Channel", "").endswith(";1")
    half_two = [m for m in events if m.name == "VarSet" and m.get("Uniqueid") == "lab-call-0001-b"]
    assert [(m.get("Variable"), m.get("Value")) for m in half_two][:2] == [("LAB_TENANT", "acme"),
                                                                          ("LAB_CALLID", "0001")]


def test_a_channel_id_that_prefixes_a_live_uniqueid_is_refused_and_regex_hangup_lists() -> None:
    blocks, expected = transcript("18_originate_channelid_prefix_conflict")
    live = block(("Action", "Originate"), ("Channel", "PJSIP/bertil"), ("Application", "Wait"), ("Data", "20"),
                 ("Timeout", "600000"), ("Async", "true"), ("ChannelId", "lab-call-10"), ("ActionID", "idc-1"))
    hangup = blocks[4].replace(b"/^Local.101@test-context-.*;1$/", b"/^PJSIP.bertil-.*$/")

    async def body(sim: SimAsterisk, _: Any) -> list[AMIMessage]:
        ami = await AMI.connect(sim.ami_port, login("on"))
        await ami.until(lambda m: m.name == "SuccessfulAuth")
        await ami.reply(live)
        await ami.until(lambda m: m.name == "Newstate" and m.get("Uniqueid") == "lab-call-10")
        got = await ami.reply(blocks[2])  # ChannelId lab-call-1, Async
        got += await ami.until(lambda m: m.name == "OriginateResponse")
        got += await ami.reply(blocks[3])  # the same, synchronous
        got += await ami.reply(hangup)
        got += await ami.until(lambda m: m.name == "OriginateResponse")  # the ringing call gave up
        await ami.close()
        return got

    got = run(body)
    mine = [m for m in got if m.action_id in ("idc-2", "idc-3", "idc-hu") and m.name != "ChannelHungup"]
    recorded = [m for m in expected if m.action_id in ("idc-2", "idc-3", "idc-hu") and m.name != "ChannelHungup"]
    assert [encode_message(m) for m in mine] == [encode_message(m) for m in recorded]  # byte for byte
    hung = [m for m in got if m.name == "ChannelHungup"]
    assert len(hung) == 1 and hung[0].get("Channel", "").startswith("PJSIP/bertil-")
    assert [k for k, _ in hung[0].items()] == ["Event", "Channel", "ActionID"]
    assert got[-1].get("Response") == "Failure" and got[-1].get("Uniqueid") == "lab-call-10"


# --- AMI: actions on a live call --------------------------------------------------------------


def queue_forever() -> Handler:
    return planned("queue^pbx/sv/queue^support^600^")


def test_setvar_getvar_coreshowchannels_and_hangup_on_a_live_call() -> None:
    _, expected = transcript("05_originate_async_coreshowchannels_hangup")
    by_id = {m.action_id: m for m in expected if m.kind == "response"}
    listed = next(m for m in expected if m.name == "CoreShowChannel")

    async def body(sim: SimAsterisk, _: Any) -> tuple[dict[str, list[AMIMessage]], SimCall]:
        call = await sim.place_call(CALLER, NUMBER, CallScript())
        ami = await AMI.connect(sim.ami_port, login("off"))
        for _ in range(200):
            if sim.channels and sim.channels[0].app == "WaitExten":
                break
            await asyncio.sleep(0.005)
        chan = call.channel.encode()
        got = {
            "sv1": await ami.reply(block(("Action", "Setvar"), ("Channel", call.channel), ("Variable", "LAB_TENANT"),
                                         ("Value", "acme"), ("ActionID", "sv1"))),
            "gv1": await ami.reply(b"Action: Getvar\r\nChannel: " + chan + b"\r\nVariable: LAB_TENANT\r\n"
                                   b"ActionID: gv1\r\n\r\n"),
            "csc1": await ami.reply(b"Action: CoreShowChannels\r\nActionID: csc1\r\n\r\n"),
            "hu1": await ami.reply(b"Action: Hangup\r\nChannel: " + chan + b"\r\nCause: 16\r\nActionID: hu1\r\n\r\n"),
        }
        done = await finished(call)
        got["csc2"] = await ami.reply(b"Action: CoreShowChannels\r\nActionID: csc2\r\n\r\n")
        await ami.close()
        return got, done

    got, call = run(body, handler=queue_forever())
    for action_id in ("sv1", "gv1", "hu1"):
        assert encode_message(got[action_id][0]) == encode_message(by_id[action_id])
    start, channel, complete = got["csc1"]
    assert encode_message(start) == encode_message(by_id["csc1"])
    assert [k for k, _ in channel.items()] == [k for k, _ in listed.items()]
    assert (channel.get("Channel"), channel.get("Application")) == (call.channel, "WaitExten")
    assert (complete.get("EventList"), complete.get("ListItems")) == ("Complete", "1")
    assert got["csc2"][-1].get("ListItems") == "0"
    assert call.hangup_cause == 16 and call.actions == ["queue^pbx/sv/queue^support^600^"]


def test_redirect_to_pbx_connect_bridges_the_waiting_caller_to_the_agent() -> None:
    _, expected = transcript("06_redirect_then_hangup")
    redirected = next(m for m in expected if m.action_id == "rd1")

    async def body(sim: SimAsterisk, _: Any) -> tuple[AMIMessage, SimCall, list[str]]:
        ami = await AMI.connect(sim.ami_port, login("call"))
        call = await sim.place_call(CALLER, NUMBER, CallScript())
        await ami.until(lambda m: m.name == "MusicOnHoldStart")
        await ami.reply(block(("Action", "Setvar"), ("Channel", call.channel), ("Variable", "PBX_AGENT"),
                              ("Value", "PJSIP/anna"), ("ActionID", "sv")))
        reply = await ami.reply(block(("Action", "Redirect"), ("Channel", call.channel), ("Context", "pbx-connect"),
                                      ("Exten", "s"), ("Priority", "1"), ("ActionID", "rd1")))
        events = await ami.until(lambda m: m.name == "Hangup" and m.get("Channel") == call.channel)
        await ami.close()
        return reply[0], await finished(call), [m.name for m in events]

    reply, call, names = run(body, handler=queue_forever())
    assert encode_message(reply) == encode_message(redirected)
    assert call.answered_by == "PJSIP/anna" and call.hangup_cause == 16
    assert "MusicOnHoldStop" in names and "BridgeEnter" in names and "BridgeDestroy" in names


def test_mixmonitor_mute_and_stop_answer_like_asterisk_and_leave_a_wav(tmp_path: Path) -> None:
    blocks, expected = transcript("07_mixmonitor_mute_stop")
    wanted = ("mm1", "mmm1", "mmm2", "pm1", "smm1")
    replies = {m.action_id: m for m in expected if m.kind == "response" and m.action_id in wanted}
    recording = tmp_path / "rec" / "mixmon-test.wav"

    async def body(sim: SimAsterisk, _: Any) -> dict[str, AMIMessage]:
        call = await sim.place_call(CALLER, NUMBER, CallScript())
        ami = await AMI.connect(sim.ami_port, login("off"))
        for _ in range(200):
            if sim.channels and sim.channels[0].app == "WaitExten":
                break
            await asyncio.sleep(0.005)
        got = {}
        for data in blocks:
            action = AMIParser().feed(data)[0]
            assert isinstance(action, AMIMessage)
            if action.action_id in wanted:
                data = data.replace(b"Local/100@test-context-00000999;2", call.channel.encode())
                data = data.replace(b"/opt/asterisk/transcripts/recordings/mixmon-test.wav", str(recording).encode())
                got[action.action_id or ""] = (await ami.reply(data))[0]
                await asyncio.sleep(0.01)
        await ami.close()
        return got

    got = run(body, handler=queue_forever())
    assert {k: encode_message(v) for k, v in got.items()} == {k: encode_message(replies[k]) for k in wanted}
    with wave.open(str(recording)) as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (8000, 1, 2)
        assert w.getnframes() > 0


def test_events_reach_every_client_that_asked_for_them_and_no_other() -> None:
    async def body(sim: SimAsterisk, _: Any) -> tuple[set[str], set[str], bool]:
        everything = await AMI.connect(sim.ami_port, login("on"))
        calls_only = await AMI.connect(sim.ami_port, login("call"))
        silent = await AMI.connect(sim.ami_port, login("off"))
        call = await sim.place_call(CALLER, NUMBER, CallScript())
        await finished(call)
        stop = ("Hangup", call.channel)
        all_events = await everything.until(lambda m: (m.name, m.get("Channel")) == stop)
        call_events = await calls_only.until(lambda m: (m.name, m.get("Channel")) == stop)
        try:
            await silent.next(timeout=0.2)
            quiet = False
        except TimeoutError:
            quiet = True
        for ami in (everything, calls_only, silent):
            await ami.close()
        return {m.name for m in all_events}, {m.name for m in call_events}, quiet

    everything, calls_only, quiet = run(body)
    assert {"Newchannel", "Newexten", "VarSet", "AGIExecStart", "SoftHangupRequest", "Hangup"} <= everything
    assert "Newexten" not in calls_only and "AGIExecStart" not in calls_only and "Hangup" in calls_only
    assert quiet


def test_dropped_ami_clients_see_the_connection_cut_and_can_come_back() -> None:
    async def body(sim: SimAsterisk, _: Any) -> tuple[bool, str]:
        ami = await AMI.connect(sim.ami_port, login())
        await sim.drop_ami_clients()
        cut = await ami.closed()
        await ami.close()
        again = await AMI.connect(sim.ami_port, login())
        pong = (await again.reply(b"Action: Ping\r\nActionID: p\r\n\r\n"))[0].get("Ping", "")
        await again.close()
        return cut, pong

    assert run(body) == (True, "Pong")


def test_device_state_list_reports_every_phone_for_a_resync() -> None:
    async def body(sim: SimAsterisk, _: Any) -> list[AMIMessage]:
        ami = await AMI.connect(sim.ami_port, login())
        listed = await ami.reply(b"Action: DeviceStateList\r\nActionID: ds1\r\n\r\n")
        await ami.close()
        return listed

    start, *devices, complete = run(body)
    assert (start.get("EventList"), start.get("Message")) == ("start", "Device State Changes will follow")
    assert all([k for k, _ in m.items()] == ["Event", "ActionID", "Device", "State"] for m in devices)
    states = {m.get("Device"): m.get("State") for m in devices}
    assert states == {"PJSIP/anna": "NOT_INUSE", "PJSIP/bertil": "NOT_INUSE", "PJSIP/busy": "NOT_INUSE",
                      "PJSIP/away": "UNAVAILABLE", "PJSIP/trunk": "NOT_INUSE"}
    assert (complete.name, complete.get("ListItems")) == ("DeviceStateListComplete", "5")


def test_originate_to_the_trunk_runs_the_contract_for_a_callback() -> None:
    request = block(("Action", "Originate"), ("Channel", f"PJSIP/{CALLER}@trunk"), ("Context", "pbx-step"),
                    ("Exten", "s"), ("Priority", "1"), ("CallerID", f'"Exempel AB" <{NUMBER}>'), ("Async", "yes"),
                    ("Variable", f"PBX_DIALLED={NUMBER},PBX_POS=cb^1,PBX_RESULT=CALLBACK"), ("ActionID", "cb1"))

    async def body(sim: SimAsterisk, responder: Responder) -> tuple[AMIMessage, SimCall, AGIEnvironment]:
        ami = await AMI.connect(sim.ami_port, login("call"))
        await ami.reply(request)
        response = (await ami.until(lambda m: m.name == "OriginateResponse"))[-1]
        await ami.close()
        return response, await finished(sim.calls[0]), responder.seen[0]

    response, call, env = run(body, handler=answering)
    assert (response.get("Response"), response.get("Context"), response.get("Reason")) == ("Success", "pbx-step", "4")
    assert env.args == (NUMBER, "cb^1", "CALLBACK") and env.env["agi_callerid"] == NUMBER
    assert env.env["agi_channel"].startswith("PJSIP/trunk-") and call.dialled == NUMBER
    assert call.hangup_cause == 16


def test_stop_with_clients_connected_closes_their_connections() -> None:
    async def body(sim: SimAsterisk, _: Any) -> bool:
        ami = await AMI.connect(sim.ami_port, login())
        await sim.stop()
        cut = await ami.closed()
        await ami.close()
        return cut

    assert run(body)


# --- FastAGI and the dialplan contract --------------------------------------------------------


def test_route_request_carries_the_recorded_environment_and_the_menu_key_comes_back() -> None:
    recorded = AGIServerParser().feed((DATA / "agi" / "001_route.a2s.raw").read_bytes())[0]
    assert isinstance(recorded, AGIEnvironment)
    replies: list[bytes] = []

    async def handler(peer: AGIPeer, env: AGIEnvironment) -> None:
        first = env.args[1] == ""
        for name, value in (("PBX_POS", "exempel^main^menu^^0^0"),
                            ("PBX_DO", "menu^pbx/sv/welcome^12^5" if first else "hangup^^16")):
            mark = len(peer.raw)
            await peer.send(set_variable(name, value))
            replies.append(bytes(peer.raw[mark:]))

    async def body(sim: SimAsterisk, responder: Responder) -> tuple[SimCall, list[AGIEnvironment], int]:
        call = await finished(await sim.place_call(CALLER, NUMBER, CallScript(keys=["2"])))
        return call, responder.seen, responder.port

    call, seen, port = run(body, handler=handler, speed=TIMED)
    first, second = seen
    keys = list(first.env)
    assert keys[:keys.index("agi_arg_1")] == list(recorded.env)[:list(recorded.env).index("agi_arg_1")]
    assert keys[keys.index("agi_arg_1"):] == ["agi_arg_1", "agi_arg_2", "agi_arg_3"]
    env = first.env
    assert env["agi_network_script"] == "route" and env["agi_request"] == f"agi://127.0.0.1:{port}/route"
    assert re.fullmatch(r"PJSIP/trunk-[0-9a-f]{8}", env["agi_channel"]) and env["agi_type"] == "PJSIP"
    assert re.fullmatch(r"\d{10}\.\d+", env["agi_uniqueid"]) and env["agi_uniqueid"] == call.uniqueid
    assert (env["agi_version"], env["agi_callerid"], env["agi_calleridname"]) == ("22.10.1", CALLER, "unknown")
    # priority 2: pbx-step clears PBX_DO first (extensions.conf)
    assert (env["agi_context"], env["agi_extension"], env["agi_priority"]) == ("pbx-step", "s", "2")
    assert first.args == (NUMBER, "", "")
    assert second.args == (NUMBER, "exempel^main^menu^^0^0", "2")  # the key pressed at the menu
    assert replies == [b"200 result=1\n"] * 4
    assert [s.kind for s in call.steps] == ["agi", "action", "result", "agi", "action", "hangup"]
    assert call.results == ["2"] and call.hangup_cause == 16 and call.hangup_cause_txt == "Normal Clearing"
    assert about(sim_seconds(call.steps[1].at, call.steps[2].at), 1.0)  # key_delay_s into the prompt


def test_caller_hanging_up_mid_agi_gets_hangup_then_dead_channel_replies_as_recorded() -> None:
    recorded = (DATA / "agi" / "002_hangup-test.a2s.raw").read_bytes().split(b"\n\n", 1)[1]
    commands = [b'STREAM FILE demo-congrats ""\n', b"GET VARIABLE CALLERID(num)\n",
                b'VERBOSE "still here after hangup" 1\n', b'STREAM FILE demo-thanks ""\n',
                b'SET VARIABLE AFTER_HANGUP "yes"\n', b"EXEC NoOp dead-channel-exec\n", b"ANSWER\n"]
    raw: list[bytes] = []

    async def handler(peer: AGIPeer, env: AGIEnvironment) -> None:
        mark = len(peer.raw)
        await peer.send(commands[0])
        await peer.wait_hangup()
        for command in commands[1:]:
            await peer.send(command)
        raw.append(bytes(peer.raw[mark:]))

    async def body(sim: SimAsterisk, _: Any) -> SimCall:
        sim.node.prompt_s = 30.0  # demo-congrats is long: the caller hangs up in the middle of it
        return await finished(await sim.place_call("5550201", NUMBER, CallScript(hangup_after_s=2.0)))

    call = run(body, handler=handler)
    got = raw[0]
    assert re.sub(rb"endpos=\d+", b"endpos=N", got) == re.sub(rb"endpos=\d+", b"endpos=N", recorded)
    assert got.startswith(b"200 result=-1 endpos=") and b"\nHANGUP\n" in got
    assert call.steps[0].details.endswith("AGISTATUS=HANGUP")
    assert call.hangup_cause == 0  # a BYE leaves the cause unset, as with a real SIP caller (transcript 17)


def test_agi_protocol_errors_answer_with_the_recorded_bytes() -> None:
    recorded = (DATA / "agi" / "001_route.a2s.raw").read_bytes()
    got: list[bytes] = []

    async def handler(peer: AGIPeer, env: AGIEnvironment) -> None:
        for line in (b"THIS IS NOT A COMMAND\n", b"GET VARIABLE\n", b"CHANNEL STATUS\n",
                     b"DATABASE PUT lab key1 value1\n", b"DATABASE GET lab key1\n"):
            mark = len(peer.raw)
            await peer.send(line)
            got.append(bytes(peer.raw[mark:]))
        await peer.set("PBX_POS", "p")
        await peer.set("PBX_DO", "hangup^^16")

    async def body(sim: SimAsterisk, _: Any) -> dict[str, dict[str, str]]:
        await finished(await sim.place_call(CALLER, NUMBER, CallScript()))
        return sim.db

    db = run(body, handler=handler)
    invalid, usage, status, put, value = got
    assert invalid == b"510 Invalid or unknown command\n" and invalid in recorded
    assert usage.startswith(b"520-Invalid command syntax.  Proper usage follows:\n") and usage in recorded
    assert status == b"200 result=4\n"  # ringing, not answered yet: pbx-step runs before any Answer
    assert put == b"200 result=1\n" and value == b"200 result=1 (value1)\n" and value in recorded
    assert db == {"lab": {"key1": "value1"}}


def test_controller_refusing_connections_sends_the_caller_down_the_unreachable_path() -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]

    async def body(sim: SimAsterisk, _: Any) -> tuple[SimCall, list[AMIMessage]]:
        sim.set_agi_target("127.0.0.1", closed_port)
        ami = await AMI.connect(sim.ami_port, login("on"))
        call = await finished(await sim.place_call(CALLER, NUMBER, CallScript()))
        events = await ami.until(lambda m: m.name == "Hangup")
        await ami.close()
        return call, events

    call, events = run(body)
    assert [s.kind for s in call.steps] == ["agi", "action", "hangup"]
    assert "AGISTATUS=FAILURE" in call.steps[0].details and call.steps[1].value == "unreachable"
    assert call.hangup_cause == 41
    played = [m.get("AppData") for m in events if m.name == "Newexten" and m.get("Application") == "Playback"]
    assert played == ["pbx/sv/ss-noservice"]
    assert (events[-1].get("Cause"), events[-1].get("Cause-txt")) == ("41", "Temporary failure")


def test_controller_closing_without_an_answer_is_unreachable_too() -> None:
    async def silent(peer: AGIPeer, env: AGIEnvironment) -> None:
        return

    async def body(sim: SimAsterisk, _: Any) -> SimCall:
        return await finished(await sim.place_call(CALLER, NUMBER, CallScript()))

    call = run(body, handler=silent)
    assert call.steps[0].details.endswith("PBX_DO=") and call.hangup_cause == 41


def test_a_dialled_call_emits_the_recorded_events_in_the_recorded_field_order() -> None:
    shapes = event_shapes()

    async def body(sim: SimAsterisk, _: Any) -> tuple[list[AMIMessage], SimCall]:
        ami = await AMI.connect(sim.ami_port, login("on"))
        call = await sim.place_call(CALLER, NUMBER, CallScript())
        events = await ami.until(lambda m: m.name == "Hangup" and m.get("Channel") == call.channel)
        events += await ami.until(lambda m: m.name == "DeviceStateChange" and m.get("Device") == "PJSIP/trunk")
        await ami.close()
        return events, await finished(call)

    events, call = run(body, handler=planned("dial^^PJSIP/anna^10"))
    names = [m.name for m in events]
    order = ["Newchannel", "DialBegin", "DialEnd", "BridgeCreate", "BridgeEnter", "BridgeLeave", "BridgeDestroy"]
    positions = [names.index(n) for n in order]
    assert positions == sorted(positions) and positions[-1] < names.index("SoftHangupRequest")
    assert events[-2].name == "Hangup" and events[-2].get("Channel") == call.channel
    for m in events:
        if m.name in shapes:
            assert tuple(k for k, _ in m.items()) in shapes[m.name], m.name
    anna = [m.get("State") for m in events if m.get("Device") == "PJSIP/anna"]
    assert anna == ["RINGING", "INUSE", "NOT_INUSE"]
    assert call.answered_by == "PJSIP/anna" and call.hangup_cause == 16


def test_dial_results_follow_the_endpoints_behaviour() -> None:
    handler = planned("dial^^PJSIP/busy^5", "dial^^PJSIP/away&PJSIP/nobody^5", "dial^^PJSIP/bertil^5",
                      "dial^pbx/sv/connecting^PJSIP/bertil&PJSIP/anna^20")

    async def body(sim: SimAsterisk, _: Any) -> SimCall:
        return await finished(await sim.place_call(CALLER, NUMBER, CallScript()))

    call = run(body, handler=handler, speed=TIMED)
    assert call.results[:3] == ["BUSY", "CHANUNAVAIL", "NOANSWER"]
    noanswer = next(s for s in call.steps if s.value == "NOANSWER")
    asked = call.steps[call.steps.index(noanswer) - 1]
    assert about(sim_seconds(asked.at, noanswer.at), 5.0)  # RING_S
    assert call.answered_by == "PJSIP/anna"  # ringing both, Anna answered first


def test_ring_group_tries_members_in_order_then_times_out_at_the_overflow() -> None:
    handler = planned("ring^pbx/sv/welcome^PJSIP/bertil~3;PJSIP/busy~3^12^pbx/sv/wait", "hangup^^16")

    async def body(sim: SimAsterisk, _: Any) -> tuple[SimCall, list[str]]:
        ami = await AMI.connect(sim.ami_port, login("call"))
        call = await finished(await sim.place_call(CALLER, NUMBER, CallScript()))
        events = await ami.until(lambda m: m.name == "Hangup" and m.get("Channel") == call.channel)
        await ami.close()
        return call, [m.get("DestChannel", "") for m in events if m.name == "DialBegin"]

    call, dialled = run(body, handler=handler, speed=TIMED)
    assert [d.split("-")[0] for d in dialled] == ["PJSIP/bertil", "PJSIP/busy"]
    assert call.results == ["TIMEOUT"]
    action, timeout = call.steps[1], call.steps[2]
    # PBX_END = ${EPOCH} + 12 once the 2 s welcome has played; EPOCH counts whole seconds
    assert 13.0 <= sim_seconds(action.at, timeout.at) < 15.0 + SLACK


def test_queue_ticks_and_a_scripted_key_ends_the_wait() -> None:
    handler = planned("queue^pbx/sv/queue^support^5^1", "queue^^support^5^1", "hangup^^16")

    async def body(sim: SimAsterisk, _: Any) -> SimCall:
        script = CallScript(queue_keys=[(9.0, "1")])
        return await finished(await sim.place_call(CALLER, NUMBER, script))

    call = run(body, handler=handler, speed=TIMED)
    assert call.results == ["TICK", "KEY:1"]
    first, tick, second, key = [s.at for s in call.steps if s.kind in ("action", "result")][:4]
    assert about(sim_seconds(first, tick), 7.0)  # the announcement (2 s), then TICK_S
    assert about(sim_seconds(first, tick) + sim_seconds(second, key), 9.0)  # counted over both waits


def test_voicemail_records_a_wav_hands_it_over_and_a_hangup_while_recording_too(tmp_path: Path) -> None:
    box = tmp_path / "spool" / "voicemail" / "exempel" / "salj"
    recorded: list[tuple[str, ...]] = []

    async def handler(peer: AGIPeer, env: AGIEnvironment) -> None:
        if env.env["agi_network_script"] == "recorded":
            recorded.append(env.args)
            recorded.append((env.env["agi_extension"], str(peer.hangups)))
            return
        name = env.env["agi_uniqueid"]
        await peer.set("PBX_POS", "exempel^main^vm^^0^0")
        await peer.set("PBX_DO", f"voicemail^pbx/sv/leave-message^{box}/{name}" if not env.args[2] else "hangup^^16")

    async def body(sim: SimAsterisk, _: Any) -> tuple[SimCall, SimCall]:
        whole = await finished(await sim.place_call(CALLER, NUMBER, CallScript(message_s=4.0)))
        cut = await finished(await sim.place_call(CALLER, NUMBER, CallScript(hangup_after_s=6.0)))
        await asyncio.sleep(0.05)
        return whole, cut

    whole, cut = run(body, handler=handler, speed=TIMED)  # the hangup must land inside Record
    assert whole.results == ["RECORDED"] and whole.recording == f"{box}/{whole.uniqueid}.wav"
    with wave.open(whole.recording) as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (8000, 1, 2)
        assert w.getnframes() == 4 * 8000
    assert cut.results == [] and cut.recording and Path(cut.recording).exists()
    with wave.open(cut.recording) as w:
        assert 0 < w.getnframes() < 4 * 8000  # what was said until the hangup (after 2 s greeting, 0.5 s beep)
    # a finished message is handed over at once (extension s), one cut short by the h extension
    assert recorded == [(NUMBER, "exempel^main^vm^^0^0", f"{box}/{whole.uniqueid}"), ("s", "0"),
                        (NUMBER, "exempel^main^vm^^0^0", f"{box}/{cut.uniqueid}"), ("h", "0")]
    assert cut.steps[-2].kind == "agi" and cut.steps[-2].details.startswith("recorded(")


def test_collect_reads_digits_up_to_the_hash_and_a_silent_menu_times_out() -> None:
    handler = planned("collect^pbx/sv/enter-number^20^10", "menu^pbx/sv/welcome^12^5", "hangup^^16")

    async def body(sim: SimAsterisk, _: Any) -> SimCall:
        return await finished(await sim.place_call(CALLER, NUMBER, CallScript(keys=["0701234567#", ""])))

    call = run(body, handler=handler, speed=TIMED)
    assert call.results == ["0701234567", ""]
    menu = next(s for s in call.steps if s.kind == "action" and s.value.startswith("menu^"))
    timeout = call.steps[call.steps.index(menu) + 1]
    assert timeout.details.endswith("(timeout)")
    assert about(sim_seconds(menu.at, timeout.at), 7.0)  # the 2 s prompt, then TIMEOUT_S


def test_stop_hangs_up_calls_in_progress_and_resolves_them() -> None:
    async def body(sim: SimAsterisk, _: Any) -> SimCall:
        call = await sim.place_call(CALLER, NUMBER, CallScript())
        await asyncio.sleep(0.05)
        await sim.stop()
        return call

    call = run(body, handler=queue_forever())
    assert call.finished.done() and call.hangup_cause is not None


def test_sim_clock_runs_faster_than_the_wall_clock() -> None:
    async def main() -> tuple[float, datetime]:
        clock = SimClock(START, speed=100.0)
        started = time.monotonic()
        await clock.sleep(10.0)
        return time.monotonic() - started, clock.now()

    real, now = asyncio.run(main())
    assert 0.09 <= real < 0.5
    assert START + timedelta(seconds=10) <= now < START + timedelta(seconds=30)
    with pytest.raises(ValueError):
        SimClock(datetime(2026, 1, 1), 1.0)  # naive: the controller's decisions need a zone


def test_mwi_update_sets_the_lamp_and_says_so_like_res_mwi_external_ami() -> None:
    async def body(sim: SimAsterisk, _: Any) -> tuple[list[AMIMessage], list[AMIMessage], dict[str, tuple[int, int]]]:
        ami = await AMI.connect(sim.ami_port, login("on"))
        ok = await ami.reply(b"Action: MWIUpdate\r\nActionID: m1\r\nMailbox: salj@exempel\r\n"
                             b"OldMessages: 2\r\nNewMessages: 1\r\n\r\n")
        event = await ami.until(lambda m: m.name == "MessageWaiting")
        bad = await ami.reply(b"Action: MWIUpdate\r\nActionID: m2\r\nMailbox: salj@exempel\r\nNewMessages: x\r\n\r\n")
        missing = await ami.reply(b"Action: MWIUpdate\r\nActionID: m3\r\n\r\n")
        await ami.close()
        return ok + bad + missing, event, dict(sim.node.mwi)

    replies, events, lamps = run(body)
    assert [list(m.items()) for m in replies] == [
        [("Response", "Success"), ("ActionID", "m1")],
        [("Response", "Error"), ("ActionID", "m2"), ("Message", "Invalid NewMessages: x")],
        [("Response", "Error"), ("ActionID", "m3"), ("Message", "Missing mailbox parameter in request")]]
    assert list(events[-1].items()) == [("Event", "MessageWaiting"), ("Privilege", "call,all"),
                                        ("Mailbox", "salj@exempel"), ("Waiting", "1"), ("New", "1"), ("Old", "2")]
    assert lamps == {"salj@exempel": (1, 2)}
