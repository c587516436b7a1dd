"""Asterisk's side of FastAGI for the simulator: connect, send the environment, answer commands as res_agi does."""

from __future__ import annotations

import asyncio
import re
from collections import deque
from dataclasses import dataclass

from pbx.asterisk.agi import (
    GET_VARIABLE_USAGE,
    HANGUP_LINE,
    MAX_LINE_BYTES,
    encode_environment,
    encode_response,
    encode_usage,
    split_command,
)
from pbx.asterisk.sim_core import UP, VERSION, Channel, Interrupted, Node

CONNECT_TIMEOUT_S = 2.0  # res_agi's MAX_AGI_CONNECT (2000 ms), in real seconds: it is a network wait

# Usage texts res_agi prints with a 520 reply. GET VARIABLE's is the recorded one (agi/001_route);
# the others follow Asterisk 22's documentation of the command.
_USAGE = {
    "get variable": GET_VARIABLE_USAGE,
    "set variable": "Sets a variable to the current channel.",
    "get full variable": (
        "Evaluates the given <replaceable>expression</replaceable> against the channel specified by "
        "<replaceable>channelname</replaceable>, or the current channel if channelname is not provided.\n"
        "Unlike GET VARIABLE, the <replaceable>expression</replaceable> is processed in a manner similar to "
        "dialplan evaluation, allowing complex and built-in variables to be accessed, e.g. "
        "<literal>The time is ${EPOCH}</literal>\nReturns <literal>0</literal> if no channel matching "
        "<replaceable>channelname</replaceable> exists, <literal>1</literal> otherwise.\n"
        "Example return code: 200 result=1 (The time is 1578493800)"),
    "database get": (
        "Retrieves an entry in the Asterisk database for a given <replaceable>family</replaceable> and "
        "<replaceable>key</replaceable>.\nReturns <literal>0</literal> if <replaceable>key</replaceable> is not "
        "set. Returns <literal>1</literal> if <replaceable>key</replaceable> is set and returns the variable in "
        "parenthesis.\nExample return code: 200 result=1 (testvariable)"),
    "database put": (
        "Adds or updates an entry in the Asterisk database for a given <replaceable>family</replaceable>, "
        "<replaceable>key</replaceable>, and <replaceable>value</replaceable>.\nReturns <literal>1</literal> if "
        "successful, <literal>0</literal> otherwise."),
    "database del": (
        "Deletes an entry in the Asterisk database for a given <replaceable>family</replaceable> and "
        "<replaceable>key</replaceable>.\nReturns <literal>1</literal> if successful, <literal>0</literal> "
        "otherwise."),
    "database deltree": (
        "Deletes a <replaceable>family</replaceable> or specific <replaceable>keytree</replaceable> within a "
        "<replaceable>family</replaceable> in the Asterisk database.\nReturns <literal>1</literal> if "
        "successful, <literal>0</literal> otherwise."),
    "exec": (
        "Executes <replaceable>application</replaceable> with given <replaceable>options</replaceable>.\n"
        "Returns whatever the <replaceable>application</replaceable> returns, or <literal>-2</literal> on "
        "failure to find <replaceable>application</replaceable>."),
    "stream file": (
        "Send the given file, allowing playback to be interrupted by the given digits, if any. Escape digits "
        "can be given as a string of digits. Use double quotes for the digits if you wish none to be "
        "permitted. If offset is provided then the audio will seek to sample offset before play starts.\n"
        "Returns <literal>0</literal> if playback completes without a digit being pressed, or the ASCII "
        "numerical value of the digit if one was pressed, or <literal>-1</literal> on error or if the channel "
        "was disconnected. If musiconhold is playing before calling stream file it will be automatically "
        "stopped and will not be restarted after completion.\nIt sets the following channel variables upon "
        "completion:"),
    "get data": "Stream the given <replaceable>file</replaceable>, and receive DTMF data.\nReturns the digits "
                "received from the channel at the other end.",
    "verbose": (
        "Sends <replaceable>message</replaceable> to the console via verbose message system. "
        "<replaceable>level</replaceable> is the verbose level (1-4).\nAlways returns <literal>1</literal>."),
    "wait for digit": (
        "Waits up to <replaceable>timeout</replaceable> milliseconds for channel to receive a DTMF digit.\n"
        "Returns <literal>-1</literal> on channel failure, <literal>0</literal> if no digit is received in the "
        "timeout, or the numerical value of the ascii of the digit if one is received. Use -1 for the "
        "<replaceable>timeout</replaceable> value if you desire the call to block indefinitely."),
}

