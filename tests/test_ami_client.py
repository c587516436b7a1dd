"""The AMI client over real sockets against a fake AMI server, answering with Asterisk 22's own bytes."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import AsyncIterator, Coroutine
from pathlib import Path
from typing import Any

import pytest

from pbx.asterisk.ami import (
    AMIActionError,
    AMIAuthError,
    AMIClient,
    AMIConnectionError,
    AMITimeoutError,
    backoff_delay,
)
from pbx.asterisk.amicodec import AMIMessage, AMIParser, encode_message

try:
    from tests.ami_fake import FakeAMI, reply
except ImportError:  # pytest run without the repository root on sys.path puts tests/ there instead
    from ami_fake import FakeAMI, reply  # type: ignore[no-redef]

AMI_DIR = Path(__file__).resolve().parent / "data" / "asterisk" / "ami"  # copied from shared/asterisk
PBX_DIR = Path(__file__).resolve().parents[1] / "pbx"
FAST: dict[str, float] = {"ping_interval": 5.0, "ping_timeout": 1.0, "action_timeout": 1.0,
                          "reconnect_min": 0.02, "reconnect_max": 0.08}


def run(scenario: Coroutine[Any, Any, None]) -> None:
    """asyncio.run, then insist that nothing of ours is still running."""

    async def checked() -> None:
        await scenario
        leftovers = asyncio.all_tasks() - {asyncio.current_task()}
        assert not leftovers, leftovers

    asyncio.run(checked())


@contextlib.asynccontextmanager
async def ami(logger: logging.Logger | None = None, **settings: float) -> AsyncIterator[tuple[FakeAMI, AMIClient]]:
    fake = FakeAMI()
    port = await fake.start()
    client = AMIClient("127.0.0.1", port, "pbx", "s3cret", logger=logger, **{**FAST, **settings})
    try:
        await client.start()
        yield fake, client
    finally:
        await client.stop()
        await fake.stop()


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def events(self, name: str) -> list[logging.LogRecord]:
        return [r for r in self.records if getattr(r, "event", None) == name]


def private_logger(name: str) -> tuple[logging.Logger, Records]:
    logger = logging.getLogger(f"tests.ami.{name}")
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    for old in list(logger.handlers):
        logger.removeHandler(old)
    records = Records()
    logger.addHandler(records)
    return logger, records


# --- answers and requests exactly as in the transcripts --------------------------------------


def transcript(name: str, direction: str) -> list[AMIMessage]:
    data = (AMI_DIR / f"{name}.{direction}.raw").read_bytes()
    return [m for m in AMIParser().feed(data) if isinstance(m, AMIMessage)]


def with_action_id(message: AMIMessage, action_id: str | None) -> AMIMessage:
    return AMIMessage([(k, action_id if k == "ActionID" and action_id else v) for k, v in message.items()])


def answers_from(name: str, *action_ids: str) -> Any:
    """A responder replaying, for each successive action, everything Asterisk sent under one
    transcript ActionID (response, list events, OriginateResponse), re-labelled with ours."""
    messages = transcript(name, "s2c")
    queue = list(action_ids)

    def respond(action: AMIMessage) -> bytes:
        wanted = queue.pop(0)
        return b"".join(encode_message(with_action_id(m, action.action_id))
                        for m in messages if m.action_id == wanted)

    return respond


def without_action_id(message: AMIMessage) -> list[tuple[str, str]]:
    return [(k, v) for k, v in message.items() if k != "ActionID"]


def assert_sent_as_in_transcript(fake: FakeAMI, name: str, action_id: str) -> None:
    theirs = next(m for m in transcript(name, "c2s") if m.action_id == action_id)
    ours = fake.actions(theirs.name)[-1]
    assert without_action_id(ours) == without_action_id(theirs)


T03 = "03_invalid_and_removed_actions"
T04B = "04b_originate_async_natural_end_and_failure"
T05 = "05_originate_async_coreshowchannels_hangup"
T06 = "06_redirect_then_hangup"
T07 = "07_mixmonitor_mute_stop"
T08 = "08_dbput_dbget_dbdel"
T09 = "09_command_output"
T10 = "10_queue_add_pause_status_summary_remove"
T18 = "18_originate_channelid_prefix_conflict"
assert AMI_DIR.is_dir(), f"AMI transcripts missing from {AMI_DIR}"


# --- connecting ---------------------------------------------------------------------------


def test_start_logs_in_and_stop_leaves_nothing_running() -> None:
    async def scenario() -> None:
        async with ami() as (fake, client):
            assert client.connected and await client.wait_connected(0.1)
            assert client.server_version == "11.0.0"
            assert await client.ping() < 1.0
            (login,) = fake.actions("Login")
            assert (login["Username"], login["Secret"], login["Events"]) == ("pbx", "s3cret", "on")
        assert not client.connected
        assert client.pending_count == 0
        with pytest.raises(AMIConnectionError):
            await client.ping()

    run(scenario())


def test_wrong_password_raises_at_once_and_does_not_retry() -> None:
    async def scenario() -> None:
        fake = FakeAMI(login_delay=0.2)  # Asterisk answers a bad secret after ~1 s (transcript 02)
        port = await fake.start()
        client = AMIClient("127.0.0.1", port, "pbx", "wrong", **FAST)
        started = time.monotonic()
        with pytest.raises(AMIAuthError, match="Authentication failed"):
            await client.start()
        assert time.monotonic() - started >= 0.2
        await asyncio.sleep(0.3)  # several reconnect_max periods: a retry loop would show here
        assert (fake.connections, fake.login_failures, client.connected) == (1, 1, False)
        await client.stop()
        await fake.stop()

    run(scenario())


def test_unreachable_asterisk_raises_connection_error() -> None:
    async def scenario() -> None:
        fake = FakeAMI()
        port = await fake.start()
        await fake.stop()  # nothing listens on this port any more
        client = AMIClient("127.0.0.1", port, "pbx", "s3cret", **FAST)
        with pytest.raises(AMIConnectionError):
            await client.start()
        await client.stop()

    run(scenario())


def test_reconnects_with_backoff_after_a_drop_and_calls_on_reconnect() -> None:
    async def scenario() -> None:
        logger, records = private_logger("reconnect")
        async with ami(logger=logger) as (fake, client):
            resynced = asyncio.Event()

            async def resync() -> None:  # the owner re-reads channels once logged in again
                channels = await client.core_show_channels()
                assert channels == []
                resynced.set()

            fake.respond("CoreShowChannels", answers_from(T05, "csc2"))
            client.on_reconnect(resync)
            seen: list[str] = []
            client.on_event("*", lambda m: seen.append(m.name))
            fake.refuse = 3  # Asterisk restarting: three attempts fail before it is back
            fake.drop()
            await asyncio.wait_for(resynced.wait(), 2)
            assert client.connected and client.metrics.reconnects == 1
            assert fake.connections == 5 and fake.logins == 2
            await fake.emit(encode_message([("Event", "FullyBooted")]))
            await fake.wait_for(lambda: seen == ["FullyBooted"])
        scheduled = records.events("ami_reconnect_scheduled")
        assert [r.attempt for r in scheduled] == [1, 2, 3, 4]  # type: ignore[attr-defined]
        for record, base in zip(scheduled, [0.02, 0.04, 0.08, 0.08], strict=True):
            assert base / 2 <= record.delay <= base  # type: ignore[attr-defined]
            assert record.host == "127.0.0.1"  # type: ignore[attr-defined]
        assert len(records.events("ami_disconnected")) == 1

    run(scenario())


def test_backoff_doubles_caps_and_jitters() -> None:
    low, high = 0.5, 30.0
    assert [backoff_delay(n, low, high, rand=lambda: 1.0) for n in range(1, 9)] == [
        0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]
    assert [backoff_delay(n, low, high, rand=lambda: 0.0) for n in (1, 2, 7)] == [0.25, 0.5, 15.0]
    assert backoff_delay(10_000, low, high) <= high


def test_actions_in_flight_fail_on_a_drop_and_are_never_resent() -> None:
    # panoramisk re-sends unanswered actions after reconnecting: a second Originate is a
    # second real phone call.
    async def scenario() -> None:
        async with ami() as (fake, client):
            fake.stall()
            originate = asyncio.create_task(client.originate("Local/100@test-context", application="Wait",
                                                             data="1", async_=False))
            await fake.wait_for(lambda: len(fake.actions("Originate")) == 1)
            fake.drop()
            with pytest.raises(AMIConnectionError):
                await originate
            assert client.pending_count == 0
            assert await client.wait_connected(2)
            await client.ping()
            assert len(fake.actions("Originate")) == 1

    run(scenario())


# --- actions ------------------------------------------------------------------------------


def test_responses_are_matched_by_action_id_not_by_order() -> None:
    async def scenario() -> None:
        async with ami() as (fake, client):
            held: list[AMIMessage] = []

            def getvar(action: AMIMessage) -> bytes:  # answers the first question last
                if action["Variable"] == "FIRST":
                    held.append(action)
                    return b""
                return (reply(action, "Success", ("Variable", "SECOND"), ("Value", "2"))
                        + reply(held[0], "Success", ("Variable", "FIRST"), ("Value", "1")))

            fake.respond("Getvar", getvar)
            first, second = await asyncio.gather(client.getvar("Local/1;1", "FIRST"),
                                                 client.getvar("Local/1;1", "SECOND"))
            assert (first, second) == ("1", "2")
            assert client.metrics.actions_sent == 3  # Login, then the two Getvar
            assert client.pending_count == 0

    run(scenario())


def test_error_responses_raise_with_asterisks_reason() -> None:
    async def scenario() -> None:
        async with ami() as (fake, client):
            with pytest.raises(AMIActionError, match="Invalid/unknown command: NoSuchAction") as caught:
                await client.send_action("NoSuchAction")
            assert caught.value.action == "NoSuchAction"
            fake.respond("Command", answers_from(T09, "cmd4"))
            with pytest.raises(AMIActionError) as failed:
                await client.send_action("Command", {"Command": "no such cli command"})
            assert failed.value.message.getall("Output")[0].startswith("No such command 'no such cli command'")
            fake.respond("Hangup", answers_from(T03, "inv3"))
            with pytest.raises(AMIActionError, match="No such channel"):
                await client.hangup("Local/nonexistent-0000;1")
            with pytest.raises(ValueError):
                await client.send_action("Setvar", {"Variable": "X", "Value": "1\r\nAction: Hangup"})
            assert client.pending_count == 0

    run(scenario())


def test_list_actions_return_the_events_up_to_the_completion() -> None:
    async def scenario() -> None:
        async with ami() as (fake, client):
            broadcast: list[str] = []
            client.on_event("*", lambda m: broadcast.append(m.name))
            newchannel = encode_message([("Event", "Newchannel"), ("Channel", "PJSIP/100-00000001")])

            def coreshowchannels(action: AMIMessage) -> bytes:
                answer = answers_from(T05, "csc1")(action)
                cut = answer.index(b"Event: CoreShowChannel\r\n")
                return answer[:cut] + newchannel + answer[cut:]  # an unrelated event inside the list

            fake.respond("CoreShowChannels", coreshowchannels)
            channels = await client.core_show_channels()
            assert [c["Uniqueid"] for c in channels] == ["lab-call-0001", "lab-call-0001-b"]
            assert {c.name for c in channels} == {"CoreShowChannel"}
            fake.respond("QueueStatus", answers_from(T10, "qs1"))
            queue = await client.send_action_list("QueueStatus", {"Queue": "support"}, "QueueStatusComplete")
            assert queue[0].name == "QueueParams" and queue[0]["Queue"] == "support"
            assert {m.name for m in queue[1:]} == {"QueueMember"}
            await fake.wait_for(lambda: broadcast == ["Newchannel"])  # list items went to the caller only
            assert client.pending_count == 0

    run(scenario())


def test_helpers_send_what_asterisk_22_expects_and_read_its_answers() -> None:
    async def scenario() -> None:
        async with ami() as (fake, client):
            fake.respond("Originate", answers_from(T05, "orig-async-1"))
            action_id = await client.originate(
                "Local/100@test-context", application="Playback", data="demo-congrats",
                caller_id='"AMI Async" <5550101>', timeout_ms=30000, channel_id="lab-call-0001",
                other_channel_id="lab-call-0001-b", variables={"LAB_TENANT": "acme", "LAB_CALLID": "0001"})
            assert fake.actions("Originate")[-1].action_id == action_id
            assert_sent_as_in_transcript(fake, T05, "orig-async-1")

            chan = "Local/100@test-context-00000004;2"
            fake.respond("Getvar", answers_from(T05, "gv1"))
            assert await client.getvar(chan, "LAB_TENANT") == "acme"
            assert_sent_as_in_transcript(fake, T05, "gv1")
            fake.respond("Setvar", answers_from(T05, "sv1"))
            await client.setvar(chan, "FROM_AMI", "hello")
            assert_sent_as_in_transcript(fake, T05, "sv1")
            fake.respond("Hangup", answers_from(T05, "hu1", "hu2"))
            assert await client.hangup("Local/100@test-context-00000004;1", cause=16) == 1
            assert_sent_as_in_transcript(fake, T05, "hu1")

            fake.respond("Redirect", answers_from(T06, "rd1"))
            await client.redirect("Local/101@test-context-00000005;2", "test-context", "103", 1)
            assert_sent_as_in_transcript(fake, T06, "rd1")

            rec = "Local/100@test-context-00000999;2"
            fake.respond("MixMonitor", answers_from(T07, "mm1", "mm2"))
            fake.respond("MixMonitorMute", answers_from(T07, "mmm1", "mmm2"))
            fake.respond("StopMixMonitor", answers_from(T07, "smm1"))
            await client.mixmonitor(rec, "/opt/asterisk/transcripts/recordings/mixmon-test.wav")
            assert_sent_as_in_transcript(fake, T07, "mm1")
            await client.mixmonitor_mute(rec)
            assert_sent_as_in_transcript(fake, T07, "mmm1")
            await client.mixmonitor_mute(rec, "read", state=False)
            assert_sent_as_in_transcript(fake, T07, "mmm2")
            await client.mixmonitor(rec, "/opt/asterisk/transcripts/recordings/mixmon-test2.wav",
                                    "r(/opt/asterisk/transcripts/recordings/mixmon-test2-rx.wav)")
            assert_sent_as_in_transcript(fake, T07, "mm2")
            await client.stop_mixmonitor(rec)
            assert_sent_as_in_transcript(fake, T07, "smm1")

            fake.respond("DBPut", answers_from(T08, "db1"))
            fake.respond("DBGet", answers_from(T08, "db2", "db3"))
            fake.respond("DBDel", answers_from(T08, "db5", "db6"))
            await client.db_put("lab", "tenant/acme/route", "queue:support")
            assert_sent_as_in_transcript(fake, T08, "db1")
            assert await client.db_get("lab", "tenant/acme/route") == "queue:support"
            assert_sent_as_in_transcript(fake, T08, "db2")
            assert await client.db_get("lab", "no-such-key") is None
            assert await client.db_del("lab", "tenant/acme/route") is True
            assert_sent_as_in_transcript(fake, T08, "db5")
            assert await client.db_del("lab", "tenant/acme/route") is False

            fake.respond("Hangup", answers_from(T18, "idc-hu"))
            assert await client.hangup("/^Local.101@test-context-.*;1$/") == 1
            assert_sent_as_in_transcript(fake, T18, "idc-hu")
            assert client.pending_count == 0

    run(scenario())


def test_originate_and_wait_returns_success_and_raises_on_failure() -> None:
    async def scenario() -> None:
        async with ami() as (fake, client):
            responses: list[AMIMessage] = []
            client.on_event("OriginateResponse", responses.append)
            fake.respond("Originate", answers_from(T04B, "orig-async-2", "orig-fail-1", "orig-fail-3"))
            ok = await client.originate_and_wait("Local/102@test-context", application="Playback",
                                                 data="demo-thanks", caller_id='"AMI Async" <5550102>')
            assert ok["Channel"] == "Local/102@test-context-00000001;1" and ok["Reason"] == "4"
            assert_sent_as_in_transcript(fake, T04B, "orig-async-2")
            with pytest.raises(AMIActionError) as no_exten:
                await client.originate_and_wait("Local/999@test-context", application="Playback",
                                                data="demo-thanks", timeout_ms=5000)
            assert no_exten.value.message["Response"] == "Failure" and no_exten.value.reason == "0"
            with pytest.raises(AMIActionError):
                await client.originate_and_wait("Bogus/123", application="Playback", data="demo-thanks")
            assert [m["Response"] for m in responses] == ["Success", "Failure", "Failure"]  # also broadcast
            fake.respond("Originate", answers_from(T04B, "orig-fail-2"))
            with pytest.raises(AMIActionError, match="Originate failed"):
                await client.originate("Local/999@test-context", application="Playback", data="demo-thanks",
                                       timeout_ms=5000, async_=False)
            with pytest.raises(ValueError):
                await client.originate("Local/1@x", application="Wait", context="x", exten="1")
            with pytest.raises(ValueError):
                await client.originate("Local/1@x", context="x", exten="1", variables={"A": "1,2"})
            assert client.pending_count == 0

    run(scenario())


# --- events -------------------------------------------------------------------------------


def event(name: str, **fields: str) -> bytes:
    return encode_message([("Event", name), *fields.items()])


def test_events_reach_sync_async_and_star_handlers_in_wire_order() -> None:
    async def scenario() -> None:
        async with ami() as (fake, client):
            sync_seen: list[str] = []
            async_seen: list[str] = []
            everything: list[str] = []

            async def on_hangup(message: AMIMessage) -> None:
                await asyncio.sleep(0.01 if message["Uniqueid"] == "1" else 0)  # slow first: order must hold
                async_seen.append(message["Uniqueid"])

            client.on_event("newchannel", lambda m: sync_seen.append(m["Uniqueid"]))  # case-insensitive
            client.on_event("Hangup", on_hangup)
            unsubscribe = client.on_event("*", lambda m: everything.append(m.name))
            await fake.emit(event("Newchannel", Uniqueid="1") + event("Hangup", Uniqueid="1")
                            + event("Newchannel", Uniqueid="2") + event("Hangup", Uniqueid="2"))
            await fake.wait_for(lambda: len(async_seen) == 2)
            assert sync_seen == ["1", "2"] and async_seen == ["1", "2"]
            assert everything == ["Newchannel", "Hangup", "Newchannel", "Hangup"]
            assert client.metrics.events_received == 4
            unsubscribe()
            await fake.emit(event("Newchannel", Uniqueid="3"))
            await fake.wait_for(lambda: sync_seen == ["1", "2", "3"])
            assert len(everything) == 4

    run(scenario())


def test_a_failing_handler_is_logged_and_the_connection_stays() -> None:
    async def scenario() -> None:
        logger, records = private_logger("handlers")
        async with ami(logger=logger) as (fake, client):
            delivered: list[str] = []

            def broken(message: AMIMessage) -> None:
                raise RuntimeError("bug in a handler")

            async def broken_async(message: AMIMessage) -> None:
                raise RuntimeError("bug in an async handler")

            client.on_event("Newchannel", broken)
            client.on_event("Newchannel", broken_async)
            client.on_event("*", lambda m: delivered.append(m["Uniqueid"]))
            await fake.emit(event("Newchannel", Uniqueid="1"))
            await fake.emit(event("Newchannel", Uniqueid="2") + event("Hangup", Uniqueid="2"))
            await fake.wait_for(lambda: client.metrics.handler_errors == 4)
            assert delivered == ["1", "2", "2"]
            await client.ping()
            assert client.connected and fake.connections == 1 and client.metrics.reconnects == 0
            errors = records.events("ami_handler_error")
            assert len(errors) == 4 and errors[0].exc_info is not None
            assert errors[0].ami_event == "Newchannel"  # type: ignore[attr-defined]

    run(scenario())


# --- the panoramisk 1.4 defects, one by one ---------------------------------------------------


def test_a_dead_peer_is_detected_by_ping_and_replaced() -> None:
    # (a) panoramisk's pings are fire-and-forget: a silent peer is never noticed.
    async def scenario() -> None:
        logger, records = private_logger("dead-peer")
        async with ami(logger=logger, ping_interval=0.05, ping_timeout=0.1) as (fake, client):
            reconnected: list[bool] = []
            client.on_reconnect(lambda: reconnected.append(client.connected))
            fake.stall()  # socket open, nothing answered: a hung Asterisk or a dead NAT mapping
            await fake.wait_for(lambda: fake.logins == 2)
            assert await client.wait_connected(1)
            await fake.wait_for(lambda: reconnected == [True])
            assert client.metrics.reconnects == 1 and client.metrics.timeouts >= 1
            assert len(records.events("ami_ping_timeout")) == 1
            await client.ping()

    run(scenario())


def test_an_unanswered_action_times_out_and_leaves_the_pending_table() -> None:
    # (b) panoramisk's send_action waits forever and its entry stays in `responses`.
    async def scenario() -> None:
        async with ami(action_timeout=0.1) as (fake, client):
            fake.stall()
            with pytest.raises(AMITimeoutError):
                await client.send_action("Getvar", {"Variable": "X"}, timeout=0.05)
            assert client.pending_count == 0 and client.metrics.timeouts == 1
            waiting = asyncio.create_task(client.send_action("Getvar", {"Variable": "Y"}, timeout=5))
            await fake.wait_for(lambda: len(fake.actions("Getvar")) == 2)
            assert client.pending_count == 1
            waiting.cancel()
            with pytest.raises(asyncio.CancelledError):
                await waiting
            assert client.pending_count == 0
            with pytest.raises(AMITimeoutError):
                await client.send_action_list("CoreShowChannels", {}, "CoreShowChannelsComplete", timeout=0.05)
            with pytest.raises(AMITimeoutError):
                await client.originate_and_wait("Local/1@x", application="Wait", timeout_ms=0)
            assert client.pending_count == 0
            late = fake.actions("Getvar")[0]
            await fake.emit(reply(late, "Success", ("Variable", "X"), ("Value", "late")))  # dropped quietly
            await asyncio.sleep(0.02)
            assert client.connected and client.metrics.events_received == 0

    run(scenario())


SPLIT_NAME = "Event: Newchannel\r\nChannel: PJSIP/100-00000001\r\nCallerIDName: Åsa Öberg\r\n\r\n".encode()


def test_a_name_split_inside_a_character_across_tcp_writes_arrives_whole() -> None:
    # (d) panoramisk decodes each read on its own, ignoring errors: "Åsa" becomes "sa".
    async def scenario() -> None:
        async with ami() as (fake, client):
            names: list[str] = []
            client.on_event("Newchannel", lambda m: names.append(m["CallerIDName"]))
            cut = SPLIT_NAME.index("Å".encode()) + 1  # between the two bytes of "Å"
            await fake.emit_in_pieces([SPLIT_NAME[:cut], SPLIT_NAME[cut:]], pause=0.05)
            await fake.wait_for(lambda: bool(names))
            assert names == ["Åsa Öberg"]

    run(scenario())


def test_we_still_speak_crlf_after_panoramisk_testing_rewrote_its_eol() -> None:
    # (e) panoramisk.testing.Manager sets the module-global utils.EOL to "\n", which breaks
    # every real panoramisk Manager in the process. Our framing does not depend on it.
    import panoramisk.actions
    import panoramisk.testing
    import panoramisk.utils

    async def scenario() -> None:
        mock_manager = panoramisk.testing.Manager()
        mock_manager.close()
        assert panoramisk.utils.EOL == "\n"
        assert "\r\n" not in str(panoramisk.actions.Action({"Action": "Ping"}))  # the damage
        async with ami() as (fake, client):
            await client.ping()
            fake.respond("DBPut", answers_from(T08, "db1"))
            await client.db_put("lab", "k", "v")
        sent = bytes(fake.raw_received)
        assert sent.count(b"\n") == sent.count(b"\r\n") > 0 and sent.endswith(b"\r\n\r\n")

    try:
        run(scenario())
    finally:
        panoramisk.utils.EOL = "\r\n"


def test_panoramisk_1_4_still_has_the_defects_we_cover() -> None:
    # If an upgrade fixes these, this test says so; our layer does not rely on them either way.
    from panoramisk.ami_protocol import AMIProtocol
    from panoramisk.manager import Manager

    class Transport:
        def write(self, data: bytes) -> None:
            pass

        def close(self) -> None:
            pass

    protocol = AMIProtocol()
    protocol.connection_made(Transport())  # type: ignore[arg-type]
    protocol.encoding = "utf8"
    manager = Manager()
    got: list[Any] = []
    manager.register_event("*", lambda _, message: got.append(message))
    protocol.factory = manager
    cut = SPLIT_NAME.index("Å".encode()) + 1
    protocol.data_received(SPLIT_NAME[:cut])
    protocol.data_received(SPLIT_NAME[cut:])
    assert got[0]["CallerIDName"] == "sa Öberg"  # (d) the Å is lost

    def broken(_: Any, message: Any) -> None:
        raise RuntimeError("bug in a handler")

    manager.register_event("Hangup", broken)
    with pytest.raises(RuntimeError):  # (c) escapes data_received: asyncio then closes the socket
        protocol.data_received(b"Event: Hangup\r\n\r\n")

    async def unanswered() -> None:
        future = protocol.send({"Action": "Ping"})
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(future, 0.01)
        assert len(protocol.responses) == 1  # (b) the entry stays forever

    asyncio.run(unanswered())


def test_a_protocol_violation_drops_the_connection_and_reconnects() -> None:
    async def scenario() -> None:
        async with ami() as (fake, client):
            await fake.emit(b"Event: Flood\r\nData: " + b"x" * 70_000 + b"\r\n\r\n")
            await fake.wait_for(lambda: fake.logins == 2)
            assert await client.wait_connected(1)
            assert client.metrics.protocol_errors == 1 and client.metrics.reconnects == 1

    run(scenario())


def test_stop_fails_actions_in_flight_and_cancels_handlers() -> None:
    async def scenario() -> None:
        async with ami() as (fake, client):
            fake.stall()
            blocked = asyncio.Event()

            async def slow(message: AMIMessage) -> None:
                blocked.set()
                await asyncio.sleep(60)

            client.on_event("Newchannel", slow)
            await fake.emit(event("Newchannel") + event("Newchannel"))
            await asyncio.wait_for(blocked.wait(), 1)
            waiting = asyncio.create_task(client.send_action("Getvar", {"Variable": "X"}, timeout=30))
            await fake.wait_for(lambda: bool(fake.actions("Getvar")))
            started = time.monotonic()
            await client.stop()
            assert time.monotonic() - started < 0.5
            with pytest.raises(AMIConnectionError):
                await waiting
            assert client.pending_count == 0

    run(scenario())


def test_a_handler_may_stop_the_client() -> None:
    async def scenario() -> None:
        fake = FakeAMI()
        client = AMIClient("127.0.0.1", await fake.start(), "pbx", "s3cret", **FAST)
        stopped = asyncio.Event()

        async def on_shutdown(message: AMIMessage) -> None:
            await client.stop()
            stopped.set()

        client.on_event("Shutdown", on_shutdown)
        await client.start()
        await fake.emit(event("Shutdown", Shutdown="Cleanly", Restart="False"))
        await asyncio.wait_for(stopped.wait(), 1)
        assert not client.connected
        await asyncio.sleep(0.01)  # let the handler's worker finish on its own
        await fake.stop()

    run(scenario())


# --- the seam ---------------------------------------------------------------------------------


def test_nothing_but_the_seam_imports_panoramisk() -> None:
    importers = [path.relative_to(PBX_DIR.parent).as_posix() for path in PBX_DIR.rglob("*.py")
                 if re.search(r"^\s*(from|import)\s+panoramisk", path.read_text(encoding="utf-8"), re.M)]
    assert set(importers) <= {"pbx/asterisk/ami.py"}
    testing = re.compile(r"^\s*(from\s+panoramisk(\.testing\s+import|\s+import\s+.*\btesting\b)"
                         r"|import\s+panoramisk\.testing)", re.M)
    assert not [path for path in PBX_DIR.rglob("*.py") if testing.search(path.read_text(encoding="utf-8"))]
