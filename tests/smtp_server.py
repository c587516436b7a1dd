"""A real SMTP server (aiosmtpd) on a free loopback port, in the test's own event loop; it keeps what it receives.

Use it from an async test body (the suite runs its coroutines with `asyncio.run`):

    async with smtp_server() as server:
        await SmtpSender("127.0.0.1", "pbx@example.se", port=server.port).send(...)
        mail = server.received[0].message

The sender under test must not block the loop (ours runs smtplib in a thread), or the server cannot answer.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any, cast

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    raw: bytes
    login: str | None  # the user who authenticated, if any

    @property
    def message(self) -> EmailMessage:
        """The message as a mailbox stores it: SMTP's CRLF line ends become LF, as a mail client would show them."""
        return cast(EmailMessage, email.message_from_bytes(self.raw.replace(b"\r\n", b"\n"),
                                                           policy=email.policy.default))


@dataclass
class _Handler:
    """Accepts and records each message, unless a scripted reply is due: `rcpt_reply` refuses every recipient,
    `data_replies` answer the next DATA commands in turn (e.g. "451 4.3.0 try later") before accepting again."""

    users: Mapping[str, str]
    rcpt_reply: str | None
    data_replies: list[str]
    received: list[Received] = field(default_factory=list)
    attempts: int = 0  # DATA commands seen, accepted or not

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          rcpt_options: list[str]) -> str:
        if self.rcpt_reply:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.attempts += 1
        if self.data_replies:
            return self.data_replies.pop(0)
        content = envelope.original_content or b""
        login = session.auth_data.decode() if session.authenticated and session.auth_data else None
        self.received.append(Received(envelope.mail_from or "", tuple(envelope.rcpt_tos), content, login))
        return "250 2.0.0 Message accepted for delivery"

    def authenticate(self, server: SMTP, session: Session, envelope: Envelope, mechanism: str,
                     auth_data: Any) -> AuthResult:
        if isinstance(auth_data, LoginPassword):
            user, password = auth_data.login.decode(), auth_data.password.decode()
            if self.users.get(user) == password:
                return AuthResult(success=True, auth_data=auth_data.login)
        return AuthResult(success=False, handled=False)


@dataclass(frozen=True)
class SmtpTestServer:
    host: str
    port: int
    _handler: _Handler

    @property
    def received(self) -> list[Received]:
        return self._handler.received

    @property
    def attempts(self) -> int:
        return self._handler.attempts


@asynccontextmanager
async def smtp_server(*, users: Mapping[str, str] | None = None, rcpt_reply: str | None = None,
                      data_replies: Iterable[str] = ()) -> AsyncIterator[SmtpTestServer]:
    """An SMTP server on 127.0.0.1 (port chosen by the OS) for the `async with` block.

    `users` (name → password) enables AUTH without TLS, which a test on loopback may allow itself."""
    loop = asyncio.get_running_loop()
    handler = _Handler(dict(users or {}), rcpt_reply, list(data_replies))

    def protocol() -> SMTP:
        return SMTP(handler, hostname="smtp.test", loop=loop, authenticator=handler.authenticate if users else None,
                    auth_require_tls=False)

    server = await loop.create_server(protocol, "127.0.0.1", 0)
    try:
        yield SmtpTestServer("127.0.0.1", server.sockets[0].getsockname()[1], handler)
    finally:
        server.close()
        await server.wait_closed()
