"""Notifications against real servers on loopback: SMTP (aiosmtpd), and HTTP as SMS gateway and webhook receiver."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import socket
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager, closing
from dataclasses import dataclass, field
from typing import Any, TypeVar

import aiohttp
import pytest
from aiohttp import web

from pbx.notify import (
    Attachment,
    DeliveryError,
    HttpSmsSender,
    Message,
    Notifier,
    Outcome,
    SmtpSender,
    WebhookSender,
)
from pbx.notify.senders import http_failure, retry_delay
from pbx.notify.sms import normalise_number, shorten

try:
    from tests.smtp_server import smtp_server
except ImportError:  # pytest run without the repository root on sys.path puts tests/ there instead
    from smtp_server import smtp_server  # type: ignore[no-redef]

T = TypeVar("T")

# Every byte value, so any 7-bit or line-ending mangling on the way would show.
RECORDING = bytes(range(256)) * 40 + b"\r\n\n\r.\r\n..end"
VOICEMAIL = Message(
    tenant="exempel",
    kind="voicemail",
    ref="vm-17",
    subject="Nytt röstmeddelande från +46701234567 (Växeln)",
    text="Hej!\nDu har ett nytt meddelande i röstbrevlådan Support, 0:42 långt.\nLyssna på bilagan.",
    attachments=(Attachment("röstmeddelande-17.wav", RECORDING, "audio/wav"),),
)


def run(coro: Awaitable[T]) -> T:
    async def main() -> T:
        return await coro
    return asyncio.run(main())


def smtp_to(port: int, **options: Any) -> SmtpSender:
    return SmtpSender("127.0.0.1", "pbx@example.se", port=port, local_hostname="pbx.test", timeout=5, **options)


def closed_port() -> socket.socket:
    """A loopback port bound but not listening: connecting to it is refused, and nobody else can take it meanwhile."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    return sock


