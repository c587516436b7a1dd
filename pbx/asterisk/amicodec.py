"""Sans-I/O codec for the Asterisk Manager Interface: bytes in, AMIMessage out, and back; no sockets."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Literal, NoReturn, overload

__all__ = [
    "BANNER",
    "MAX_LINE",
    "MAX_MESSAGE",
    "AMIBanner",
    "AMIMessage",
    "AMIParser",
    "AMIProtocolError",
    "encode_message",
]

BANNER = b"Asterisk Call Manager/11.0.0\r\n"
_BANNER_PREFIX = "Asterisk Call Manager/"

MAX_LINE = 64 * 1024
MAX_MESSAGE = 1024 * 1024

Kind = Literal["event", "response", "action", "unknown"]
_KINDS: dict[str, Kind] = {"event": "event", "response": "response", "action": "action"}


class AMIProtocolError(Exception):
    """The peer broke the framing or a limit; the connection cannot be trusted any more.

    `messages` holds what was complete before the fault, so a caller may still act on it."""

    def __init__(self, reason: str, messages: list[AMIMessage | AMIBanner] | None = None) -> None:
        super().__init__(reason)
        self.messages: list[AMIMessage | AMIBanner] = messages or []


@dataclass(frozen=True, slots=True)
class AMIBanner:
    """The greeting line Asterisk sends before anything else: `Asterisk Call Manager/11.0.0`."""

    line: str

    @property
    def version(self) -> str:
        return self.line.partition("/")[2].strip()

    def encode(self) -> bytes:
        return self.line.encode("utf-8") + b"\r\n"


class AMIMessage:
    """One AMI block: an ordered sequence of (key, value) pairs.

    Keys repeat in real traffic (`Output:` of Command, `Variable:` of Originate), so this is not
    a dict; lookups are case-insensitive because Asterisk itself compares headers that way.
    A line without a header (sent by a confused client, transcript 03) is kept under the key "".
    Asterisk 22 sends CLI output as `Output:` headers (transcripts 01, 09); the free-text body
    of the old `Response: Follows` would likewise come out as ""-keyed lines."""

    __slots__ = ("_index", "_pairs")

    _pairs: tuple[tuple[str, str], ...]
    _index: dict[str, str] | None

    def __init__(self, pairs: Iterable[tuple[str, str]] | Mapping[str, str] = ()) -> None:
        items = pairs.items() if isinstance(pairs, Mapping) else pairs
        self._pairs = tuple((str(k), str(v)) for k, v in items)
        self._index = None

    @classmethod
    def _trusted(cls, pairs: tuple[tuple[str, str], ...]) -> AMIMessage:
        # The parser already built str pairs; skip the copy on the hot path.
        self = cls.__new__(cls)
        self._pairs = pairs
        self._index = None
        return self

    def _lookup(self) -> dict[str, str]:
        index: dict[str, str] = {}
        for key, value in self._pairs:
            index.setdefault(key.lower(), value)
        self._index = index
        return index

    @overload
    def get(self, key: str) -> str | None: ...
    @overload
    def get(self, key: str, default: str) -> str: ...
    @overload
    def get(self, key: str, default: None) -> str | None: ...

    def get(self, key: str, default: str | None = None) -> str | None:
        """The first value under `key` (case-insensitive), else `default`."""
        index = self._index if self._index is not None else self._lookup()
        return index.get(key.lower(), default)

    def getall(self, key: str) -> list[str]:
        """Every value under `key`, in wire order."""
        wanted = key.lower()
        return [v for k, v in self._pairs if k.lower() == wanted]

    def __getitem__(self, key: str) -> str:
        value = self.get(key)
        if value is None:
            raise KeyError(key)
        return value

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.get(key) is not None

    def items(self) -> tuple[tuple[str, str], ...]:
        return self._pairs

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self._pairs)

    def __len__(self) -> int:
        return len(self._pairs)

    def as_dict(self) -> dict[str, str]:
        """First value of each key, original spelling: for logs and quick inspection."""
        out: dict[str, str] = {}
        for key, value in self._pairs:
            out.setdefault(key, value)
        return out

    @property
    def kind(self) -> Kind:
        """"event", "response" or "action" from the block's leading header.

        The leading header decides, not mere presence: an OriginateResponse *event* carries a
        `Response:` header of its own."""
        if self._pairs:
            kind = _KINDS.get(self._pairs[0][0].lower())
            if kind is not None:
                return kind
        for name in ("event", "response", "action"):
            if self.get(name) is not None:
                return _KINDS[name]
        return "unknown"

    @property
    def name(self) -> str:
        """Event name, response status (Success/Error/Goodbye…) or action name; "" if none."""
        kind = self.kind
        if kind == "unknown":
            return ""
        if self._pairs and self._pairs[0][0].lower() == kind:
            return self._pairs[0][1]
        return self.get(kind, "")

    @property
    def action_id(self) -> str | None:
        return self.get("ActionID")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AMIMessage):
            return NotImplemented
        return self._pairs == other._pairs

    def __hash__(self) -> int:
        return hash(self._pairs)

    def __repr__(self) -> str:
        body = ", ".join(f"{k}={v!r}" for k, v in self._pairs[:6])
        more = f", …+{len(self._pairs) - 6}" if len(self._pairs) > 6 else ""
        return f"AMIMessage({body}{more})"


def _split_line(line: str) -> tuple[str, str]:
    key, sep, value = line.partition(": ")
    if sep:
        return key, value
    # Asterisk also accepts `Key:value` (it skips blanks after the colon); accept it when the
    # part before the colon looks like a header name, else keep the whole line under "".
    key, sep, value = line.partition(":")
    if sep and key and " " not in key and "\t" not in key:
        return key, value.lstrip(" \t")
    return "", line


class AMIParser:
    """Incremental AMI reader: `feed(bytes)` returns the messages completed by those bytes.

    Lines end with CRLF or, leniently, a bare LF (Asterisk's own reader accepts both, and
    Asterisk 22 itself once writes `Message: No Contacts found\n\r\n\r\n`, transcript 17:
    that reads as the line, the end of the block, and an empty line that is skipped). Only
    complete lines are decoded, so a UTF-8 character split across TCP reads survives; bytes
    that are not UTF-8 become U+FFFD instead of raising. Works in both directions: the banner
    is recognised only as the very first line, and actions parse like any other block."""

    __slots__ = ("_failed", "_first_line", "_max_line", "_max_message", "_pairs", "_partial", "_size")

    def __init__(self, *, max_line: int = MAX_LINE, max_message: int = MAX_MESSAGE) -> None:
        self._max_line = max_line
        self._max_message = max_message
        self._partial = b""
        self._pairs: list[tuple[str, str]] = []
        self._size = 0
        self._first_line = True
        self._failed = False

    @property
    def buffered(self) -> int:
        """Bytes received but not yet part of a complete message."""
        return len(self._partial) + self._size

    def feed(self, data: bytes) -> list[AMIMessage | AMIBanner]:
        if self._failed:
            raise AMIProtocolError("parser already failed; open a new connection")
        out: list[AMIMessage | AMIBanner] = []
        if self._partial:
            data = self._partial + data
        end = data.rfind(b"\n")
        if end < 0:
            self._partial = data
            self._check_partial(out)
            return out
        self._partial = data[end + 1 :]
        lines = data[:end].split(b"\n")
        # One C-level pass instead of a length test on every line in the loop below.
        too_long = max(map(len, lines)) > self._max_line + 1  # +1: the CR of a CRLF
        if self._first_line:
            self._first_line = False
            first = lines[0].rstrip(b"\r").decode("utf-8", "replace")
            if first.startswith(_BANNER_PREFIX):
                out.append(AMIBanner(first))
                lines = lines[1:]
        pairs = self._pairs
        size = self._size
        max_message = self._max_message
        trusted = AMIMessage._trusted
        for raw in lines:
            if too_long and len(raw) > self._max_line + 1:
                self._fail(f"line longer than {self._max_line} bytes", out)
            if raw.endswith(b"\r"):
                raw = raw[:-1]
            if not raw:
                if pairs:
                    out.append(trusted(tuple(pairs)))
                    pairs.clear()
                    size = 0
                continue  # blank lines between blocks carry nothing
            size += len(raw) + 2
            if size > max_message:
                self._fail(f"message longer than {max_message} bytes", out)
            key, sep, value = raw.decode("utf-8", "replace").partition(": ")
            pairs.append((key, value) if sep else _split_line(key))
        self._size = size
        self._check_partial(out)
        return out

    def _check_partial(self, out: list[AMIMessage | AMIBanner]) -> None:
        # Refuse an endless line before it ends: that is the point of a limit.
        if len(self._partial) > self._max_line + 1:
            self._fail(f"line longer than {self._max_line} bytes", out)
        if self._size + len(self._partial) > self._max_message:
            self._fail(f"message longer than {self._max_message} bytes", out)

    def _fail(self, reason: str, out: list[AMIMessage | AMIBanner]) -> NoReturn:
        self._failed = True
        self._partial = b""
        self._pairs = []
        raise AMIProtocolError(reason, out)


def encode_message(pairs: Iterable[tuple[str, str]] | Mapping[str, str] | AMIMessage) -> bytes:
    """`Key: value\\r\\n` per pair, then a blank line. CR or LF in a key or value is refused:
    it would let a value smuggle in headers or end the block (header injection)."""
    items = pairs.items() if isinstance(pairs, Mapping | AMIMessage) else pairs
    parts: list[str] = []
    for key, value in items:
        if not isinstance(key, str) or not isinstance(value, str):
            raise TypeError(f"AMI keys and values are str, got {key!r}: {value!r}")
        if "\r" in value or "\n" in value:
            raise ValueError(f"CR/LF in the value of {key!r}")
        if key:
            if "\r" in key or "\n" in key or ":" in key:
                raise ValueError(f"invalid AMI key {key!r}")
            parts.append(f"{key}: {value}\r\n")
        else:
            # A header-less line (only a misbehaving client sends one; the simulator must be able
            # to reproduce it). It must read back as header-less, and must not end the block.
            if not value or _split_line(value) != ("", value):
                raise ValueError(f"a line without a key must be non-empty and header-free: {value!r}")
            parts.append(value + "\r\n")
    if not parts:
        raise ValueError("an AMI message needs at least one line")
    parts.append("\r\n")
    return "".join(parts).encode("utf-8")