# Command words → (minimum argument count including the command words, allowed on a dead channel).
_COMMANDS: dict[tuple[str, ...], tuple[int, bool]] = {
    ("answer",): (1, False),
    ("channel", "status"): (2, False),
    ("database", "del"): (4, True),
    ("database", "deltree"): (3, True),
    ("database", "get"): (4, True),
    ("database", "put"): (5, True),
    ("exec",): (2, True),
    ("get", "data"): (3, False),
    ("get", "full", "variable"): (4, True),
    ("get", "variable"): (3, True),
    ("hangup",): (1, False),
    ("noop",): (1, True),
    ("set", "variable"): (4, True),
    ("stream", "file"): (4, False),
    ("verbose",): (2, True),
    ("wait", "for", "digit"): (4, False),
}
_RESULT_TEXT = {200: "Success", 510: "Invalid or unknown command",
                511: "Command Not Permitted on a dead channel or intercept routine", 520: "Usage", -1: "Failure"}
_FUNC = re.compile(r"\$\{([^${}]*)\}")


class _AGIProtocol(asyncio.Protocol):
    """The socket to the FastAGI server: whole command lines in, a waiter woken on data or EOF."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.lines: deque[bytes] = deque()
        self.eof = False
        self._tail = b""
        self.waiter: asyncio.Future[Channel | None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        data = self._tail + data
        *lines, self._tail = data.split(b"\n")
        if len(self._tail) > MAX_LINE_BYTES:  # res_agi reads into a fixed buffer and splits the rest
            lines.append(self._tail)
            self._tail = b""
        self.lines.extend(lines)
        self._wake()

    def eof_received(self) -> bool | None:
        self.eof = True
        self._wake()
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self.eof = True
        self._wake()

    def _wake(self) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)

    def write(self, data: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)


@dataclass
class AGIOutcome:
    """What one AGI() application call ended with: AGISTATUS and why."""

    status: str  # SUCCESS | FAILURE | HANGUP
    reason: str = ""


class AGIRunner:
    """Runs `AGI(agi://host:port/script,args…)` for a channel, as res_agi does for FastAGI."""

    def __init__(self, node: Node) -> None:
        self.node = node
        self._thread = 140631100000000
        self._command_id = 1100492976

    def environment(self, chan: Channel, host: str, port: int, script: str, args: list[str]) -> dict[str, str]:
        """The agi_* block, keys and order as in shared/asterisk/agi/001_route."""
        self._thread += 1024
        env = {
            "agi_network": "yes",
            "agi_network_script": script,
            "agi_request": f"agi://{host}:{port}/{script}",
            "agi_channel": chan.name,
            "agi_language": chan.language,
            "agi_type": chan.tech,
            "agi_uniqueid": chan.uniqueid,
            "agi_version": VERSION,
            "agi_callerid": chan.caller_num or "unknown",
            "agi_calleridname": chan.caller_name or "unknown",
            "agi_callingpres": "0",
            "agi_callingani2": "0",
            "agi_callington": "0",
            "agi_callingtns": "0",
            "agi_dnid": chan.dnid or "unknown",
            "agi_rdnis": "unknown",
            "agi_context": chan.context,
            "agi_extension": chan.exten,
            "agi_priority": str(chan.priority),
            "agi_enhanced": "0.0",
            "agi_accountcode": chan.accountcode,
            "agi_threadid": str(self._thread),
        }
        for i, arg in enumerate(args, 1):
            env[f"agi_arg_{i}"] = arg
        return env

    async def run(self, chan: Channel, host: str, port: int, script: str, args: list[str]) -> AGIOutcome:
        """Connects, talks until the server closes, and returns AGISTATUS. A channel already hung
        up (the `h` extension) runs in dead mode from the start, without a HANGUP line."""
        loop = asyncio.get_running_loop()
        proto = _AGIProtocol()
        try:
            await asyncio.wait_for(loop.create_connection(lambda: proto, host, port), CONNECT_TIMEOUT_S)
        except (OSError, TimeoutError) as exc:
            return AGIOutcome("FAILURE", f"cannot connect to {host}:{port}: {exc.__class__.__name__}")
        try:
            proto.write(encode_environment(self.environment(chan, host, port, script, args)))
            return await self._converse(chan, proto)
        finally:
            if proto.transport is not None:
                proto.transport.close()

    async def _converse(self, chan: Channel, proto: _AGIProtocol) -> AGIOutcome:
        loop = asyncio.get_running_loop()
        dead = chan.interrupted or chan.gone
        hangup_sent = dead  # a dead start (h extension) never gets the HANGUP line
        status = "SUCCESS"
        while True:
            if chan.interrupted and not hangup_sent:
                # res_agi tells the server once, then answers in dead mode (agi/002_hangup-test)
                proto.write(HANGUP_LINE)
                hangup_sent = dead = True
                if status == "SUCCESS":
                    status = "HANGUP"
            if proto.lines:
                line = proto.lines.popleft().rstrip(b"\r").decode("utf-8", "replace")
                failed = await self._command(chan, proto, line, dead)
                if failed and (dead or not chan.interrupted):
                    status = "FAILURE"
                continue
            if proto.eof:
                return AGIOutcome(status)
            waiter: asyncio.Future[Channel | None] = loop.create_future()
            proto.waiter = waiter
            chan.add_waiter(waiter)
            try:
                await waiter
            finally:
                chan.remove_waiter(waiter)
                proto.waiter = None

    async def _command(self, chan: Channel, proto: _AGIProtocol, line: str, dead: bool) -> bool:
        """Answers one command line; True when the command failed (AGISTATUS becomes FAILURE)."""
        node = self.node
        self._command_id = (self._command_id * 1103515245 + 12345) % 2147483648
        cid = str(self._command_id)
        node.emit("AGIExecStart", {"CommandId": cid, "Command": line}, chan=chan)
        words = split_command(line)
        lowered = [w.lower() for w in words]
        found: tuple[str, ...] | None = None
        for size in (3, 2, 1):
            if tuple(lowered[:size]) in _COMMANDS:
                found = tuple(lowered[:size])
                break
        if found is None:
            reply, code = encode_response(510, ""), 510
        else:
            min_words, dead_ok = _COMMANDS[found]
            if dead and not dead_ok:
                reply, code = encode_response(511, ""), 511
            elif len(words) < min_words:
                reply, code = encode_usage(_USAGE.get(" ".join(found))), 520
            else:
                reply, code = await self._run(chan, found, words[len(found):], dead)
        proto.write(reply)
        node.emit("AGIExecEnd", {"CommandId": cid, "Command": line, "ResultCode": str(code),
                                 "Result": _RESULT_TEXT[code]}, chan=chan)
        return code == -1

    async def _run(self, chan: Channel, cmd: tuple[str, ...], args: list[str], dead: bool) -> tuple[bytes, int]:
        node = self.node
        name = " ".join(cmd)
        if name == "answer":
            if chan.state != UP:
                node.set_state(chan, UP)
                if chan.on_answer is not None:
                    chan.on_answer(chan)
            return encode_response(200, "0"), 200
        if name == "channel status":
            return encode_response(200, str(chan.state)), 200
        if name == "hangup":
            # AST_SOFTHANGUP_EXPLICIT: no HangupRequest event, no cause; the loop then sends HANGUP
            chan.hangup_requested = True
            chan.wake()
            return encode_response(200, "1"), 200
        if name == "noop":
            return encode_response(200, "0"), 200
        if name == "verbose":
            return encode_response(200, "1"), 200
        if name == "set variable":
            self.set_variable(chan, args[0], args[1])
            return encode_response(200, "1"), 200
        if name == "get variable":
            value = self.lookup(chan, args[0])
            return (encode_response(200, "0") if value is None else encode_response(200, "1", value)), 200
        if name == "get full variable":
            return encode_response(200, "1", self.substitute(chan, args[0])), 200
        if name.startswith("database"):
            return self._database(name, args), 200
        if name == "exec":
            return await self._exec(chan, args[0], args[1] if len(args) > 1 else "", dead), 200
        if name == "stream file":
            return await self._stream(chan, args[0]), 200
        if name == "get data":
            return await self._get_data(chan, args), 200
        assert name == "wait for digit"
        try:
            timeout_ms = float(args[0])
        except ValueError:
            timeout_ms = 0.0
        try:
            await node.sleep(timeout_ms / 1000 if timeout_ms >= 0 else 3600.0, chan)
        except Interrupted:
            return encode_response(200, "-1"), 200
        return encode_response(200, "0"), 200

    # --- commands with effects ------------------------------------------------------------
    def set_variable(self, chan: Channel, name: str, value: str) -> None:
        upper = name.upper()
        if upper == "CALLERID(NUM)":
            chan.caller_num = value
        elif upper == "CALLERID(NAME)":
            chan.caller_name = value
        else:
            self.node.set_var(chan, name, value)

    def lookup(self, chan: Channel, name: str) -> str | None:
        """A variable or the few dialplan functions the simulator knows; None when unset."""
        upper = name.upper()
        if upper == "CALLERID(NUM)":
            return chan.caller_num
        if upper == "CALLERID(NAME)":
            return chan.caller_name
        if upper == "CALLERID(ALL)":
            return f'"{chan.caller_name}" <{chan.caller_num}>' if chan.caller_name else f"<{chan.caller_num}>"
        builtin = {"CHANNEL": chan.name, "UNIQUEID": chan.uniqueid, "CONTEXT": chan.context, "EXTEN": chan.exten,
                   "PRIORITY": str(chan.priority), "EPOCH": str(int(self.node.clock.epoch())),
                   "CHANNEL(NAME)": chan.name, "CHANNEL(UNIQUEID)": chan.uniqueid,
                   "CHANNEL(LINKEDID)": chan.linkedid, "CHANNEL(LANGUAGE)": chan.language}
        if upper in builtin:
            return builtin[upper]
        if name in chan.vars:
            return chan.vars[name]
        if name in self.node.globals:
            return self.node.globals[name]
        return "" if "(" in name else None  # an unknown function reads as empty, not as unset

    def substitute(self, chan: Channel, expression: str) -> str:
        return _FUNC.sub(lambda m: self.lookup(chan, m[1]) or "", expression)

    def _database(self, name: str, args: list[str]) -> bytes:
        db = self.node.db
        family = args[0]
        if name == "database get":
            value = db.get(family, {}).get(args[1])
            return encode_response(200, "0") if value is None else encode_response(200, "1", value)
        if name == "database put":
            db.setdefault(family, {})[args[1]] = args[2]
            return encode_response(200, "1")
        if name == "database del":
            found = db.get(family, {}).pop(args[1], None) is not None
            return encode_response(200, "1" if found else "0")
        tree = db.get(family, {})
        prefix = args[1] if len(args) > 1 else ""
        doomed = [k for k in tree if not prefix or k == prefix or k.startswith(prefix + "/")]
        for key in doomed:
            del tree[key]
        return encode_response(200, "1" if doomed else "0")

    async def _exec(self, chan: Channel, app: str, data: str, dead: bool) -> bytes:
        node = self.node
        lowered = app.lower()
        try:
            if lowered == "playback":
                if dead:
                    return encode_response(200, "-1")
                await node.sleep(node.prompt_s * max(1, len([f for f in data.split("&") if f])), chan)
                node.set_var(chan, "PLAYBACKSTATUS", "SUCCESS")
            elif lowered == "wait":
                if not dead:
                    await node.sleep(float(data or 0), chan)
            elif lowered == "answer":
                if not dead and chan.state != UP:
                    node.set_state(chan, UP)
            elif lowered == "hangup":
                chan.hangup_requested = True
                chan.wake()
                return encode_response(200, "-1")
            elif lowered == "set":
                var, _, value = data.partition("=")
                self.set_variable(chan, var, value)
            elif lowered not in ("noop", "verbose", "log", "userevent"):
                return encode_response(200, "-2")  # application not found
        except (ValueError, Interrupted):
            return encode_response(200, "-1")
        return encode_response(200, "0")

    async def _stream(self, chan: Channel, file: str) -> bytes:
        node = self.node
        started = node.clock.elapsed()
        try:
            await node.sleep(node.prompt_s, chan)
        except Interrupted:
            played = node.clock.elapsed() - started
            return encode_response(200, "-1", extra={"endpos": str(int(played * 8000))})
        node.set_var(chan, "PLAYBACKSTATUS", "SUCCESS")
        return encode_response(200, "0", extra={"endpos": str(int(node.prompt_s * 8000))})

    async def _get_data(self, chan: Channel, args: list[str]) -> bytes:
        node = self.node
        try:
            timeout_s = float(args[1]) / 1000 if len(args) > 1 else 5.0
        except ValueError:
            timeout_s = 5.0
        try:
            await node.sleep(node.prompt_s + timeout_s, chan)
        except Interrupted:
            return encode_response(200, "-1")
        return encode_response(200, "", "timeout")
