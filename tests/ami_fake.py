"""A throwaway AMI server for the AMI client tests: banner, Login, Ping, Logoff, canned answers, faults on demand.

Deliberately minimal; the wire-true Asterisk simulator lives elsewhere."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterable

from pbx.asterisk.amicodec import BANNER, AMIMessage, AMIParser, encode_message

# A responder gets the action and returns the bytes to send back (b"" to stay silent).
Responder = Callable[[AMIMessage], bytes]


def reply(action: AMIMessage, status: str = "Success", *pairs: tuple[str, str]) -> bytes:
    """A response to `action`, with its ActionID, as Asterisk lays it out."""
    head = [("Response", status)]
    if action.action_id is not None:
        head.append(("ActionID", action.action_id))
    return encode_message([*head, *pairs])


class _Peer:
    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self.writer = writer
        self.logged_in = False
        self.stalled = False


class FakeAMI:
    def __init__(self, username: str = "pbx", secret: str = "s3cret", *, login_delay: float = 0.0) -> None:
        self.username = username
        self.secret = secret
        self.login_delay = login_delay  # Asterisk waits ~1 s before refusing a login
        self.responders: dict[str, Responder] = {}
        self.received: list[AMIMessage] = []
        self.raw_received = bytearray()
        self.connections = 0
        self.logins = 0
        self.login_failures = 0
        self.refuse = 0  # close this many next connections at once (Asterisk not up yet)
        self.port = 0
        self._peers: set[_Peer] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._server: asyncio.Server | None = None

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for peer in list(self._peers):
            peer.writer.transport.abort()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def respond(self, action: str, responder: Responder) -> None:
        self.responders[action.lower()] = responder

    def actions(self, name: str) -> list[AMIMessage]:
        return [m for m in self.received if m.name.lower() == name.lower()]

    # --- faults and traffic on demand ---------------------------------------------------

    async def emit(self, data: bytes) -> None:
        """Send raw bytes (events) to every logged-in client."""
        for peer in list(self._peers):
            if peer.logged_in and not peer.writer.is_closing():
                peer.writer.write(data)
                await peer.writer.drain()

    async def emit_in_pieces(self, pieces: Iterable[bytes], pause: float = 0.05) -> None:
        """Send each piece as its own TCP segment: flush, then wait before the next."""
        for piece in pieces:
            await self.emit(piece)
            await asyncio.sleep(pause)

    def stall(self) -> None:
        """Current connections stay open but stop answering: a dead peer. New ones answer."""
        for peer in self._peers:
            peer.stalled = True

    def drop(self) -> None:
        """Reset every connection, as a crashed or restarted Asterisk would."""
        for peer in list(self._peers):
            peer.writer.transport.abort()

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 2.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError("condition not reached in time")
            await asyncio.sleep(0.005)

    # --- one connection -----------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.connections += 1
        peer = _Peer(writer)
        try:
            if self.refuse > 0:
                self.refuse -= 1
                return
            self._peers.add(peer)
            writer.write(BANNER)
            parser = AMIParser()
            while data := await reader.read(65536):
                self.raw_received += data
                for message in parser.feed(data):
                    if isinstance(message, AMIMessage):
                        self.received.append(message)
                        if not peer.stalled and not await self._answer(peer, message):
                            return
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self._peers.discard(peer)
            self._tasks.discard(task)
            writer.transport.abort()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _answer(self, peer: _Peer, action: AMIMessage) -> bool:
        """Answer one action; False to close the connection."""
        name = action.name.lower()
        writer = peer.writer
        if name == "login":
            if action.get("Username") == self.username and action.get("Secret") == self.secret:
                writer.write(reply(action, "Success", ("Message", "Authentication accepted")))
                peer.logged_in = True
                self.logins += 1
                return True
            self.login_failures += 1
            await asyncio.sleep(self.login_delay)
            writer.write(reply(action, "Error", ("Message", "Authentication failed")))
            await writer.drain()
            return False
        if name == "logoff":
            writer.write(reply(action, "Goodbye", ("Message", "Thanks for all the fish.")))
            await writer.drain()
            return False
        if not peer.logged_in:
            writer.write(reply(action, "Error", ("Message", "Permission denied")))
        elif name == "ping":
            writer.write(reply(action, "Success", ("Ping", "Pong"), ("Timestamp", f"{time.time():.6f}")))
        elif name in self.responders:
            writer.write(self.responders[name](action))
        else:
            writer.write(reply(action, "Error", ("Message", f"Invalid/unknown command: {action.name}. "
                                                 "Use Action: ListCommands to show available commands.")))
        await writer.drain()
        return True
