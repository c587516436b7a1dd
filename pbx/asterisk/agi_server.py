"""The FastAGI server: owns the listening socket and each connection, runs one handler per AGI session."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl

from pbx.asterisk.agi import (
    AGIEnvironment,
    AGIError,
    AGIProtocolError,
    AGIResponse,
    AGIServerParser,
    encode_command,
    set_variable,
)

__all__ = [
    "AGICommandError",
    "AGIConnectionLostError",
    "AGIHangupError",
    "AGIServerStats",
    "AGISession",
    "AGITimeoutError",
    "FastAGIServer",
]

AGIHandler = Callable[["AGISession"], Awaitable[None]]


class AGIHangupError(AGIError):
    """The channel hung up (Asterisk sent HANGUP, or answered 511): no more commands on it."""


class AGITimeoutError(AGIError, TimeoutError):
    """Asterisk did not answer a command in time; the connection has been closed."""


class AGIConnectionLostError(AGIError, ConnectionError):
    """The connection to Asterisk is gone (peer closed it, or we dropped it)."""


class AGICommandError(AGIError):
    """Asterisk answered a command with something other than 200."""

    def __init__(self, response: AGIResponse) -> None:
        super().__init__(response.text)
        self.response = response


@dataclasses.dataclass
class AGIServerStats:
    """Counters since start. `active` is a gauge; the rest only grow."""

    connections: int = 0  # accepted TCP connections
    active: int = 0  # connections open now
    completed: int = 0  # handlers that returned normally
    protocol_errors: int = 0  # garbage, oversized input, missing script, reply without a command
    timeouts: int = 0  # environment not received in time, or a command not answered in time
    hangups: int = 0  # sessions whose channel hung up (HANGUP line or a 511 reply)
    handler_errors: int = 0  # handlers that raised (logged with traceback)
    disconnects: int = 0  # handlers ended because the connection closed under them
    rejected: int = 0  # connections refused because max_connections were open


class AGISession:
    """One FastAGI session, as the handler sees it. Commands go one at a time, as FastAGI requires."""

    __slots__ = ("_conn", "_timeout", "args", "env", "hung_up", "query", "script")

    def __init__(self, environment: AGIEnvironment, script: str, query: dict[str, str],
                 conn: _AGIConnection, command_timeout: float) -> None:
        self.env: dict[str, str] = environment.env
        self.args: tuple[str, ...] = environment.args
        self.script = script  # agi_network_script without its query: "route" for agi://host/route?x=1
        self.query = query
        self.hung_up = False
        self._conn = conn
        self._timeout = command_timeout

    async def command(self, *words: str, timeout: float | None = None) -> AGIResponse:
        """Sends one command and returns its reply (any code but 511). `timeout` overrides the
        server's command_timeout, e.g. for STREAM FILE of a long prompt; timeouts are checked
        every tenth of the server's smallest timeout (at most every 0.5 s)."""
        return await self._send(encode_command(*words), timeout)

    async def set_variable(self, name: str, value: str) -> None:
        response = await self._send(set_variable(name, value), None)
        if response.code != 200:
            raise AGICommandError(response)

    async def get_variable(self, name: str) -> str | None:
        """The variable's value, or None when it is not set."""
        response = await self.command("GET VARIABLE", name)
        if response.code != 200:
            raise AGICommandError(response)
        return response.data if response.result == "1" else None

    async def _send(self, line: bytes, timeout: float | None) -> AGIResponse:
        if self.hung_up:
            raise AGIHangupError(f"the channel has hung up; not sent: {line[:60]!r}")
        conn = self._conn
        if conn.transport is None or conn.transport.is_closing():
            raise AGIConnectionLostError("the FastAGI connection is closed")
        if conn.pending is not None:
            raise RuntimeError("AGISession.command() called while another command waits for its reply")
        loop = conn.loop
        reply = conn.pending = loop.create_future()
        conn.transport.write(line)
        conn.deadline = loop.time() + (self._timeout if timeout is None else timeout)
        try:
            response: AGIResponse = await reply
        finally:
            conn.deadline = 0.0
            conn.pending = None
            if not reply.done() or reply.cancelled():
                # Cancelled mid-command: its reply would pair with the next command, so the
                # connection cannot be used any more.
                conn.abort()
        if response.code == 511:
            self.hung_up = True
            raise AGIHangupError(response.text)
        return response


