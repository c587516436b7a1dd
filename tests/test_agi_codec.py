"""The FastAGI codec against the bytes a real Asterisk 22 sent and accepted (shared/asterisk/agi)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pbx.asterisk.agi import (
    DEAD_CHANNEL_LINE,
    GET_VARIABLE_USAGE,
    HANGUP_LINE,
    INVALID_COMMAND_LINE,
    MAX_ENV_BYTES,
    MAX_ENV_LINES,
    MAX_LINE_BYTES,
    USAGE_UNAVAILABLE_LINE,
    AGICommandParser,
    AGIEnvironment,
    AGIEvent,
    AGIHangup,
    AGIProtocolError,
    AGIResponse,
    AGIServerParser,
    encode_command,
    encode_environment,
    encode_response,
    encode_usage,
    set_variable,
    split_command,
)

TRANSCRIPTS = Path(__file__).resolve().parent / "data" / "asterisk" / "agi"  # copied from shared/asterisk
NAMES = ("001_route", "002_hangup-test", "003_dtmf-test")


def a2s(name: str) -> bytes:
    return (TRANSCRIPTS / f"{name}.a2s.raw").read_bytes()


def s2a(name: str) -> bytes:
    return (TRANSCRIPTS / f"{name}.s2a.raw").read_bytes()


def feed_chunks(chunks: list[bytes]) -> list[AGIEvent]:
    parser = AGIServerParser()
    events: list[AGIEvent] = []
    for chunk in chunks:
        events.extend(parser.feed(chunk))
    return events


def replies(events: list[AGIEvent]) -> list[tuple[int, str, str | None, dict[str, str]]]:
    return [(e.code, e.result, e.data, e.extra) for e in events if isinstance(e, AGIResponse)]


ROUTE_REPLIES = [
    (200, "1", "5551234", {}),
    (200, "1", '"Lab Test" <5551234>', {}),
    (200, "1", None, {}),
    (200, "1", "queue:support", {}),
    (200, "0", None, {"endpos": "242214"}),
    (200, "", "timeout", {}),
    (200, "0", None, {}),
    (200, "1", None, {}),
    (200, "6", None, {}),
    (510, "", None, {}),
    (520, "", None, {}),
    (200, "-1", None, {"endpos": "0"}),
    (200, "1", None, {}),
    (200, "1", "value1", {}),
]


# --- the transcripts, whole --------------------------------------------------------------------


def test_route_transcript_gives_environment_then_one_reply_per_command() -> None:
    events = feed_chunks([a2s("001_route")])
    env = events[0]
    assert isinstance(env, AGIEnvironment)
    assert env.env["agi_network_script"] == "route?x=1"
    assert env.env["agi_request"] == "agi://127.0.0.1:4573/route?x=1"
    assert env.env["agi_channel"] == "Local/200@test-context-0000000e;2"
    assert env.env["agi_uniqueid"] == "1795324157.29"
    assert env.env["agi_calleridname"] == "Lab Test"
    assert env.env["agi_accountcode"] == ""
    assert len(env.env) == 24
    assert env.args == ("arg1", "arg2")
    assert replies(events[1:]) == ROUTE_REPLIES
    # One reply per command we sent: a multi-line 520 counted as several would shift every later answer.
    assert len(events) - 1 == s2a("001_route").count(b"\n")


def test_multi_line_usage_reply_is_one_response_keeping_its_text() -> None:
    usage = [e for e in feed_chunks([a2s("001_route")]) if isinstance(e, AGIResponse) and e.code == 520]
    assert len(usage) == 1
    lines = usage[0].text.split("\n")
    assert lines[0] == "520-Invalid command syntax.  Proper usage follows:"
    assert lines[-1] == "520 End of proper usage."
    assert "Example return code: 200 result=1 (testvariable)" in lines


def test_hangup_transcript_gives_hangup_event_then_511_replies() -> None:
    events = feed_chunks([a2s("002_hangup-test")])
    assert isinstance(events[0], AGIEnvironment)
    assert events[0].env["agi_network_script"] == "hangup-test"
    assert events[0].args == ()
    assert events[1] == AGIResponse(200, "-1", None, {"endpos": "16160"}, "200 result=-1 endpos=16160")
    assert events[2] == AGIHangup()
    assert replies(events[3:]) == [
        (200, "1", "5550201", {}),
        (200, "1", None, {}),
        (511, "", None, {}),
        (200, "1", None, {}),
        (200, "0", None, {}),
        (511, "", None, {}),
    ]
    dead = [e for e in events if isinstance(e, AGIResponse) and e.code == 511]
    assert dead[0].text == "511 Command Not Permitted on a dead channel or intercept routine"


def test_dtmf_transcript_gives_digit_results() -> None:
    events = feed_chunks([a2s("003_dtmf-test")])
    assert isinstance(events[0], AGIEnvironment)
    assert events[0].env["agi_calleridname"] == "AGI DTMF"
    assert replies(events[1:]) == [
        (200, "53", None, {"endpos": "13120"}),  # '5' interrupted STREAM FILE
        (200, "1234", None, {}),
        (200, "9", None, {}),  # '#' ended GET DATA
        (200, "55", None, {}),  # WAIT FOR DIGIT got '7'
    ]


# --- the same bytes, split anywhere ---------------------------------------------------------------


def test_route_transcript_split_at_every_byte_gives_the_same_events() -> None:
    raw = a2s("001_route")
    whole = feed_chunks([raw])
    for cut in range(len(raw) + 1):
        assert feed_chunks([raw[:cut], raw[cut:]]) == whole, cut


@pytest.mark.parametrize("name", NAMES)
def test_transcripts_fed_byte_by_byte_give_the_same_events(name: str) -> None:
    raw = a2s(name)
    assert feed_chunks([raw[i : i + 1] for i in range(len(raw))]) == feed_chunks([raw])


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(NAMES), st.lists(st.integers(min_value=0, max_value=1200), max_size=40))
def test_transcripts_in_random_chunks_give_the_same_events(name: str, cuts: list[int]) -> None:
    raw = a2s(name)
    points = sorted({min(c, len(raw)) for c in cuts})
    chunks = [raw[a:b] for a, b in zip([0, *points], [*points, len(raw)], strict=True)]
    assert feed_chunks(chunks) == feed_chunks([raw])


# --- UTF-8 ----------------------------------------------------------------------------------------

SWEDISH_ENV = (
    "agi_network: yes\nagi_network_script: route\nagi_calleridname: Åsa Öberg\n"
    "agi_arg_1: Ärende\n\n200 result=1 (Ängelholm)\n"
).encode()


def test_swedish_letters_split_inside_a_character_decode_whole() -> None:
    whole = feed_chunks([SWEDISH_ENV])
    env = whole[0]
    assert isinstance(env, AGIEnvironment)
    assert env.env["agi_calleridname"] == "Åsa Öberg"
    assert env.args == ("Ärende",)
    assert whole[1] == AGIResponse(200, "1", "Ängelholm", {}, "200 result=1 (Ängelholm)")
    for cut in range(len(SWEDISH_ENV) + 1):
        assert feed_chunks([SWEDISH_ENV[:cut], SWEDISH_ENV[cut:]]) == whole, cut
    # Å is two bytes: make sure some cuts really were inside one.
    first = SWEDISH_ENV.index("Å".encode())
    assert feed_chunks([SWEDISH_ENV[: first + 1], SWEDISH_ENV[first + 1 :]]) == whole


def test_unusual_environment_lines_parse_the_same_whole_or_split() -> None:
    data = b"agi_a:no-space\nagi_b: x: y\nagi_c:  two spaces\nagi_d:\n\n"
    whole = feed_chunks([data])
    assert whole == [AGIEnvironment({"agi_a": "no-space", "agi_b": "x: y", "agi_c": " two spaces", "agi_d": ""}, ())]
    for cut in range(len(data) + 1):
        assert feed_chunks([data[:cut], data[cut:]]) == whole, cut


def test_invalid_utf8_is_replaced_not_fatal() -> None:
    events = feed_chunks([b"agi_network_script: route\nagi_calleridname: \xc3(\xff\n\n200 result=1 (\xe4)\n"])
    env = events[0]
    assert isinstance(env, AGIEnvironment)
    assert env.env["agi_calleridname"] == "\ufffd(\ufffd"
    assert events[1] == AGIResponse(200, "1", "\ufffd", {}, "200 result=1 (\ufffd)")


def test_crlf_line_ends_are_tolerated() -> None:
    events = feed_chunks([b"agi_network_script: route\r\nagi_arg_1: a\r\n\r\n200 result=1 (x)\r\nHANGUP\r\n"])
    assert events == [AGIEnvironment({"agi_network_script": "route", "agi_arg_1": "a"}, ("a",)),
                      AGIResponse(200, "1", "x", {}, "200 result=1 (x)"), AGIHangup()]


# --- reply shapes ---------------------------------------------------------------------------------

ENV = b"agi_network_script: x\n\n"


@pytest.mark.parametrize(("line", "expected"), [
    (b"200 result=1 (a (b) c)", ("1", "a (b) c", {})),
    (b"200 result=0 (timeout) endpos=1234", ("0", "timeout", {"endpos": "1234"})),
    (b"200 result=1 (x) endpos=5)", ("1", "x) endpos=5", {})),
    (b"200 result=1 ()", ("1", "", {})),
    (b"200 result=1 (with space)", ("1", "with space", {})),
    (b"200 result=1 (unbalanced", ("1", None, {})),
    (b"200 result=", ("", None, {})),
])
def test_reply_data_and_fields(line: bytes, expected: tuple[str, str | None, dict[str, str]]) -> None:
    reply = feed_chunks([ENV + line + b"\n"])[1]
    assert isinstance(reply, AGIResponse)
    assert (reply.result, reply.data, reply.extra) == expected


def test_usage_reply_without_usage_text_is_one_line() -> None:
    reply = feed_chunks([ENV + USAGE_UNAVAILABLE_LINE])[1]
    assert isinstance(reply, AGIResponse)
    assert reply.code == 520


def test_blank_environment_has_no_script() -> None:
    assert feed_chunks([b"\n"]) == [AGIEnvironment({}, ())]


def test_args_stop_at_the_first_gap() -> None:
    env = feed_chunks([b"agi_arg_1: a\nagi_arg_3: c\nagi_arg_2: b\nagi_arg_5: e\n\n"])[0]
    assert isinstance(env, AGIEnvironment)
    assert env.args == ("a", "b", "c")


# --- garbage and limits ---------------------------------------------------------------------------


@pytest.mark.parametrize("data", [
    b"GET / HTTP/1.1\r\nHost: example\r\n\r\n",
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",  # a TLS ClientHello
    b"agi_network: yes\nnot an agi line\n",
    b"agi_network yes\n\n",  # no colon
    ENV + b"hello\n",
    ENV + b"200 no result here\n",
    ENV + b"2x0 result=1\n",
    ENV + b"12\n",
    ENV + b"\n",
    ENV + b"2000 result=1\n",
])
def test_garbage_raises_protocol_error(data: bytes) -> None:
    parser = AGIServerParser()
    with pytest.raises(AGIProtocolError):
        for i in range(len(data)):
            parser.feed(data[i : i + 1])
        parser.feed(b"\n")  # let a pending line end
    with pytest.raises(AGIProtocolError):  # and it stays failed
        parser.feed(b"200 result=1\n")


def test_line_too_long_is_refused_before_its_end_arrives() -> None:
    parser = AGIServerParser()
    parser.feed(b"agi_x: " + b"a" * (MAX_LINE_BYTES - 7))  # exactly the limit: still fine
    with pytest.raises(AGIProtocolError, match="line longer"):
        parser.feed(b"a")


def test_too_long_environment_line_is_refused_when_it_arrives_whole() -> None:
    with pytest.raises(AGIProtocolError, match="line longer"):
        feed_chunks([b"agi_network_script: route\nagi_x: " + "å".encode() * MAX_LINE_BYTES + b"\n\n"])


def test_longest_allowed_line_is_accepted() -> None:
    line = b"agi_x: " + b"a" * (MAX_LINE_BYTES - 7)
    env = feed_chunks([line + b"\n\n"])[0]
    assert isinstance(env, AGIEnvironment)
    assert len(env.env["agi_x"]) == MAX_LINE_BYTES - 7


def test_reply_line_too_long_is_refused() -> None:
    with pytest.raises(AGIProtocolError, match="line longer"):
        feed_chunks([ENV, b"200 result=1 (" + b"x" * MAX_LINE_BYTES + b")\n"])


@pytest.mark.parametrize("chunked", [False, True])
def test_environment_too_large_is_refused(chunked: bool) -> None:
    line = b"agi_v" + b"x" * 400 + b": y\n"
    data = b"".join(line.replace(b"agi_v", b"agi_%d" % i) for i in range(MAX_ENV_LINES - 10)) + b"\n"
    assert len(data) > MAX_ENV_BYTES
    with pytest.raises(AGIProtocolError, match="environment larger"):
        feed_chunks([data[i : i + 1000] for i in range(0, len(data), 1000)] if chunked else [data])


@pytest.mark.parametrize("chunked", [False, True])
def test_too_many_environment_lines_are_refused(chunked: bool) -> None:
    data = b"".join(b"agi_%d: 1\n" % i for i in range(MAX_ENV_LINES + 1)) + b"\n"
    with pytest.raises(AGIProtocolError, match="environment lines"):
        feed_chunks([data[i : i + 100] for i in range(0, len(data), 100)] if chunked else [data])


def test_endless_multi_line_reply_is_refused() -> None:
    parser = AGIServerParser()
    parser.feed(ENV + b"520-Invalid command syntax.  Proper usage follows:\n")
    with pytest.raises(AGIProtocolError, match="multi-line reply larger"):
        for _ in range(MAX_ENV_BYTES // 100 + 1):
            parser.feed(b"u" * 99 + b"\n")


# --- commands: our encoder, Asterisk's word splitting -------------------------------------------


def test_commands_of_the_transcripts_encode_byte_for_byte() -> None:
    sent = [
        encode_command("GET VARIABLE", "CALLERID(num)"),
        encode_command("GET", "FULL", "VARIABLE", "${CALLERID(all)}"),
        set_variable("ROUTE_DEST", "queue:support"),
        encode_command("GET VARIABLE", "ROUTE_DEST"),
        encode_command("STREAM FILE", "demo-congrats", "0123456789*#"),
        encode_command("GET DATA", "beep", "3000", "4"),
        encode_command("EXEC", "Playback", "demo-thanks"),
        b'VERBOSE "x" 1\n',  # quoted by the recording driver though it need not be; checked below
        encode_command("CHANNEL STATUS"),
        encode_command("THIS IS NOT A COMMAND"),
        encode_command("GET VARIABLE"),
        encode_command("STREAM FILE", "no-such-file-xyz", ""),
        encode_command("DATABASE PUT", "lab", "key1", "value1"),
        encode_command("DATABASE GET", "lab", "key1"),
        # 002
        encode_command("STREAM FILE", "demo-congrats", ""),
        encode_command("GET VARIABLE", "CALLERID(num)"),
        encode_command("VERBOSE", "still here after hangup", "1"),
        encode_command("STREAM FILE", "demo-thanks", ""),
        set_variable("AFTER_HANGUP", "yes"),
        encode_command("EXEC", "NoOp", "dead-channel-exec"),
        encode_command("ANSWER"),
        # 003
        encode_command("STREAM FILE", "demo-congrats", "0123456789*#"),
        encode_command("GET DATA", "beep", "5000", "4"),
        encode_command("GET DATA", "beep", "5000", "4"),
        encode_command("WAIT FOR DIGIT", "3000"),
    ]
    assert b"".join(sent) == b"".join(s2a(name) for name in NAMES)
    assert AGICommandParser().feed(encode_command("VERBOSE", "x", "1")) == [["VERBOSE", "x", "1"]]


def test_transcript_commands_split_into_words_as_asterisk_does() -> None:
    parser = AGICommandParser()
    raw = s2a("001_route")
    commands = [c for i in range(len(raw)) for c in parser.feed(raw[i : i + 1])]
    assert commands[2] == ["SET", "VARIABLE", "ROUTE_DEST", "queue:support"]
    assert commands[4] == ["STREAM", "FILE", "demo-congrats", "0123456789*#"]
    assert commands[7] == ["VERBOSE", "x", "1"]
    assert commands[11] == ["STREAM", "FILE", "no-such-file-xyz", ""]
    assert len(commands) == 14


@pytest.mark.parametrize(("line", "words"), [
    ("GET  VARIABLE\tX ", ["GET", "VARIABLE", "X"]),
    ('SET VARIABLE X "a b"', ["SET", "VARIABLE", "X", "a b"]),
    ('X a"b c"d', ["X", "ab cd"]),  # a quote mid-word toggles quoting without starting a word
    ('X "" ""', ["X", "", ""]),
    ("X a\\ b", ["X", "a b"]),
    ('X "say \\"hi\\" \\\\o/"', ["X", 'say "hi" \\o/']),
    ("X \\n", ["X", "n"]),  # a backslash escapes any character
    ('X "unterminated', ["X", "unterminated"]),
    ("X trailing\\", ["X", "trailing"]),
    ("", []),
])
def test_split_command_follows_asterisk_parse_args(line: str, words: list[str]) -> None:
    assert split_command(line) == words


def test_set_variable_escapes_quotes_and_backslashes() -> None:
    line = set_variable("PBX_DO", 'say "hej" C:\\temp')
    assert line == b'SET VARIABLE PBX_DO "say \\"hej\\" C:\\\\temp"\n'
    assert AGICommandParser().feed(line) == [["SET", "VARIABLE", "PBX_DO", 'say "hej" C:\\temp']]


@pytest.mark.parametrize("bad", ["a\nANSWER", "a\rb", "nul\0", "\n"])
def test_newline_in_an_argument_is_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        encode_command("VERBOSE", bad)
    with pytest.raises(ValueError):
        set_variable("X", bad)


@pytest.mark.parametrize("name", ["", "GET\nVARIABLE", '"GET"', "GET  VARIABLE", "1GET"])
def test_bad_command_name_is_refused(name: str) -> None:
    with pytest.raises(ValueError):
        encode_command(name, "x")


# Weighted towards what quoting must get right: separators, quotes, backslashes, non-ASCII.
hostile = st.text(st.sampled_from([" ", "\t", '"', "\\", "å", "*", "#", "$"])
                  | st.characters(exclude_characters="\n\r\0", exclude_categories=["Cs"]), max_size=30)


@settings(max_examples=500, deadline=None)
@given(st.lists(hostile, max_size=6), st.integers(min_value=1, max_value=7))
def test_encoded_commands_split_back_into_the_same_words(args: list[str], chunk: int) -> None:
    data = encode_command("EXEC", *args) + set_variable("V", args[0] if args else "")
    parser = AGICommandParser()
    commands = [c for i in range(0, len(data), chunk) for c in parser.feed(data[i : i + chunk])]
    assert commands == [["EXEC", *args], ["SET", "VARIABLE", "V", args[0] if args else ""]]


def test_command_line_too_long_is_refused() -> None:
    with pytest.raises(AGIProtocolError):
        AGICommandParser().feed(b"x" * (MAX_LINE_BYTES + 1))


# --- Asterisk's side: replies and environment, byte for byte ---------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_simulator_encoders_rebuild_the_transcripts_byte_for_byte(name: str) -> None:
    raw = a2s(name)
    out = []
    for event in feed_chunks([raw]):
        if isinstance(event, AGIEnvironment):
            out.append(encode_environment(event.env))
        elif isinstance(event, AGIHangup):
            out.append(HANGUP_LINE)
        elif event.code == 520:
            out.append(encode_usage(GET_VARIABLE_USAGE))
        elif event.code == 200:
            out.append(encode_response(200, event.result, event.data, event.extra))
        else:
            out.append(encode_response(event.code, ""))
    assert b"".join(out) == raw


def test_response_lines_as_in_the_transcripts() -> None:
    raw = a2s("001_route") + a2s("002_hangup-test")
    for line in (b"200 result=1 (5551234)\n", b"200 result= (timeout)\n", b"200 result=0 endpos=242214\n",
                 b"200 result=-1 endpos=0\n", INVALID_COMMAND_LINE, DEAD_CHANNEL_LINE):
        assert line in raw
    assert encode_response(200, "1", "5551234") == b"200 result=1 (5551234)\n"
    assert encode_response(200, "", "timeout") == b"200 result= (timeout)\n"
    assert encode_response(200, "0", extra={"endpos": "242214"}) == b"200 result=0 endpos=242214\n"
    assert encode_response(510, "") == b"510 Invalid or unknown command\n"
    assert encode_response(511, "") == b"511 Command Not Permitted on a dead channel or intercept routine\n"
    assert encode_usage(None) == USAGE_UNAVAILABLE_LINE
    assert HANGUP_LINE == b"HANGUP\n"


def test_response_encoder_refuses_what_asterisk_never_sends() -> None:
    with pytest.raises(ValueError):
        encode_response(404, "")
    with pytest.raises(ValueError):
        encode_response(511, "1")
    with pytest.raises(ValueError):
        encode_response(200, "1", "two\nlines")
    with pytest.raises(ValueError):
        encode_environment({"agi_x": "a\nagi_y: b"})


def test_environment_encoder_keeps_order_and_round_trips() -> None:
    env = {"agi_network": "yes", "agi_network_script": "route", "agi_calleridname": "Åsa Öberg",
           "agi_accountcode": "", "agi_arg_1": "+46812345600"}
    data = encode_environment(env)
    assert data.startswith(b"agi_network: yes\nagi_network_script: route\n")
    assert data.endswith(b"agi_accountcode: \nagi_arg_1: +46812345600\n\n")
    assert feed_chunks([data]) == [AGIEnvironment(env, ("+46812345600",))]
