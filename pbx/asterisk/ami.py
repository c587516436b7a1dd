"""Our AMI client: the product's one seam to Asterisk's Manager Interface (connection, actions, events).

Nothing else in the product imports panoramisk, and neither does this module at run time: it
speaks AMI through our own sans-I/O codec (`amicodec`). panoramisk 1.4's `Manager` was the
starting point, but each of its concerns had to be replaced to be correct, so the concerns are
split here instead of living in one class:

- `_AMIProtocol`      the socket: bytes → `AMIParser` → messages; nothing else.
- `_PendingActions`   ActionID → waiting caller; every entry leaves the table (answer, timeout,
                      cancellation or connection loss); nothing is ever re-sent.
- `_EventDispatcher`  handlers by event name; a failing handler is logged, never fatal.
- `backoff_delay`     the reconnect schedule (pure).
- `AMIClient`         lifecycle (start/stop, login, reconnect, ping watchdog) and typed actions.

What panoramisk 1.4 gets wrong, and what replaces it here:
(a) its pings are fire-and-forget, so a dead peer is never noticed → a watchdog Ping with a
    deadline drops the connection and reconnects;
(b) `send_action` has no timeout and its pending entry leaks → deadline, entry removed;
(c) an exception in a sync event handler escapes `data_received` and asyncio closes the
    connection → handlers are isolated, logged and counted;
(d) each TCP read is decoded alone with errors ignored, losing characters split across reads
    → only complete lines are decoded;
(e) `panoramisk.testing` rewrites the module-global `utils.EOL` to "\\n", breaking every real
    Manager in the process → our framing is our own constant.
It also re-sends unanswered actions after a reconnect (a second Originate is a second phone
call), reconnects with a fixed delay from a timer that `close()` cannot cancel, and ignores a
failed Login.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import itertools
import logging
import random
import secrets
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from pbx.asterisk.amicodec import AMIBanner, AMIMessage, AMIParser, AMIProtocolError, encode_message

__all__ = [
    "AMIActionError",
    "AMIAuthError",
    "AMIClient",
    "AMIConnectionError",
    "AMIError",
    "AMIMessage",
    "AMIMetrics",
    "AMITimeoutError",
    "backoff_delay",
]

EventHandler = Callable[[AMIMessage], Any]  # sync, or returning an awaitable (async def)
ReconnectHandler = Callable[[], Any]

_SUCCESS = frozenset({"success", "goodbye", "follows"})
_NO_VARIABLES: Mapping[str, str] = MappingProxyType({})
# How long stop() waits for the socket to close before aborting it.
_CLOSE_GRACE = 1.0


class AMIError(Exception):
    """Base of every error this client raises."""


class AMIConnectionError(AMIError):
    """Not connected, the connection was lost, or it could not be opened."""


class AMIAuthError(AMIError):
    """Asterisk refused the username/secret (`Response: Error`, `Message: Authentication failed`)."""


class AMITimeoutError(AMIError, TimeoutError):
    """No answer within the deadline; the action is forgotten (a late answer is dropped)."""


class AMIActionError(AMIError):
    """Asterisk answered the action with an error (`Response: Error`, or a `Failure` OriginateResponse).

    `message` is the whole answer (e.g. the `Output:` lines of a failed Command); `reason` its
    `Message:` (or `Reason:`) text."""

    def __init__(self, message: AMIMessage, action: str = "") -> None:
        self.message = message
        self.action = action
        self.reason = message.get("Message") or message.get("Reason") or message.name
        super().__init__(f"{action or 'action'} failed: {self.reason}")


@dataclass(slots=True)
class AMIMetrics:
    """Counters since the client was created (exported by the owner, e.g. to Prometheus)."""

    events_received: int = 0
    actions_sent: int = 0
    reconnects: int = 0
    timeouts: int = 0
    handler_errors: int = 0
    protocol_errors: int = 0


def backoff_delay(attempt: int, low: float, high: float, rand: Callable[[], float] = random.random) -> float:
    """Seconds to wait before reconnect `attempt` (1, 2, …): doubling from `low`, capped at `high`,
    with the upper half jittered so a fleet of controllers does not reconnect in lockstep."""
    base = min(high, low * 2.0 ** min(max(attempt - 1, 0), 60))
    return base / 2 + rand() * base / 2


def _is_success(response: AMIMessage) -> bool:
    return response.name.lower() in _SUCCESS


# --- the socket -----------------------------------------------------------------------------


class _AMIProtocol(asyncio.Protocol):
    """One TCP connection: hands each parsed message to the client, reports its own end."""

    def __init__(self, client: AMIClient) -> None:
        self._client = client
        self._parser = AMIParser()
        self.transport: asyncio.Transport | None = None
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        try:
            messages = self._parser.feed(data)
        except AMIProtocolError as exc:
            self._client._protocol_error(self, exc)
            messages = exc.messages
            self.abort()
        on_message = self._client._on_message
        for message in messages:
            on_message(message)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)
        self._client._on_lost(self, exc)

    def write(self, data: bytes) -> None:
        if self.transport is None or self.transport.is_closing():
            raise AMIConnectionError("connection is closing")
        self.transport.write(data)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()


# --- actions waiting for answers ------------------------------------------------------------


Answer = tuple[AMIMessage, list[AMIMessage]]


@dataclass(slots=True)
class _Waiter:
    future: asyncio.Future[Answer]
    action: str
    until: str | None  # lower-case completion event of a list action, else None
    response: AMIMessage | None = None
    items: list[AMIMessage] = field(default_factory=list)


class _PendingActions:
    """ActionID → waiting caller. Owners remove their own entry in a `finally`, so the table
    cannot grow on timeouts or cancellations (panoramisk's does)."""

    def __init__(self) -> None:
        self._actions: dict[str, _Waiter] = {}
        self._events: dict[tuple[str, str], asyncio.Future[AMIMessage]] = {}

    def __len__(self) -> int:
        return len(self._actions) + len(self._events)

    def __contains__(self, action_id: str) -> bool:
        return action_id in self._actions

    def add(self, action_id: str, action: str, until: str | None) -> asyncio.Future[Answer]:
        if action_id in self._actions:
            raise ValueError(f"ActionID {action_id!r} is already waiting for an answer")
        future: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
        self._actions[action_id] = _Waiter(future, action, until.lower() if until else None)
        return future

    def expect_event(self, event: str, action_id: str) -> asyncio.Future[AMIMessage]:
        future: asyncio.Future[AMIMessage] = asyncio.get_running_loop().create_future()
        self._events[(event.lower(), action_id)] = future
        return future

    def discard(self, action_id: str) -> None:
        self._actions.pop(action_id, None)

    def discard_event(self, event: str, action_id: str) -> None:
        self._events.pop((event.lower(), action_id), None)

    def on_response(self, action_id: str, response: AMIMessage) -> bool:
        waiter = self._actions.get(action_id)
        if waiter is None:
            return False
        if waiter.until is None or not _is_success(response):
            del self._actions[action_id]
            if not waiter.future.done():
                waiter.future.set_result((response, []))
        else:
            waiter.response = response  # the list follows, ended by the completion event
        return True

    def on_event(self, action_id: str, event: AMIMessage) -> bool:
        """True when the event belongs to one of our list actions (and so is not broadcast)."""
        if self._events:
            future = self._events.pop((event.name.lower(), action_id), None)
            if future is not None and not future.done():
                future.set_result(event)
        waiter = self._actions.get(action_id)
        if waiter is None or waiter.until is None:
            return False
        if event.name.lower() == waiter.until:
            del self._actions[action_id]
            if not waiter.future.done():
                waiter.future.set_result((waiter.response or AMIMessage([("Response", "Success")]), waiter.items))
        else:
            waiter.items.append(event)
        return True

    def fail_all(self, error: AMIError) -> None:
        futures: list[asyncio.Future[Any]] = [w.future for w in self._actions.values()]
        futures += self._events.values()
        self._actions.clear()
        self._events.clear()
        for future in futures:
            if not future.done():
                future.set_exception(error)
                # The awaiting caller gets the error; if it was itself cancelled meanwhile,
                # don't let asyncio log "exception was never retrieved".
                future.add_done_callback(_consume_exception)


def _consume_exception(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()


# --- events ---------------------------------------------------------------------------------


class _EventDispatcher:
    """Calls handlers by event name ("*" for all). Sync handlers run inline, in wire order;
    coroutines run one at a time in a worker, also in wire order, so state built from events
    (Newchannel before Hangup) stays consistent even when a handler awaits."""

    def __init__(self, log: logging.Logger, metrics: AMIMetrics) -> None:
        self._log = log
        self._metrics = metrics
        self._by_name: dict[str, list[EventHandler]] = {}
        self._any: list[EventHandler] = []
        self._queue: asyncio.Queue[tuple[EventHandler, AMIMessage, Awaitable[Any]]] | None = None
        self._worker: asyncio.Task[None] | None = None

    def subscribe(self, name: str, handler: EventHandler) -> Callable[[], None]:
        handlers = self._any if name == "*" else self._by_name.setdefault(name.lower(), [])
        handlers.append(handler)

        def unsubscribe() -> None:
            if handler in handlers:
                handlers.remove(handler)

        return unsubscribe

    def start(self) -> None:
        self._queue = asyncio.Queue()
        self._worker = asyncio.create_task(self._run(self._queue), name="ami-event-handlers")

    async def stop(self) -> None:
        worker, queue = self._worker, self._queue
        self._worker = self._queue = None
        # An async handler may itself call client.stop(): it must not cancel and await itself.
        if worker is not None and worker is not asyncio.current_task():
            worker.cancel()
            await asyncio.gather(worker, return_exceptions=True)
        while queue is not None and not queue.empty():
            _close_awaitable(queue.get_nowait()[2])

    def dispatch(self, event: AMIMessage) -> None:
        named = self._by_name.get(event.name.lower()) if self._by_name else None
        if named:
            for handler in tuple(named):
                self._call(handler, event)
        for handler in tuple(self._any):
            self._call(handler, event)

    def _call(self, handler: EventHandler, event: AMIMessage) -> None:
        try:
            result = handler(event)
        except Exception:
            self._failed(handler, event)
            return
        if result is not None and inspect.isawaitable(result):
            if self._queue is None:
                _close_awaitable(result)
            else:
                self._queue.put_nowait((handler, event, result))

    async def _run(self, queue: asyncio.Queue[tuple[EventHandler, AMIMessage, Awaitable[Any]]]) -> None:
        while self._queue is queue:  # a handler that stopped the client ends its own worker
            handler, event, awaitable = await queue.get()
            try:
                await awaitable
            except Exception:
                self._failed(handler, event)

    def _failed(self, handler: EventHandler, event: AMIMessage) -> None:
        self._metrics.handler_errors += 1
        self._log.exception(
            "AMI event handler failed; carrying on",
            extra={"event": "ami_handler_error", "ami_event": event.name, "handler": _name_of(handler)},
        )


def _close_awaitable(awaitable: Awaitable[Any]) -> None:
    # A coroutine that will never run must be closed, or Python warns "never awaited".
    if inspect.iscoroutine(awaitable):
        awaitable.close()
    elif isinstance(awaitable, asyncio.Future):
        awaitable.cancel()


def _name_of(fn: Callable[..., Any]) -> str:
    return getattr(fn, "__qualname__", None) or repr(fn)


# --- the client -----------------------------------------------------------------------------


class AMIClient:
    """A logged-in AMI session that stays logged in.

    `start()` connects and logs in, raising `AMIConnectionError` / `AMIAuthError` at once (no
    retry loop on a bad password); after that a lost connection is re-opened in the background
    with exponential backoff and jitter, and `on_reconnect` handlers run after each re-login
    so the owner can resynchronise. Actions in flight when a connection drops fail with
    `AMIConnectionError` and are never re-sent."""

    def __init__(
        self,
        host: str,
        port: int,
        username: str,
        secret: str,
        *,
        ping_interval: float = 5.0,
        ping_timeout: float = 3.0,
        action_timeout: float = 5.0,
        reconnect_min: float = 0.5,
        reconnect_max: float = 30.0,
        logger: logging.Logger | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.username = username
        self._secret = secret
        self.ping_interval = ping_interval
        self.ping_timeout = ping_timeout
        self.action_timeout = action_timeout
        self.reconnect_min = reconnect_min
        self.reconnect_max = reconnect_max
        self.log = logger or logging.getLogger("pbx.ami")
        self.metrics = AMIMetrics()
        self.server_version: str | None = None
        self._pending = _PendingActions()
        self._events = _EventDispatcher(self.log, self.metrics)
        self._reconnect_handlers: list[ReconnectHandler] = []
        self._session: _AMIProtocol | None = None
        self._logged_in = False
        self._connected = asyncio.Event()
        self._lost = asyncio.Event()
        self._supervisor: asyncio.Task[None] | None = None
        self._watchdog: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Future[Any]] = set()
        self._stopping = False
        # A per-client prefix keeps ActionIDs unique across clients and restarts.
        self._id_prefix = f"pbx-{secrets.token_hex(4)}"
        self._ids = itertools.count(1)

    # --- life cycle ----------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self._logged_in

    @property
    def pending_count(self) -> int:
        """Actions and OriginateResponses still awaited (0 when idle: nothing leaks)."""
        return len(self._pending)

    async def start(self) -> None:
        if self._supervisor is not None:
            raise RuntimeError("AMIClient already started")
        self._stopping = False
        self._lost.clear()
        self._events.start()
        try:
            await self._open_session(attempt=0)
        except BaseException:
            await self._events.stop()
            raise
        self._supervisor = asyncio.create_task(self._supervise(), name="ami-reconnect")

    async def stop(self) -> None:
        """Log off, close the socket, cancel every task of ours; pending actions fail."""
        self._stopping = True
        supervisor, self._supervisor = self._supervisor, None
        if supervisor is not None:
            supervisor.cancel()
            await asyncio.gather(supervisor, return_exceptions=True)
        await self._stop_watchdog()
        session = self._session
        if session is not None:
            try:
                session.write(encode_message([("Action", "Logoff"), ("ActionID", self._new_action_id())]))
            except AMIConnectionError:
                pass
            session.close()
            await asyncio.wait({session.closed}, timeout=_CLOSE_GRACE)
            if not session.closed.done():
                session.abort()
                await asyncio.wait({session.closed}, timeout=_CLOSE_GRACE)
        self._session = None
        self._set_logged_in(False)
        self._pending.fail_all(AMIConnectionError("AMI client stopped"))
        tasks, self._tasks = self._tasks, set()
        tasks.discard(asyncio.current_task())  # stop() called from an on_reconnect handler
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self._events.stop()

    async def wait_connected(self, timeout: float) -> bool:
        """True once logged in (at once if already), False if not within `timeout` seconds."""
        try:
            async with asyncio.timeout(timeout):
                await self._connected.wait()
        except TimeoutError:
            return False
        return True

    def on_event(self, name_or_star: str, handler: EventHandler) -> Callable[[], None]:
        """Call `handler(message)` for each event of that name (case-insensitive), or every
        event for "*". Returns a function that unsubscribes."""
        return self._events.subscribe(name_or_star, handler)

    def on_reconnect(self, handler: ReconnectHandler) -> None:
        """Call `handler()` (sync or async) after each successful re-login, not the first one."""
        self._reconnect_handlers.append(handler)

    async def _open_session(self, attempt: int) -> None:
        loop = asyncio.get_running_loop()
        where = {"host": self.host, "port": self.port, "attempt": attempt}
        try:
            async with asyncio.timeout(self.action_timeout):
                _, session = await loop.create_connection(lambda: _AMIProtocol(self), self.host, self.port)
        except (OSError, TimeoutError) as exc:
            raise AMIConnectionError(f"cannot connect to AMI at {self.host}:{self.port}: {exc!r}") from exc
        self._session = session
        try:
            login = [("Username", self.username), ("Secret", self._secret), ("Events", "on")]
            # Asterisk delays a refusal by about a second (transcript 02): allow for it.
            response, _ = await self._request(session, "Login", login, timeout=max(self.action_timeout, 2.0))
            if not _is_success(response):
                self.log.error("AMI login refused", extra={"event": "ami_login_failed", **where,
                                                           "reason": response.get("Message", "")})
                raise AMIAuthError(f"AMI login as {self.username!r} refused: {response.get('Message', '')}")
        except BaseException:
            self._session = None
            session.abort()
            await asyncio.wait({session.closed}, timeout=_CLOSE_GRACE)
            raise
        self._set_logged_in(True)
        self._watchdog = asyncio.create_task(self._watch(session), name="ami-ping-watchdog")
        self.log.info("AMI connected", extra={"event": "ami_connected", **where, "version": self.server_version})

    def _set_logged_in(self, value: bool) -> None:
        self._logged_in = value
        if value:
            self._connected.set()
        else:
            self._connected.clear()

    async def _supervise(self) -> None:
        while True:
            await self._lost.wait()
            self._lost.clear()
            attempt = 0
            while True:
                attempt += 1
                delay = backoff_delay(attempt, self.reconnect_min, self.reconnect_max)
                self.log.info("AMI reconnecting", extra={"event": "ami_reconnect_scheduled", "host": self.host,
                                                         "port": self.port, "attempt": attempt, "delay": delay})
                await asyncio.sleep(delay)
                try:
                    await self._open_session(attempt)
                except AMIAuthError:
                    # The secret changed under us: keep trying, but only at the slowest pace.
                    attempt = max(attempt, 64)
                    continue
                except AMIError as exc:
                    self.log.warning("AMI reconnect failed", extra={"event": "ami_reconnect_failed",
                                                                    "host": self.host, "attempt": attempt,
                                                                    "error": str(exc)})
                    continue
                except Exception:  # a bug must not end reconnection for good
                    self.log.exception("AMI reconnect crashed", extra={"event": "ami_reconnect_failed",
                                                                       "host": self.host, "attempt": attempt})
                    continue
                self.metrics.reconnects += 1
                self._run_reconnect_handlers()
                break

    def _run_reconnect_handlers(self) -> None:
        for handler in tuple(self._reconnect_handlers):
            try:
                result = handler()
            except Exception:
                self._reconnect_handler_failed(handler)
                continue
            if result is not None and inspect.isawaitable(result):
                task = asyncio.ensure_future(result)
                self._tasks.add(task)
                task.add_done_callback(functools.partial(self._reconnect_handler_done, handler))

    def _reconnect_handler_done(self, handler: ReconnectHandler, task: asyncio.Future[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self._reconnect_handler_failed(handler, task.exception())

    def _reconnect_handler_failed(self, handler: ReconnectHandler, exc: BaseException | None = None) -> None:
        self.metrics.handler_errors += 1
        self.log.error("AMI reconnect handler failed", exc_info=exc or True,
                       extra={"event": "ami_handler_error", "handler": _name_of(handler)})

    async def _watch(self, session: _AMIProtocol) -> None:
        # Asterisk does not ping us; silence from a half-open TCP connection looks exactly like
        # a quiet PBX. Only an answer to our own Ping proves the peer is alive.
        while session is self._session:
            await asyncio.sleep(self.ping_interval)
            if session is not self._session:
                return
            try:
                await self._request(session, "Ping", (), timeout=self.ping_timeout)
            except AMITimeoutError:
                self.log.warning("AMI peer stopped answering pings; dropping the connection",
                                 extra={"event": "ami_ping_timeout", "host": self.host, "port": self.port,
                                        "timeout": self.ping_timeout})
                session.abort()
                return
            except AMIConnectionError:
                return

    async def _stop_watchdog(self) -> None:
        watchdog, self._watchdog = self._watchdog, None
        if watchdog is not None and watchdog is not asyncio.current_task():
            watchdog.cancel()
            await asyncio.gather(watchdog, return_exceptions=True)

    # --- called by the protocol ------------------------------------------------------------

    def _on_message(self, message: AMIMessage | AMIBanner) -> None:
        if isinstance(message, AMIBanner):
            self.server_version = message.version
            return
        kind = message.kind
        if kind == "event":
            self.metrics.events_received += 1
            if self._pending:
                action_id = message.action_id
                if action_id is not None and self._pending.on_event(action_id, message):
                    return
            self._events.dispatch(message)
        elif kind == "response":
            action_id = message.action_id
            if action_id is None or not self._pending.on_response(action_id, message):
                # A late answer to an action that timed out, or to our fire-and-forget Logoff.
                self.log.debug("AMI response nobody waits for", extra={"event": "ami_unmatched_response",
                                                                       "action_id": action_id})
        else:
            self.log.warning("AMI block that is neither event nor response", extra={
                "event": "ami_unexpected_message", "fields": str(message.as_dict())[:200]})

    def _protocol_error(self, session: _AMIProtocol, exc: AMIProtocolError) -> None:
        self.metrics.protocol_errors += 1
        self.log.error("AMI protocol error; dropping the connection",
                       extra={"event": "ami_protocol_error", "host": self.host, "error": str(exc)})

    def _on_lost(self, session: _AMIProtocol, exc: Exception | None) -> None:
        if session is not self._session:
            return  # an abandoned login attempt or an already replaced session
        self._session = None
        was_logged_in = self._logged_in
        self._set_logged_in(False)
        if self._watchdog is not None and self._watchdog is not asyncio.current_task():
            self._watchdog.cancel()
        self._watchdog = None
        self._pending.fail_all(AMIConnectionError(f"AMI connection lost: {exc!r}" if exc else "AMI connection lost"))
        if was_logged_in and not self._stopping:
            self.log.warning("AMI connection lost", extra={"event": "ami_disconnected", "host": self.host,
                                                           "port": self.port, "error": repr(exc)})
            self._lost.set()

    # --- actions ---------------------------------------------------------------------------

    def _new_action_id(self) -> str:
        return f"{self._id_prefix}-{next(self._ids)}"

    def _live_session(self) -> _AMIProtocol:
        session = self._session
        if session is None or not self._logged_in:
            raise AMIConnectionError(f"not connected to AMI at {self.host}:{self.port}")
        return session

    async def _request(
        self,
        session: _AMIProtocol,
        name: str,
        fields: Mapping[str, str] | Iterable[tuple[str, str]],
        *,
        timeout: float,
        until: str | None = None,
    ) -> Answer:
        pairs: list[tuple[str, str]] = [("Action", name)]
        action_id: str | None = None
        for key, value in fields.items() if isinstance(fields, Mapping) else fields:
            lowered = key.lower()
            if lowered == "action":
                raise ValueError("the action name goes in `name`, not in the fields")
            if lowered == "actionid":
                action_id = value
            else:
                pairs.append((key, value))
        if action_id is None:
            action_id = self._new_action_id()
        pairs.append(("ActionID", action_id))
        data = encode_message(pairs)  # ValueError on header injection, before anything is registered
        future = self._pending.add(action_id, name, until)
        try:
            session.write(data)
            self.metrics.actions_sent += 1
            async with asyncio.timeout(timeout):
                return await future
        except TimeoutError:
            self.metrics.timeouts += 1
            self.log.warning("AMI action timed out", extra={"event": "ami_action_timeout", "action": name,
                                                            "action_id": action_id, "timeout": timeout})
            raise AMITimeoutError(f"{name} ({action_id}) got no answer within {timeout:g} s") from None
        finally:
            self._pending.discard(action_id)

    async def send_action(
        self,
        name: str,
        fields: Mapping[str, str] | Iterable[tuple[str, str]] = (),
        timeout: float | None = None,
    ) -> AMIMessage:
        """Send one action and return its response. An `ActionID` in `fields` is used as is
        (else one is generated). Raises `AMIActionError` on an error response,
        `AMITimeoutError`, `AMIConnectionError`."""
        session = self._live_session()
        deadline = self.action_timeout if timeout is None else timeout
        response, _ = await self._request(session, name, fields, timeout=deadline)
        if not _is_success(response):
            raise AMIActionError(response, name)
        return response

    async def send_action_list(
        self,
        name: str,
        fields: Mapping[str, str] | Iterable[tuple[str, str]],
        complete_event: str,
        timeout: float | None = None,
    ) -> list[AMIMessage]:
        """Send an action answered by `EventList: start` and a list of events ending with
        `complete_event`; return the events in between (not the completion event). These
        events go to the caller only, not to `on_event` handlers."""
        session = self._live_session()
        deadline = self.action_timeout if timeout is None else timeout
        response, items = await self._request(session, name, fields, timeout=deadline, until=complete_event)
        if not _is_success(response):
            raise AMIActionError(response, name)
        return items

    # --- typed helpers (shapes checked against shared/asterisk/ami transcripts) --------------

    async def ping(self) -> float:
        """Round-trip time of one Ping, in seconds."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        await self.send_action("Ping")
        return loop.time() - started

    def _originate_fields(
        self,
        channel: str,
        *,
        context: str | None,
        exten: str | None,
        priority: int,
        application: str | None,
        data: str | None,
        variables: Mapping[str, str],
        caller_id: str | None,
        timeout_ms: int,
        channel_id: str | None,
        other_channel_id: str | None,
        async_: bool,
    ) -> list[tuple[str, str]]:
        fields = [("Channel", channel)]
        if application is not None:
            if context is not None or exten is not None:
                raise ValueError("originate to an application or to context/exten, not both")
            fields.append(("Application", application))
            if data is not None:
                fields.append(("Data", data))
        elif context is not None and exten is not None:
            fields += [("Context", context), ("Exten", exten), ("Priority", str(priority))]
        else:
            raise ValueError("originate needs application=, or both context= and exten=")
        if caller_id is not None:
            fields.append(("CallerID", caller_id))
        fields.append(("Timeout", str(int(timeout_ms))))
        if async_:
            fields.append(("Async", "true"))
        # Pick fixed-width ids or UUIDs: Asterisk rejects an id that is a prefix of a live
        # channel's (transcript 18).
        if channel_id is not None:
            fields.append(("ChannelId", channel_id))
        if other_channel_id is not None:
            fields.append(("OtherChannelId", other_channel_id))
        for var, value in variables.items():
            # Asterisk splits each Variable header on commas into several name=value items.
            if not var or any(c in var for c in "=,") or "," in value:
                raise ValueError(f"channel variable {var!r}={value!r}: no '=' in names, no ',' anywhere")
            fields.append(("Variable", f"{var}={value}"))
        return fields

    async def originate(
        self,
        channel: str,
        *,
        context: str | None = None,
        exten: str | None = None,
        priority: int = 1,
        application: str | None = None,
        data: str | None = None,
        variables: Mapping[str, str] = _NO_VARIABLES,
        caller_id: str | None = None,
        timeout_ms: int = 30000,
        channel_id: str | None = None,
        other_channel_id: str | None = None,
        async_: bool = True,
    ) -> str:
        """Originate a call; return its ActionID. With `async_` (the default) Asterisk only
        queues the call: the outcome arrives later as an `OriginateResponse` event carrying
        this ActionID (use `originate_and_wait` to await it). A synchronous originate waits
        until the call is answered or fails (`Originate failed` → AMIActionError)."""
        fields = self._originate_fields(
            channel, context=context, exten=exten, priority=priority, application=application, data=data,
            variables=variables, caller_id=caller_id, timeout_ms=timeout_ms, channel_id=channel_id,
            other_channel_id=other_channel_id, async_=async_)
        action_id = self._new_action_id()
        fields.append(("ActionID", action_id))
        # A synchronous originate answers only once the call is up or has failed.
        timeout = None if async_ else timeout_ms / 1000 + self.action_timeout
        await self.send_action("Originate", fields, timeout=timeout)
        return action_id

    async def originate_and_wait(
        self,
        channel: str,
        *,
        context: str | None = None,
        exten: str | None = None,
        priority: int = 1,
        application: str | None = None,
        data: str | None = None,
        variables: Mapping[str, str] = _NO_VARIABLES,
        caller_id: str | None = None,
        timeout_ms: int = 30000,
        channel_id: str | None = None,
        other_channel_id: str | None = None,
    ) -> AMIMessage:
        """Async Originate, then await its `OriginateResponse`; return it on `Response: Success`,
        raise `AMIActionError` on `Response: Failure` (no such extension, unknown technology,
        conflicting ChannelId…)."""
        fields = self._originate_fields(
            channel, context=context, exten=exten, priority=priority, application=application, data=data,
            variables=variables, caller_id=caller_id, timeout_ms=timeout_ms, channel_id=channel_id,
            other_channel_id=other_channel_id, async_=True)
        self._live_session()
        action_id = self._new_action_id()
        fields.append(("ActionID", action_id))
        # Listen before sending: the event may follow the response within the same TCP read.
        outcome = self._pending.expect_event("OriginateResponse", action_id)
        try:
            await self.send_action("Originate", fields)
            deadline = timeout_ms / 1000 + self.action_timeout
            try:
                async with asyncio.timeout(deadline):
                    event = await outcome
            except TimeoutError:
                self.metrics.timeouts += 1
                raise AMITimeoutError(f"no OriginateResponse for {action_id} within {deadline:g} s") from None
        finally:
            self._pending.discard_event("OriginateResponse", action_id)
        if event.get("Response", "").lower() != "success":
            raise AMIActionError(event, "Originate")
        return event

    async def redirect(
        self, channel: str, context: str, exten: str, priority: int = 1, extra_channel: str | None = None
    ) -> None:
        """Send `channel` (and `extra_channel`, e.g. the other party of a bridge) to context,exten,priority."""
        fields = [("Channel", channel), ("Context", context), ("Exten", exten), ("Priority", str(priority))]
        if extra_channel is not None:
            fields += [("ExtraChannel", extra_channel), ("ExtraContext", context), ("ExtraExten", exten),
                       ("ExtraPriority", str(priority))]
        await self.send_action("Redirect", fields)

    async def blind_transfer(self, channel: str, exten: str, context: str) -> None:
        """Blind transfer: whoever is bridged with `channel` (the transferer) goes to exten@context, and
        `channel` hangs up. Errors (AMIActionError): "Channel specified does not exist", "Transfer invalid"
        (not bridged), "Transfer not permitted", "Transfer failed"."""
        await self.send_action("BlindTransfer", [("Channel", channel), ("Exten", exten), ("Context", context)])

    async def atxfer(self, channel: str, exten: str, context: str) -> None:
        """Attended transfer started for the transferer `channel`: Asterisk queues the atxfer feature code
        and the digits as DTMF on it, so the bridged party waits on hold while `channel` consults
        exten@context (TRANSFER_CONTEXT); the transfer completes when the transferer hangs up. The answer
        is only "Atxfer successfully queued": the outcome is the AttendedTransfer event (or none when the
        target did not answer and the transferer went back). Errors (AMIActionError): "Channel specified
        does not exist", "No attended transfer feature code found"."""
        await self.send_action("Atxfer", [("Channel", channel), ("Exten", exten), ("Context", context)])

    async def hangup(self, channel: str, cause: int | None = None) -> int:
        """Hang up `channel`; return how many channels were hung up. A `/regex/` channel
        answers with a list of ChannelHungup events (transcript 18). A missing channel raises
        AMIActionError("No such channel")."""
        fields = [("Channel", channel)]
        if cause is not None:
            fields.append(("Cause", str(cause)))
        if len(channel) > 1 and channel.startswith("/") and channel.endswith("/"):
            return len(await self.send_action_list("Hangup", fields, "ChannelsHungupListComplete"))
        await self.send_action("Hangup", fields)
        return 1

    async def setvar(self, channel: str | None, name: str, value: str) -> None:
        """Set a channel variable (a global one when `channel` is None)."""
        fields = [("Channel", channel)] if channel else []
        await self.send_action("Setvar", [*fields, ("Variable", name), ("Value", value)])

    async def getvar(self, channel: str | None, name: str) -> str | None:
        """A channel variable (global when `channel` is None); None when unset or empty, which
        AMI cannot tell apart (both answer `Value: `)."""
        fields = [("Channel", channel)] if channel else []
        response = await self.send_action("Getvar", [*fields, ("Variable", name)])
        return response.get("Value") or None

    async def mixmonitor(self, channel: str, file: str, options: str = "") -> None:
        fields = [("Channel", channel), ("File", file)]
        if options:
            fields.append(("Options", options))
        await self.send_action("MixMonitor", fields)

    async def mixmonitor_mute(self, channel: str, direction: str = "both", state: bool = True) -> None:
        """Mute (state=True) or unmute one direction of a recording: "read", "write" or "both".
        (PauseMonitor is gone from Asterisk 22; this is its replacement.)"""
        if direction not in ("read", "write", "both"):
            raise ValueError(f"direction must be read, write or both, not {direction!r}")
        await self.send_action("MixMonitorMute", [("Channel", channel), ("Direction", direction),
                                                  ("State", "1" if state else "0")])

    async def stop_mixmonitor(self, channel: str) -> None:
        await self.send_action("StopMixMonitor", [("Channel", channel)])

    async def mwi_update(self, mailbox: str, new: int, old: int) -> None:
        """Message-waiting lamps for `mailbox` ("box@tenant", as the PJSIP endpoints' mailboxes= name it):
        res_mwi_external_ami's MWIUpdate; our voicemail is not app_voicemail, so Asterisk learns counts from us."""
        if new < 0 or old < 0:
            raise ValueError("message counts cannot be negative")
        await self.send_action("MWIUpdate", [("Mailbox", mailbox), ("OldMessages", str(old)),
                                             ("NewMessages", str(new))])

    async def db_put(self, family: str, key: str, value: str) -> None:
        await self.send_action("DBPut", [("Family", family), ("Key", key), ("Val", value)])

    async def db_get(self, family: str, key: str) -> str | None:
        """The AstDB value, or None when the key does not exist (transcript 08)."""
        try:
            items = await self.send_action_list("DBGet", [("Family", family), ("Key", key)], "DBGetComplete")
        except AMIActionError as exc:
            if exc.reason.lower() == "database entry not found":
                return None
            raise
        return items[0].get("Val") if items else None

    async def db_del(self, family: str, key: str) -> bool:
        """Delete an AstDB key; False when there was nothing to delete."""
        try:
            await self.send_action("DBDel", [("Family", family), ("Key", key)])
        except AMIActionError as exc:
            if exc.reason.lower() == "database entry could not be deleted":
                return False
            raise
        return True

    async def core_show_channels(self) -> list[AMIMessage]:
        """One CoreShowChannel event per live channel."""
        return await self.send_action_list("CoreShowChannels", (), "CoreShowChannelsComplete")
