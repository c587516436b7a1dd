"""Webhooks: the message as signed JSON to the tenant's URL (attachments described, not carried)."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable, Mapping
from typing import Any

import aiohttp
from yarl import URL

from pbx.notify.senders import DeliveryError, Message, post_json

__all__ = ["SIGNATURE_HEADER", "WebhookSender", "payload", "signature"]

SIGNATURE_HEADER = "X-PBX-Signature"


def payload(message: Message, sent_at: int) -> bytes:
    """The JSON body. `sent_at` (Unix seconds) is signed with the rest, so a receiver can refuse replays."""
    document: dict[str, Any] = {
        "tenant": message.tenant,
        "kind": message.kind,
        "ref": message.ref,
        "subject": message.subject,
        "text": message.text,
        "attachments": [{"filename": a.filename, "mime_type": a.mime_type, "size": len(a.content),
                         "sha256": hashlib.sha256(a.content).hexdigest()} for a in message.attachments],
        "sent_at": sent_at,
    }
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def signature(secret: str, body: bytes) -> str:
    """The X-PBX-Signature value: 'sha256=' and the hex HMAC-SHA256 of the raw body under the tenant's secret."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


class WebhookSender:
    """The recipient is the URL; the secret is the message's tenant's (from `secrets`, by tenant key)."""

    def __init__(self, secrets: Mapping[str, str], *, timeout: float = 10.0,
                 session: aiohttp.ClientSession | None = None, clock: Callable[[], float] = time.time) -> None:
        self._secrets = secrets
        self.timeout = timeout
        self._session = session  # None: a session per message
        self._clock = clock

    def __repr__(self) -> str:  # the secrets stay out of logs
        return f"WebhookSender(tenants={sorted(self._secrets)!r})"

    async def send(self, recipient: str, message: Message) -> None:
        url = URL(recipient)
        if url.scheme not in ("http", "https") or not url.host:
            raise DeliveryError(True, f"not an http(s) URL: {recipient!r}")
        secret = self._secrets.get(message.tenant)
        if not secret:
            # unsigned deliveries would teach receivers to accept forgeries
            raise DeliveryError(True, f"no webhook secret for tenant {message.tenant!r}")
        body = payload(message, int(self._clock()))
        headers = {"Content-Type": "application/json; charset=utf-8", SIGNATURE_HEADER: signature(secret, body)}
        await post_json(self._session, recipient, body, headers, self.timeout)
