"""The notification seam (`Message`, `Sender`, `DeliveryError`) and the `Notifier` that fans a message out over it.

Senders do one attempt and classify its failure; the `Notifier` owns retries, results, logs and
counters, so a sender never retries and the caller never sees an exception.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

import aiohttp

__all__ = [
    "Attachment",
    "DeliveryError",
    "DeliveryResult",
    "Message",
    "Notifier",
    "NotifyMetrics",
    "Outcome",
    "Sender",
    "http_failure",
    "post_json",
    "retry_delay",
]

log = logging.getLogger("pbx.notify")


# --- the seam ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str
    content: bytes = field(repr=False)
    mime_type: str = "application/octet-stream"

    def __post_init__(self) -> None:
        maintype, sep, subtype = self.mime_type.partition("/")
        if not sep or not maintype or not subtype or "/" in subtype:
            raise ValueError(f"mime_type must look like 'audio/wav', got {self.mime_type!r}")


@dataclass(frozen=True, slots=True, kw_only=True)
class Message:
    """One notification, whatever the channel: e-mail uses all of it, SMS only `text`.

    `kind` and `ref` (e.g. "voicemail", the message id) say what it is about, for logs and receivers."""

    tenant: str
    kind: str
    ref: str
    subject: str
    text: str
    attachments: tuple[Attachment, ...] = ()


class DeliveryError(Exception):
    """One attempt failed. `permanent`: trying again cannot help (bad address, refused, misconfigured)."""

    def __init__(self, permanent: bool, reason: str) -> None:
        super().__init__(reason)
        self.permanent = permanent
        self.reason = reason


class Sender(Protocol):
    async def send(self, recipient: str, message: Message) -> None:
        """Deliver once, or raise `DeliveryError`."""
        ...


# --- shared by the HTTP senders ----------------------------------------------------------------

# These say "not now" rather than "never", though they are 4xx.
_TEMPORARY_4XX = frozenset({408, 425, 429})


def http_failure(status: int, detail: str = "") -> DeliveryError | None:
    """What an HTTP answer means for a delivery: None when accepted (2xx)."""
    if 200 <= status < 300:
        return None
    reason = f"HTTP {status}" + (f": {detail}" if detail else "")
    if status in _TEMPORARY_4XX or status >= 500:
        return DeliveryError(False, reason)
    # 3xx too: we do not follow redirects with a body and a signature, the URL is to be fixed
    return DeliveryError(True, reason)


async def post_json(session: aiohttp.ClientSession | None, url: str, body: bytes, headers: Mapping[str, str],
                    timeout: float) -> None:
    """POST `body` once; raise `DeliveryError` unless the answer is 2xx. Without a session, one is made for the call."""
    try:
        if session is None:
            async with aiohttp.ClientSession() as own:
                status, detail = await _post(own, url, body, headers, timeout)
        else:
            status, detail = await _post(session, url, body, headers, timeout)
    except TimeoutError:
        raise DeliveryError(False, f"no answer from {url} within {timeout:g}s") from None
    except aiohttp.ClientError as exc:
        raise DeliveryError(False, f"{type(exc).__name__}: {exc}") from exc
    failure = http_failure(status, detail)
    if failure is not None:
        raise failure


async def _post(session: aiohttp.ClientSession, url: str, body: bytes, headers: Mapping[str, str],
                timeout: float) -> tuple[int, str]:
    async with session.post(url, data=body, headers=dict(headers), allow_redirects=False,
                            timeout=aiohttp.ClientTimeout(total=timeout)) as response:
        detail = ""
        if not 200 <= response.status < 300:
            # a gateway's error page can be large; its first line or two is what a log needs
            detail = (await response.content.read(200)).decode("utf-8", "replace").strip()
        return response.status, detail


# --- fan-out with retries ----------------------------------------------------------------------


class Outcome(StrEnum):
    DELIVERED = "delivered"
    FAILED_PERMANENTLY = "failed_permanently"
    FAILED_AFTER_RETRIES = "failed_after_retries"


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    channel: str
    recipient: str
    outcome: Outcome
    attempts: int
    reason: str = ""  # the last failure's; empty when delivered

    @property
    def delivered(self) -> bool:
        return self.outcome is Outcome.DELIVERED


@dataclass(slots=True)
class NotifyMetrics:
    """Counters since the notifier was created (exported by the owner, e.g. to Prometheus)."""

    delivered: int = 0
    failed: int = 0
    retries: int = 0


def retry_delay(attempt: int, base: float, cap: float) -> float:
    """Seconds to wait after failed attempt `attempt` (1, 2, …): doubling from `base`, capped at `cap`."""
    return float(min(cap, base * 2 ** (attempt - 1)))


class Notifier:
    """Sends a message to (channel, recipient) pairs, each on its own: one failing never holds up the others.

    Temporary failures are retried in memory (`attempts` in all, waits doubling from `base_delay`);
    a restart forgets them, so callers that must not lose a notification keep their own record."""

    def __init__(self, senders: Mapping[str, Sender], *, attempts: int = 4, base_delay: float = 2.0,
                 max_delay: float = 60.0, sleep: Callable[[float], Awaitable[object]] = asyncio.sleep) -> None:
        if attempts < 1:
            raise ValueError("attempts must be at least 1")
        if base_delay < 0 or max_delay < 0:
            raise ValueError("delays cannot be negative")
        self.senders = dict(senders)
        self.attempts = attempts
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.metrics = NotifyMetrics()
        self._sleep = sleep

    async def notify(self, message: Message, recipients: Iterable[tuple[str, str]]) -> list[DeliveryResult]:
        """One result per (channel, recipient), in the order given. Never raises (except on cancellation)."""
        return list(await asyncio.gather(*(self._deliver(message, channel, recipient)
                                           for channel, recipient in recipients)))

    async def _deliver(self, message: Message, channel: str, recipient: str) -> DeliveryResult:
        sender = self.senders.get(channel)
        if sender is None:
            return self._finish(message, DeliveryResult(channel, recipient, Outcome.FAILED_PERMANENTLY, 0,
                                                        f"no sender for channel {channel!r}"))
        attempt = 0
        while True:
            attempt += 1
            try:
                await sender.send(recipient, message)
            except DeliveryError as exc:
                if exc.permanent:
                    return self._finish(message, DeliveryResult(channel, recipient, Outcome.FAILED_PERMANENTLY,
                                                                attempt, exc.reason))
                if attempt >= self.attempts:
                    return self._finish(message, DeliveryResult(channel, recipient, Outcome.FAILED_AFTER_RETRIES,
                                                                attempt, exc.reason))
                delay = retry_delay(attempt, self.base_delay, self.max_delay)
                self.metrics.retries += 1
                log.info("notification will be retried", extra={
                    **_fields(message, channel, recipient), "event": "notify_retry", "attempt": attempt,
                    "delay": delay, "reason": exc.reason})
                await self._sleep(delay)
            except Exception as exc:
                # a sender that raises anything else has a bug; repeating the attempt would repeat the bug
                log.exception("sender failed unexpectedly", extra={
                    **_fields(message, channel, recipient), "event": "notify_sender_bug", "attempt": attempt})
                return self._finish(message, DeliveryResult(channel, recipient, Outcome.FAILED_PERMANENTLY,
                                                            attempt, f"sender error: {exc!r}"))
            else:
                return self._finish(message, DeliveryResult(channel, recipient, Outcome.DELIVERED, attempt))

    def _finish(self, message: Message, result: DeliveryResult) -> DeliveryResult:
        fields = {**_fields(message, result.channel, result.recipient), "outcome": result.outcome.value,
                  "attempts": result.attempts}
        if result.delivered:
            self.metrics.delivered += 1
            log.info("notification delivered", extra={**fields, "event": "notify_delivered"})
        else:
            self.metrics.failed += 1
            log.warning("notification not delivered", extra={**fields, "event": "notify_failed",
                                                              "reason": result.reason})
        return result


def _fields(message: Message, channel: str, recipient: str) -> dict[str, object]:
    return {"tenant": message.tenant, "kind": message.kind, "ref": message.ref, "channel": channel,
            "recipient": recipient}
