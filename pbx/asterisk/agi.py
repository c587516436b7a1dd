"""The FastAGI wire format, both directions, with no I/O: bytes in, events or command words out."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TypeAlias

__all__ = [
    "DEAD_CHANNEL_LINE",
    "GET_VARIABLE_USAGE",
    "HANGUP_LINE",
    "INVALID_COMMAND_LINE",
    "MAX_ENV_BYTES",
    "MAX_ENV_LINES",
    "MAX_LINE_BYTES",
    "USAGE_UNAVAILABLE_LINE",
    "AGICommandParser",
    "AGIEnvironment",
    "AGIError",
    "AGIEvent",
    "AGIHangup",
    "AGIProtocolError",
    "AGIResponse",
    "AGIServerParser",
    "encode_command",
    "encode_environment",
    "encode_response",
    "encode_usage",
    "set_variable",
    "split_command",
]

# Limits against a broken or hostile peer. A real environment is about 700 bytes in 25 lines.
MAX_LINE_BYTES = 8 * 1024
MAX_ENV_BYTES = 64 * 1024
MAX_ENV_LINES = 200

# What Asterisk 22 (res_agi.c) writes, byte for byte (see shared/asterisk/agi/*.a2s.raw).
HANGUP_LINE = b"HANGUP\n"
INVALID_COMMAND_LINE = b"510 Invalid or unknown command\n"
DEAD_CHANNEL_LINE = b"511 Command Not Permitted on a dead channel or intercept routine\n"
USAGE_UNAVAILABLE_LINE = b"520 Invalid command syntax.  Proper usage not available.\n"
_USAGE_HEAD = b"520-Invalid command syntax.  Proper usage follows:\n"
_USAGE_TAIL = b"520 End of proper usage.\n"
# The usage text of GET VARIABLE, as Asterisk 22 prints it after `GET VARIABLE` with no argument.
GET_VARIABLE_USAGE = (
    "Returns <literal>0</literal> if <replaceable>variablename</replaceable> is not set. Returns "
    "<literal>1</literal> if <replaceable>variablename</replaceable> is set and returns the variable in "
    "parentheses.\nExample return code: 200 result=1 (testvariable)"
)
_FIXED_LINES = {510: INVALID_COMMAND_LINE, 511: DEAD_CHANNEL_LINE, 520: USAGE_UNAVAILABLE_LINE}


class AGIError(Exception):
    """Base of every FastAGI error."""


class AGIProtocolError(AGIError, ValueError):
    """The peer's bytes are not FastAGI (garbage, a hostile peer, or limits exceeded)."""


# --- events -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AGIEnvironment:
    """The `agi_*` block Asterisk sends first; `args` are agi_arg_1..N in order."""

    env: dict[str, str]
    args: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class AGIResponse:
    """One reply to one command. `text` is the raw line (the lines of a multi-line reply, joined by \\n)."""

    code: int
    result: str
    data: str | None = None
    extra: dict[str, str] = field(default_factory=dict)
    text: str = ""


@dataclass(frozen=True, slots=True)
class AGIHangup:
    """The asynchronous `HANGUP` line: the channel is gone, though Asterisk may still answer commands."""


AGIEvent: TypeAlias = AGIEnvironment | AGIResponse | AGIHangup
_HANGUP = AGIHangup()


def _decode(line: bytes) -> str:
    # Only whole lines get here, so a multi-byte character split across reads is already reassembled.
    text = line.decode("utf-8", "replace")
    # Asterisk ends lines with \n alone; tolerate a CR from other senders rather than keep it in values.
    return text[:-1] if text.endswith("\r") else text


# A reply's tail is `(data)` and/or ` key=value` pairs; greedy so data may itself contain parentheses.
_DATA_THEN_EXTRA = re.compile(r"\((.*)\)((?: [^\s=()]+=\S*)+)", re.DOTALL)


def _split_extra(tail: str) -> dict[str, str]:
    extra: dict[str, str] = {}
    for token in tail.split():
        key, sep, value = token.partition("=")
        if sep:
            extra[key] = value
    return extra