class _AGIConnection(asyncio.Protocol):
    """One TCP connection: feeds bytes to the codec, routes replies to the waiting command."""

    __slots__ = ("deadline", "env", "loop", "parser", "peer", "pending", "server", "session", "transport")

    def __init__(self, server: FastAGIServer, loop: asyncio.AbstractEventLoop) -> None:
        self.server = server
        self.loop = loop
        self.parser = AGIServerParser()
        self.transport: asyncio.Transport | None = None
        # When the environment or the pending reply is overdue (loop time; 0 = nothing awaited).
        # The server's sweeper checks it: one timer for all connections, not one per command.
        self.deadline = 0.0
        self.pending: asyncio.Future[AGIResponse] | None = None
        self.session: AGISession | None = None
        self.env: dict[str, str] = {}  # for log lines, once the environment is in
        self.peer: Any = None

    # --- asyncio callbacks -------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        server = self.server
        stats = server._stats
        stats.connections += 1
        self.peer = transport.get_extra_info("peername")
        if server._closing:  # accepted in the instant stop() began
            transport.abort()
            return
        if stats.active >= server.max_connections:
            stats.rejected += 1
            self.log(logging.WARNING, "FastAGI connection refused: too many open", "agi_rejected",
                     max_connections=server.max_connections)
            transport.abort()
            return
        stats.active += 1
        self.transport = transport
        server._connections.add(self)
        self.deadline = self.loop.time() + server.env_timeout

    def data_received(self, data: bytes) -> None:
        try:
            events = self.parser.feed(data)
        except AGIProtocolError as exc:
            self.protocol_error(str(exc))
            return
        for event in events:
            if type(event) is AGIResponse:
                reply = self.pending
                if reply is None or reply.done():
                    self.protocol_error(f"reply without a command: {event.text[:80]!r}")
                    return
                reply.set_result(event)
            elif type(event) is AGIEnvironment:
                self.start_session(event)
            elif self.session is not None:  # AGIHangup; a reply still due stays due (Asterisk sends it)
                self.session.hung_up = True

    def eof_received(self) -> bool:
        return False  # Asterisk closes both ways at once; a half-closed peer gets closed too

    def connection_lost(self, exc: Exception | None) -> None:
        if self.transport is None:  # rejected in connection_made
            return
        self.transport = None
        self.deadline = 0.0
        reply = self.pending
        if reply is not None and not reply.done():
            reply.set_exception(AGIConnectionLostError("the FastAGI connection closed during the command"))
        server = self.server
        server._stats.active -= 1
        server._connections.discard(self)
        if not server._connections and server._idle is not None and not server._idle.done():
            server._idle.set_result(None)

    # --- session ---------------------------------------------------------------------------------
    def start_session(self, environment: AGIEnvironment) -> None:
        self.deadline = 0.0
        server = self.server
        self.env = environment.env
        request = environment.env.get("agi_network_script")
        if not request:
            # Nothing to dispatch on: closing without a word makes AGI() return and the dialplan go on.
            server._stats.protocol_errors += 1
            self.log(logging.WARNING, "FastAGI request without agi_network_script", "agi_missing_script",
                     request=environment.env.get("agi_request"))
            self.close()
            return
        script, _, query = request.partition("?")
        session = AGISession(environment, script, dict(parse_qsl(query, keep_blank_values=True)) if query else {},
                             self, server.command_timeout)
        self.session = session
        task = self.loop.create_task(server._run(self, session))
        server._tasks.add(task)
        task.add_done_callback(server._tasks.discard)

    def overdue(self) -> None:
        self.deadline = 0.0
        self.server._stats.timeouts += 1
        reply = self.pending
        if reply is not None:
            if not reply.done():
                reply.set_exception(AGITimeoutError("Asterisk did not answer the command in time"))
            self.log(logging.WARNING, "FastAGI command not answered in time", "agi_command_timeout")
        else:
            self.log(logging.WARNING, "FastAGI environment not received in time", "agi_env_timeout",
                     timeout=self.server.env_timeout)
        # A late reply would pair with the next command: the connection is done for.
        self.abort()

    def protocol_error(self, error: str) -> None:
        self.server._stats.protocol_errors += 1
        self.log(logging.WARNING, "FastAGI protocol error, connection dropped", "agi_protocol_error", error=error)
        self.abort()

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()

    def log(self, level: int, message: str, event: str, exc_info: bool = False, **fields: Any) -> None:
        logger = self.server.logger
        if not logger.isEnabledFor(level):
            return
        peer = self.peer
        env = self.env
        extra = {"event": event, "peer": f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer),
                 "uniqueid": env.get("agi_uniqueid"), "channel": env.get("agi_channel"),
                 "script": self.session.script if self.session is not None else None, **fields}
        logger.log(level, message, extra=extra, exc_info=exc_info)


