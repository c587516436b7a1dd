"""Tenants' media files (voicemail messages, recordings): WAV facts, atomic placement, tenant-safe paths, deletion log.

Layout under the media root, every component checked (`media_path`), so no key or id can lead out
of the tenant's own directory:

    <root>/<tenant>/voicemail/<box>/<id>.wav
    <root>/<tenant>/recordings/<yyyy>/<mm>/<id>.wav

Files are written so that nothing is ever half there: a temporary file in the target directory,
fsync, rename, fsync of the directory. The rows that index them (pbx.voicemail, pbx.recording)
are written after the file is in place and removed before it goes, so a row never names a
missing file; the helpers for the shared tables (deletion log, retention settings) live here too.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import math
import os
import re
import struct
import sys
import tempfile
from array import array
from collections.abc import Callable, Iterable
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO, TypeVar

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from pbx.db.models import MediaDeletionRow, MediaSettingsRow, TenantRow, table_of
from pbx.db.store import UnknownTenant, tenant_id

__all__ = [
    "MIN_MESSAGE_S",
    "SILENCE_PEAK_DBFS",
    "Deletion",
    "FileDigest",
    "Retention",
    "UnknownTenant",
    "UnreadableWav",
    "WavFacts",
    "atomic_copy",
    "check_key",
    "deletion_log",
    "file_digest",
    "fsync_dir",
    "index_file",
    "inspect_wav",
    "is_message_worth_keeping",
    "load_retention",
    "log_deletion",
    "media_path",
    "message_flaw",
    "place",
    "recording_flaw",
    "relative_media_path",
    "remove_file",
    "retention_settings",
    "save_retention",
    "stored_media_path",
    "tenant_id",
]

MIN_MESSAGE_S = 1.0  # shorter than this, a "message" is a caller who hung up at the beep
SILENCE_PEAK_DBFS = -50.0  # nothing louder than this anywhere: line noise, no voice (as pbx.ivr.audio)
_KEY = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")  # tenant, box, user keys (pbx.routing.validate.KEY); UUIDs too
_SUFFIXES = frozenset({"", ".wav"})
_COPY_CHUNK = 1 << 20
_FILE_MODE = 0o640  # the controller writes, Asterisk (in the group) plays

T = TypeVar("T")
log = logging.getLogger("pbx.media")


# --- WAV inspection ----------------------------------------------------------------------------


class UnreadableWav(ValueError):
    """A file that is not a WAV we can read. `reason` is a stable code: missing, empty, not-wav."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class WavFacts:
    duration_s: float
    peak_dbfs: float | None  # -inf for digital silence; None when the encoding is not PCM (not measured)
    rate: int
    channels: int
    sampwidth: int  # bytes per sample
    frames: int


def inspect_wav(path: Path) -> WavFacts:
    """Duration, peak level and format of a WAV file, read in bounded chunks; UnreadableWav if it is none.

    A data chunk whose length was never written (0 or past the end: the recorder died before it
    could finish the header) counts as the bytes actually there, so a crash does not make real
    audio look empty."""
    try:
        size = path.stat().st_size
        with path.open("rb") as f:
            if size == 0:
                raise UnreadableWav("empty", f"{path.name} is empty")
            return _inspect(f, size, path.name)
    except FileNotFoundError:
        raise UnreadableWav("missing", f"{path} does not exist") from None
    except IsADirectoryError:
        raise UnreadableWav("not-wav", f"{path} is a directory") from None


