"""SMS through an HTTP gateway: one JSON POST per message, the number checked and the text kept within a few parts."""

from __future__ import annotations

import json
import re

import aiohttp
from yarl import URL

from pbx.notify.senders import DeliveryError, Message, post_json

__all__ = ["HttpSmsSender", "normalise_number", "shorten"]

# International (E.164: +, country code, at most 15 digits) or a bare national/short number.
_NUMBER = re.compile(r"\+[1-9]\d{6,14}|\d{3,15}")
_FORMATTING = re.compile(r"[\s\-().]")
# Three concatenated GSM-7 parts (3 × 153 characters): beyond that, many gateways refuse or bill a fortune.
DEFAULT_MAX_LENGTH = 459
_ELLIPSIS = "..."  # "…" is not in the GSM-7 alphabet and would switch the whole SMS to UCS-2 (70 per part)


def normalise_number(text: str) -> str | None:
    """'+46 70-123 45 67' → '+46701234567'; None when it is not a phone number."""
    # "+46 (0)8-…" is how many write their number: the (0) is the national trunk prefix, not part of it
    number = _FORMATTING.sub("", text.replace("(0)", ""))
    return number if _NUMBER.fullmatch(number) else None


def shorten(text: str, limit: int) -> str:
    """`text` within `limit` characters: cut at a word boundary near the end when there is one, marked with '...'."""
    if len(text) <= limit:
        return text
    room = limit - len(_ELLIPSIS)
    if room <= 0:
        return text[:limit]
    cut = text[:room]
    space = cut.rfind(" ")
    if space >= room * 0.8:  # a word boundary costs at most a fifth of the room
        cut = cut[:space]
    return cut.rstrip() + _ELLIPSIS


class HttpSmsSender:
    """POSTs {"to", "from", "text"} to the gateway, with a bearer token if given. The recipient is a phone number."""

    def __init__(self, url: str, sender_id: str, *, token: str | None = None, max_length: int = DEFAULT_MAX_LENGTH,
                 timeout: float = 10.0, session: aiohttp.ClientSession | None = None) -> None:
        if URL(url).scheme not in ("http", "https") or not URL(url).host:
            raise ValueError(f"the SMS gateway URL must be http(s)://…, got {url!r}")
        if max_length < 1:
            raise ValueError("max_length must be positive")
        self.url = url
        self.sender_id = sender_id
        self.max_length = max_length
        self.timeout = timeout
        self._token = token
        self._session = session  # None: a session per message (few messages; nothing to close)

    def __repr__(self) -> str:  # the token stays out of logs
        return f"HttpSmsSender({self.url!r}, {self.sender_id!r})"

    async def send(self, recipient: str, message: Message) -> None:
        number = normalise_number(recipient)
        if number is None:
            raise DeliveryError(True, f"not a phone number: {recipient!r}")
        body = json.dumps({"to": number, "from": self.sender_id, "text": shorten(message.text, self.max_length)},
                          ensure_ascii=False).encode("utf-8")
        headers = {"Content-Type": "application/json; charset=utf-8"}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        await post_json(self._session, self.url, body, headers, self.timeout)