class FastAGIServer:
    """Listens for Asterisk's FastAGI connections and calls `handler(session)` for each request.

    The connection is closed when the handler returns, which lets the dialplan continue."""

    def __init__(self, handler: AGIHandler, *, host: str = "127.0.0.1", port: int = 4573,
                 env_timeout: float = 5.0, command_timeout: float = 10.0, max_connections: int = 2000,
                 logger: logging.Logger | None = None) -> None:
        self.handler = handler
        self.host = host
        self.env_timeout = env_timeout
        self.command_timeout = command_timeout
        self.max_connections = max_connections
        self.logger = logger or logging.getLogger("pbx.agi")
        self._port = port
        self._server: asyncio.Server | None = None
        self._stats = AGIServerStats()
        self._connections: set[_AGIConnection] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._idle: asyncio.Future[None] | None = None
        self._closing = False
        # Deadlines are checked this often, so a timeout fires up to one tick late.
        self._tick = min(max(min(env_timeout, command_timeout) / 10, 0.001), 0.5)
        self._sweeper: asyncio.TimerHandle | None = None

    @property
    def port(self) -> int:
        """The listening port (the one the OS chose when started with port=0)."""
        return self._port

    @property
    def stats(self) -> AGIServerStats:
        """A snapshot of the counters."""
        return dataclasses.replace(self._stats)

    async def start(self) -> None:
        if self._server is not None:
            raise RuntimeError("FastAGIServer already started")
        loop = asyncio.get_running_loop()
        self._closing = False
        self._server = await loop.create_server(lambda: _AGIConnection(self, loop), self.host, self._port,
                                                reuse_address=True, backlog=1024)
        self._port = self._server.sockets[0].getsockname()[1]
        self._sweeper = loop.call_later(self._tick, self._sweep, loop)
        self.logger.info("FastAGI server listening", extra={"event": "agi_listening", "host": self.host,
                                                            "port": self._port})

    async def stop(self) -> None:
        """Stops listening, cancels running handlers and closes every connection; returns when all are gone."""
        server, self._server = self._server, None
        if server is None:
            return
        self._closing = True
        server.close()
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        for conn in list(self._connections):
            conn.abort()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        if self._connections:
            self._idle = asyncio.get_running_loop().create_future()
            await self._idle
            self._idle = None
        await server.wait_closed()
        self.logger.info("FastAGI server stopped", extra={"event": "agi_stopped", "port": self._port})

    def _sweep(self, loop: asyncio.AbstractEventLoop) -> None:
        now = loop.time()
        for conn in [c for c in self._connections if 0.0 < c.deadline <= now]:
            conn.overdue()
        self._sweeper = loop.call_at(now + self._tick, self._sweep, loop)

    async def _run(self, conn: _AGIConnection, session: AGISession) -> None:
        stats = self._stats
        try:
            await self.handler(session)
        except AGIHangupError:
            conn.log(logging.DEBUG, "channel hung up during the FastAGI session", "agi_hangup")
        except AGITimeoutError:
            pass  # counted and logged where it happened
        except AGIConnectionLostError:
            stats.disconnects += 1
            conn.log(logging.INFO, "Asterisk closed the FastAGI connection during the session", "agi_disconnect")
        except Exception:
            stats.handler_errors += 1
            conn.log(logging.ERROR, "FastAGI handler failed", "agi_handler_error", exc_info=True)
        else:
            stats.completed += 1
        finally:
            if session.hung_up:
                stats.hangups += 1
            conn.close()
