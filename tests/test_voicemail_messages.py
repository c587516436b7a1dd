"""Voicemail messages on SQLite and PostgreSQL with real files: deposit, heard state, isolation, retention, e-mail."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import logging
import math
import os
import struct
import wave
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from pbx.db import make_engine, save_tenant, session_factory
from pbx.db.models import VoicemailMessageRow
from pbx.db.store import NotFound
from pbx.demo import annat, exempel
from pbx.media import (
    UnknownTenant,
    UnreadableWav,
    atomic_copy,
    inspect_wav,
    is_message_worth_keeping,
    media_path,
    stored_media_path,
)
from pbx.notify import Notifier, SmtpSender
from pbx.recording import RecordingIndex
from pbx.routing.compile import compile_table
from pbx.routing.model import VoicemailBoxConfig
from pbx.voicemail import Message, VoicemailStore, message_notification

try:
    from tests.smtp_server import smtp_server
except ImportError:  # pytest run without the repository root on sys.path puts tests/ there instead
    from smtp_server import smtp_server  # type: ignore[no-redef]

RATE = 8000
T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)  # 10:00 in Stockholm


# --- WAV files as Asterisk leaves them ----------------------------------------------------------


def speech(path: Path, seconds: float, *, amplitude: int = 6000, rate: int = RATE) -> Path:
    """A voice-like sound: two tones under a syllable-rate envelope, 16-bit mono."""
    frames = int(seconds * rate)
    samples = (int(amplitude * (0.6 + 0.4 * math.sin(2 * math.pi * 4 * i / rate))
                   * (0.7 * math.sin(2 * math.pi * 220 * i / rate) + 0.3 * math.sin(2 * math.pi * 660 * i / rate)))
               for i in range(frames))
    return _write(path, b"".join(struct.pack("<h", s) for s in samples), rate)


def silence(path: Path, seconds: float, *, hiss: int = 3) -> Path:
    """Line noise far below any voice (about -80 dBFS)."""
    frames = int(seconds * RATE)
    return _write(path, b"".join(struct.pack("<h", hiss if i % 2 else -hiss) for i in range(frames)), RATE)


def _write(path: Path, pcm: bytes, rate: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm)
    return path


def files_under(root: Path) -> list[Path]:
    """Every file below root, temporary ones included."""
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Env:
    sessions: sessionmaker[Session]
    media: Path
    spool: Path
    clock: Clock
    store: VoicemailStore

    def spool_file(self, name: str, box: str = "vaxel", tenant: str = "exempel") -> Path:
        return self.spool / "voicemail" / tenant / box / f"{name}.wav"

    def rows(self) -> int:
        with self.sessions() as session:
            return session.scalar(select(func.count()).select_from(VoicemailMessageRow)) or 0


@pytest.fixture
def env(db_url: str, tmp_path: Path) -> Iterator[Env]:
    engine = make_engine(db_url)
    sessions = session_factory(engine)
    with sessions.begin() as session:
        save_tenant(session, exempel())
        save_tenant(session, annat())
    clock = Clock(T0)
    media = tmp_path / "media"
    try:
        yield Env(sessions, media, tmp_path / "spool", clock, VoicemailStore(sessions, media, clock))
    finally:
        engine.dispose()


def deposit(env: Env, path: Path, call_id: str = "1700000000.1", box: str = "vaxel", tenant: str = "exempel",
            at: datetime = T0, caller: str = "+46701234567") -> Message | None:
    return env.store.deposit(tenant, box, path, call_id=call_id, caller=caller, dialled="+46812345600", at=at)


def events(caplog: pytest.LogCaptureFixture, name: str) -> list[dict[str, Any]]:
    """The fields of the structured log lines with this event."""
    return [vars(r) for r in caplog.records if getattr(r, "event", None) == name]


# --- deposit ---------------------------------------------------------------------------------------


def test_a_message_is_stored_byte_for_byte_and_the_spool_file_goes(env: Env) -> None:
    spooled = speech(env.spool_file("call-1"), 3.0)
    original = spooled.read_bytes()

    msg = deposit(env, spooled, call_id="call-1")

    assert msg is not None
    assert (msg.tenant, msg.box, msg.call_id, msg.caller, msg.dialled) == \
        ("exempel", "vaxel", "call-1", "+46701234567", "+46812345600")
    assert msg.received_at == T0
    assert msg.duration_s == pytest.approx(3.0)
    assert (msg.heard, msg.heard_at, msg.heard_by, msg.folder) == (False, None, None, "new")
    assert msg.file == f"exempel/voicemail/vaxel/{msg.id}.wav"
    stored = env.store.audio_path("exempel", msg.id)
    assert stored == env.media / msg.file
    assert stored.read_bytes() == original
    assert msg.size_bytes == len(original)
    assert msg.sha256 == hashlib.sha256(original).hexdigest()
    assert not spooled.exists()
    assert files_under(env.media) == [stored]  # no temporary file left behind
    assert env.store.messages("exempel") == [msg]
    assert env.store.message("exempel", msg.id) == msg


@pytest.mark.parametrize(("make", "reason"), [
    (lambda p: silence(p, 5.0), "silent"),
    (lambda p: _write(p, b"", RATE), "no-audio"),
    (lambda p: speech(p, 0.5), "too-short"),
    (lambda p: (p.parent.mkdir(parents=True, exist_ok=True), p.write_bytes(b"\x00garbage, not RIFF" * 50))[0],
     "not-wav"),
    (lambda p: (p.parent.mkdir(parents=True, exist_ok=True), p.write_bytes(b""))[0], "empty"),
], ids=["silent", "zero-frames", "half-a-second", "garbage", "zero-bytes"])
def test_a_recording_that_is_no_message_leaves_no_file_and_no_row(
        env: Env, caplog: pytest.LogCaptureFixture, make: Any, reason: str) -> None:
    caplog.set_level(logging.INFO, logger="pbx.voicemail")
    spooled = env.spool_file("call-2")
    make(spooled)

    assert deposit(env, spooled, call_id="call-2") is None

    assert env.rows() == 0
    assert env.store.messages("exempel") == []
    assert files_under(env.media) == []
    assert not spooled.exists()
    [discarded] = events(caplog, "voicemail_discarded")
    assert (discarded["tenant"], discarded["box"], discarded["call_id"], discarded["reason"]) == \
        ("exempel", "vaxel", "call-2", reason)


def test_a_spool_file_that_is_not_there_is_no_message(env: Env, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="pbx.voicemail")
    assert deposit(env, env.spool_file("gone")) is None
    assert [r["reason"] for r in events(caplog, "voicemail_discarded")] == ["missing"]


def test_depositing_the_same_call_again_keeps_one_message(env: Env) -> None:
    spooled = speech(env.spool_file("call-3"), 2.0)
    content = spooled.read_bytes()
    first = deposit(env, spooled, call_id="call-3")
    assert first is not None

    # the hangup handler reports the same file once more (a retry after a lost answer)
    spooled.write_bytes(content)
    again = deposit(env, spooled, call_id="call-3")
    # and once more after the spool file is gone
    third = deposit(env, spooled, call_id="call-3")

    assert again == first and third == first
    assert env.rows() == 1
    assert not spooled.exists()
    assert files_under(env.media) == [env.media / first.file]


def test_a_different_recording_for_a_stored_call_stays_in_the_spool(env: Env) -> None:
    first = deposit(env, speech(env.spool_file("call-4"), 2.0), call_id="call-4")
    other = speech(env.spool_file("call-4-other"), 4.0)

    assert deposit(env, other, call_id="call-4") == first
    assert other.exists()  # not the stored message: nobody's audio is thrown away unheard


def test_the_same_call_may_leave_a_message_in_two_boxes(env: Env) -> None:
    a = deposit(env, speech(env.spool_file("call-5", box="vaxel"), 2.0), call_id="call-5", box="vaxel")
    b = deposit(env, speech(env.spool_file("call-5", box="salj"), 2.0), call_id="call-5", box="salj")
    assert a is not None and b is not None and a.id != b.id
    assert env.rows() == 2


def test_a_failed_copy_stores_nothing_and_keeps_the_spool_file(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    spooled = speech(env.spool_file("call-6"), 2.0)
    content = spooled.read_bytes()

    def full_disk(src: Any, dst: Any) -> None:
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as patch:
        patch.setattr(os, "replace", full_disk)
        with pytest.raises(OSError, match="No space"):
            deposit(env, spooled, call_id="call-6")

    assert env.rows() == 0
    assert files_under(env.media) == []  # not the copy, not its temporary file
    assert spooled.read_bytes() == content
    # once the disk has room again, the same deposit goes through
    msg = deposit(env, spooled, call_id="call-6")
    assert msg is not None and (env.media / msg.file).read_bytes() == content


def test_a_failed_insert_removes_the_copy_and_keeps_the_spool_file(env: Env) -> None:
    spooled = speech(env.spool_file("call-7"), 2.0)
    content = spooled.read_bytes()

    def database_gone(*_: Any) -> None:
        raise OperationalError("INSERT INTO voicemail_messages", {}, Exception("server closed the connection"))

    event.listen(env.sessions, "before_flush", database_gone)
    try:
        with pytest.raises(OperationalError):
            deposit(env, spooled, call_id="call-7")
    finally:
        event.remove(env.sessions, "before_flush", database_gone)

    assert env.rows() == 0
    assert files_under(env.media) == []
    assert spooled.read_bytes() == content
    msg = deposit(env, spooled, call_id="call-7")
    assert msg is not None and not spooled.exists()


def test_an_unknown_tenant_is_refused_and_the_spool_file_kept(env: Env) -> None:
    spooled = speech(env.spool_file("call-8", tenant="nosuch"), 2.0)
    with pytest.raises(UnknownTenant, match="nosuch"):
        deposit(env, spooled, call_id="call-8", tenant="nosuch")
    assert spooled.exists()
    assert files_under(env.media) == []


@pytest.mark.parametrize(("tenant", "box"), [
    ("exempel", "../annat"), ("exempel", "a/b"), ("exempel", ".."), ("exempel", "Vaxel"), ("exempel", ""),
    ("../annat", "info"), ("exempel/../annat", "info"), ("/etc", "info"), ("exempel", "x" * 65),
])
def test_unsafe_keys_are_refused_before_any_file_is_touched(env: Env, tenant: str, box: str) -> None:
    spooled = speech(env.spool_file("call-9"), 2.0)
    with pytest.raises(ValueError, match="must be"):
        deposit(env, spooled, call_id="call-9", tenant=tenant, box=box)
    assert spooled.exists()
    assert files_under(env.media) == []


# --- heard state, counts, folders --------------------------------------------------------------


def test_heard_state_is_one_for_every_listener_and_device(env: Env) -> None:
    first = deposit(env, speech(env.spool_file("a"), 2.0), call_id="a", at=T0)
    second = deposit(env, speech(env.spool_file("b"), 2.0), call_id="b", at=T0 + timedelta(minutes=5))
    assert first is not None and second is not None
    assert env.store.counts("exempel", "vaxel") == (2, 0)

    env.clock.now = T0 + timedelta(hours=1)
    env.store.mark_heard("exempel", first.id, True, by="asa")
    # Anna looks from her phone: another controller, another store object, the same database
    annas_phone = VoicemailStore(env.sessions, env.media, env.clock)
    seen = annas_phone.message("exempel", first.id)
    assert (seen.heard, seen.heard_by, seen.heard_at) == (True, "asa", T0 + timedelta(hours=1))
    assert annas_phone.counts("exempel", "vaxel") == (1, 1)
    assert annas_phone.unheard_count("exempel", "vaxel") == 1
    assert [m.id for m in annas_phone.messages("exempel", "vaxel", heard=False)] == [second.id]

    # Anna plays it too: who heard it first stays
    env.clock.now = T0 + timedelta(hours=2)
    assert annas_phone.mark_heard("exempel", first.id, True, by="anna").heard_by == "asa"
    # and marks it unheard for a colleague: unheard for everybody
    unheard = annas_phone.mark_heard("exempel", first.id, False, by="anna")
    assert (unheard.heard, unheard.heard_by, unheard.heard_at) == (False, None, None)
    assert env.store.counts("exempel", "vaxel") == (2, 0)
    assert env.store.counts("exempel", "salj") == (0, 0)


def test_messages_are_listed_newest_first_by_box_heard_and_folder(env: Env) -> None:
    old = deposit(env, speech(env.spool_file("1"), 2.0), call_id="1", at=T0)
    new = deposit(env, speech(env.spool_file("2"), 2.0), call_id="2", at=T0 + timedelta(hours=1))
    sales = deposit(env, speech(env.spool_file("3", box="salj"), 2.0), call_id="3", box="salj",
                    at=T0 + timedelta(hours=2))
    assert old is not None and new is not None and sales is not None

    assert [m.id for m in env.store.messages("exempel")] == [sales.id, new.id, old.id]
    assert [m.id for m in env.store.messages("exempel", "vaxel")] == [new.id, old.id]
    saved = env.store.save("exempel", old.id)
    assert saved.folder == "saved"
    assert [m.id for m in env.store.messages("exempel", "vaxel", folder="saved")] == [old.id]
    assert [m.id for m in env.store.messages("exempel", "vaxel", folder="new")] == [new.id]
    with pytest.raises(ValueError, match="folder"):
        env.store.messages("exempel", folder="trash")


def test_deleting_a_message_removes_file_and_row_and_logs_who(env: Env, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="pbx.voicemail")
    msg = deposit(env, speech(env.spool_file("d"), 2.0), call_id="d")
    assert msg is not None
    path = env.store.audio_path("exempel", msg.id)
    env.clock.now = T0 + timedelta(days=1)

    assert env.store.delete("exempel", msg.id, by="anna", reason="spam") == msg

    assert not path.exists()
    with pytest.raises(NotFound):
        env.store.message("exempel", msg.id)
    [entry] = env.store.deletions("exempel")
    assert (entry.kind, entry.ref, entry.file, entry.by, entry.reason, entry.deleted_at) == \
        ("voicemail", msg.id, msg.file, "anna", "spam", T0 + timedelta(days=1))
    [logged] = events(caplog, "voicemail_deleted")
    assert (logged["tenant"], logged["id"], logged["by"]) == ("exempel", msg.id, "anna")
    with pytest.raises(NotFound):
        env.store.delete("exempel", msg.id, by="anna")


# --- tenants cannot reach each other ---------------------------------------------------------------


def test_another_tenant_cannot_list_read_mark_or_delete_a_message(env: Env) -> None:
    msg = deposit(env, speech(env.spool_file("secret"), 2.0), call_id="secret")
    assert msg is not None

    assert env.store.messages("annat") == []
    assert env.store.counts("annat", "vaxel") == (0, 0)
    for attempt in (lambda: env.store.message("annat", msg.id),
                    lambda: env.store.audio_path("annat", msg.id),
                    lambda: env.store.mark_heard("annat", msg.id, True, by="intruder"),
                    lambda: env.store.save("annat", msg.id),
                    lambda: env.store.delete("annat", msg.id, by="intruder")):
        with pytest.raises(NotFound) as caught:
            attempt()
        assert str(caught.value) == f"no voicemail message {msg.id!r}"  # the same words as a missing id

    assert env.store.message("exempel", msg.id) == msg
    assert (env.media / msg.file).exists()
    assert env.store.deletions("exempel") == [] and env.store.deletions("annat") == []


def test_media_paths_never_leave_the_tenant_directory(tmp_path: Path) -> None:
    root = tmp_path / "media"
    ok = media_path(root, "exempel", "voicemail", "vaxel", "0f7c8b52-3c1e-4a8e-9d55-2f0d5a8f6c11", suffix=".wav")
    assert ok == root / "exempel" / "voicemail" / "vaxel" / "0f7c8b52-3c1e-4a8e-9d55-2f0d5a8f6c11.wav"
    for parts in (("..", "annat"), ("voicemail", "../../annat"), ("a/b",), (".",), ("",), ("ÅÄÖ",), ("a\x00",)):
        with pytest.raises(ValueError):
            media_path(root, "exempel", *parts)
    with pytest.raises(ValueError):
        media_path(root, "exempel", "x", suffix=".sh")
    # a row can only lead to a file of its own tenant, whatever it says
    for stored in ("annat/voicemail/info/x.wav", "exempel/../annat/voicemail/info/x.wav", "/etc/passwd",
                   "exempel/voicemail/vaxel/x.sh", "exempel"):
        with pytest.raises(ValueError):
            stored_media_path(root, "exempel", stored)
    # nor through a symlink planted inside the tree
    (root / "annat").mkdir(parents=True)
    (root / "exempel" / "voicemail").mkdir(parents=True)
    (root / "exempel" / "voicemail" / "evil").symlink_to(root / "annat")
    with pytest.raises(ValueError, match="outside"):
        media_path(root, "exempel", "voicemail", "evil", "x", suffix=".wav")


# --- retention ---------------------------------------------------------------------------------


def test_retention_deletes_only_old_messages_of_tenants_with_a_limit(env: Env,
                                                                     caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="pbx.voicemail")
    now = T0 + timedelta(days=40)
    old = deposit(env, speech(env.spool_file("old"), 2.0), call_id="old", at=T0)
    recent = deposit(env, speech(env.spool_file("recent"), 2.0), call_id="recent", at=now - timedelta(days=29))
    kept_elsewhere = deposit(env, speech(env.spool_file("annat-old", box="info", tenant="annat"), 2.0),
                             call_id="annat-old", box="info", tenant="annat", at=T0)
    assert old is not None and recent is not None and kept_elsewhere is not None
    RecordingIndex(env.sessions, env.media, env.clock).set_retention("exempel", voicemail_days=30)
    env.clock.now = now

    assert env.store.voicemail_retention(now) == 1

    assert [m.id for m in env.store.messages("exempel")] == [recent.id]
    assert [m.id for m in env.store.messages("annat")] == [kept_elsewhere.id]
    assert not (env.media / old.file).exists()
    [entry] = env.store.deletions("exempel")
    assert (entry.ref, entry.by, entry.reason) == (old.id, "retention", "older than 30 days")
    assert [(r["id"], r["by"]) for r in events(caplog, "voicemail_deleted")] == [(old.id, "retention")]
    assert env.store.voicemail_retention(now) == 0


# --- the async twins ---------------------------------------------------------------------------


def test_the_async_methods_do_the_same_off_the_event_loop(env: Env) -> None:
    spooled = speech(env.spool_file("async"), 2.0)

    async def main() -> None:
        msg = await env.store.adeposit("exempel", "vaxel", spooled, call_id="async", caller="+46701234567",
                                       dialled="+46812345600", at=T0)
        assert msg is not None
        assert await env.store.acounts("exempel", "vaxel") == (1, 0)
        heard = await env.store.amark_heard("exempel", msg.id, True, by="asa")
        assert heard.heard
        assert await env.store.amessages("exempel", heard=True) == [heard]
        await env.store.adelete("exempel", msg.id, by="asa")
        assert await env.store.aunheard_count("exempel", "vaxel") == 0

    asyncio.run(main())


# --- WAV inspection and the atomic copy -----------------------------------------------------------


def test_wav_facts_tell_a_voice_from_silence(tmp_path: Path) -> None:
    path = speech(tmp_path / "voice.wav", 2.5, amplitude=6000)
    with wave.open(str(path), "rb") as w:
        pcm = w.readframes(w.getnframes())
    loudest = max(abs(s) for (s,) in struct.iter_unpack("<h", pcm))
    voice = inspect_wav(path)
    assert (voice.rate, voice.channels, voice.sampwidth, voice.frames) == (RATE, 1, 2, 20000)
    assert voice.duration_s == pytest.approx(2.5)
    assert voice.peak_dbfs == pytest.approx(20 * math.log10(loudest / 32768))
    assert is_message_worth_keeping(voice)
    quiet = inspect_wav(silence(tmp_path / "quiet.wav", 3.0))
    assert quiet.peak_dbfs is not None and quiet.peak_dbfs < -70
    assert not is_message_worth_keeping(quiet)
    digital = inspect_wav(_write(tmp_path / "zero.wav", b"\x00\x00" * RATE, RATE))
    assert digital.peak_dbfs == -math.inf
    with pytest.raises(UnreadableWav) as caught:
        inspect_wav(tmp_path / "nothing.wav")
    assert caught.value.reason == "missing"


def test_a_recording_whose_header_was_never_finished_still_counts_its_audio(tmp_path: Path) -> None:
    # the recorder died before writing the data length: the header says 0, the audio is there
    path = speech(tmp_path / "crashed.wav", 2.0)
    data = bytearray(path.read_bytes())
    at = data.index(b"data")
    data[at + 4:at + 8] = struct.pack("<I", 0)
    path.write_bytes(bytes(data))
    facts = inspect_wav(path)
    assert facts.duration_s == pytest.approx(2.0)
    assert is_message_worth_keeping(facts)


def test_an_8_bit_wav_is_measured_too(tmp_path: Path) -> None:
    path = tmp_path / "u8.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(1)
        w.setframerate(RATE)
        w.writeframes(bytes(128 + (64 if i % 2 else -64) for i in range(RATE * 2)))
    facts = inspect_wav(path)
    assert facts.sampwidth == 1 and facts.duration_s == pytest.approx(2.0)
    assert facts.peak_dbfs == pytest.approx(20 * math.log10(64 / 128))


def test_a_compressed_wav_is_timed_by_its_byte_rate_and_kept_unmeasured(tmp_path: Path) -> None:
    # G.711 µ-law, as Asterisk writes with format "wav" on some systems: 8000 bytes a second
    payload = bytes(range(256)) * 125  # 4 s
    fmt = struct.pack("<HHIIHH", 7, 1, RATE, RATE, 1, 8)
    path = tmp_path / "ulaw.wav"
    chunks = b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(payload)) + payload
    path.write_bytes(b"RIFF" + struct.pack("<I", 4 + len(chunks)) + b"WAVE" + chunks)
    facts = inspect_wav(path)
    assert facts.duration_s == pytest.approx(4.0) and facts.peak_dbfs is None
    assert is_message_worth_keeping(facts)  # a message we cannot measure is kept, never thrown away


def test_an_interrupted_copy_leaves_neither_target_nor_temporary_file(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    source = speech(tmp_path / "src.wav", 1.0)
    target = tmp_path / "out" / "copy.wav"

    def broken_disk(fd: int) -> None:
        raise OSError(5, "Input/output error")

    with monkeypatch.context() as patch:
        patch.setattr(os, "fsync", broken_disk)
        with pytest.raises(OSError, match="Input/output"):
            atomic_copy(source, target)
    assert files_under(tmp_path / "out") == []
    digest = atomic_copy(source, target)
    assert target.read_bytes() == source.read_bytes() and digest.size_bytes == source.stat().st_size


# --- the notification ------------------------------------------------------------------------------


def test_both_listeners_get_the_message_by_email_with_the_stored_audio(env: Env) -> None:
    msg = deposit(env, speech(env.spool_file("mail"), 42.0), call_id="mail", caller="+46701234567")
    assert msg is not None
    stored = env.store.audio_path("exempel", msg.id).read_bytes()
    table = compile_table([exempel(), annat()])

    notification, recipients = message_notification(msg, table, stored)

    assert recipients == [("email", "asa@exempel.se"), ("email", "anna@exempel.se")]  # the box Växel's listeners

    async def main() -> None:
        async with smtp_server() as server:
            sender = SmtpSender("127.0.0.1", "pbx@example.se", port=server.port, local_hostname="pbx.test", timeout=5)
            results = await Notifier({"email": sender}, attempts=1).notify(notification, recipients)
            assert all(r.delivered for r in results)
            assert sorted(r.rcpt_tos for r in server.received) == [("anna@exempel.se",), ("asa@exempel.se",)]
            for received in server.received:
                mail = received.message
                assert mail["Subject"] == "Nytt röstmeddelande från 0701234567 (Växel)"
                body = mail.get_body(("plain",))
                assert body is not None
                text = body.get_content()
                assert "Från: 0701234567" in text
                assert "Mottaget: 2026-11-24 10:00" in text  # Stockholm time, not UTC
                assert "Längd: 0:42" in text
                assert "Växel" in text
                [attachment] = list(mail.iter_attachments())
                assert attachment.get_content_type() == "audio/wav"
                assert attachment.get_filename() == "rostmeddelande-20261124-1000.wav"
                assert attachment.get_content() == stored

    asyncio.run(main())


def test_the_notification_speaks_the_tenants_language_and_reaches_every_channel_once(env: Env) -> None:
    cfg = dataclasses.replace(annat(), language="en", timezone="Europe/London", boxes=(
        VoicemailBoxConfig("info", "Info desk", email=("info@annat.se", "INFO@annat.se"),
                           notify=("+46709876543", "https://hooks.annat.se/voicemail")),))
    msg = deposit(env, speech(env.spool_file("en", box="info", tenant="annat"), 65.0), call_id="en", box="info",
                  tenant="annat", caller="anonymous")
    assert msg is not None

    notification, recipients = message_notification(msg, compile_table([cfg]), b"RIFF")

    assert notification.subject == "New voicemail from unknown number (Info desk)"
    assert "Received: 2026-11-24 09:00" in notification.text and "Length: 1:05" in notification.text
    assert (notification.tenant, notification.kind, notification.ref) == ("annat", "voicemail", msg.id)
    assert recipients == [("email", "info@annat.se"), ("sms", "+46709876543"),
                          ("webhook", "https://hooks.annat.se/voicemail")]
