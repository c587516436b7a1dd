"""E-mail over SMTP: stdlib `smtplib` in a worker thread, attachments (the voicemail recording) with their MIME type."""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from urllib.parse import parse_qsl, unquote, urlsplit

from pbx.notify.senders import DeliveryError, Message

__all__ = ["SmtpSender", "compose"]

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


@dataclass(frozen=True, slots=True)
class SmtpSender:
    """One SMTP submission server. `implicit_tls` is SMTPS (port 465); `starttls` upgrades a plain connection."""

    host: str
    from_address: str
    port: int = 25
    username: str | None = None
    password: str | None = field(default=None, repr=False)  # never in logs
    starttls: bool = False
    implicit_tls: bool = False
    timeout: float = 30.0
    local_hostname: str | None = None  # the EHLO name; None asks the OS for this host's FQDN

    def __post_init__(self) -> None:
        # smtplib sends AUTH as ASCII; anything else would fail at every delivery rather than here, once
        if not (self.username or "").isascii() or not (self.password or "").isascii():
            raise ValueError("the SMTP user name and password must be ASCII")

    @classmethod
    def from_url(cls, url: str) -> SmtpSender:
        """smtp://user:pass@host:port?from=pbx@example.se&starttls=1&timeout=10 (smtps:// for implicit TLS).

        User and password are percent-decoded; `from` is required."""
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("an SMTP URL looks like smtp://user:pass@host:587?from=pbx@example.se&starttls=1")
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        unknown = set(query) - {"from", "starttls", "timeout", "helo"}
        if unknown:
            raise ValueError(f"unknown SMTP URL parameter(s): {', '.join(sorted(unknown))}")
        if not query.get("from"):
            raise ValueError("the SMTP URL needs ?from=address (the sender of the notifications)")
        implicit_tls = parts.scheme == "smtps"
        starttls = _flag(query.get("starttls", ""), "starttls")
        if implicit_tls and starttls:
            raise ValueError("smtps:// is already encrypted; starttls=1 is for smtp://")
        return cls(
            host=parts.hostname,
            port=parts.port or (465 if implicit_tls else 25),
            from_address=query["from"],
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password is not None else None,
            starttls=starttls,
            implicit_tls=implicit_tls,
            timeout=float(query.get("timeout", "30")),
            local_hostname=query.get("helo") or None,
        )

    async def send(self, recipient: str, message: Message) -> None:
        if not _plausible_address(recipient):
            raise DeliveryError(True, f"not an e-mail address: {recipient!r}")
        mail = compose(self.from_address, recipient, message)
        try:
            await asyncio.to_thread(self._submit, recipient, mail)
        except (smtplib.SMTPException, OSError) as exc:
            raise _classify(exc, f"{self.host}:{self.port}", self.timeout) from exc

    def _submit(self, recipient: str, mail: EmailMessage) -> None:
        smtp: smtplib.SMTP
        if self.implicit_tls:
            smtp = smtplib.SMTP_SSL(self.host, self.port, self.local_hostname, timeout=self.timeout,
                                    context=ssl.create_default_context())
        else:
            smtp = smtplib.SMTP(self.host, self.port, self.local_hostname, timeout=self.timeout)
        with smtp:
            if self.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if self.username:
                smtp.login(self.username, self.password or "")
            smtp.send_message(mail, from_addr=self.from_address, to_addrs=[recipient])


def compose(from_address: str, recipient: str, message: Message) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = from_address
    mail["To"] = recipient
    # the subject may carry a caller's name, which the caller chooses: no line breaks into the headers
    mail["Subject"] = " ".join(message.subject.split())
    mail["Date"] = formatdate(localtime=True)
    mail["Message-ID"] = make_msgid(domain=from_address.rpartition("@")[2] or None)
    # quoted-printable: Swedish text survives any relay, 8BITMIME or not
    mail.set_content(message.text, charset="utf-8", cte="quoted-printable")
    for attachment in message.attachments:
        maintype, _, subtype = attachment.mime_type.partition("/")
        mail.add_attachment(attachment.content, maintype=maintype, subtype=subtype, filename=attachment.filename)
    return mail


def _plausible_address(text: str) -> bool:
    local, at, domain = text.rpartition("@")
    return bool(at and local and domain and "." in domain) and not any(c.isspace() or c in "<>," for c in text)


def _classify(exc: smtplib.SMTPException | OSError, server: str, timeout: float) -> DeliveryError:
    """5xx from the server: permanent. 4xx, lost connections, timeouts: temporary."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        answers = list(exc.recipients.values())
        permanent = bool(answers) and all(500 <= code < 600 for code, _ in answers)
        return DeliveryError(permanent, "; ".join(f"SMTP {code} {_text(text)}" for code, text in answers))
    if isinstance(exc, smtplib.SMTPResponseException):
        return DeliveryError(500 <= exc.smtp_code < 600, f"SMTP {exc.smtp_code} {_text(exc.smtp_error)}")
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        # the server lacks STARTTLS or AUTH as configured: a configuration error, not a passing one
        return DeliveryError(True, f"{server}: {exc}")
    if isinstance(exc, TimeoutError):
        return DeliveryError(False, f"{server}: no answer within {timeout:g}s")
    return DeliveryError(False, f"{server}: {type(exc).__name__}: {exc}")


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def _flag(value: str, name: str) -> bool:
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise ValueError(f"{name} must be 1 or 0, got {value!r}")