def _parse_reply(text: str, code: int) -> AGIResponse:
    rest = text[4:]
    if not rest.startswith("result="):
        if code == 200:
            raise AGIProtocolError(f"200 reply without result=: {text[:80]!r}")
        return AGIResponse(code, "", None, {}, text)
    rest = rest[7:]
    space = rest.find(" ")
    if space < 0:
        return AGIResponse(code, rest, None, {}, text)
    result, rest = rest[:space], rest[space + 1 :]
    if not rest.startswith("("):
        return AGIResponse(code, result, None, _split_extra(rest), text)
    if rest.endswith(")"):
        return AGIResponse(code, result, rest[1:-1], {}, text)
    match = _DATA_THEN_EXTRA.fullmatch(rest)
    if match is None:  # unbalanced parenthesis: keep what is certain, the raw line is in .text
        return AGIResponse(code, result, None, {}, text)
    return AGIResponse(code, result, match[1], _split_extra(match[2]), text)


# --- our side: Asterisk's bytes → events ------------------------------------------------------


def _make_environment(env: dict[str, str]) -> AGIEnvironment:
    args: list[str] = []
    while (arg := env.get(f"agi_arg_{len(args) + 1}")) is not None:
        args.append(arg)
    return AGIEnvironment(env, tuple(args))


def _environment_block(block: bytes) -> AGIEnvironment | None:
    """A whole environment (without its blank line) parsed at once, or None when it is not the
    plain case; the line-by-line path then parses it, with the precise error if there is one."""
    lines = block.count(b"\n") + 1
    if (len(block) >= MAX_ENV_BYTES or lines > MAX_ENV_LINES or not block.startswith(b"agi_")
            or block.count(b"\nagi_") != lines - 1 or b"\r" in block):
        return None
    text = block.decode("utf-8", "replace")  # \n never occurs inside a UTF-8 sequence
    split = text.split("\n")
    if len(block) > MAX_LINE_BYTES and max(map(len, split)) * 4 > MAX_LINE_BYTES:
        return None  # a line may be too long (a character is at most 4 bytes): let the slow path measure
    try:
        env = {key: value[1:] if value[:1] == " " else value for key, value in (line.split(":", 1) for line in split)}
    except ValueError:  # a line without ':'
        return None
    return _make_environment(env)


