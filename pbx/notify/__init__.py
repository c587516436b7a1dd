"""Notifications to people and systems (voicemail, callback requests): e-mail, SMS, webhook behind one seam."""

from pbx.notify.email import SmtpSender
from pbx.notify.senders import (
    Attachment,
    DeliveryError,
    DeliveryResult,
    Message,
    Notifier,
    NotifyMetrics,
    Outcome,
    Sender,
)
from pbx.notify.sms import HttpSmsSender
from pbx.notify.webhook import SIGNATURE_HEADER, WebhookSender

__all__ = [
    "SIGNATURE_HEADER",
    "Attachment",
    "DeliveryError",
    "DeliveryResult",
    "HttpSmsSender",
    "Message",
    "Notifier",
    "NotifyMetrics",
    "Outcome",
    "Sender",
    "SmtpSender",
    "WebhookSender",
]