def _inspect(f: BinaryIO, size: int, name: str) -> WavFacts:
    riff = f.read(12)
    if len(riff) < 12 or riff[:4] != b"RIFF" or riff[8:12] != b"WAVE":
        raise UnreadableWav("not-wav", f"{name} is not a RIFF/WAVE file")
    fmt: tuple[int, int, int, int, int, int] | None = None  # tag, channels, rate, byte rate, block align, bits
    while True:
        head = f.read(8)
        if len(head) < 8:
            raise UnreadableWav("not-wav", f"{name} has no audio data chunk")
        chunk_id, chunk_size = head[:4], struct.unpack("<I", head[4:])[0]
        if chunk_id == b"fmt ":
            # 40 bytes in any format we know: a broken size must not make us read gigabytes
            body = f.read(min(chunk_size, 64))
            f.seek(chunk_size - len(body) + (chunk_size & 1), os.SEEK_CUR)
            if chunk_size < 16 or len(body) < 16:
                raise UnreadableWav("not-wav", f"{name} has a broken format chunk")
            tag, channels, rate, byte_rate, block_align, bits = struct.unpack("<HHIIHH", body[:16])
            if tag == 0xFFFE and len(body) >= 26:  # WAVE_FORMAT_EXTENSIBLE: the real tag opens the sub-format GUID
                tag = struct.unpack("<H", body[24:26])[0]
            if channels < 1 or rate < 1 or block_align < 1 or (tag != 1 and byte_rate < 1):
                raise UnreadableWav("not-wav", f"{name} has an impossible format ({channels} ch, {rate} Hz)")
            fmt = (tag, channels, rate, byte_rate, block_align, bits)
        elif chunk_id == b"data":
            if fmt is None:
                raise UnreadableWav("not-wav", f"{name} has audio data before its format")
            tag, channels, rate, byte_rate, block_align, bits = fmt
            available = size - f.tell()
            length = chunk_size if 0 < chunk_size <= available else available
            length -= length % block_align
            if tag == 1:  # PCM: frames are samples, and we can measure the level
                sampwidth = block_align // channels
                frames = length // block_align
                peak: float | None = None
                if sampwidth in (1, 2, 3, 4) and block_align == sampwidth * channels:
                    peak = _peak_dbfs(f, length, sampwidth)
                return WavFacts(frames / rate, peak, rate, channels, sampwidth, frames)
            # compressed (GSM, G.711…): a block holds many samples; the byte rate tells the duration
            duration = length / byte_rate
            return WavFacts(duration, None, rate, channels, max(1, bits // 8), round(duration * rate))
        else:
            f.seek(chunk_size + (chunk_size & 1), os.SEEK_CUR)


def _peak_dbfs(f: BinaryIO, length: int, width: int) -> float:
    full_scale = float(1 << (8 * width - 1))
    peak = 0
    step = _COPY_CHUNK - _COPY_CHUNK % width
    while length > 0:
        data = f.read(min(step, length))
        if not data:
            break
        length -= len(data)
        data = data[: len(data) // width * width]
        peak = max(peak, _chunk_peak(data, width))
    return 20 * math.log10(peak / full_scale) if peak else -math.inf


def _chunk_peak(data: bytes, width: int) -> int:
    if not data:
        return 0
    if width == 1:  # 8-bit WAV is unsigned, centred on 128
        return max(abs(max(data) - 128), abs(min(data) - 128))
    if width == 3:  # the top two bytes of each 24-bit sample are plenty to tell silence from a voice
        pairs = bytearray(len(data) // 3 * 2)
        pairs[0::2] = data[1::3]
        pairs[1::2] = data[2::3]
        data, width = bytes(pairs), 2
        scale = 256
    else:
        scale = 1
    samples = array("h" if width == 2 else "i", data)
    if sys.byteorder == "big":
        samples.byteswap()
    return max(max(samples), -min(samples)) * scale


def message_flaw(facts: WavFacts) -> str | None:
    """Why a recording is not a voicemail message (no-audio, too-short, silent), or None when it is one:
    what makes a call recording not worth listing, and shorter than MIN_MESSAGE_S."""
    if facts.frames and facts.duration_s < MIN_MESSAGE_S:
        return "too-short"
    return recording_flaw(facts)


def is_message_worth_keeping(facts: WavFacts) -> bool:
    """Not empty, at least MIN_MESSAGE_S long, and louder than SILENCE_PEAK_DBFS somewhere."""
    return message_flaw(facts) is None


def recording_flaw(facts: WavFacts) -> str | None:
    """Why a call recording is not worth listing (no-audio, silent: the call never connected), or None.

    Unlike a message, a short recording is kept: a two-second call is still a call."""
    if facts.frames == 0:
        return "no-audio"
    if facts.peak_dbfs is not None and facts.peak_dbfs <= SILENCE_PEAK_DBFS:
        return "silent"
    return None


# --- paths -------------------------------------------------------------------------------------


def check_key(value: str, what: str = "key") -> str:
    """`value` if it is a safe path component (a key or a UUID); ValueError otherwise."""
    if not isinstance(value, str) or not _KEY.fullmatch(value):
        raise ValueError(f"{what} {value!r} must be 1–64 of a-z, 0-9, '-', '_' (starting with a letter or digit)")
    return value


def media_path(root: Path, tenant: str, *parts: str, suffix: str = "") -> Path:
    """`root/tenant/part/…/last{suffix}`, refusing any component that is not a key or UUID (no '..', no '/')."""
    if suffix not in _SUFFIXES:
        raise ValueError(f"unexpected file suffix {suffix!r}")
    check_key(tenant, "tenant")
    for part in parts:
        check_key(part, "path component")
    path = root.joinpath(tenant, *parts)
    if suffix:
        path = path.with_name(path.name + suffix)
    # The components are safe by construction; this also catches a symlink planted inside the tree.
    base = (root / tenant).resolve()
    if path.resolve() != base and not path.resolve().is_relative_to(base):
        raise ValueError(f"{path} leads outside the media of tenant {tenant!r}")
    return path


def relative_media_path(root: Path, path: Path) -> str:
    """How a file under the media root is stored in the database: relative, with '/' on every OS."""
    return path.relative_to(root).as_posix()


def stored_media_path(root: Path, tenant: str, relative: str) -> Path:
    """The file a row names, checked again: a row can only ever lead to a file of its own tenant."""
    parts = relative.split("/")
    if len(parts) < 2 or parts[0] != tenant or not parts[-1].endswith(".wav"):
        raise ValueError(f"stored media path {relative!r} is not a file of tenant {tenant!r}")
    return media_path(root, tenant, *parts[1:-1], parts[-1].removesuffix(".wav"), suffix=".wav")


# --- durable file operations -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FileDigest:
    size_bytes: int
    sha256: str


def fsync_dir(directory: Path) -> None:
    """Make a directory's entries (a file renamed or removed in it) survive a power cut."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _make_dirs(directory: Path) -> None:
    """mkdir -p, with each new directory's entry made durable in its parent."""
    missing: list[Path] = []
    current = directory
    while not current.exists():
        missing.append(current)
        current = current.parent
    for path in reversed(missing):
        with suppress(FileExistsError):
            path.mkdir()
        fsync_dir(path.parent)


def atomic_copy(src: Path, dest: Path) -> FileDigest:
    """Copy `src` to `dest` so that `dest` is either absent or complete (see `atomic_write`).
    Returns the size and SHA-256 of what was written."""
    with src.open("rb") as source:
        return atomic_write(dest, iter(lambda: source.read(_COPY_CHUNK), b""))


def atomic_write(dest: Path, chunks: Iterable[bytes]) -> FileDigest:
    """Write `chunks` to `dest` so that readers see the old file or the new one, never part of one: a
    temporary file in dest's directory, fsync, os.replace, fsync of the directory. No temporary file is
    left on any error. Returns the size and SHA-256 of what was written."""
    _make_dirs(dest.parent)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
    try:
        digest = hashlib.sha256()
        size = 0
        with os.fdopen(fd, "wb") as out:
            for chunk in chunks:
                out.write(chunk)
                digest.update(chunk)
                size += len(chunk)
            out.flush()
            os.fchmod(out.fileno(), _FILE_MODE)
            os.fsync(out.fileno())
        os.replace(tmp, dest)
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    fsync_dir(dest.parent)
    return FileDigest(size, digest.hexdigest())


def place(src: Path, dest: Path) -> FileDigest:
    """Make `src`'s content appear at `dest` (new) atomically, leaving `src` alone: a hard link when both
    are on one file system (no copy of a long recording), else `atomic_copy`. The caller removes
    `src` once the file is indexed, which completes the move."""
    _make_dirs(dest.parent)
    try:
        os.link(src, dest)
    except OSError as exc:
        if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP, errno.EACCES):
            raise
        return atomic_copy(src, dest)
    try:
        digest = hashlib.sha256()
        size = 0
        with dest.open("rb") as linked:
            while chunk := linked.read(_COPY_CHUNK):
                digest.update(chunk)
                size += len(chunk)
            os.fsync(linked.fileno())  # the recorder may not have: the data, not just the name, must last
        fsync_dir(dest.parent)
    except BaseException:
        with suppress(FileNotFoundError):
            dest.unlink()
        raise
    return FileDigest(size, digest.hexdigest())


def remove_file(path: Path) -> bool:
    """Remove a file durably; False if it was not there."""
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    fsync_dir(path.parent)
    return True


def index_file(src: Path, dest: Path, put: Callable[[Path, Path], FileDigest], write_row: Callable[[FileDigest], T],
               row_written: Callable[[], bool]) -> T:
    """Put `src`'s content at `dest` (with `put`: atomic_copy or place), then write the row that indexes it.

    If the file cannot be put, no row is written; if the row cannot be written, `dest` is removed
    again, unless the row is there after all (a commit whose answer was lost) or nobody can tell:
    then the file stays, because a file without a row is only clutter while a row without its
    file is a message lost. `src` is never touched: the caller removes it after success."""
    try:
        digest = put(src, dest)
    except BaseException:
        with suppress(OSError):
            remove_file(dest)  # only there if the rename happened and the directory sync failed
        raise
    try:
        return write_row(digest)
    except BaseException:
        _undo_put(dest, row_written)
        raise


def _undo_put(dest: Path, row_written: Callable[[], bool]) -> None:
    try:
        written = row_written()
    except Exception:
        log.exception("cannot tell whether a media row was written; its file is kept",
                      extra={"event": "media_file_kept", "path": str(dest)})
        return
    if written:
        log.warning("a media row was written although the write reported a failure; its file is kept",
                    extra={"event": "media_row_ambiguous", "path": str(dest)})
        return
    try:
        remove_file(dest)
    except OSError:
        log.exception("the file of a row that was not written could not be removed",
                      extra={"event": "media_file_left", "path": str(dest)})


def file_digest(path: Path) -> FileDigest:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as f:
        while chunk := f.read(_COPY_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return FileDigest(size, digest.hexdigest())


# --- shared tables: tenants, deletion log, retention --------------------------------------------


@dataclass(frozen=True, slots=True)
class Deletion:
    """One entry of the deletion log."""

    id: int
    tenant: str
    kind: str  # "voicemail" | "recording"
    ref: str
    file: str
    deleted_at: datetime
    by: str  # who, or "retention"
    reason: str


def log_deletion(session: Session, tid: int, kind: str, ref: str, file: str, at: datetime, by: str,
                 reason: str) -> None:
    session.execute(insert(table_of(MediaDeletionRow)).values(
        tenant_id=tid, kind=kind, ref=ref, file=file, deleted_at=at, deleted_by=by, reason=reason))


def deletion_log(session: Session, tenant: str, kind: str | None = None) -> list[Deletion]:
    """A tenant's deletions, oldest first (of one kind, if given)."""
    tid = tenant_id(session, tenant)
    query = select(MediaDeletionRow).where(MediaDeletionRow.tenant_id == tid)
    if kind is not None:
        query = query.where(MediaDeletionRow.kind == kind)
    return [Deletion(row.id, tenant, row.kind, row.ref, row.file, row.deleted_at, row.deleted_by, row.reason)
            for row in session.scalars(query.order_by(MediaDeletionRow.deleted_at, MediaDeletionRow.id))]


@dataclass(frozen=True, slots=True)
class Retention:
    """How many days a tenant keeps recordings and voicemail messages; None: until deleted."""

    recording_days: int | None = None
    voicemail_days: int | None = None

    def __post_init__(self) -> None:
        for days in (self.recording_days, self.voicemail_days):
            if days is not None and (isinstance(days, bool) or not isinstance(days, int) or days < 1):
                raise ValueError(f"a retention limit is a whole number of days, at least 1 (or None): {days!r}")


def load_retention(session: Session, tid: int) -> Retention:
    row = session.get(MediaSettingsRow, tid)
    return Retention() if row is None else Retention(row.recording_retention_days, row.voicemail_retention_days)


def save_retention(session: Session, tid: int, retention: Retention) -> None:
    row = session.get(MediaSettingsRow, tid, with_for_update=True)
    if row is None:
        row = MediaSettingsRow(tenant_id=tid)
        session.add(row)
    row.recording_retention_days = retention.recording_days
    row.voicemail_retention_days = retention.voicemail_days
    session.flush()


def retention_settings(session: Session) -> list[tuple[int, str, Retention]]:
    """(tenant id, tenant key, retention) of every tenant with any limit set."""
    rows = session.execute(select(MediaSettingsRow, TenantRow.key).join(
        TenantRow, TenantRow.id == MediaSettingsRow.tenant_id).order_by(TenantRow.key))
    return [(row.tenant_id, key, Retention(row.recording_retention_days, row.voicemail_retention_days))
            for row, key in rows]