class AGIServerParser:
    """Parses what Asterisk sends to a FastAGI server: the environment, then replies and HANGUP.

    A reply spread over several lines (`520-…` up to `520 …`) comes out as one AGIResponse, so
    replies stay paired with commands. After an AGIProtocolError the parser stays failed."""

    __slots__ = ("_block", "_block_bytes", "_env", "_env_bytes", "_env_done", "_env_lines", "_error", "_tail")

    def __init__(self) -> None:
        self._tail = b""
        self._env: dict[str, str] = {}
        self._env_bytes = 0
        self._env_lines = 0
        self._env_done = False
        self._block: list[str] | None = None  # lines of a multi-line reply being collected
        self._block_bytes = 0
        self._error: str | None = None

    def feed(self, data: bytes) -> list[AGIEvent]:
        if self._error is not None:
            raise AGIProtocolError(self._error)
        try:
            return self._feed(data)
        except AGIProtocolError as exc:
            self._error = str(exc)
            raise

    def _feed(self, data: bytes) -> list[AGIEvent]:
        events: list[AGIEvent] = []
        if self._tail:
            data = self._tail + data
        elif not self._env_lines and not self._env_done:
            # Asterisk writes the whole environment at once, so it usually arrives in one read:
            # parse it as a block, by far the costliest step of a short session.
            end = data.find(b"\n\n")
            if end > 0:
                environment = _environment_block(data[:end])
                if environment is not None:
                    self._env_done = True
                    events.append(environment)
                    data = data[end + 2 :]
        lines = data.split(b"\n")
        tail = lines.pop()
        # Checked before the line ends: a peer that never sends \n must not make us buffer forever.
        if len(tail) > MAX_LINE_BYTES:
            raise AGIProtocolError(f"line longer than {MAX_LINE_BYTES} bytes")
        self._tail = tail
        i = 0
        if not self._env_done:
            i = self._environment(lines, events)
            if not self._env_done and self._env_bytes + len(tail) > MAX_ENV_BYTES:
                raise AGIProtocolError(f"environment larger than {MAX_ENV_BYTES} bytes")
        for line in lines[i:] if i else lines:
            if len(line) > MAX_LINE_BYTES:
                raise AGIProtocolError(f"line longer than {MAX_LINE_BYTES} bytes")
            if self._block is not None:
                self._block_line(line, events)
            elif len(line) >= 3 and line[:3].isdigit() and line[3:4] in (b"", b" ", b"-"):
                code = int(line[:3])
                if line[3:4] == b"-":
                    self._block = [_decode(line)]
                    self._block_bytes = len(line)
                else:
                    events.append(_parse_reply(_decode(line), code))
            elif line == b"HANGUP" or line == b"HANGUP\r":
                events.append(_HANGUP)
            else:
                raise AGIProtocolError(f"not a FastAGI reply: {line[:80]!r}")
        return events

    def _environment(self, lines: list[bytes], events: list[AGIEvent]) -> int:
        """Consumes environment lines; returns how many of `lines` it used."""
        env = self._env
        for i, line in enumerate(lines):
            if not line or line == b"\r":
                self._env_done = True
                events.append(_make_environment(env))
                return i + 1
            if len(line) > MAX_LINE_BYTES:
                raise AGIProtocolError(f"line longer than {MAX_LINE_BYTES} bytes")
            self._env_bytes += len(line) + 1
            self._env_lines += 1
            if self._env_bytes > MAX_ENV_BYTES:
                raise AGIProtocolError(f"environment larger than {MAX_ENV_BYTES} bytes")
            if self._env_lines > MAX_ENV_LINES:
                raise AGIProtocolError(f"more than {MAX_ENV_LINES} environment lines")
            if not line.startswith(b"agi_"):
                raise AGIProtocolError(f"not an agi_ line in the environment: {line[:80]!r}")
            key, sep, value = _decode(line).partition(":")
            if not sep:
                raise AGIProtocolError(f"environment line without ':': {line[:80]!r}")
            env[key] = value[1:] if value.startswith(" ") else value
        return len(lines)

    def _block_line(self, line: bytes, events: list[AGIEvent]) -> None:
        block = self._block
        assert block is not None
        self._block_bytes += len(line) + 1
        if self._block_bytes > MAX_ENV_BYTES:
            raise AGIProtocolError(f"multi-line reply larger than {MAX_ENV_BYTES} bytes")
        text = _decode(line)
        block.append(text)
        # The block ends with the same code followed by a space (res_agi: "520 End of proper usage.").
        head = block[0][:3]
        if text.startswith(head) and (len(text) == 3 or text[3] == " "):
            self._block = None
            events.append(AGIResponse(int(head), "", None, {}, "\n".join(block)))


# --- our side: commands → bytes ---------------------------------------------------------------

# Arguments made only of these go bare; anything else is quoted. Quoting is always correct for
# Asterisk's parser, so the set is deliberately small (DTMF sets like "0123456789*#" come out quoted,
# as in the transcripts).
_BARE = re.compile(r"[A-Za-z0-9_.:/@${}()\[\],;=+%^~-]+")
_KEYWORD = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")
_FORBIDDEN = re.compile(r"[\n\r\0]")


def _quote(word: str) -> str:
    if _BARE.fullmatch(word):
        return word
    if _FORBIDDEN.search(word):
        # A newline would end the command and start another one the peer never meant to send.
        raise ValueError(f"newline, carriage return or NUL in an AGI argument: {word!r}")
    return '"' + word.replace("\\", "\\\\").replace('"', '\\"') + '"'


def encode_command(*words: str) -> bytes:
    """One command line. The first word is the command and may hold several keywords
    ("GET VARIABLE"); the others are arguments, quoted and escaped when they need it."""
    if not words:
        raise ValueError("an AGI command needs at least its name")
    keywords = words[0].split(" ")
    for keyword in keywords:
        if not _KEYWORD.fullmatch(keyword):
            raise ValueError(f"not an AGI command name: {words[0]!r}")
    return (" ".join([*keywords, *map(_quote, words[1:])]) + "\n").encode()