class Sleeps:
    """Stands in for asyncio.sleep in the notifier: records the backoff, waits no real time."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)
        await asyncio.sleep(0)


# --- an HTTP server: SMS gateway and webhook receiver ---------------------------------------------


@dataclass(frozen=True)
class Request:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class HttpReceiver:
    statuses: list[int] = field(default_factory=list)  # answered in turn, then 200
    delay: float = 0.0
    requests: list[Request] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.requests.append(Request(request.path, dict(request.headers), body))
        if self.delay:
            await asyncio.sleep(self.delay)
        status = self.statuses.pop(0) if self.statuses else 200
        return web.json_response({"accepted": status < 300}, status=status)


@asynccontextmanager
async def http_server(receiver: HttpReceiver) -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_post("/{path:.*}", receiver.handle)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


# --- e-mail ----------------------------------------------------------------------------------------


def test_voicemail_email_arrives_with_the_recording_attached_byte_for_byte() -> None:
    async def main() -> None:
        async with smtp_server() as server:
            await smtp_to(server.port).send("kalle@exempel.se", VOICEMAIL)
            assert len(server.received) == 1
            received = server.received[0]
            assert received.mail_from == "pbx@example.se"
            assert received.rcpt_tos == ("kalle@exempel.se",)
            mail = received.message
            assert mail["Subject"] == VOICEMAIL.subject
            assert mail["To"] == "kalle@exempel.se"
            assert mail["From"] == "pbx@example.se"
            assert mail["Message-ID"].endswith("@example.se>")
            body = mail.get_body(("plain",))
            assert body is not None
            assert body.get_content().rstrip("\n") == VOICEMAIL.text
            attachments = list(mail.iter_attachments())
            assert [(a.get_filename(), a.get_content_type()) for a in attachments] == \
                [("röstmeddelande-17.wav", "audio/wav")]
            assert attachments[0].get_content() == RECORDING
    run(main())


def test_email_without_attachments_is_a_plain_text_message() -> None:
    async def main() -> None:
        async with smtp_server() as server:
            callback = Message(tenant="exempel", kind="callback", ref="cb-3", subject="Ring upp +46701234567",
                               text="Kunden i kön Support vill bli uppringd.")
            await smtp_to(server.port).send("support@exempel.se", callback)
            mail = server.received[0].message
            assert mail.get_content_type() == "text/plain"
            assert mail.get_content().rstrip("\n") == callback.text
    run(main())


def test_a_caller_chosen_name_cannot_add_headers_through_the_subject() -> None:
    async def main() -> None:
        async with smtp_server() as server:
            evil = Message(tenant="exempel", kind="voicemail", ref="vm-9", text="x",
                           subject="Från Eve\r\nBcc: victim@example.org")
            await smtp_to(server.port).send("kalle@exempel.se", evil)
            mail = server.received[0].message
            assert mail["Bcc"] is None
            assert server.received[0].rcpt_tos == ("kalle@exempel.se",)
            assert mail["Subject"] == "Från Eve Bcc: victim@example.org"
    run(main())


def test_smtp_url_credentials_log_in_before_sending() -> None:
    async def main() -> None:
        async with smtp_server(users={"pbx@example.se": "hem/lig@pass:1"}) as server:
            sender = SmtpSender.from_url(
                f"smtp://pbx%40example.se:hem%2Flig%40pass%3A1@127.0.0.1:{server.port}"
                "?from=noreply@example.se&helo=pbx.test&timeout=5")
            await sender.send("kalle@exempel.se", VOICEMAIL)
            assert server.received[0].login == "pbx@example.se"
            assert server.received[0].mail_from == "noreply@example.se"
    run(main())


def test_wrong_smtp_password_is_a_permanent_failure() -> None:
    async def main() -> DeliveryError:
        async with smtp_server(users={"pbx": "rätt"}) as server:
            with pytest.raises(DeliveryError) as caught:
                await smtp_to(server.port, username="pbx", password="fel").send("kalle@exempel.se", VOICEMAIL)
            assert server.received == []
            return caught.value
    error = run(main())
    assert error.permanent
    assert "535" in error.reason


@pytest.mark.parametrize(("reply", "permanent"), [("550 5.1.1 No such user", True),
                                                  ("450 4.2.1 Mailbox busy", False)])
def test_refused_recipient_is_permanent_on_5xx_and_temporary_on_4xx(reply: str, permanent: bool) -> None:
    async def main() -> DeliveryError:
        async with smtp_server(rcpt_reply=reply) as server:
            with pytest.raises(DeliveryError) as caught:
                await smtp_to(server.port).send("okand@exempel.se", VOICEMAIL)
            return caught.value
    error = run(main())
    assert error.permanent is permanent
    assert reply in error.reason


def test_starttls_against_a_server_without_it_is_a_configuration_error() -> None:
    async def main() -> DeliveryError:
        async with smtp_server() as server:
            with pytest.raises(DeliveryError) as caught:
                await smtp_to(server.port, starttls=True).send("kalle@exempel.se", VOICEMAIL)
            assert server.received == []
            return caught.value
    error = run(main())
    assert error.permanent
    assert "STARTTLS" in error.reason


def test_malformed_email_address_fails_permanently_without_contacting_the_server() -> None:
    async def main() -> None:
        async with smtp_server() as server:
            for address in ("kalle", "kalle@", "Kalle <kalle@exempel.se>", "a@b.se,c@d.se", "kal le@exempel.se"):
                with pytest.raises(DeliveryError) as caught:
                    await smtp_to(server.port).send(address, VOICEMAIL)
                assert caught.value.permanent, address
            assert server.attempts == 0
    run(main())


def test_smtp_server_down_is_retried_then_reported_failed_after_retries() -> None:
    async def main() -> None:
        with closing(closed_port()) as sock:
            sleeps = Sleeps()
            notifier = Notifier({"email": smtp_to(sock.getsockname()[1])}, attempts=3, base_delay=0.01, sleep=sleeps)
            [result] = await notifier.notify(VOICEMAIL, [("email", "kalle@exempel.se")])
        assert result.outcome is Outcome.FAILED_AFTER_RETRIES
        assert result.attempts == 3
        assert "ConnectionRefused" in result.reason
        assert sleeps.delays == [0.01, 0.02]
        assert (notifier.metrics.delivered, notifier.metrics.failed, notifier.metrics.retries) == (0, 1, 2)
    run(main())


def test_smtp_temporary_refusal_is_delivered_on_a_later_attempt() -> None:
    async def main() -> None:
        async with smtp_server(data_replies=["451 4.3.0 Try again later"] * 2) as server:
            notifier = Notifier({"email": smtp_to(server.port)}, attempts=4, base_delay=0.001)
            [result] = await notifier.notify(VOICEMAIL, [("email", "kalle@exempel.se")])
            assert result.outcome is Outcome.DELIVERED
            assert result.attempts == 3
            assert server.attempts == 3
            assert len(server.received) == 1  # retries do not duplicate what was refused
    run(main())


def test_smtp_url_defaults_and_mistakes() -> None:
    plain = SmtpSender.from_url("smtp://mail.example.se?from=pbx@example.se")
    assert (plain.host, plain.port, plain.username, plain.password, plain.starttls, plain.implicit_tls) == \
        ("mail.example.se", 25, None, None, False, False)
    submission = SmtpSender.from_url("smtp://u:p@mail.example.se:587?from=pbx@example.se&starttls=1&timeout=7.5")
    assert (submission.port, submission.username, submission.password, submission.starttls, submission.timeout) == \
        (587, "u", "p", True, 7.5)
    assert "password=" not in repr(submission)
    smtps = SmtpSender.from_url("smtps://mail.example.se?from=pbx@example.se")
    assert (smtps.port, smtps.implicit_tls) == (465, True)
    for wrong in ("smtp://mail.example.se",                                      # no from
                  "smtp://pbx:l%C3%B6sen@mail.example.se?from=pbx@example.se",   # smtplib's AUTH is ASCII only
                  "http://mail.example.se?from=pbx@example.se",                  # not SMTP
                  "smtp://mail.example.se?from=pbx@example.se&start_tls=1",      # a typo
                  "smtp://mail.example.se?from=pbx@example.se&starttls=maybe",
                  "smtps://mail.example.se?from=pbx@example.se&starttls=1"):
        with pytest.raises(ValueError):
            SmtpSender.from_url(wrong)


# --- SMS -------------------------------------------------------------------------------------------


def test_sms_posts_number_sender_and_text_with_the_bearer_token() -> None:
    async def main() -> None:
        gateway = HttpReceiver()
        async with http_server(gateway) as url:
            sms = HttpSmsSender(f"{url}/v1/sms", "Exempel", token="gw-token-1")
            await sms.send("+46 70-123 45 67", VOICEMAIL)
        [request] = gateway.requests
        assert request.path == "/v1/sms"
        assert request.json() == {"to": "+46701234567", "from": "Exempel", "text": VOICEMAIL.text}
        assert request.headers["Authorization"] == "Bearer gw-token-1"
        assert request.headers["Content-Type"].startswith("application/json")
        assert "gw-token-1" not in repr(sms)
    run(main())


def test_sms_without_a_token_sends_no_authorization_header() -> None:
    async def main() -> None:
        gateway = HttpReceiver()
        async with http_server(gateway) as url:
            await HttpSmsSender(url, "Exempel").send("0701234567", VOICEMAIL)
        assert "Authorization" not in gateway.requests[0].headers
        assert gateway.requests[0].json()["to"] == "0701234567"
    run(main())


def test_long_sms_text_is_cut_at_a_word_within_the_limit() -> None:
    async def main() -> None:
        gateway = HttpReceiver()
        long = Message(tenant="exempel", kind="voicemail", ref="vm-1", subject="",
                       text=" ".join(["röstmeddelande"] * 60))
        async with http_server(gateway) as url:
            await HttpSmsSender(url, "Exempel", max_length=160).send("+46701234567", long)
        text = gateway.requests[0].json()["text"]
        assert len(text) <= 160
        assert text.endswith("röstmeddelande...")
        assert text.startswith("röstmeddelande röstmeddelande")
    run(main())


def test_gateway_refusal_is_permanent_and_not_retried() -> None:
    async def main() -> None:
        gateway = HttpReceiver(statuses=[400])
        async with http_server(gateway) as url:
            notifier = Notifier({"sms": HttpSmsSender(url, "Exempel")}, attempts=3, base_delay=0.001)
            [result] = await notifier.notify(VOICEMAIL, [("sms", "+46701234567")])
        assert result.outcome is Outcome.FAILED_PERMANENTLY
        assert result.attempts == 1
        assert result.reason.startswith("HTTP 400")
        assert len(gateway.requests) == 1
    run(main())


def test_gateway_unavailable_twice_then_delivered_on_the_third_attempt() -> None:
    async def main() -> None:
        gateway = HttpReceiver(statuses=[503, 503, 200])
        sleeps = Sleeps()
        async with http_server(gateway) as url:
            notifier = Notifier({"sms": HttpSmsSender(url, "Exempel")}, attempts=3, base_delay=0.5, sleep=sleeps)
            [result] = await notifier.notify(VOICEMAIL, [("sms", "+46701234567")])
        assert result.outcome is Outcome.DELIVERED
        assert result.attempts == 3
        assert len(gateway.requests) == 3
        assert sleeps.delays == [0.5, 1.0]
        assert (notifier.metrics.delivered, notifier.metrics.failed, notifier.metrics.retries) == (1, 0, 2)
    run(main())


def test_rate_limited_gateway_is_a_temporary_failure() -> None:
    async def main() -> DeliveryError:
        async with http_server(HttpReceiver(statuses=[429])) as url:
            with pytest.raises(DeliveryError) as caught:
                await HttpSmsSender(url, "Exempel").send("+46701234567", VOICEMAIL)
            return caught.value
    assert not run(main()).permanent


def test_gateway_that_does_not_answer_in_time_is_a_temporary_failure() -> None:
    async def main() -> DeliveryError:
        async with http_server(HttpReceiver(delay=0.3)) as url:
            with pytest.raises(DeliveryError) as caught:
                await HttpSmsSender(url, "Exempel", timeout=0.05).send("+46701234567", VOICEMAIL)
            return caught.value
    error = run(main())
    assert not error.permanent
    assert "within 0.05s" in error.reason


def test_gateway_down_is_a_temporary_failure() -> None:
    async def main() -> DeliveryError:
        with closing(closed_port()) as sock, pytest.raises(DeliveryError) as caught:
            await HttpSmsSender(f"http://127.0.0.1:{sock.getsockname()[1]}", "Exempel").send("+46701234567",
                                                                                            VOICEMAIL)
        return caught.value
    assert not run(main()).permanent


def test_bad_number_fails_permanently_without_calling_the_gateway() -> None:
    async def main() -> None:
        gateway = HttpReceiver()
        async with http_server(gateway) as url:
            notifier = Notifier({"sms": HttpSmsSender(url, "Exempel")}, attempts=3, base_delay=0.001)
            results = await notifier.notify(VOICEMAIL, [("sms", n) for n in ("kalle", "+0701234567", "46-70-ab", "")])
        assert [r.outcome for r in results] == [Outcome.FAILED_PERMANENTLY] * 4
        assert all(r.attempts == 1 and "not a phone number" in r.reason for r in results)
        assert gateway.requests == []
    run(main())


def test_phone_number_normalisation() -> None:
    assert normalise_number("+46 (0)8-123 456 00") == "+46812345600"  # the national 0 is dropped after +46
    assert normalise_number("+46 8-123 456 00") == "+46812345600"
    assert normalise_number("08-123 456 00") == "0812345600"
    assert normalise_number("112") == "112"
    assert normalise_number("+4670123456789012") is None  # 16 digits: longer than E.164 allows
    assert normalise_number("070 123 45 67 ext 3") is None


def test_shorten_keeps_short_texts_and_never_exceeds_the_limit() -> None:
    assert shorten("Ring Kalle", 160) == "Ring Kalle"
    assert shorten("x" * 500, 160) == "x" * 157 + "..."
    for limit in range(1, 40):
        assert len(shorten("Du har ett nytt röstmeddelande från +46701234567", limit)) <= limit


def test_a_shared_http_session_is_used_and_left_open_for_its_owner() -> None:
    async def main() -> None:
        gateway = HttpReceiver()
        async with http_server(gateway) as url, aiohttp.ClientSession() as session:
            sms = HttpSmsSender(url, "Exempel", session=session)
            await sms.send("+46701234567", VOICEMAIL)
            await sms.send("+46701234568", VOICEMAIL)
            assert not session.closed
        assert [r.json()["to"] for r in gateway.requests] == ["+46701234567", "+46701234568"]
    run(main())


# --- webhook ---------------------------------------------------------------------------------------


def test_webhook_body_describes_the_attachment_and_its_signature_verifies() -> None:
    async def main() -> None:
        receiver = HttpReceiver()
        secrets = {"exempel": "exempel-hemlighet", "annat": "annat-hemlighet"}
        async with http_server(receiver) as url:
            await WebhookSender(secrets, clock=lambda: 1_795_000_000.7).send(f"{url}/hooks/pbx", VOICEMAIL)
        [request] = receiver.requests
        assert request.path == "/hooks/pbx"
        assert request.json() == {
            "tenant": "exempel", "kind": "voicemail", "ref": "vm-17",
            "subject": VOICEMAIL.subject, "text": VOICEMAIL.text,
            "attachments": [{"filename": "röstmeddelande-17.wav", "mime_type": "audio/wav", "size": len(RECORDING),
                             "sha256": hashlib.sha256(RECORDING).hexdigest()}],
            "sent_at": 1_795_000_000,
        }
        assert len(request.body) < len(RECORDING)  # described, not carried
        scheme, _, digest = request.headers["X-PBX-Signature"].partition("=")
        assert scheme == "sha256"
        expected = hmac.new(b"exempel-hemlighet", request.body, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(digest, expected)
        forged = hmac.new(b"annat-hemlighet", request.body, hashlib.sha256).hexdigest()
        assert digest != forged
        assert "hemlighet" not in repr(WebhookSender(secrets))
    run(main())


def test_webhook_for_a_tenant_without_a_secret_is_not_sent_unsigned() -> None:
    async def main() -> None:
        receiver = HttpReceiver()
        async with http_server(receiver) as url:
            with pytest.raises(DeliveryError) as caught:
                await WebhookSender({"annat": "annat-hemlighet"}).send(url, VOICEMAIL)
        assert caught.value.permanent
        assert receiver.requests == []
    run(main())


@pytest.mark.parametrize(("status", "permanent"), [(500, False), (502, False), (404, True), (410, True),
                                                   (301, True)])
def test_webhook_answer_classification(status: int, permanent: bool) -> None:
    async def main() -> DeliveryError:
        async with http_server(HttpReceiver(statuses=[status])) as url:
            with pytest.raises(DeliveryError) as caught:
                await WebhookSender({"exempel": "s"}).send(url, VOICEMAIL)
            return caught.value
    error = run(main())
    assert error.permanent is permanent
    assert error.reason.startswith(f"HTTP {status}")


def test_webhook_to_something_not_http_is_a_permanent_failure() -> None:
    with pytest.raises(DeliveryError) as caught:
        run(WebhookSender({"exempel": "s"}).send("ftp://example.se/hook", VOICEMAIL))
    assert caught.value.permanent


# --- the notifier ----------------------------------------------------------------------------------


def test_one_failing_recipient_does_not_stop_the_other_two(caplog: pytest.LogCaptureFixture) -> None:
    async def main() -> None:
        gateway = HttpReceiver(statuses=[400])
        hooks = HttpReceiver()
        async with smtp_server() as mail, http_server(gateway) as sms_url, http_server(hooks) as hook_url:
            notifier = Notifier({"email": smtp_to(mail.port), "sms": HttpSmsSender(sms_url, "Exempel"),
                                 "webhook": WebhookSender({"exempel": "s"})}, attempts=3, base_delay=0.001)
            results = await notifier.notify(VOICEMAIL, [("email", "kalle@exempel.se"), ("sms", "+46701234567"),
                                                        ("webhook", f"{hook_url}/vm")])
            assert [(r.channel, r.outcome) for r in results] == [
                ("email", Outcome.DELIVERED), ("sms", Outcome.FAILED_PERMANENTLY), ("webhook", Outcome.DELIVERED)]
            assert mail.received[0].rcpt_tos == ("kalle@exempel.se",)
            assert len(hooks.requests) == 1
            assert (notifier.metrics.delivered, notifier.metrics.failed) == (2, 1)

    with caplog.at_level(logging.INFO, logger="pbx.notify"):
        run(main())
    outcomes = {(vars(r)["event"], vars(r)["channel"]): vars(r) for r in caplog.records if r.name == "pbx.notify"}
    assert set(outcomes) == {("notify_delivered", "email"), ("notify_failed", "sms"),
                             ("notify_delivered", "webhook")}
    failed = outcomes["notify_failed", "sms"]
    assert failed["levelno"] == logging.WARNING
    assert (failed["tenant"], failed["kind"], failed["ref"], failed["recipient"], failed["attempts"]) == (
        "exempel", "voicemail", "vm-17", "+46701234567", 1)
    assert failed["reason"].startswith("HTTP 400")


def test_unknown_channel_and_a_buggy_sender_are_reported_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    class Broken:
        calls = 0

        async def send(self, recipient: str, message: Message) -> None:
            Broken.calls += 1
            raise KeyError("oops")

    class Fine:
        def __init__(self) -> None:
            self.got: list[str] = []

        async def send(self, recipient: str, message: Message) -> None:
            self.got.append(recipient)

    fine = Fine()
    notifier = Notifier({"broken": Broken(), "fine": fine}, attempts=3, base_delay=0)
    with caplog.at_level(logging.INFO, logger="pbx.notify"):
        results = run(notifier.notify(VOICEMAIL, [("fax", "+4681234"), ("broken", "x"), ("fine", "y")]))
    assert [r.outcome for r in results] == [Outcome.FAILED_PERMANENTLY, Outcome.FAILED_PERMANENTLY,
                                            Outcome.DELIVERED]
    assert "no sender for channel 'fax'" in results[0].reason
    assert Broken.calls == 1  # a bug is not retried
    assert fine.got == ["y"]
    assert any(r.exc_info and getattr(r, "event", "") == "notify_sender_bug" for r in caplog.records)


def test_backoff_doubles_up_to_the_cap() -> None:
    assert [retry_delay(n, 2.0, 10.0) for n in range(1, 6)] == [2.0, 4.0, 8.0, 10.0, 10.0]


def test_http_answer_classification() -> None:
    assert http_failure(200) is None and http_failure(204) is None
    verdicts: dict[int, bool] = {}
    for status in (400, 401, 403, 404, 408, 422, 429, 500, 502, 503, 504):
        failure = http_failure(status)
        assert failure is not None
        verdicts[status] = failure.permanent
    assert verdicts == {400: True, 401: True, 403: True, 404: True, 408: False, 422: True, 429: False,
                        500: False, 502: False, 503: False, 504: False}


def test_notifier_refuses_nonsense_settings() -> None:
    for kwargs in ({"attempts": 0}, {"base_delay": -1.0}):
        with pytest.raises(ValueError):
            Notifier({}, **kwargs)  # type: ignore[arg-type]

