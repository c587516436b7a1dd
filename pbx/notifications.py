"""What the controller sends people: senders built from the settings, and the messages themselves."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from datetime import datetime

from pbx.acd.model import CallbackRequest
from pbx.notify import HttpSmsSender, Message, Notifier, Sender, SmtpSender, WebhookSender
from pbx.routing.compile import RoutingTable
from pbx.routing.validate import notify_channel
from pbx.settings import Settings

log = logging.getLogger("pbx.notify")


class _SameSecret(Mapping[str, str]):
    """Every tenant's webhooks signed with the one configured key (per-tenant keys come with the admin API)."""

    def __init__(self, secret: str) -> None:
        self._secret = secret

    def __getitem__(self, tenant: str) -> str:
        return self._secret

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


def build_notifier(settings: Settings) -> Notifier:
    """A Notifier with the senders the settings configure; a recipient on a channel with no sender fails
    (logged, never raised): a missing SMTP server must not lose the request it would have announced."""
    senders: dict[str, Sender] = {}
    if settings.smtp_url:
        senders["email"] = SmtpSender.from_url(settings.smtp_url)
    if settings.sms_url:
        senders["sms"] = HttpSmsSender(settings.sms_url, settings.sms_from, token=settings.sms_token)
    if settings.webhook_secret:
        senders["webhook"] = WebhookSender(_SameSecret(settings.webhook_secret))
    return Notifier(senders)


TEXTS = {
    "sv": ("Återuppringning begärd: {number} ({queue})",
           "Någon vill bli uppringd.\n\nNummer: {number}\nKö: {queue}\nBegärd: {at}\nVia: {source}\n"),
    "en": ("Callback requested: {number} ({queue})",
           "Someone asked to be called back.\n\nNumber: {number}\nQueue: {queue}\nRequested: {at}\nVia: {source}\n"),
}
SOURCES = {"sv": {"menu": "röstmenyn", "queue": "kön (behåller sin plats)"},
           "en": {"menu": "the voice menu", "queue": "the queue (keeping the place)"}}


def callback_message(cb: CallbackRequest, table: RoutingTable, source: str) -> tuple[Message, list[tuple[str, str]]]:
    """The e-mail/SMS/webhook announcing a new callback request, and whom it goes to (the queue's recipients)."""
    tenant = table.tenants[cb.tenant]
    queue = tenant.queues.get(cb.queue)
    language = tenant.language if tenant.language in TEXTS else "en"
    subject, body = TEXTS[language]
    at = datetime.fromtimestamp(cb.requested_at, tenant.tz)
    fields = {"number": cb.number, "queue": queue.name if queue is not None else cb.queue,
              "at": f"{at:%Y-%m-%d %H:%M}", "source": SOURCES[language].get(source, source)}
    if cb.next_attempt_at and source == "queue":
        fields["at"] += f" → {datetime.fromtimestamp(cb.next_attempt_at, tenant.tz):%H:%M}"
    message = Message(tenant=cb.tenant, kind="callback", ref=cb.call_id, subject=subject.format(**fields),
                      text=body.format(**fields))
    recipients = [(channel, r) for r in (queue.callback_notify if queue is not None else ())
                  if (channel := notify_channel(r)) is not None]
    return message, recipients