def set_variable(name: str, value: str) -> bytes:
    """`SET VARIABLE name "value"`: the value is always quoted, `"` and `\\` escaped."""
    if not name:
        raise ValueError("empty variable name")
    if _FORBIDDEN.search(value):
        raise ValueError(f"newline, carriage return or NUL in the value of {name}: {value!r}")
    quoted = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'SET VARIABLE {_quote(name)} "{quoted}"\n'.encode()


# --- Asterisk's side (the simulator): events → bytes, command lines → words -----------------


def _check_line(what: str, text: str) -> None:
    if "\n" in text or "\r" in text:
        raise ValueError(f"newline in {what}: {text!r}")


def encode_environment(env: Mapping[str, str]) -> bytes:
    """The environment block, in the given order, ended by an empty line."""
    parts = []
    for key, value in env.items():
        _check_line("an environment key", key)
        _check_line("an environment value", value)
        parts.append(f"{key}: {value}\n")
    parts.append("\n")
    return "".join(parts).encode()


def encode_response(code: int, result: str, data: str | None = None,
                    extra: Mapping[str, str] | None = None) -> bytes:
    """A one-line reply as Asterisk writes it: `200 result=1 (data) endpos=…`, or the fixed
    510/511/520 lines (which carry no result, data or extra)."""
    if code != 200:
        line = _FIXED_LINES.get(code)
        if line is None:
            raise ValueError(f"Asterisk sends no single-line reply with code {code}")
        if result or data is not None or extra:
            raise ValueError(f"a {code} reply carries no result, data or extra")
        return line
    _check_line("a result", result)
    text = f"200 result={result}"
    if data is not None:
        _check_line("reply data", data)
        text += f" ({data})"
    if extra:
        for key, value in extra.items():
            _check_line("a reply field", f"{key}={value}")
            text += f" {key}={value}"
    return (text + "\n").encode()


def encode_usage(usage: str | None) -> bytes:
    """The 520 reply to a command with bad syntax: the multi-line block with its usage text, or
    the single line when the command has none."""
    if usage is None:
        return USAGE_UNAVAILABLE_LINE
    return _USAGE_HEAD + usage.encode() + b"\n" + _USAGE_TAIL


def split_command(line: str) -> list[str]:
    """The words of one command line, exactly as res_agi.c's parse_args() splits them: space and
    tab separate, `"` toggles quoting (also mid-word, without starting a word), `\\` escapes any
    character. A CR is an ordinary character, as it is for Asterisk."""
    if '"' not in line and "\\" not in line:  # the common case, without a character loop
        return [w for w in line.replace("\t", " ").split(" ") if w]
    words: list[str] = []
    current: list[str] | None = None  # None between words
    quoted = escaped = False
    for ch in line:
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
            continue
        elif ch == '"':
            quoted = not quoted
            if quoted and current is None:
                current = []
                words.append("")  # placeholder, filled when the word ends
            continue
        elif (ch == " " or ch == "\t") and not quoted:
            if current is not None:
                words[-1] = "".join(current)
                current = None
            continue
        if current is None:
            current = []
            words.append("")
        current.append(ch)
    if current is not None:
        words[-1] = "".join(current)
    return words


class AGICommandParser:
    """Parses what a FastAGI server sends to Asterisk into the words of each command line.
    An empty line gives an empty list (Asterisk answers it 510)."""

    __slots__ = ("_tail",)

    def __init__(self) -> None:
        self._tail = b""

    def feed(self, data: bytes) -> list[list[str]]:
        if self._tail:
            data = self._tail + data
        lines = data.split(b"\n")
        self._tail = lines.pop()
        if len(self._tail) > MAX_LINE_BYTES:
            raise AGIProtocolError(f"command line longer than {MAX_LINE_BYTES} bytes")
        commands = []
        for line in lines:
            if len(line) > MAX_LINE_BYTES:
                raise AGIProtocolError(f"command line longer than {MAX_LINE_BYTES} bytes")
            commands.append(split_command(line.decode("utf-8", "replace")))
        return commands
