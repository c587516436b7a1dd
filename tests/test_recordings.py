"""Call recordings on SQLite and PostgreSQL with real files: index, list, delete, retention, tenant isolation."""

from __future__ import annotations

import asyncio
import errno
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
from pbx.db.models import RecordingRow
from pbx.db.store import NotFound
from pbx.demo import annat, exempel
from pbx.media import Retention, UnknownTenant, UnreadableWav
from pbx.recording import Recording, RecordingIndex

RATE = 8000
T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def speech(path: Path, seconds: float, *, amplitude: int = 6000) -> Path:
    frames = int(seconds * RATE)
    samples = (int(amplitude * math.sin(2 * math.pi * 220 * i / RATE)
                   * (0.6 + 0.4 * math.sin(2 * math.pi * 4 * i / RATE))) for i in range(frames))
    return _write(path, b"".join(struct.pack("<h", s) for s in samples))


def silence(path: Path, seconds: float) -> Path:
    return _write(path, b"\x00\x00" * int(seconds * RATE))


def _write(path: Path, pcm: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(pcm)
    return path


def files_under(root: Path) -> list[Path]:
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
    monitor: Path  # where MixMonitor writes
    clock: Clock
    index: RecordingIndex

    def rows(self) -> int:
        with self.sessions() as session:
            return session.scalar(select(func.count()).select_from(RecordingRow)) or 0


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
        yield Env(sessions, media, tmp_path / "monitor", clock, RecordingIndex(sessions, media, clock))
    finally:
        engine.dispose()


def record(env: Env, name: str, *, seconds: float = 3.0, tenant: str = "exempel", call_id: str = "call-1",
           kind: str = "continuous", user: str | None = None, queue: str | None = None,
           started_at: datetime = T0) -> Recording | None:
    path = speech(env.monitor / f"{name}.wav", seconds)
    return env.index.index(tenant, path, call_id=call_id, kind=kind, caller="+46701234567", dialled="+46812345600",
                           user=user, queue=queue, started_at=started_at)


def events(caplog: pytest.LogCaptureFixture, name: str) -> list[dict[str, Any]]:
    """The fields of the structured log lines with this event."""
    return [vars(r) for r in caplog.records if getattr(r, "event", None) == name]


# --- indexing ----------------------------------------------------------------------------------


def test_a_recording_is_moved_into_the_tenants_media_and_listed(env: Env) -> None:
    source = speech(env.monitor / "rec.wav", 12.5)
    content = source.read_bytes()

    rec = env.index.index("exempel", source, call_id="call-1", kind="on-demand", caller="+46701234567",
                          dialled="+46812345600", user="david", queue="support", started_at=T0)

    assert rec is not None
    assert (rec.tenant, rec.call_id, rec.kind, rec.caller, rec.dialled, rec.user, rec.queue, rec.started_at) == \
        ("exempel", "call-1", "on-demand", "+46701234567", "+46812345600", "david", "support", T0)
    assert rec.duration_s == pytest.approx(12.5)
    assert rec.file == f"exempel/recordings/2026/11/{rec.id}.wav"
    stored = env.index.audio_path("exempel", rec.id)
    assert stored.read_bytes() == content
    assert (rec.size_bytes, rec.sha256) == (len(content), hashlib.sha256(content).hexdigest())
    assert not source.exists()
    assert files_under(env.media) == [stored]
    assert env.index.recordings("exempel") == [rec]
    assert env.index.recording("exempel", rec.id) == rec


@pytest.mark.parametrize(("make", "reason"), [
    (lambda p: _write(p, b""), "no-audio"),
    (lambda p: (p.parent.mkdir(parents=True, exist_ok=True), p.write_bytes(b""))[0], "no-audio"),
    (lambda p: silence(p, 30.0), "silent"),
], ids=["zero-frames", "zero-bytes", "silence"])
def test_a_call_that_never_connected_leaves_no_recording(env: Env, caplog: pytest.LogCaptureFixture, make: Any,
                                                         reason: str) -> None:
    caplog.set_level(logging.INFO, logger="pbx.recording")
    source = env.monitor / "nothing.wav"
    make(source)

    assert env.index.index("exempel", source, call_id="c", kind="continuous", caller="+46701234567",
                           dialled="+46812345600", started_at=T0) is None

    assert env.index.recordings("exempel") == []
    assert env.rows() == 0
    assert not source.exists()
    assert files_under(env.media) == []
    assert [r["reason"] for r in events(caplog, "recording_discarded")] == [reason]


def test_an_unreadable_recording_is_refused_and_left_where_it_is(env: Env) -> None:
    source = env.monitor / "broken.wav"
    source.parent.mkdir(parents=True)
    source.write_bytes(b"not a wav at all" * 100)
    with pytest.raises(UnreadableWav) as caught:
        env.index.index("exempel", source, call_id="c", kind="continuous", caller="x", dialled="y", started_at=T0)
    assert caught.value.reason == "not-wav"
    assert source.exists() and env.rows() == 0 and files_under(env.media) == []


def test_bad_kind_unsafe_tenant_and_unknown_tenant_are_refused_without_touching_the_file(env: Env) -> None:
    source = speech(env.monitor / "r.wav", 2.0)
    with pytest.raises(ValueError, match="kind"):
        env.index.index("exempel", source, call_id="c", kind="sometimes", caller="x", dialled="y", started_at=T0)
    with pytest.raises(ValueError, match="must be"):
        env.index.index("../annat", source, call_id="c", kind="continuous", caller="x", dialled="y", started_at=T0)
    with pytest.raises(UnknownTenant):
        env.index.index("nosuch", source, call_id="c", kind="continuous", caller="x", dialled="y", started_at=T0)
    assert source.exists() and files_under(env.media) == []


def test_indexing_the_same_file_again_lists_it_once(env: Env) -> None:
    source = speech(env.monitor / "twice.wav", 3.0)
    content = source.read_bytes()
    first = env.index.index("exempel", source, call_id="c", kind="continuous", caller="x", dialled="y", started_at=T0)
    source.write_bytes(content)  # a retry after a crash between the row and the removal of the source
    again = env.index.index("exempel", source, call_id="c", kind="continuous", caller="x", dialled="y", started_at=T0)
    assert first is not None and again == first
    assert env.rows() == 1 and not source.exists() and len(files_under(env.media)) == 1


def test_across_file_systems_the_recording_is_copied(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    def other_file_system(src: Any, dst: Any) -> None:
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(os, "link", other_file_system)
    source = speech(env.monitor / "far.wav", 2.0)
    content = source.read_bytes()
    rec = env.index.index("exempel", source, call_id="c", kind="continuous", caller="x", dialled="y", started_at=T0)
    assert rec is not None
    assert (env.media / rec.file).read_bytes() == content and not source.exists()


def test_a_failed_insert_removes_the_placed_file_and_keeps_the_recording(env: Env) -> None:
    source = speech(env.monitor / "keep.wav", 2.0)
    content = source.read_bytes()

    def database_gone(*_: Any) -> None:
        raise OperationalError("INSERT INTO recordings", {}, Exception("server closed the connection"))

    event.listen(env.sessions, "before_flush", database_gone)
    try:
        with pytest.raises(OperationalError):
            env.index.index("exempel", source, call_id="c", kind="continuous", caller="x", dialled="y",
                            started_at=T0)
    finally:
        event.remove(env.sessions, "before_flush", database_gone)
    assert env.rows() == 0 and files_under(env.media) == []
    assert source.read_bytes() == content


# --- listing -------------------------------------------------------------------------------------


def test_recordings_are_listed_newest_first_by_call_user_queue_and_period(env: Env) -> None:
    a = record(env, "a", call_id="c1", user="david", queue="support", started_at=T0)
    b = record(env, "b", call_id="c2", user="eva", queue="support", started_at=T0 + timedelta(hours=1))
    c = record(env, "c", call_id="c2", kind="on-demand", user="eva", started_at=T0 + timedelta(hours=2))
    assert a is not None and b is not None and c is not None

    def ids(**filters: Any) -> list[str]:
        return [r.id for r in env.index.recordings("exempel", **filters)]

    assert ids() == [c.id, b.id, a.id]
    assert ids(call_id="c2") == [c.id, b.id]
    assert ids(user="david") == [a.id]
    assert ids(queue="support") == [b.id, a.id]
    assert ids(since=T0 + timedelta(hours=1)) == [c.id, b.id]
    assert ids(until=T0 + timedelta(hours=1)) == [a.id]
    assert ids(since=T0, until=T0 + timedelta(hours=2), user="eva") == [b.id]


# --- deletion, retention, isolation ----------------------------------------------------------------


def test_deleting_a_recording_removes_it_and_logs_who(env: Env, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="pbx.recording")
    rec = record(env, "del")
    assert rec is not None
    env.clock.now = T0 + timedelta(days=2)

    assert env.index.delete("exempel", rec.id, by="admin:karin", reason="customer asked") == rec

    assert env.index.recordings("exempel") == [] and files_under(env.media) == []
    with pytest.raises(NotFound):
        env.index.recording("exempel", rec.id)
    [entry] = env.index.deletions("exempel")
    assert (entry.kind, entry.ref, entry.file, entry.by, entry.reason, entry.deleted_at) == \
        ("recording", rec.id, rec.file, "admin:karin", "customer asked", T0 + timedelta(days=2))
    [logged] = events(caplog, "recording_deleted")
    assert (logged["tenant"], logged["id"], logged["by"]) == ("exempel", rec.id, "admin:karin")


def test_retention_deletes_only_old_recordings_of_tenants_with_a_limit(env: Env,
                                                                      caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="pbx.recording")
    now = T0 + timedelta(days=100)
    old = record(env, "old", call_id="old", started_at=T0)
    young = record(env, "young", call_id="young", started_at=now - timedelta(days=89))
    other_old = record(env, "other", tenant="annat", call_id="other", started_at=T0)
    assert old is not None and young is not None and other_old is not None
    assert env.index.set_retention("exempel", recording_days=90) == Retention(recording_days=90)
    assert env.index.retention("annat") == Retention()
    env.clock.now = now

    assert env.index.apply_retention(now) == 1

    assert [r.id for r in env.index.recordings("exempel")] == [young.id]
    assert [r.id for r in env.index.recordings("annat")] == [other_old.id]
    assert not (env.media / old.file).exists() and (env.media / other_old.file).exists()
    [logged] = events(caplog, "recording_deleted")
    assert (logged["tenant"], logged["id"], logged["by"]) == ("exempel", old.id, "retention")
    [entry] = env.index.deletions("exempel")
    assert (entry.ref, entry.by, entry.reason, entry.deleted_at) == (old.id, "retention", "older than 90 days", now)
    assert env.index.deletions("annat") == []
    assert env.index.apply_retention(now) == 0


def test_retention_limits_are_whole_days(env: Env) -> None:
    for bad in (0, -5):
        with pytest.raises(ValueError, match="days"):
            env.index.set_retention("exempel", recording_days=bad)
    env.index.set_retention("exempel", recording_days=30, voicemail_days=7)
    assert env.index.retention("exempel") == Retention(30, 7)
    env.index.set_retention("exempel", recording_days=None, voicemail_days=7)
    assert env.index.retention("exempel") == Retention(None, 7)
    with pytest.raises(UnknownTenant):
        env.index.set_retention("nosuch", recording_days=30)


def test_another_tenant_cannot_list_play_or_delete_a_recording(env: Env) -> None:
    rec = record(env, "private", user="david")
    assert rec is not None

    assert env.index.recordings("annat") == []
    assert env.index.recordings("annat", call_id=rec.call_id) == []
    for attempt in (lambda: env.index.recording("annat", rec.id),
                    lambda: env.index.audio_path("annat", rec.id),
                    lambda: env.index.delete("annat", rec.id, by="intruder")):
        with pytest.raises(NotFound) as caught:
            attempt()
        assert str(caught.value) == f"no recording {rec.id!r}"
    assert env.index.recording("exempel", rec.id) == rec
    assert (env.media / rec.file).exists()
    assert env.index.deletions("annat") == []


def test_the_async_methods_do_the_same_off_the_event_loop(env: Env) -> None:
    source = speech(env.monitor / "async.wav", 2.0)

    async def main() -> None:
        rec = await env.index.aindex("exempel", source, call_id="c", kind="continuous", caller="x", dialled="y",
                                     started_at=T0)
        assert rec is not None
        assert await env.index.arecordings("exempel") == [rec]
        await env.index.aset_retention("exempel", recording_days=1)
        assert await env.index.aapply_retention(T0 + timedelta(days=2)) == 1
        assert await env.index.arecordings("exempel") == []

    asyncio.run(main())
