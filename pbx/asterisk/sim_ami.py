"""The simulator's AMI server: connections, login, session actions; answered with Asterisk 22's bytes."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from pbx.asterisk.amicodec import BANNER, AMIBanner, AMIMessage, AMIParser, AMIProtocolError, encode_message
from pbx.asterisk.sim_agi import AGIRunner
from pbx.asterisk.sim_ami_actions import TRUE, ChannelActions, Session
from pbx.asterisk.sim_core import AMI_VERSION, VERSION, Node
from pbx.asterisk.sim_originate import Originator

_FALSE = ("no", "false", "n", "f", "0", "off")
Handler = Callable[[Session, AMIMessage], Awaitable[None]]
# ListCommands lines for the actions the simulator answers (descriptions as Asterisk 22 prints them).
_COMMANDS = {
    "Atxfer": "Attended transfer.  (Priv: call,all)",
    "BlindTransfer": "Blind transfer channel(s) to the given destination  (Priv: call,all)",
    "Command": "Execute Asterisk CLI Command.  (Priv: command,all)",
    "CoreSettings": "Show PBX core settings (version etc).  (Priv: system,reporting,all)",
    "CoreShowChannels": "List currently active channels.  (Priv: system,reporting,all)",
    "CoreStatus": "Show PBX core status variables.  (Priv: system,reporting,all)",
    "DBDel": "Delete DB entry.  (Priv: system,all)",
    "DBDelTree": "Delete DB Tree.  (Priv: system,all)",
    "DBGet": "Get DB Entry.  (Priv: system,reporting,all)",
    "DBGetTree": "Get DB entries, optionally at a particular family/key  (Priv: system,reporting,all)",
    "DBPut": "Put DB entry.  (Priv: system,all)",
    "DeviceStateList": "List the current known device states.  (Priv: call,reporting,all)",
    "Events": "Control Event Flow.  (Priv: <none>)",
    "Getvar": "Gets a channel variable or function value.  (Priv: call,reporting,all)",
    "Hangup": "Hangup channel.  (Priv: system,call,all)",
    "ListCommands": "List available manager commands.  (Priv: <none>)",
    "Login": "Login Manager.  (Priv: <none>)",
    "Logoff": "Logoff Manager.  (Priv: <none>)",
    "MixMonitor": "Record a call and mix the audio during the recording.  Use of StopMixMonitor is required to "
                  "guarantee the audio file is available for processing during dialplan execution.  "
                  "(Priv: system,all)",
    "MixMonitorMute": "Mute / unMute a Mixmonitor recording.  (Priv: system,call,all)",
    "Originate": "Originate a call.  (Priv: originate,all)",
    "QueuePause": "Makes a queue member temporarily unavailable.  (Priv: agent,all)",
    "Ping": "Keepalive command.  (Priv: <none>)",
    "Redirect": "Redirect (transfer) a call.  (Priv: call,all)",
    "Setvar": "Sets a channel variable or function value.  (Priv: call,all)",
    "Status": "List channel status.  (Priv: system,call,reporting,all)",
    "StopMixMonitor": "Stop recording a call through MixMonitor, and free the recording's file handle.  "
                      "(Priv: system,call,all)",
}


def event_mask(text: str) -> frozenset[str] | None:
    """`Events:` of Login (or EventMask of Events): None = every class, empty = none."""
    t = text.strip().lower()
    if t in TRUE:
        return None
    if t in _FALSE or not t:
        return frozenset()
    classes = frozenset(p.strip() for p in t.split(",") if p.strip())
    return None if "all" in classes else classes


def _uptime(seconds: float) -> str:
    s = int(seconds)
    parts = []
    for size, unit in ((86400, "day"), (3600, "hour"), (60, "minute")):
        if s >= size:
            parts.append(f"{s // size} {unit}{'s' if s // size != 1 else ''}")
            s %= size
    if s or not parts:
        parts.append(f"{s} second{'s' if s != 1 else ''}")
    return ", ".join(parts)


class AMIServer(ChannelActions):
    """Listens like manager.conf's [general] port; one Session per connection, events to all."""

    def __init__(self, node: Node, originator: Originator, agi: AGIRunner, *, host: str, port: int, username: str,
                 secret: str, auth_failure_delay_s: float = 1.0) -> None:
        self.node = node
        self.originator = originator
        self.agi = agi
        self.host = host
        self.port = port
        self.username = username
        self.secret = secret
        self.auth_failure_delay_s = auth_failure_delay_s
        self.sessions: set[Session] = set()
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._opened = 0
        self._handlers: dict[str, Handler] = {
            name[4:].lower(): getattr(self, name) for name in dir(self) if name.startswith("_on_")}

    # --- life cycle -----------------------------------------------------------------------
    async def start(self) -> None:
        """Listens; after a stop() it comes back on the same port, as a restarted Asterisk would."""
        self._server = await asyncio.start_server(self._client, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        if self._broadcast not in self.node.sinks:
            self.node.sinks.append(self._broadcast)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        await self.drop_clients()
        if self._broadcast in self.node.sinks:
            self.node.sinks.remove(self._broadcast)

    async def drop_clients(self) -> None:
        """Cuts every connection without a goodbye, as a failing network would."""
        for session in list(self.sessions):
            transport = session.writer.transport
            transport.abort()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _broadcast(self, name: str, classes: frozenset[str], data: bytes) -> None:
        for session in self.sessions:
            session.deliver(classes, data)

    # --- connections ----------------------------------------------------------------------
    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._opened += 1
        session = Session(writer, self._opened, self.node.clock.now())
        self.sessions.add(session)
        parser = AMIParser()
        try:
            writer.write(BANNER)
            while not session.closing:
                data = await reader.read(65536)
                if not data:
                    break
                try:
                    messages = parser.feed(data)
                except AMIProtocolError:
                    break  # Asterisk drops a peer that breaks the framing
                for message in messages:
                    if isinstance(message, AMIBanner):
                        continue
                    await self._handle(session, message)
                    if session.closing:
                        break
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            # Ended by stop() or drop_clients(): finish normally, because Python 3.11's stream
            # callback calls task.exception() on a cancelled task and logs a spurious error.
            pass
        finally:
            self.sessions.discard(session)
            self._tasks.discard(task)
            writer.close()
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await writer.wait_closed()

    async def _handle(self, session: Session, msg: AMIMessage) -> None:
        action = msg.get("Action") or ""
        if not action:
            session.write(self._response(msg, "Error", "Missing action in request"))
            return
        name = action.lower()
        if not session.authenticated and name not in ("login", "logoff", "challenge"):
            session.write(self._response(msg, "Error", "Permission denied"))
            return
        handler = self._handlers.get(name)
        if handler is None:
            text = f"Invalid/unknown command: {action}. Use Action: ListCommands to show available commands."
            session.write(self._response(msg, "Error", text))
            self._bad_request(session, action)
            return
        session.busy = True
        try:
            await handler(session, msg)
        finally:
            session.busy = False
            session.flush()

    def _bad_request(self, session: Session, action: str) -> None:
        now = self.node.clock.now()
        self.node.emit("RequestBadFormat", {
            "EventTV": _tv(now), "Severity": "Error", "Service": "AMI", "EventVersion": "1", "SessionID": session.id,
            "LocalAddress": session.local, "RemoteAddress": session.remote, "RequestType": f"Action: {action}",
            "SessionTV": _tv(session.opened), "AccountID": session.username})

    # --- session actions ------------------------------------------------------------------
    async def _on_login(self, session: Session, msg: AMIMessage) -> None:
        if session.authenticated:
            session.write(self._response(msg, "Success", "Already authenticated"))
            return
        if msg.get("Username") != self.username or msg.get("Secret") != self.secret:
            await asyncio.sleep(self.auth_failure_delay_s)  # Asterisk slows password guessing down
            session.write(self._response(msg, "Error", "Authentication failed"))
            session.closing = True
            return
        session.authenticated = True
        session.username = self.username
        events = msg.get("Events")
        session.mask = event_mask(events) if events is not None else None
        session.write(self._response(msg, "Success", "Authentication accepted"))
        if session.mask is None or "system" in session.mask:
            uptime = str(int(self.node.clock.epoch() - self.node.started_epoch))
            session.write(encode_message([("Event", "FullyBooted"), ("Privilege", "system,all"), ("Uptime", uptime),
                                          ("LastReload", uptime), ("Status", "Fully Booted")]))
        now = self.node.clock.now()
        self.node.emit("SuccessfulAuth", {
            "EventTV": _tv(now), "Severity": "Informational", "Service": "AMI", "EventVersion": "1",
            "AccountID": self.username, "SessionID": session.id, "LocalAddress": session.local,
            "RemoteAddress": session.remote, "UsingPassword": "0", "SessionTV": _tv(session.opened)})

    async def _on_logoff(self, session: Session, msg: AMIMessage) -> None:
        session.write(self._response(msg, "Goodbye", "Thanks for all the fish."))
        session.closing = True

    async def _on_ping(self, session: Session, msg: AMIMessage) -> None:
        session.write(self._response(msg, "Success", None,
                                     [("Ping", "Pong"), ("Timestamp", f"{self.node.clock.epoch():.6f}")]))

    async def _on_events(self, session: Session, msg: AMIMessage) -> None:
        session.mask = event_mask(msg.get("EventMask", ""))
        state = "Off" if session.mask == frozenset() else "On"
        session.write(self._response(msg, "Success", None, [("Events", state)]))

    async def _on_listcommands(self, session: Session, msg: AMIMessage) -> None:
        session.write(self._response(msg, "Success", None, sorted(_COMMANDS.items(), key=lambda kv: kv[0].lower())))

    async def _on_coresettings(self, session: Session, msg: AMIMessage) -> None:
        session.write(self._response(msg, "Success", None, [
            ("AMIversion", AMI_VERSION), ("AsteriskVersion", VERSION), ("SystemName", ""), ("CoreMaxCalls", "2000"),
            ("CoreMaxLoadAvg", "0.000000"), ("CoreRunUser", "root"), ("CoreRunGroup", "root"),
            ("CoreMaxFilehandles", "0"), ("CoreRealTimeEnabled", "No"), ("CoreCDRenabled", "Yes"),
            ("CoreHTTPenabled", "No"), ("SoundsSearchCustomDir", "No")]))

    async def _on_corestatus(self, session: Session, msg: AMIMessage) -> None:
        started = datetime.fromtimestamp(self.node.started_epoch, UTC)
        calls = len({c.linkedid for c in self.node.channels.values()})
        session.write(self._response(msg, "Success", None, [
            ("CoreStartupDate", f"{started:%Y-%m-%d}"), ("CoreStartupTime", f"{started:%H:%M:%S}"),
            ("CoreReloadDate", f"{started:%Y-%m-%d}"), ("CoreReloadTime", f"{started:%H:%M:%S}"),
            ("CoreCurrentCalls", str(calls)), ("CoreProcessedCalls", str(self.node.processed))]))

    async def _on_command(self, session: Session, msg: AMIMessage) -> None:
        command = " ".join((msg.get("Command") or "").split())
        up = self.node.clock.epoch() - self.node.started_epoch
        if command == "core show version":
            out = [f"Asterisk {VERSION} built by root @ vm on a x86_64 running Linux on 2026-11-22 04:09:09 UTC"]
        elif command == "core show uptime":
            out = [f"System uptime: {_uptime(up)}", f"Last reload: {_uptime(up)}"]
        elif command == "core show channels":
            out = [f"{'Channel':<64} {'Location':<32} {'State':<7} {'Application(Data)':<30}"]
            for c in self.node.channels.values():
                location = f"{c.exten}@{c.context}:{c.priority}"
                out.append(f"{c.name:<64} {location:<32} {c.state:<7} {c.app}({c.app_data})")
            n = len(self.node.channels)
            out += [f"{n} active channel{'s' if n != 1 else ''}",
                    f"{n} of 2000 max active calls ( {n / 20:.2f}% of capacity)",
                    f"{self.node.processed} calls processed"]
        else:
            words = command.split()
            hint = " ".join(words[:2])
            session.write(self._response(msg, "Error", "Command output follows", [(
                "Output", f"No such command '{command}' (type 'core show help {hint}' for other possible commands)")]))
            return
        session.write(self._response(msg, "Success", "Command output follows", [("Output", line) for line in out]))


def _tv(when: datetime) -> str:
    """EventTV / SessionTV as Asterisk prints them: 2026-11-22T05:07:28.065+0000."""
    utc = when.astimezone(UTC)
    return f"{utc:%Y-%m-%dT%H:%M:%S}.{utc.microsecond // 1000:03d}+0000"
